"""The OCI distribution API with raw HTTP (requests), step by step as docker speaks it, and what
ECR's API then reports of the same images."""
from __future__ import annotations

import json

import pytest

from tests.cloud.helpers import (ACCOUNT, OCI_INDEX, OCI_MANIFEST, REGION, Registry, digest, ecr_push, login,
                                 make_image, oci_error)

HOST = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"


@pytest.fixture
def ecr(aws):
    client = aws("ecr")
    client.create_repository(repositoryName="my-app")
    return client


@pytest.fixture
def registry(ecr, fresh_cloud):
    """Logged in as `docker login` would be, reaching the cloud with the ECR host name."""
    return Registry(fresh_cloud.endpoint, login(ecr), host=HOST)


def test_ping(registry):
    response = registry.request("GET", "/v2/")
    assert (response.status_code, response.json()) == (200, {})
    assert response.headers["Docker-Distribution-API-Version"] == "registry/2.0"


def test_push_two_tags_one_digest_and_pull_back(registry, ecr):
    image = make_image()
    responses = registry.push("my-app", image, "v1.0", "latest")
    assert [r.status_code for r in responses] == [201, 201]
    assert {r.headers["Docker-Content-Digest"] for r in responses} == {image.digest}
    assert responses[0].headers["Location"] == f"/v2/my-app/manifests/{image.digest}"

    pulled = registry.request("GET", "/v2/my-app/manifests/latest",
                              headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    assert pulled.status_code == 200
    assert pulled.content == image.manifest
    assert pulled.headers["Content-Type"] == image.media_type
    assert pulled.headers["Docker-Content-Digest"] == digest(pulled.content) == image.digest
    head = registry.request("HEAD", f"/v2/my-app/manifests/{image.digest}")
    assert (head.status_code, head.headers["Content-Length"]) == (200, str(len(image.manifest)))
    for d, data in image.blobs.items():
        blob = registry.request("GET", f"/v2/my-app/blobs/{d}")
        assert blob.content == data and blob.headers["Docker-Content-Digest"] == d

    ids = ecr.list_images(repositoryName="my-app")["imageIds"]
    assert sorted(i["imageTag"] for i in ids) == ["latest", "v1.0"] and {i["imageDigest"] for i in ids} == {image.digest}
    detail = ecr.describe_images(repositoryName="my-app")["imageDetails"][0]
    assert (detail["imageDigest"], detail["imageSizeInBytes"]) == (image.digest, image.layers_size)
    assert registry.request("GET", "/v2/my-app/tags/list").json() == {"name": "my-app", "tags": ["latest", "v1.0"]}


def test_image_pushed_with_ecr_api_is_pulled_from_registry(registry, ecr):
    image = make_image(media_type=OCI_MANIFEST)
    ecr_push(ecr, "my-app", image, tag="v1.0")
    pulled = registry.request("GET", "/v2/my-app/manifests/v1.0")
    assert pulled.content == image.manifest and pulled.headers["Content-Type"] == OCI_MANIFEST


def test_push_without_credentials(fresh_cloud, ecr):
    anonymous = Registry(fresh_cloud.endpoint, None, host=HOST)
    for method, path in (("GET", "/v2/"), ("POST", "/v2/my-app/blobs/uploads/"), ("GET", "/v2/my-app/tags/list")):
        response = anonymous.request(method, path)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == f'Basic realm="https://{HOST}/",service="ecr.amazonaws.com"'
        assert response.text == "Not Authorized\n"
    assert ecr.list_images(repositoryName="my-app")["imageIds"] == []


def test_wrong_password(fresh_cloud, ecr):
    response = Registry(fresh_cloud.endpoint, ("AWS", "not-a-token"), host=HOST).request("GET", "/v2/")
    assert response.status_code == 400  # what ECR answers `docker login` with a token it did not issue
    assert oci_error(response) == ("DENIED", "Your authorization token is invalid.")


def test_push_to_missing_repository(registry):
    response = registry.request("POST", "/v2/other-app/blobs/uploads/")
    assert response.status_code == 404
    assert oci_error(response) == ("NAME_UNKNOWN", "The repository with name 'other-app' does not exist in the "
                                                   f"registry with id '{ACCOUNT}'")
    image = make_image()
    response = registry.push_manifest("other-app", "v1", image.manifest, image.media_type)
    assert response.status_code == 404 and oci_error(response)[0] == "NAME_UNKNOWN"


def test_immutable_tags(registry, ecr):
    ecr.put_image_tag_mutability(repositoryName="my-app", imageTagMutability="IMMUTABLE")
    first, second = make_image("one"), make_image("two")
    assert registry.push("my-app", first, "v1.0")[0].status_code == 201
    for image in (second, first):  # another image, and even the same one again
        response = registry.push("my-app", image, "v1.0")[0]
        assert response.status_code == 400
        assert oci_error(response) == ("TAG_INVALID", "The image tag 'v1.0' already exists in the 'my-app' repository "
                                                      "and cannot be overwritten because the repository is immutable.")
    assert registry.request("GET", "/v2/my-app/manifests/v1.0").content == first.manifest


def test_same_push_twice_to_a_mutable_repository(registry, ecr):
    image = make_image()
    registry.push("my-app", image, "v1.0")
    assert registry.push("my-app", image, "v1.0")[0].status_code == 201
    assert len(ecr.describe_images(repositoryName="my-app")["imageDetails"]) == 1


def test_manifest_with_missing_blobs(registry):
    image = make_image()
    response = registry.push_manifest("my-app", "v1", image.manifest, image.media_type)
    assert response.status_code == 400
    code, message = oci_error(response)
    assert code == "MANIFEST_BLOB_UNKNOWN" and all(d in message for d in image.blobs)


def test_manifest_errors(registry):
    image = make_image()
    registry.push("my-app", image)
    cases = [
        (b"not json", image.media_type, "v1", "MANIFEST_INVALID"),
        (image.manifest, "application/vnd.docker.distribution.manifest.v1+prettyjws", "v1", "MANIFEST_INVALID"),
        (image.manifest, image.media_type, "sha256:" + "0" * 64, "DIGEST_INVALID"),
        (image.manifest, image.media_type, "v1%2B1", "TAG_INVALID"),
    ]
    for body, media_type, reference, code in cases:
        response = registry.push_manifest("my-app", reference, body, media_type)
        assert (response.status_code, oci_error(response)[0]) == (400, code), response.text
    missing = registry.request("GET", "/v2/my-app/manifests/v9")
    assert (missing.status_code, oci_error(missing)) == (404, ("MANIFEST_UNKNOWN", "Requested image not found"))
    blob = registry.request("GET", f"/v2/my-app/blobs/{digest(b'nothing')}")
    assert (blob.status_code, oci_error(blob)[0]) == (404, "BLOB_UNKNOWN")
    assert registry.request("DELETE", f"/v2/my-app/blobs/{image.digest}").status_code == 405


def test_push_by_digest_then_tag(registry, ecr):
    image = make_image()
    registry.push("my-app", image)
    assert registry.push_manifest("my-app", image.digest, image.manifest, image.media_type).status_code == 201
    assert ecr.list_images(repositoryName="my-app")["imageIds"] == [{"imageDigest": image.digest}]
    assert registry.push_manifest("my-app", "v1", image.manifest, image.media_type).status_code == 201
    assert ecr.list_images(repositoryName="my-app")["imageIds"] == [{"imageDigest": image.digest, "imageTag": "v1"}]


def test_chunked_upload_with_ranges_and_status(registry):
    data = bytes(range(256)) * 100
    start = registry.request("POST", "/v2/my-app/blobs/uploads/")
    assert start.status_code == 202 and start.headers["Range"] == "0-0"
    location, uuid = start.headers["Location"], start.headers["Docker-Upload-UUID"]
    assert location == f"/v2/my-app/blobs/uploads/{uuid}"
    first = registry.request("PATCH", location, data=data[:10000], headers={"Content-Range": "0-9999"})
    assert (first.status_code, first.headers["Range"]) == (202, "0-9999")
    out_of_order = registry.request("PATCH", location, data=data[:10], headers={"Content-Range": "20000-20009"})
    assert out_of_order.status_code == 416 and oci_error(out_of_order)[0] == "BLOB_UPLOAD_INVALID"
    status = registry.request("GET", location)
    assert (status.status_code, status.headers["Range"]) == (204, "0-9999")
    registry.request("PATCH", location, data=data[10000:20000], headers={"Content-Range": "10000-19999"})
    wrong = registry.request("PUT", location, params={"digest": digest(b"other")}, data=data[20000:])
    assert (wrong.status_code, oci_error(wrong)[0]) == (400, "DIGEST_INVALID")


def test_monolithic_upload_mount_and_cancel(registry, ecr):
    data = b"config"
    done = registry.request("POST", "/v2/my-app/blobs/uploads/", params={"digest": digest(data)}, data=data)
    assert (done.status_code, done.headers["Location"]) == (201, f"/v2/my-app/blobs/{digest(data)}")
    bad = registry.request("POST", "/v2/my-app/blobs/uploads/", params={"digest": digest(b"x")}, data=data)
    assert (bad.status_code, oci_error(bad)[0]) == (400, "DIGEST_INVALID")

    ecr.create_repository(repositoryName="team/other")
    mounted = registry.request("POST", "/v2/team/other/blobs/uploads/",
                               params={"mount": digest(data), "from": "my-app"})
    assert (mounted.status_code, mounted.headers["Docker-Content-Digest"]) == (201, digest(data))
    assert registry.request("HEAD", f"/v2/team/other/blobs/{digest(data)}").status_code == 200
    not_there = registry.request("POST", "/v2/team/other/blobs/uploads/",
                                 params={"mount": digest(b"none"), "from": "my-app"})
    assert not_there.status_code == 202  # falls back to a normal upload
    cancelled = registry.request("DELETE", not_there.headers["Location"])
    assert cancelled.status_code == 204
    gone = registry.request("GET", not_there.headers["Location"])
    assert (gone.status_code, oci_error(gone)[0]) == (404, "BLOB_UPLOAD_UNKNOWN")


def test_tags_list_paginates(registry):
    image = make_image()
    registry.push("my-app", image, "a", "b", "c")
    first = registry.request("GET", "/v2/my-app/tags/list", params={"n": 2})
    assert first.json()["tags"] == ["a", "b"]
    assert first.headers["Link"] == '</v2/my-app/tags/list?n=2&last=b>; rel="next"'
    rest = registry.request("GET", "/v2/my-app/tags/list", params={"n": 2, "last": "b"})
    assert rest.json()["tags"] == ["c"] and "Link" not in rest.headers
    assert registry.request("GET", "/v2/_catalog").json() == {"repositories": ["my-app"]}


def test_index_and_delete(registry, ecr):
    amd, arm = make_image("amd"), make_image("arm")
    registry.push("my-app", amd)
    registry.push("my-app", arm)
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": i.media_type, "digest": i.digest, "size": len(i.manifest),
         "platform": {"architecture": a, "os": "linux"}} for i, a in ((amd, "amd64"), (arm, "arm64"))]}).encode()
    missing = registry.push_manifest("my-app", "multi", index, OCI_INDEX)
    assert (missing.status_code, oci_error(missing)[0]) == (400, "MANIFEST_BLOB_UNKNOWN")
    for image in (amd, arm):
        registry.push_manifest("my-app", image.digest, image.manifest, image.media_type)
    assert registry.push_manifest("my-app", "multi", index, OCI_INDEX).status_code == 201
    assert registry.request("GET", "/v2/my-app/manifests/multi").headers["Content-Type"] == OCI_INDEX
    assert registry.request("DELETE", "/v2/my-app/manifests/multi").status_code == 202
    assert registry.request("GET", "/v2/my-app/manifests/multi").status_code == 404
    assert registry.request("DELETE", f"/v2/my-app/manifests/{amd.digest}").status_code == 202
    assert amd.digest not in {d["imageDigest"] for d in ecr.describe_images(repositoryName="my-app")["imageDetails"]}


