"""ECR's API over the AWS JSON 1.1 protocol: `X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.<Op>`,
a JSON body in, JSON out (timestamps as epoch seconds, field names as botocore's ECR model),
errors as HTTP 400 `{"__type": "RepositoryNotFoundException", "message": "..."}`.

Each operation is a small function: read the parameters, call models.EcrBackend, shape the
answer. The account is always the course's one account; the region comes from the SigV4
credential scope. Stdlib + werkzeug only (cold start: no boto3, botocore or moto here).

Known gap: no IAM: any credentials may call any operation; policies are stored, never enforced.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass
from urllib.parse import urlencode

from labkit.cloud.aws import protocol
from labkit.cloud.aws.ecr import errors, models
from labkit.config import HOST

TARGET_PREFIX = "AmazonEC2ContainerRegistry_V20150921."
# Operations of botocore's ECR model that are not emulated: answered 501 NotImplemented, not as unknown
NOT_EMULATED = frozenset("""
    BatchGetRepositoryScanningConfiguration CreatePullThroughCacheRule CreateRepositoryCreationTemplate
    DeletePullThroughCacheRule DeleteRegistryPolicy DeleteRepositoryCreationTemplate DeleteSigningConfiguration
    DeregisterPullTimeUpdateExclusion DescribeImageReplicationStatus DescribeImageSigningStatus
    DescribePullThroughCacheRules DescribeReplicationBackfillResults DescribeRepositoryCreationTemplates
    GetAccountSetting GetLifecyclePolicyPreview GetRegistryPolicy GetSigningConfiguration ListImageReferrers
    ListPullTimeUpdateExclusions ListReplicationBackfills PutAccountSetting PutRegistryPolicy
    PutRegistryScanningConfiguration PutReplicationConfiguration PutSigningConfiguration
    RegisterPullTimeUpdateExclusion StartLifecyclePolicyPreview StartReplicationBackfill StopReplicationBackfill
    UpdateImageStorageClass UpdatePullThroughCacheRule UpdateRepositoryCreationTemplate ValidatePullThroughCacheRule
""".split())


SERVICE = protocol.JsonService(TARGET_PREFIX, base_error=errors.EcrError, not_emulated=errors.NotEmulated,
                               unknown=lambda: errors.UnknownOperation(None), serialization=errors.Serialization,
                               not_emulated_operations=NOT_EMULATED)
OPERATIONS = SERVICE.operations
operation = SERVICE.operation


@dataclass
class Call:
    backend: models.EcrBackend
    account: str
    region: str
    host: str  # host:port the caller reached us at (for download URLs)

    def registry_id(self, params: dict) -> str:
        """The registry (account) a call addresses: registryId if given, else the caller's.
        Known gap: another account's registry is reachable without any permission check."""
        if params.get("registryId") is None:
            return self.account
        return models.validate_registry_id(params["registryId"])


def ecr_app(state, environ, start_response):
    def make_call(environ) -> Call:
        return Call(backend=models.backend(state), account=protocol.account_of(environ),
                    region=protocol.region_of(environ), host=_local_host(environ))
    return SERVICE.serve(state, environ, start_response, make_call)


def _local_host(environ) -> str:
    host = environ.get("HTTP_HOST", "")
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host
    if name in ("127.0.0.1", "localhost") and host:
        return host
    return f"{HOST}:{environ.get('SERVER_PORT', '80')}"


# -- shapes -------------------------------------------------------------------------------------

def _repository(repo: models.Repository) -> dict:
    shape = {
        "repositoryArn": repo.arn, "registryId": repo.account, "repositoryName": repo.name,
        "repositoryUri": repo.uri, "createdAt": repo.created_at, "imageTagMutability": repo.tag_mutability,
        "imageScanningConfiguration": {"scanOnPush": repo.scan_on_push},
        "encryptionConfiguration": dict(repo.encryption),
    }
    if repo.mutability_exclusions:
        shape["imageTagMutabilityExclusionFilters"] = [dict(f) for f in repo.mutability_exclusions]
    return shape


def _image_detail(repo: models.Repository, image: models.Image) -> dict:
    detail = {
        "registryId": repo.account, "repositoryName": repo.name, "imageDigest": image.digest,
        "imageSizeInBytes": image.size, "imagePushedAt": image.pushed_at,
        "imageManifestMediaType": image.media_type, "imageStatus": "ACTIVE",
    }
    if image.tags:
        detail["imageTags"] = list(image.tags)
    if image.artifact_media_type:
        detail["artifactMediaType"] = image.artifact_media_type
    if image.last_pulled_at is not None:
        detail["lastRecordedPullTime"] = image.last_pulled_at
    if image.subject:
        detail["subjectManifestDigest"] = image.subject
    if image.scanned_at is not None:
        detail["imageScanStatus"] = {"status": "COMPLETE", "description": "The scan was completed successfully."}
        detail["imageScanFindingsSummary"] = {"imageScanCompletedAt": image.scanned_at,
                                              "vulnerabilitySourceUpdatedAt": image.scanned_at,
                                              "findingSeverityCounts": {}}
    return detail


