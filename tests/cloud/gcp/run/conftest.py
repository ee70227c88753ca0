"""Cloud Run's tests: a real cloud process per module (`python -m labkit.cloud.server`, gRPC and REST on
its one port) with a seeded router, a short scale-to-zero time and a short startup timeout; the
official clients pointed at it as a student's kernel makes them; a small web app image (Python's
http.server on $PORT answering $TEXT) pushed to the cloud's Artifact Registry."""
from __future__ import annotations


import pytest
import requests
from google.cloud import run_v2

from labkit import gcp
from labkit.cloud.gcp.project import ACCESS_TOKEN, DEFAULT_PROJECT
from labkit.cloud.process import start_cloud
from tests.cloud.helpers import Registry
from tests.cloud.local_cloud import wait_for  # noqa: F401 (the tests' poller)
from tests.cloud.runtime.images import stand_in_image

PARENT = "projects/labkit-project/locations/asia-northeast3"
SEED = "20261201"
IDLE_S = "1.5"          # scale to zero after 1.5 s without requests (the cloud's default: 60 s)
START_TIMEOUT_S = "10"  # an app that never listens fails after 10 s (default: 20 s; a loaded machine is slow)
AR_HOST = "asia-northeast3-docker.pkg.dev"
REPOSITORY = "my-repo"
APP = """\
import http.server, os, sys
TEXT = os.environ.get("TEXT", "Hello from GCP!").encode()

class App(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall between them

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(TEXT)))
        self.end_headers()
        self.wfile.write(TEXT)

    def log_message(self, format, *args):
        print("request", self.path, flush=True)

print("listening on", os.environ["PORT"], flush=True)
http.server.ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), App).serve_forever()
"""


def cloud_env() -> dict:
    return {"LABKIT_CLOUDRUN_SEED": SEED, "LABKIT_CLOUDRUN_IDLE_SECONDS": IDLE_S,
            "LABKIT_CLOUDRUN_START_TIMEOUT": START_TIMEOUT_S, "LABKIT_CLOUD_WARM_UP": "0"}


@pytest.fixture(scope="module")
def run_cloud(tmp_path_factory):
    cloud = start_cloud(tmp_path_factory.mktemp("cloudrun-cloud"), extra_env=cloud_env())
    yield cloud
    cloud.stop()


def push_app(endpoint: str, image: str = "my-app", tag: str = "v1", app: str = APP) -> str:
    """The app image pushed to the cloud's Artifact Registry (repository my-repo, made if missing),
    with the credentials gcloud's docker helper gives; its URI."""
    from google.api_core import exceptions
    from google.cloud import artifactregistry_v1 as ar

    registry_client = gcp.artifact_registry_client(transport="rest", endpoint=endpoint)  # REST: in-process clouds too
    try:
        registry_client.create_repository(parent=PARENT, repository_id=REPOSITORY, repository=ar.Repository(
            format_=ar.Repository.Format.DOCKER)).result(timeout=30)
    except exceptions.Conflict:  # REST's class for ALREADY_EXISTS
        pass
    manifest, blobs = stand_in_image({"/app/app.py": app}, Cmd=["python", "app.py"])
    registry = Registry(endpoint, ("oauth2accesstoken", ACCESS_TOKEN), host=AR_HOST)
    name = f"{DEFAULT_PROJECT}/{REPOSITORY}/{image}"
    for data in blobs.values():
        assert registry.push_blob(name, data).status_code == 201
    answer = registry.push_manifest(name, tag, manifest, "application/vnd.docker.distribution.manifest.v2+json")
    assert answer.status_code == 201, answer.text
    return f"{AR_HOST}/{name}:{tag}"


@pytest.fixture(scope="module")
def image(run_cloud) -> str:
    return push_app(run_cloud.endpoint)


@pytest.fixture(scope="module")
def services(run_cloud):
    """labkit.gcp.run_client(), as a notebook makes it (gRPC, the client's default transport)."""
    return gcp.run_client(endpoint=run_cloud.endpoint)


@pytest.fixture(scope="module")
def revisions(run_cloud):
    return gcp.revisions_client(endpoint=run_cloud.endpoint)


@pytest.fixture(scope="module")
def rest_services(run_cloud):
    return gcp.run_client(transport="rest", endpoint=run_cloud.endpoint)


def service_of(image: str, text: str = "Hello from GCP!", **template) -> run_v2.Service:
    container = run_v2.Container(image=image, env=[run_v2.EnvVar(name="TEXT", value=text)])
    return run_v2.Service(template=run_v2.RevisionTemplate(containers=[container], **template))


def get(cloud, url: str, path: str = "/", headers: dict | None = None) -> requests.Response:
    """GET a service URL as a student's kernel sends it (labkit/net.py): the cloud's port, by Host."""
    host = url.split("://", 1)[-1].split("/", 1)[0]
    return requests.get(cloud.endpoint + path, headers={"Host": host, **(headers or {})}, timeout=30)


def make_public(services, name: str) -> None:
    from google.iam.v1 import policy_pb2

    policy = policy_pb2.Policy(bindings=[policy_pb2.Binding(role="roles/run.invoker", members=["allUsers"])])
    services.set_iam_policy(request={"resource": name, "policy": policy})