def test_host_header_selects_account_and_region(fresh_cloud, aws):
    virginia = aws("ecr", region="us-east-1")
    virginia.create_repository(repositoryName="my-app")
    host = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"
    registry = Registry(fresh_cloud.endpoint, login(virginia), host=host)
    assert registry.push("my-app", make_image(), "v1")[0].status_code == 201
    assert len(virginia.list_images(repositoryName="my-app")["imageIds"]) == 1
    # the same credentials at 127.0.0.1 (the default region, ap-northeast-2) are not valid there
    assert Registry(fresh_cloud.endpoint, login(virginia)).request("GET", "/v2/").status_code == 400
    unknown = Registry(fresh_cloud.endpoint, login(virginia), host="public.ecr.aws.amazonaws.com")
    assert unknown.request("GET", "/v2/").status_code == 404


def test_streamed_chunked_transfer_encoding(registry):
    """docker streams a layer in one PATCH with `Transfer-Encoding: chunked` and no length."""
    data = bytes(range(256)) * 400
    start = registry.request("POST", "/v2/my-app/blobs/uploads/")
    assert registry.request("HEAD", f"/v2/my-app/blobs/{digest(data)}").status_code == 404
    patch = registry.request("PATCH", start.headers["Location"],
                             data=(data[i:i + 8192] for i in range(0, len(data), 8192)))
    assert (patch.status_code, patch.headers["Range"]) == (202, f"0-{len(data) - 1}")
    done = registry.request("PUT", patch.headers["Location"], params={"digest": digest(data)})
    assert done.status_code == 201
    head = registry.request("HEAD", f"/v2/my-app/blobs/{digest(data)}")
    assert (head.status_code, head.headers["Content-Length"]) == (200, str(len(data)))


def test_invalid_names_and_parameters(registry):
    bad_name = registry.request("POST", "/v2/My-App/blobs/uploads/")
    assert (bad_name.status_code, oci_error(bad_name)[0]) == (400, "NAME_INVALID")
    assert "Invalid parameter at 'repositoryName'" in oci_error(bad_name)[1]
    bad_n = registry.request("GET", "/v2/my-app/tags/list", params={"n": "many"})
    assert (bad_n.status_code, oci_error(bad_n)[0]) == (400, "PAGINATION_NUMBER_INVALID")
    assert registry.request("GET", "/v2/my-app/nothing-here").status_code == 404
    assert registry.request("PUT", "/v2/my-app/tags/list").status_code == 405