def _image(repo: models.Repository, image: models.Image, image_id: dict) -> dict:
    return {"registryId": repo.account, "repositoryName": repo.name, "imageId": image_id,
            "imageManifest": image.manifest.decode("utf-8"), "imageManifestMediaType": image.media_type}


def _required(params: dict, *names: str) -> None:
    for name in names:
        if params.get(name) is None:
            raise errors.InvalidParameter.constraint(name, "must not be null")


def _page(items: list, params: dict, default: int = 100) -> tuple[list, str | None]:
    return protocol.paginate(
        items, params.get("maxResults"), params.get("nextToken"), limit=1000, default=default,
        bad_max=lambda: errors.InvalidParameter.constraint("maxResults", "must be between 1 and 1000"),
        bad_token=lambda: errors.InvalidParameter("Invalid parameter at 'nextToken' failed to satisfy constraint: "
                                                  "'Invalid NextToken'"))


def _with_token(body: dict, token: str | None) -> dict:
    if token:
        body["nextToken"] = token
    return body


# -- repositories --------------------------------------------------------------------------------

@operation("CreateRepository")
def create_repository(call: Call, p: dict) -> dict:
    _required(p, "repositoryName")
    repo = call.backend.create_repository(
        call.registry_id(p), call.region, p["repositoryName"], tags=p.get("tags"),
        tag_mutability=p.get("imageTagMutability"), mutability_exclusions=p.get("imageTagMutabilityExclusionFilters"),
        scan_on_push=(p.get("imageScanningConfiguration") or {}).get("scanOnPush", False),
        encryption=p.get("encryptionConfiguration"))
    return {"repository": _repository(repo)}


@operation("DescribeRepositories")
def describe_repositories(call: Call, p: dict) -> dict:
    repos = call.backend.describe_repositories(call.registry_id(p), call.region, p.get("repositoryNames"))
    page, token = _page(repos, p)
    return _with_token({"repositories": [_repository(r) for r in page]}, token)


@operation("DeleteRepository")
def delete_repository(call: Call, p: dict) -> dict:
    _required(p, "repositoryName")
    repo = call.backend.delete_repository(call.registry_id(p), call.region, p["repositoryName"],
                                          force=bool(p.get("force")))
    return {"repository": _repository(repo)}


@operation("PutImageTagMutability")
def put_image_tag_mutability(call: Call, p: dict) -> dict:
    _required(p, "repositoryName", "imageTagMutability")
    repo = call.backend.put_image_tag_mutability(call.registry_id(p), call.region, p["repositoryName"],
                                                 p["imageTagMutability"], p.get("imageTagMutabilityExclusionFilters"))
    body = {"registryId": repo.account, "repositoryName": repo.name, "imageTagMutability": repo.tag_mutability}
    if repo.mutability_exclusions:
        body["imageTagMutabilityExclusionFilters"] = [dict(f) for f in repo.mutability_exclusions]
    return body


@operation("PutImageScanningConfiguration")
def put_image_scanning_configuration(call: Call, p: dict) -> dict:
    _required(p, "repositoryName", "imageScanningConfiguration")
    scan = bool((p["imageScanningConfiguration"] or {}).get("scanOnPush", False))
    repo = call.backend.put_image_scanning_configuration(call.registry_id(p), call.region, p["repositoryName"], scan)
    return {"registryId": repo.account, "repositoryName": repo.name,
            "imageScanningConfiguration": {"scanOnPush": repo.scan_on_push}}


@operation("DescribeRegistry")
def describe_registry(call: Call, p: dict) -> dict:
    """Known gap: no replication; the configuration is always empty."""
    return {"registryId": call.account, "replicationConfiguration": {"rules": []}}


@operation("GetRegistryScanningConfiguration")
def get_registry_scanning_configuration(call: Call, p: dict) -> dict:
    """Known gap: basic scanning only, no registry-level rules."""
    return {"registryId": call.account, "scanningConfiguration": {"scanType": "BASIC", "rules": []}}


# -- auth -----------------------------------------------------------------------------------------

@operation("GetAuthorizationToken")
def get_authorization_token(call: Call, p: dict) -> dict:
    """One token per registry asked for (registryIds is deprecated but still answered), valid 12 h."""
    data = []
    for registry_id in p.get("registryIds") or [call.account]:
        models.validate_registry_id(registry_id)
        password, expires_at = call.backend.get_authorization_token(registry_id, call.region)
        data.append({"authorizationToken": base64.b64encode(f"AWS:{password}".encode()).decode(),
                     "expiresAt": expires_at,
                     "proxyEndpoint": f"https://{models.registry_host(registry_id, call.region)}"})
    return {"authorizationData": data}


