"""ECR's errors: the real error code strings and ECR's message texts, raised by models.py and
turned into HTTP by api.py (AWS JSON) and labkit/cloud/registry (OCI distribution API).

    EcrError                                   kind        code
    ├── InvalidParameter                       INVALID     InvalidParameterException
    │   └── InvalidManifest                    INVALID     InvalidParameterException (bad manifest JSON/media type)
    ├── InvalidTagParameter                    INVALID     InvalidTagParameterException
    ├── TooManyTags                            INVALID     TooManyTagsException
    ├── Serialization                          INVALID     SerializationException (body is not JSON)
    ├── UnknownOperation                       INVALID     UnknownOperationException
    ├── RepositoryNotFound                     NOT_FOUND   RepositoryNotFoundException
    ├── ImageNotFound                          NOT_FOUND   ImageNotFoundException
    ├── LayersNotFound                         NOT_FOUND   LayersNotFoundException
    ├── ReferencedImagesNotFound               NOT_FOUND   ReferencedImagesNotFoundException
    ├── UploadNotFound                         NOT_FOUND   UploadNotFoundException
    ├── LifecyclePolicyNotFound                NOT_FOUND   LifecyclePolicyNotFoundException
    ├── RepositoryPolicyNotFound               NOT_FOUND   RepositoryPolicyNotFoundException
    ├── ScanNotFound                           NOT_FOUND   ScanNotFoundException
    ├── RepositoryAlreadyExists                EXISTS      RepositoryAlreadyExistsException
    ├── ImageAlreadyExists                     EXISTS      ImageAlreadyExistsException
    ├── ImageTagAlreadyExists                  EXISTS      ImageTagAlreadyExistsException
    ├── LayerAlreadyExists                     EXISTS      LayerAlreadyExistsException
    ├── RepositoryNotEmpty                     CONFLICT    RepositoryNotEmptyException
    ├── ImageDigestDoesNotMatch                CONTENT     ImageDigestDoesNotMatchException
    ├── InvalidLayer                           CONTENT     InvalidLayerException
    ├── InvalidLayerPart                       CONTENT     InvalidLayerPartException
    ├── EmptyUpload                            CONTENT     EmptyUploadException
    ├── LimitExceeded                          LIMIT       LimitExceededException
    ├── ServerError                            SERVER      ServerException
    └── NotEmulated                            GAP         NotImplemented (an ECR operation the local cloud lacks)

`HTTP_STATUS` maps each kind to the status of the AWS JSON protocol (every client fault of ECR
is a 400, as botocore's model says). The registry maps these same classes to OCI codes in
labkit/cloud/registry/errors.py. Messages: see docs/fidelity.md for which texts were seen from
real ECR and which we composed in ECR's style.
"""
from __future__ import annotations

INVALID, NOT_FOUND, EXISTS, CONFLICT, CONTENT, LIMIT, SERVER, GAP = (
    "invalid", "not_found", "exists", "conflict", "content", "limit", "server", "gap")

# 501 for a gap: botocore does not retry it, and it is not mistaken for the student's error
HTTP_STATUS = {INVALID: 400, NOT_FOUND: 400, EXISTS: 400, CONFLICT: 400, CONTENT: 400, LIMIT: 400, SERVER: 500,
               GAP: 501}


def image_id_text(image_id: dict) -> str:
    """ECR's way of printing an image id in messages: {imageDigest:'null', imageTag:'v1'}."""
    return "{imageDigest:'%s', imageTag:'%s'}" % (image_id.get("imageDigest") or "null",
                                                  image_id.get("imageTag") or "null")


class EcrError(Exception):
    code = "ServerException"
    kind = SERVER

    def __init__(self, message: str = ""):
        super().__init__(message)
        self.message = message

    @property
    def status(self) -> int:
        return HTTP_STATUS[self.kind]


# -- invalid input ------------------------------------------------------------------------------

class InvalidParameter(EcrError):
    code, kind = "InvalidParameterException", INVALID

    @classmethod
    def constraint(cls, field: str, constraint: str) -> "InvalidParameter":
        """ECR's wording: Invalid parameter at 'repositoryName' failed to satisfy constraint: '...'"""
        return cls(f"Invalid parameter at '{field}' failed to satisfy constraint: '{constraint}'")


class InvalidManifest(InvalidParameter):
    """A manifest that is not JSON, or of a media type ECR does not store; the registry answers
    MANIFEST_INVALID for it."""

    def __init__(self, reason: str):
        super().__init__(f"Invalid parameter at 'imageManifest' failed to satisfy constraint: '{reason}'")
        self.reason = reason


class InvalidTagParameter(EcrError):
    code, kind = "InvalidTagParameterException", INVALID


class TooManyTags(EcrError):
    code, kind = "TooManyTagsException", INVALID


class Serialization(EcrError):
    code, kind = "SerializationException", INVALID


class UnknownOperation(EcrError):
    """What AWS's JSON front end answers for an X-Amz-Target it does not know (no message)."""
    code, kind = "com.amazon.coral.service#UnknownOperationException", INVALID


# -- missing things -----------------------------------------------------------------------------

class RepositoryNotFound(EcrError):
    code, kind = "RepositoryNotFoundException", NOT_FOUND

    def __init__(self, name: str, registry_id: str):
        super().__init__(f"The repository with name '{name}' does not exist in the registry with id '{registry_id}'")


class ImageNotFound(EcrError):
    code, kind = "ImageNotFoundException", NOT_FOUND

    def __init__(self, image_id: dict, name: str, registry_id: str):
        super().__init__(f"The image with imageId {image_id_text(image_id)} does not exist within the repository "
                         f"with name '{name}' in the registry with id '{registry_id}'")
        self.image_id = image_id


