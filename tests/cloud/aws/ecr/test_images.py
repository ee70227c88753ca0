"""ECR images through the official boto3 client: ECR's layer API and PutImage, what ECR reports
of an image (true digest, compressed size), tag rules, and the errors of the lesson's mistakes."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.cloud.helpers import (ACCOUNT, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST, REGION, digest, ecr_push,
                                 make_image, upload_layer)


def error(exc: pytest.ExceptionInfo) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


@pytest.fixture
def ecr(aws):
    client = aws("ecr")
    client.create_repository(repositoryName="my-app")
    return client


def test_put_image_digest_is_sha256_of_the_exact_manifest_bytes(ecr):
    image = make_image()  # an indented manifest: re-serialising it would change the digest
    pushed = ecr_push(ecr, "my-app", image, tag="v1.0")
    assert pushed["imageId"] == {"imageDigest": image.digest, "imageTag": "v1.0"}
    assert pushed["imageManifest"] == image.manifest.decode()
    detail = ecr.describe_images(repositoryName="my-app")["imageDetails"][0]
    assert detail["imageDigest"] == digest(image.manifest)
    assert detail["imageTags"] == ["v1.0"]
    assert detail["imageManifestMediaType"] == DOCKER_MANIFEST
    assert detail["artifactMediaType"] == "application/vnd.docker.container.image.v1+json"
    assert detail["registryId"] == ACCOUNT and detail["repositoryName"] == "my-app"
    assert detail["imagePushedAt"].year >= 2024


def test_image_size_is_the_sum_of_compressed_layers(ecr):
    image = make_image()
    image.layers.append(b"x" * 1000)  # a second layer, so the sum is a sum
    doc = json.loads(image.manifest)
    doc["layers"].append({"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                          "size": 1000, "digest": digest(b"x" * 1000)})
    image.manifest = json.dumps(doc).encode()
    image.blobs[digest(b"x" * 1000)] = b"x" * 1000
    ecr_push(ecr, "my-app", image)
    size = ecr.describe_images(repositoryName="my-app")["imageDetails"][0]["imageSizeInBytes"]
    assert size == image.layers_size != len(image.config) + image.layers_size


def test_put_image_without_its_layers(ecr):
    image = make_image()
    missing = list(image.blobs)  # config first, then layers: the order of the manifest
    with pytest.raises(ClientError) as exc:
        ecr.put_image(repositoryName="my-app", imageManifest=image.manifest.decode(), imageTag="v1.0")
    assert error(exc) == ("LayersNotFoundException",
                          f"Layers with digests '[{', '.join(missing)}]' required for pushing image into repository "
                          f"with name 'my-app' in the registry with id '{ACCOUNT}' do not exist")
    assert ecr.list_images(repositoryName="my-app")["imageIds"] == []


def test_put_image_with_a_wrong_digest(ecr):
    image = make_image()
    for data in image.blobs.values():
        upload_layer(ecr, "my-app", data)
    wrong = "sha256:" + "0" * 64
    with pytest.raises(ClientError) as exc:
        ecr.put_image(repositoryName="my-app", imageManifest=image.manifest.decode(), imageTag="v1", imageDigest=wrong)
    assert error(exc)[0] == "ImageDigestDoesNotMatchException"
    assert wrong in error(exc)[1] and image.digest in error(exc)[1]


def test_put_image_twice_with_the_same_tag(ecr):
    image = make_image()
    ecr_push(ecr, "my-app", image, tag="v1.0")
    with pytest.raises(ClientError) as exc:
        ecr.put_image(repositoryName="my-app", imageManifest=image.manifest.decode(), imageTag="v1.0")
    assert error(exc) == ("ImageAlreadyExistsException",
                          f"Image with digest '{image.digest}' and tag 'v1.0' already exists in the repository with "
                          f"name 'my-app' in registry with id '{ACCOUNT}'")


def test_one_image_two_tags(ecr):
    image = make_image()
    ecr_push(ecr, "my-app", image, tag="v1.0")
    ecr.put_image(repositoryName="my-app", imageManifest=image.manifest.decode(), imageTag="latest")
    ids = ecr.list_images(repositoryName="my-app")["imageIds"]
    assert sorted(i["imageTag"] for i in ids) == ["latest", "v1.0"]
    assert {i["imageDigest"] for i in ids} == {image.digest}
    assert sorted(ecr.describe_images(repositoryName="my-app")["imageDetails"][0]["imageTags"]) == ["latest", "v1.0"]


def test_immutable_tag_cannot_move(ecr):
    ecr.put_image_tag_mutability(repositoryName="my-app", imageTagMutability="IMMUTABLE")
    ecr_push(ecr, "my-app", make_image("one"), tag="v1.0")
    second = make_image("two")
    with pytest.raises(ClientError) as exc:
        ecr_push(ecr, "my-app", second, tag="v1.0")
    assert error(exc) == ("ImageTagAlreadyExistsException", "The image tag 'v1.0' already exists in the 'my-app' "
                                                            "repository and cannot be overwritten because the "
                                                            "repository is immutable.")
    assert exc.type is ecr.exceptions.ImageTagAlreadyExistsException
    ecr.put_image(repositoryName="my-app", imageManifest=second.manifest.decode(), imageTag="v2.0")  # new tags are fine


def test_immutable_with_exclusions(ecr):
    ecr.put_image_tag_mutability(repositoryName="my-app", imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
                                 imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "latest"}])
    ecr_push(ecr, "my-app", make_image("one"), tag="latest")
    ecr_push(ecr, "my-app", make_image("two"), tag="latest")  # excluded: mutable
    ecr.put_image(repositoryName="my-app", imageManifest=make_image("two").manifest.decode(), imageTag="v1")
    with pytest.raises(ClientError) as exc:
        ecr.put_image(repositoryName="my-app", imageManifest=make_image("one").manifest.decode(), imageTag="v1")
    assert error(exc)[0] == "ImageTagAlreadyExistsException"


def test_mutable_tag_moves_and_leaves_the_old_image_untagged(ecr):
    old, new = make_image("one"), make_image("two")
    ecr_push(ecr, "my-app", old, tag="latest")
    ecr_push(ecr, "my-app", new, tag="latest")
    assert ecr.list_images(repositoryName="my-app", filter={"tagStatus": "UNTAGGED"})["imageIds"] == [
        {"imageDigest": old.digest}]
    assert ecr.list_images(repositoryName="my-app", filter={"tagStatus": "TAGGED"})["imageIds"] == [
        {"imageDigest": new.digest, "imageTag": "latest"}]


@pytest.mark.parametrize("tag, constraint", [
    ("v1:0", "must satisfy regular expression '[a-zA-Z0-9-_.]+'"),
    ("v" * 301, "must have length less than or equal to 300"),
])
def test_invalid_image_tag(ecr, tag, constraint):
    image = make_image()
    for data in image.blobs.values():
        upload_layer(ecr, "my-app", data)
    with pytest.raises(ClientError) as exc:
        ecr.put_image(repositoryName="my-app", imageManifest=image.manifest.decode(), imageTag=tag)
    assert error(exc) == ("InvalidParameterException",
                          f"Invalid parameter at 'imageTag' failed to satisfy constraint: '{constraint}'")


def test_image_not_found(ecr):
    ecr_push(ecr, "my-app", make_image(), tag="v1.0")
    with pytest.raises(ClientError) as exc:
        ecr.describe_images(repositoryName="my-app", imageIds=[{"imageTag": "v9"}])
    assert error(exc) == ("ImageNotFoundException", "The image with imageId {imageDigest:'null', imageTag:'v9'} does "
                                                    f"not exist within the repository with name 'my-app' in the "
                                                    f"registry with id '{ACCOUNT}'")


def test_batch_get_image_returns_the_manifest_and_failures(ecr):
    image = make_image(media_type=OCI_MANIFEST)
    ecr_push(ecr, "my-app", image, tag="v1.0")
    answer = ecr.batch_get_image(repositoryName="my-app", imageIds=[{"imageTag": "v1.0"}, {"imageTag": "nope"}, {}],
                                 acceptedMediaTypes=[OCI_MANIFEST, DOCKER_MANIFEST])
    assert [i["imageManifest"] for i in answer["images"]] == [image.manifest.decode()]
    assert answer["images"][0]["imageManifestMediaType"] == OCI_MANIFEST
    assert answer["images"][0]["imageId"] == {"imageDigest": image.digest, "imageTag": "v1.0"}
    assert answer["failures"] == [
        {"imageId": {"imageTag": "nope"}, "failureCode": "ImageNotFound", "failureReason": "Requested image not found"},
        {"imageId": {}, "failureCode": "MissingDigestAndTag",
         "failureReason": "Invalid request parameters: both tag and digest cannot be null"}]
    detail = ecr.describe_images(repositoryName="my-app")["imageDetails"][0]
    assert "lastRecordedPullTime" in detail


def test_batch_delete_image(ecr):
    image = make_image()
    ecr_push(ecr, "my-app", image, tag="v1.0")
    ecr.put_image(repositoryName="my-app", imageManifest=image.manifest.decode(), imageTag="latest")
    answer = ecr.batch_delete_image(repositoryName="my-app", imageIds=[{"imageTag": "latest"}, {"imageTag": "x"}])
    assert answer["imageIds"] == [{"imageDigest": image.digest, "imageTag": "latest"}]
    assert answer["failures"][0]["failureCode"] == "ImageNotFound"
    assert ecr.list_images(repositoryName="my-app")["imageIds"] == [{"imageDigest": image.digest, "imageTag": "v1.0"}]
    answer = ecr.batch_delete_image(repositoryName="my-app", imageIds=[{"imageDigest": image.digest}])
    assert answer["imageIds"] == [{"imageDigest": image.digest, "imageTag": "v1.0"}]
    assert ecr.list_images(repositoryName="my-app")["imageIds"] == []


def test_layer_api_parts_availability_and_download_url(ecr):
    data = bytes(range(256)) * 40
    with pytest.raises(ClientError) as exc:
        ecr.get_download_url_for_layer(repositoryName="my-app", layerDigest=digest(data))
    assert error(exc)[0] == "LayersNotFoundException"
    assert upload_layer(ecr, "my-app", data, part_size=4000) == digest(data)
    check = ecr.batch_check_layer_availability(repositoryName="my-app", layerDigests=[digest(data), digest(b"no")])
    assert check["layers"] == [{"layerDigest": digest(data), "layerAvailability": "AVAILABLE",
                                "layerSize": len(data)}]
    assert check["failures"][0]["failureCode"] == "MissingLayerDigest"
    url = ecr.get_download_url_for_layer(repositoryName="my-app", layerDigest=digest(data))["downloadUrl"]
    assert url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(url, timeout=10) as response:  # a plain GET, no credentials
        assert response.read() == data
    tampered = url.replace("my-app", "other-app")
    with pytest.raises(urllib.error.HTTPError) as http:
        urllib.request.urlopen(tampered, timeout=10)
    assert http.value.code == 401


def test_layer_upload_errors(ecr):
    upload_id = ecr.initiate_layer_upload(repositoryName="my-app")["uploadId"]
    with pytest.raises(ClientError) as exc:
        ecr.upload_layer_part(repositoryName="my-app", uploadId=upload_id, partFirstByte=5, partLastByte=7,
                              layerPartBlob=b"abc")
    assert error(exc)[0] == "InvalidLayerPartException"
    with pytest.raises(ClientError) as exc:
        ecr.complete_layer_upload(repositoryName="my-app", uploadId=upload_id, layerDigests=[digest(b"")])
    assert error(exc)[0] == "EmptyUploadException"
    ecr.upload_layer_part(repositoryName="my-app", uploadId=upload_id, partFirstByte=0, partLastByte=2,
                          layerPartBlob=b"abc")
    with pytest.raises(ClientError) as exc:
        ecr.complete_layer_upload(repositoryName="my-app", uploadId=upload_id, layerDigests=[digest(b"abd")])
    assert error(exc)[0] == "InvalidLayerException"
    with pytest.raises(ClientError) as exc:
        ecr.upload_layer_part(repositoryName="my-app", uploadId="00000000-0000-0000-0000-000000000000",
                              partFirstByte=0, partLastByte=0, layerPartBlob=b"a")
    assert error(exc)[0] == "UploadNotFoundException"


def test_index_needs_its_images_and_takes_the_largest_size(ecr):
    small, large = make_image("a"), make_image("b" * 5000)
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": DOCKER_MANIFEST, "digest": i.digest, "size": len(i.manifest),
         "platform": {"architecture": arch, "os": "linux"}} for i, arch in ((small, "amd64"), (large, "arm64"))]})
    with pytest.raises(ClientError) as exc:
        ecr.put_image(repositoryName="my-app", imageManifest=index, imageTag="multi")
    assert error(exc)[0] == "ReferencedImagesNotFoundException"
    ecr_push(ecr, "my-app", small, tag=None)
    ecr_push(ecr, "my-app", large, tag=None)
    ecr.put_image(repositoryName="my-app", imageManifest=index, imageTag="multi")
    detail = ecr.describe_images(repositoryName="my-app", imageIds=[{"imageTag": "multi"}])["imageDetails"][0]
    assert detail["imageManifestMediaType"] == OCI_INDEX
    assert detail["imageSizeInBytes"] == max(small.layers_size, large.layers_size)
    answer = ecr.batch_delete_image(repositoryName="my-app", imageIds=[{"imageDigest": small.digest}])
    assert answer["failures"][0]["failureCode"] == "ImageReferencedByManifestList"


def test_scans_complete_with_no_findings(ecr):
    image = make_image()
    ecr_push(ecr, "my-app", image, tag="v1.0")
    with pytest.raises(ClientError) as exc:
        ecr.describe_image_scan_findings(repositoryName="my-app", imageId={"imageTag": "v1.0"})
    assert error(exc)[0] == "ScanNotFoundException"
    started = ecr.start_image_scan(repositoryName="my-app", imageId={"imageTag": "v1.0"})
    assert started["imageScanStatus"]["status"] == "IN_PROGRESS"
    ecr.get_waiter("image_scan_complete").wait(repositoryName="my-app", imageId={"imageTag": "v1.0"},
                                               WaiterConfig={"Delay": 1, "MaxAttempts": 2})
    findings = ecr.describe_image_scan_findings(repositoryName="my-app", imageId={"imageTag": "v1.0"})
    assert findings["imageScanStatus"]["status"] == "COMPLETE"
    assert findings["imageScanFindings"]["findings"] == []
    # botocore retries LimitExceededException with backoff; one attempt is enough to see it here
    no_retry = boto3.client("ecr", region_name=REGION, endpoint_url=ecr.meta.endpoint_url, aws_access_key_id="test",
                            aws_secret_access_key="test", config=Config(retries={"max_attempts": 0}))
    with pytest.raises(ClientError) as exc:
        no_retry.start_image_scan(repositoryName="my-app", imageId={"imageTag": "v1.0"})
    assert error(exc) == ("LimitExceededException", "The scan quota per image has been exceeded. Wait and try again.")


def test_scan_on_push(ecr):
    ecr.put_image_scanning_configuration(repositoryName="my-app", imageScanningConfiguration={"scanOnPush": True})
    ecr_push(ecr, "my-app", make_image(), tag="v1.0")
    detail = ecr.describe_images(repositoryName="my-app")["imageDetails"][0]
    assert detail["imageScanStatus"]["status"] == "COMPLETE"
    assert detail["imageScanFindingsSummary"]["findingSeverityCounts"] == {}


def test_list_images_paginates(ecr):
    image = make_image()
    ecr_push(ecr, "my-app", image, tag="t0")
    for i in range(1, 5):
        ecr.put_image(repositoryName="my-app", imageManifest=image.manifest.decode(), imageTag=f"t{i}")
    pages = list(ecr.get_paginator("list_images").paginate(repositoryName="my-app",
                                                           PaginationConfig={"PageSize": 2}))
    assert len(pages) == 3
    assert [i["imageTag"] for p in pages for i in p["imageIds"]] == [f"t{i}" for i in range(5)]