# -- images ---------------------------------------------------------------------------------------

@operation("ListImages")
def list_images(call: Call, p: dict) -> dict:
    _required(p, "repositoryName")
    ids = call.backend.list_images(call.registry_id(p), call.region, p["repositoryName"],
                                   (p.get("filter") or {}).get("tagStatus"))
    page, token = _page(ids, p)
    return _with_token({"imageIds": page}, token)


@operation("DescribeImages")
def describe_images(call: Call, p: dict) -> dict:
    _required(p, "repositoryName")
    account = call.registry_id(p)
    images = call.backend.describe_images(account, call.region, p["repositoryName"], p.get("imageIds"),
                                          (p.get("filter") or {}).get("tagStatus"))
    repo = call.backend.get_repository(account, call.region, p["repositoryName"])
    page, token = _page(images, p)
    return _with_token({"imageDetails": [_image_detail(repo, i) for i in page]}, token)


@operation("BatchGetImage")
def batch_get_image(call: Call, p: dict) -> dict:
    """Known gap: acceptedMediaTypes is not used to convert manifests (ECR can down-convert Docker
    schema 2 to schema 1); the stored manifest is always returned as pushed."""
    _required(p, "repositoryName", "imageIds")
    account = call.registry_id(p)
    found, failures = call.backend.batch_get_image(account, call.region, p["repositoryName"], p["imageIds"])
    repo = call.backend.get_repository(account, call.region, p["repositoryName"])
    return {"images": [_image(repo, image, image_id) for image, image_id in found], "failures": failures}


@operation("PutImage")
def put_image(call: Call, p: dict) -> dict:
    _required(p, "repositoryName", "imageManifest")
    account = call.registry_id(p)
    manifest = p["imageManifest"]
    if not isinstance(manifest, str) or not manifest:
        raise errors.InvalidParameter.constraint("imageManifest", "must have length greater than or equal to 1")
    tag = p.get("imageTag")
    image = call.backend.put_image(account, call.region, p["repositoryName"], manifest.encode("utf-8"),
                                   media_type=p.get("imageManifestMediaType"), tag=tag, digest=p.get("imageDigest"))
    repo = call.backend.get_repository(account, call.region, p["repositoryName"])
    return {"image": _image(repo, image, image.image_id(tag))}


@operation("BatchDeleteImage")
def batch_delete_image(call: Call, p: dict) -> dict:
    _required(p, "repositoryName", "imageIds")
    deleted, failures = call.backend.batch_delete_image(call.registry_id(p), call.region, p["repositoryName"],
                                                        p["imageIds"])
    return {"imageIds": deleted, "failures": failures}


# -- layers ---------------------------------------------------------------------------------------

@operation("BatchCheckLayerAvailability")
def batch_check_layer_availability(call: Call, p: dict) -> dict:
    _required(p, "repositoryName", "layerDigests")
    layers, failures = call.backend.check_layers(call.registry_id(p), call.region, p["repositoryName"],
                                                 p["layerDigests"])
    return {"layers": layers, "failures": failures}


@operation("InitiateLayerUpload")
def initiate_layer_upload(call: Call, p: dict) -> dict:
    _required(p, "repositoryName")
    upload = call.backend.initiate_upload(call.registry_id(p), call.region, p["repositoryName"])
    return {"uploadId": upload.id, "partSize": models.PART_SIZE}