class LayersNotFound(EcrError):
    code, kind = "LayersNotFoundException", NOT_FOUND

    def __init__(self, digests: list[str], name: str, registry_id: str):
        super().__init__(f"Layers with digests '[{', '.join(digests)}]' required for pushing image into repository "
                         f"with name '{name}' in the registry with id '{registry_id}' do not exist")
        self.digests = digests


class LayerNotFound(LayersNotFound):
    """One blob asked for by digest (GetDownloadUrlForLayer, a registry blob GET)."""

    def __init__(self, digest: str, name: str, registry_id: str):
        EcrError.__init__(self, f"The layer with digest '{digest}' does not exist in the repository with name "
                                f"'{name}' in the registry with id '{registry_id}'")
        self.digests = [digest]


class ReferencedImagesNotFound(EcrError):
    code, kind = "ReferencedImagesNotFoundException", NOT_FOUND

    def __init__(self, digests: list[str], name: str, registry_id: str):
        super().__init__(f"Images with digests '[{', '.join(digests)}]' required for pushing image into repository "
                         f"with name '{name}' in the registry with id '{registry_id}' do not exist")
        self.digests = digests


class UploadNotFound(EcrError):
    code, kind = "UploadNotFoundException", NOT_FOUND

    def __init__(self, upload_id: str, name: str, registry_id: str):
        super().__init__(f"Upload with id '{upload_id}' could not be found for the repository with name '{name}' "
                         f"in the registry with id '{registry_id}'")


class LifecyclePolicyNotFound(EcrError):
    code, kind = "LifecyclePolicyNotFoundException", NOT_FOUND

    def __init__(self, name: str, registry_id: str):
        super().__init__(f"Lifecycle policy does not exist for the repository with name '{name}' "
                         f"in the registry with id '{registry_id}'")


class RepositoryPolicyNotFound(EcrError):
    code, kind = "RepositoryPolicyNotFoundException", NOT_FOUND

    def __init__(self, name: str, registry_id: str):
        super().__init__(f"Repository policy does not exist for the repository with name '{name}' "
                         f"in the registry with id '{registry_id}'")


class ScanNotFound(EcrError):
    code, kind = "ScanNotFoundException", NOT_FOUND

    def __init__(self, image_id: dict, name: str, registry_id: str):
        super().__init__(f"Image scan does not exist for the image with '{image_id_text(image_id)}' in the repository "
                         f"with name '{name}' in the registry with id '{registry_id}'")


# -- already there ------------------------------------------------------------------------------

class RepositoryAlreadyExists(EcrError):
    code, kind = "RepositoryAlreadyExistsException", EXISTS

    def __init__(self, name: str, registry_id: str):
        super().__init__(f"The repository with name '{name}' already exists in the registry with id '{registry_id}'")


class ImageAlreadyExists(EcrError):
    code, kind = "ImageAlreadyExistsException", EXISTS

    def __init__(self, digest: str, tag: str | None, name: str, registry_id: str):
        super().__init__(f"Image with digest '{digest}' and tag '{tag or 'null'}' already exists in the repository "
                         f"with name '{name}' in registry with id '{registry_id}'")


class ImageTagAlreadyExists(EcrError):
    code, kind = "ImageTagAlreadyExistsException", EXISTS

    def __init__(self, tag: str, name: str):
        super().__init__(f"The image tag '{tag}' already exists in the '{name}' repository and cannot be "
                         f"overwritten because the repository is immutable.")
        self.tag = tag


class LayerAlreadyExists(EcrError):
    code, kind = "LayerAlreadyExistsException", EXISTS

    def __init__(self, digest: str, name: str, registry_id: str):
        super().__init__(f"Layer with digest '{digest}' already exists in the repository with name '{name}' "
                         f"in registry with id '{registry_id}'")


class RepositoryNotEmpty(EcrError):
    code, kind = "RepositoryNotEmptyException", CONFLICT

    def __init__(self, name: str, registry_id: str):
        super().__init__(f"The repository with name '{name}' in registry with id '{registry_id}' cannot be deleted "
                         f"because it still contains images")


# -- bad content --------------------------------------------------------------------------------

class ImageDigestDoesNotMatch(EcrError):
    code, kind = "ImageDigestDoesNotMatchException", CONTENT

    def __init__(self, given: str, computed: str):
        super().__init__(f"Provided image digest '{given}' does not match the calculated digest '{computed}' "
                         f"of the image manifest")


class InvalidLayer(EcrError):
    code, kind = "InvalidLayerException", CONTENT


class InvalidLayerPart(EcrError):
    code, kind = "InvalidLayerPartException", CONTENT

    def __init__(self, upload_id: str, name: str, registry_id: str, last_valid_byte: int):
        super().__init__(f"Invalid layer part upload for upload with id '{upload_id}' in the repository with name "
                         f"'{name}' in the registry with id '{registry_id}'")
        self.extra = {"registryId": registry_id, "repositoryName": name, "uploadId": upload_id,
                      "lastValidByteReceived": last_valid_byte}
        self.last_valid_byte = last_valid_byte


class EmptyUpload(EcrError):
    code, kind = "EmptyUploadException", CONTENT

    def __init__(self, upload_id: str, name: str, registry_id: str):
        super().__init__(f"The upload with id '{upload_id}' in the repository with name '{name}' in the registry "
                         f"with id '{registry_id}' contains no layer parts")


class LimitExceeded(EcrError):
    code, kind = "LimitExceededException", LIMIT


class ServerError(EcrError):
    code, kind = "ServerException", SERVER


class NotEmulated(EcrError):
    code, kind = "NotImplemented", GAP

    def __init__(self, operation: str):
        super().__init__(f"The labkit local cloud does not emulate the ECR operation {operation} "
                         f"(docs/fidelity.md lists what it does)")
