"""ECR's models and both protocols in-process, with an injected clock and id generator: what
depends on time (token and download-URL expiry, the scan quota) and on ids is deterministic."""
from __future__ import annotations

import base64
import json

import pytest
from werkzeug.test import Client

from labkit.cloud.aws.ecr import errors, models
from labkit.cloud.aws.ecr.api import ecr_app
from labkit.cloud.registry.api import registry_app
from labkit.cloud.state import CloudState
from tests.cloud.helpers import ACCOUNT, REGION, digest, make_image


class Clock:
    def __init__(self, now: float = 1_700_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def state(clock):
    counter = iter(range(1, 10**6))
    return CloudState(clock=clock, ids=lambda: f"{next(counter):032x}")


def call(state, op: str, body: dict, region: str = REGION) -> tuple[int, dict]:
    client = Client(lambda environ, start: ecr_app(state, environ, start))
    auth = f"AWS4-HMAC-SHA256 Credential=test/20240101/{region}/ecr/aws4_request, SignedHeaders=host, Signature=x"
    response = client.post("/", data=json.dumps(body), headers={
        "X-Amz-Target": f"AmazonEC2ContainerRegistry_V20150921.{op}", "Authorization": auth,
        "Content-Type": "application/x-amz-json-1.1"})
    return response.status_code, json.loads(response.data)


def registry(state, method: str, path: str, auth: tuple[str, str] | None = None, **kwargs):
    client = Client(lambda environ, start: registry_app(state, environ, start))
    headers = kwargs.pop("headers", {})
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(":".join(auth).encode()).decode()
    return client.open(path, method=method, headers=headers, **kwargs)


def password(state, region: str = REGION) -> str:
    status, body = call(state, "GetAuthorizationToken", {}, region)
    assert status == 200
    return base64.b64decode(body["authorizationData"][0]["authorizationToken"]).decode().split(":", 1)[1]


def test_token_expires_after_twelve_hours(state, clock):
    status, body = call(state, "GetAuthorizationToken", {})
    assert body["authorizationData"][0]["expiresAt"] == clock.now + 12 * 3600
    secret = password(state)
    assert registry(state, "GET", "/v2/", ("AWS", secret)).status_code == 200
    clock.now += 12 * 3600 - 1
    assert registry(state, "GET", "/v2/", ("AWS", secret)).status_code == 200
    clock.now += 1
    expired = registry(state, "GET", "/v2/", ("AWS", secret))
    assert expired.status_code == 403
    assert expired.json == {"errors": [{"code": "DENIED", "message": "Your authorization token has expired. "
                                                                     "Reauthenticate and try again."}]}


def test_token_is_for_one_region_and_user_aws(state):
    seoul = password(state, REGION)
    virginia = password(state, "us-east-1")
    assert registry(state, "GET", "/v2/", ("AWS", virginia)).status_code == 400  # 127.0.0.1 -> ap-northeast-2
    assert registry(state, "GET", "/v2/", ("AWS", virginia),
                    headers={"Host": f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"}).status_code == 200
    wrong_user = registry(state, "GET", "/v2/", ("admin", seoul))
    assert wrong_user.status_code == 400 and wrong_user.json["errors"][0]["code"] == "DENIED"


def test_download_url_expires_after_an_hour(state, clock):
    call(state, "CreateRepository", {"repositoryName": "my-app"})
    data = b"layer bytes"
    status, started = call(state, "InitiateLayerUpload", {"repositoryName": "my-app"})
    assert started["uploadId"] == "00000000-0000-0000-0000-000000000002"  # from the injected ids
    call(state, "UploadLayerPart", {"repositoryName": "my-app", "uploadId": started["uploadId"], "partFirstByte": 0,
                                    "partLastByte": len(data) - 1, "layerPartBlob": base64.b64encode(data).decode()})
    status, done = call(state, "CompleteLayerUpload", {"repositoryName": "my-app", "uploadId": started["uploadId"],
                                                       "layerDigests": [digest(data)]})
    assert status == 200, done
    status, answer = call(state, "GetDownloadUrlForLayer", {"repositoryName": "my-app",
                                                            "layerDigest": done["layerDigest"]})
    path = answer["downloadUrl"].split("://", 1)[1].split("/", 1)[1]
    assert registry(state, "GET", "/" + path).data == data
    clock.now += 3600
    assert registry(state, "GET", "/" + path).status_code == 401


def test_scan_quota_is_one_a_day(state, clock):
    backend = models.backend(state)
    backend.create_repository(ACCOUNT, REGION, "my-app")
    image = make_image()
    for d, blob in image.blobs.items():
        backend.put_blob(ACCOUNT, REGION, "my-app", d, blob)
    backend.put_image(ACCOUNT, REGION, "my-app", image.manifest, tag="v1")
    backend.start_image_scan(ACCOUNT, REGION, "my-app", {"imageTag": "v1"})
    with pytest.raises(errors.LimitExceeded):
        backend.start_image_scan(ACCOUNT, REGION, "my-app", {"imageTag": "v1"})
    clock.now += 24 * 3600
    assert backend.start_image_scan(ACCOUNT, REGION, "my-app", {"imageTag": "v1"}).scanned_at == clock.now


def test_reset_drops_everything(state):
    call(state, "CreateRepository", {"repositoryName": "my-app"})
    secret = password(state)
    state.reset()
    assert call(state, "DescribeRepositories", {})[1] == {"repositories": []}
    assert registry(state, "GET", "/v2/", ("AWS", secret)).status_code == 400


def test_pushed_at_comes_from_the_clock(state, clock):
    backend = models.backend(state)
    backend.create_repository(ACCOUNT, REGION, "my-app")
    image = make_image()
    for d, blob in image.blobs.items():
        backend.put_blob(ACCOUNT, REGION, "my-app", d, blob)
    status, body = call(state, "PutImage", {"repositoryName": "my-app", "imageManifest": image.manifest.decode(),
                                            "imageTag": "v1"})
    assert status == 200
    assert call(state, "DescribeImages", {"repositoryName": "my-app"})[1]["imageDetails"][0]["imagePushedAt"] \
        == clock.now


def test_bad_request_bodies(state):
    client = Client(lambda environ, start: ecr_app(state, environ, start))
    response = client.post("/", data="not json", headers={
        "X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories"})
    assert response.status_code == 400 and json.loads(response.data)["__type"] == "SerializationException"
    status, body = call(state, "CreateRepository", {})
    assert (status, body["__type"]) == (400, "InvalidParameterException")
    assert body["message"] == "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must not be null'"