@operation("UploadLayerPart")
def upload_layer_part(call: Call, p: dict) -> dict:
    _required(p, "repositoryName", "uploadId", "partFirstByte", "partLastByte", "layerPartBlob")
    account = call.registry_id(p)
    try:
        blob = base64.b64decode(p["layerPartBlob"], validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise errors.Serialization("Invalid base64: layerPartBlob") from None
    last = call.backend.upload_part(account, call.region, p["repositoryName"], p["uploadId"], blob,
                                    first=p["partFirstByte"], last=p["partLastByte"])
    return {"registryId": account, "repositoryName": p["repositoryName"], "uploadId": p["uploadId"],
            "lastByteReceived": last}


@operation("CompleteLayerUpload")
def complete_layer_upload(call: Call, p: dict) -> dict:
    _required(p, "repositoryName", "uploadId", "layerDigests")
    account = call.registry_id(p)
    digests = p["layerDigests"]
    if not isinstance(digests, list) or len(digests) != 1:
        raise errors.InvalidParameter.constraint("layerDigests", "must contain exactly one layer digest")
    digest = call.backend.complete_upload(account, call.region, p["repositoryName"], p["uploadId"], digests[0])
    return {"registryId": account, "repositoryName": p["repositoryName"], "uploadId": p["uploadId"],
            "layerDigest": digest}


@operation("GetDownloadUrlForLayer")
def get_download_url_for_layer(call: Call, p: dict) -> dict:
    """A URL on this cloud (http://127.0.0.1:PORT/v2/NAME/blobs/DIGEST?X-Amz-...) that serves the
    blob to a plain GET for an hour, as ECR's presigned S3 URL does."""
    _required(p, "repositoryName", "layerDigest")
    account = call.registry_id(p)
    name, digest = p["repositoryName"], p["layerDigest"]
    call.backend.blob(account, call.region, name, digest)  # exists, or LayersNotFoundException
    query = urlencode(call.backend.sign_download(account, call.region, name, digest))
    return {"downloadUrl": f"http://{call.host}/v2/{name}/blobs/{digest}?{query}", "layerDigest": digest}


# -- policies -----------------------------------------------------------------------------------------

@operation("PutLifecyclePolicy")
def put_lifecycle_policy(call: Call, p: dict) -> dict:
    _required(p, "repositoryName", "lifecyclePolicyText")
    repo = call.backend.put_lifecycle_policy(call.registry_id(p), call.region, p["repositoryName"],
                                             p["lifecyclePolicyText"])
    return {"registryId": repo.account, "repositoryName": repo.name, "lifecyclePolicyText": repo.lifecycle_policy}


@operation("GetLifecyclePolicy")
def get_lifecycle_policy(call: Call, p: dict) -> dict:
    _required(p, "repositoryName")
    account = call.registry_id(p)
    text = call.backend.get_lifecycle_policy(account, call.region, p["repositoryName"])
    return {"registryId": account, "repositoryName": p["repositoryName"], "lifecyclePolicyText": text,
            "lastEvaluatedAt": 0}


@operation("DeleteLifecyclePolicy")
def delete_lifecycle_policy(call: Call, p: dict) -> dict:
    _required(p, "repositoryName")
    account = call.registry_id(p)
    text = call.backend.delete_lifecycle_policy(account, call.region, p["repositoryName"])
    return {"registryId": account, "repositoryName": p["repositoryName"], "lifecyclePolicyText": text,
            "lastEvaluatedAt": 0}


@operation("SetRepositoryPolicy")
def set_repository_policy(call: Call, p: dict) -> dict:
    _required(p, "repositoryName", "policyText")
    repo = call.backend.set_repository_policy(call.registry_id(p), call.region, p["repositoryName"], p["policyText"])
    return {"registryId": repo.account, "repositoryName": repo.name, "policyText": repo.policy}


@operation("GetRepositoryPolicy")
def get_repository_policy(call: Call, p: dict) -> dict:
    _required(p, "repositoryName")
    account = call.registry_id(p)
    text = call.backend.get_repository_policy(account, call.region, p["repositoryName"])
    return {"registryId": account, "repositoryName": p["repositoryName"], "policyText": text}


@operation("DeleteRepositoryPolicy")
def delete_repository_policy(call: Call, p: dict) -> dict:
    _required(p, "repositoryName")
    account = call.registry_id(p)
    text = call.backend.delete_repository_policy(account, call.region, p["repositoryName"])
    return {"registryId": account, "repositoryName": p["repositoryName"], "policyText": text}


# -- scanning ------------------------------------------------------------------------------------------

@operation("StartImageScan")
def start_image_scan(call: Call, p: dict) -> dict:
    """Known gap: basic scanning only, completing at once with no findings."""
    _required(p, "repositoryName", "imageId")
    account = call.registry_id(p)
    image = call.backend.start_image_scan(account, call.region, p["repositoryName"], p["imageId"])
    return {"registryId": account, "repositoryName": p["repositoryName"],
            "imageId": image.image_id(p["imageId"].get("imageTag")),
            "imageScanStatus": {"status": "IN_PROGRESS"}}


@operation("DescribeImageScanFindings")
def describe_image_scan_findings(call: Call, p: dict) -> dict:
    """Known gap: every scan is COMPLETE with zero findings."""
    _required(p, "repositoryName", "imageId")
    account = call.registry_id(p)
    image = call.backend.scanned_image(account, call.region, p["repositoryName"], p["imageId"])
    return {"registryId": account, "repositoryName": p["repositoryName"],
            "imageId": image.image_id(p["imageId"].get("imageTag")),
            "imageScanStatus": {"status": "COMPLETE", "description": "The scan was completed successfully."},
            "imageScanFindings": {"imageScanCompletedAt": image.scanned_at,
                                  "vulnerabilitySourceUpdatedAt": image.scanned_at,
                                  "findingSeverityCounts": {}, "findings": []}}


SERVICE.tag_operations(_required)
