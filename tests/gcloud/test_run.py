"""`labkit gcloud run ...` against a real cloud, in the lesson's order: deploy from an Artifact
Registry image, the URL, a v2 with no traffic and a tag, a canary 10/90, promotion; output as
gcloud prints it, state read back through the official clients, the URL really answering."""
from __future__ import annotations

import json

import pytest
import requests
from google.cloud import run_v2

from labkit import gcp
from tests.gcloud.conftest import PROJECT, REGION, push_app

SERVICE = f"projects/{PROJECT}/locations/{REGION}/services/my-service"
REVISION = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION
LATEST = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST


@pytest.fixture(scope="module")
def image(gcloud):
    return push_app(gcloud.cloud.endpoint, tag="v1")


@pytest.fixture(scope="module")
def services(gcloud):
    return gcp.run_client(endpoint=gcloud.cloud.endpoint)


def answer(gcloud, url: str) -> requests.Response:
    """GET the service URL as a notebook's kernel reaches it: the cloud's port, by Host."""
    return requests.get(gcloud.cloud.endpoint + "/", headers={"Host": url.split("://", 1)[1]}, timeout=30)


def traffic_of(services) -> list[tuple]:
    service = services.get_service(name=SERVICE)
    return sorted((t.type_, t.revision, t.percent, t.tag) for t in service.traffic)


@pytest.fixture(scope="module")
def deployed(gcloud, image, services):
    done = gcloud("run", "deploy", "my-service", f"--image={image}", f"--region={REGION}", "--platform=managed",
                  "--allow-unauthenticated")
    return done, services.get_service(name=SERVICE)


def test_deploy_prints_what_gcloud_prints_and_the_url_answers(gcloud, deployed):
    done, service = deployed
    revision = service.latest_ready_revision.rsplit("/", 1)[-1]
    assert revision.startswith("my-service-00001-")
    assert done.stdout == ""
    assert done.stderr == (
        f"Deploying container to Cloud Run service [my-service] in project [{PROJECT}] region [{REGION}]\n"
        "Deploying new service...\nCreating Revision....done\nRouting traffic....done\n"
        "Setting IAM Policy....done\nDone.\n"
        f"Service [my-service] revision [{revision}] has been deployed and is serving 100 percent of traffic.\n"
        f"Service URL: https://my-service-123456789012.{REGION}.run.app\n")
    assert [(t.type_, t.percent) for t in service.traffic] == [(LATEST, 100)]
    policy = gcp.run_client(endpoint=gcloud.cloud.endpoint).get_iam_policy(request={"resource": SERVICE})
    assert [(b.role, list(b.members)) for b in policy.bindings] == [("roles/run.invoker", ["allUsers"])]
    got = answer(gcloud, service.uri)
    assert (got.status_code, got.text) == (200, "Hello from GCP!")


def test_describe_formats_use_gcloud_v1_field_names(gcloud, deployed):
    _, service = deployed
    url = gcloud("run", "services", "describe", "my-service", f"--region={REGION}", "--format=value(status.url)")
    assert url.stdout == service.uri + "\n"
    shaped = json.loads(gcloud("run", "services", "describe", "my-service", "--format=json").stdout)
    assert shaped["kind"] == "Service" and shaped["apiVersion"] == "serving.knative.dev/v1"
    assert shaped["spec"]["template"]["spec"]["containers"][0]["image"] == service.template.containers[0].image
    assert shaped["status"]["latestReadyRevisionName"] == service.latest_ready_revision.rsplit("/", 1)[-1]
    assert shaped["status"]["traffic"][0]["latestRevision"] is True
    printed = gcloud("run", "services", "describe", "my-service").stdout
    assert printed.startswith(f"✔ Service my-service in region {REGION}\n")
    assert f"URL:     {service.uri}\n" in printed and "  100% LATEST (currently my-service-00001-" in printed
    missing = gcloud("run", "services", "describe", "nope", check=False)
    assert (missing.returncode, missing.stderr) == (1, "ERROR: (gcloud.run.services.describe) Cannot find service "
                                                       "[nope]\n")


def test_no_traffic_tag_canary_and_promotion(gcloud, deployed, image, services):
    _, first = deployed
    old = first.latest_ready_revision.rsplit("/", 1)[-1]
    done = gcloud("run", "deploy", "my-service", f"--image={image}", "--set-env-vars=TEXT=v2", "--no-traffic",
                  "--tag=green")
    new = services.get_service(name=SERVICE).latest_created_revision.rsplit("/", 1)[-1]
    assert new.startswith("my-service-00002-")
    assert (f"Service [my-service] revision [{new}] has been deployed and is serving 0 percent of traffic.\n"
            f"The revision can be reached directly at https://green---my-service-123456789012.{REGION}.run.app\n"
            ) in done.stderr
    assert "Service URL" not in done.stderr
    assert traffic_of(services) == sorted([(REVISION, old, 100, ""), (REVISION, new, 0, "green")])
    assert answer(gcloud, f"https://green---my-service-123456789012.{REGION}.run.app").text == "v2"
    assert answer(gcloud, first.uri).text == "Hello from GCP!"

    canary = gcloud("run", "services", "update-traffic", "my-service", f"--to-revisions={new}=10")
    assert canary.stderr == "Updating traffic...\nRouting traffic....done\nDone.\n"
    assert canary.stdout == (f"URL: {first.uri}\nTraffic:\n  90% {old}\n  10% {new}\n"
                             f"        green: https://green---my-service-123456789012.{REGION}.run.app\n")
    assert traffic_of(services) == sorted([(REVISION, old, 90, ""), (REVISION, new, 10, ""),
                                           (REVISION, new, 0, "green")])

    gcloud("run", "services", "update-traffic", "my-service", "--to-tags=green=50")
    assert traffic_of(services) == sorted([(REVISION, old, 50, ""), (REVISION, new, 50, ""),
                                           (REVISION, new, 0, "green")])
    revisions = gcloud("run", "revisions", "list", "--service=my-service", f"--region={REGION}")
    header, *rows = revisions.stdout.splitlines()
    assert header.split() == ["REVISION", "ACTIVE", "SERVICE", "DEPLOYED", "DEPLOYED", "BY"]
    assert [row.split()[:4] for row in rows] == [["✔", new, "yes", "my-service"], ["✔", old, "yes", "my-service"]]

    gcloud("run", "services", "update-traffic", "my-service", "--to-latest")
    assert traffic_of(services) == sorted([(LATEST, "", 100, ""), (REVISION, new, 0, "green")])
    assert answer(gcloud, first.uri).text == "v2"


def test_update_traffic_refusals(gcloud, deployed):
    """gcloud's own refusals (traffic.py, tested without a cloud), one end to end; Cloud Run's, relayed."""
    tag = gcloud("run", "services", "update-traffic", "my-service", "--to-tags=blue=10", check=False)
    assert (tag.returncode, tag.stderr) == (1, "ERROR: (gcloud.run.services.update-traffic) There is no revision "
                                               "tagged with [blue] in the traffic allocation for [my-service].\n")
    nothing = gcloud("run", "services", "update-traffic", "my-service", check=False)
    assert nothing.stderr == "ERROR: (gcloud.run.services.update-traffic) No traffic configuration change requested.\n"
    missing = gcloud("run", "services", "update-traffic", "my-service", "--to-revisions=my-service-nope=10",
                     check=False)
    assert missing.returncode == 1 and "Updating traffic failed\n" in missing.stderr
    assert "my-service-nope" in missing.stderr.splitlines()[-1] and "Traceback" not in missing.stderr


def test_deploy_refusals(gcloud, image):
    new = gcloud("run", "deploy", "fresh", f"--image={image}", "--no-traffic", check=False)
    assert (new.returncode, new.stderr) == (1, "ERROR: (gcloud.run.deploy) --no-traffic not supported when creating "
                                               "a new service.\n")
    no_image = gcloud("run", "deploy", "fresh", check=False)
    assert no_image.stderr.startswith("ERROR: (gcloud.run.deploy) Missing required argument [--image]: Requires a "
                                      "container image to deploy")
    bad_image = gcloud("run", "deploy", "broken", f"--image={image.rsplit(':', 1)[0]}:nope", check=False)
    assert bad_image.returncode == 1
    assert "Creating Revision....failed\nDeployment failed\nERROR: (gcloud.run.deploy) " in bad_image.stderr
    assert "Traceback" not in bad_image.stderr


def test_private_service_then_iam_binding_list_and_delete(gcloud, image, services):
    gcloud("run", "deploy", "private", f"--image={image}", "--port=8080", "--set-env-vars=TEXT=private")
    url = services.get_service(name=SERVICE.replace("my-service", "private")).uri
    assert answer(gcloud, url).status_code == 403
    bound = gcloud("run", "services", "add-iam-policy-binding", "private", "--member=allUsers",
                   "--role=roles/run.invoker")
    assert bound.stderr == "Updated IAM policy for service [private].\n"
    assert "- allUsers\n" in bound.stdout and "role: roles/run.invoker\n" in bound.stdout
    assert answer(gcloud, url).text == "private"
    listed = gcloud("run", "services", "list", "--format=value(metadata.name,status.url)").stdout
    assert f"private\t{url}\n" in listed
    deleted = gcloud("run", "services", "delete", "private", "--quiet")
    assert deleted.stderr == "Deleted service [private].\n"
    assert answer(gcloud, url).status_code == 404
    listed = gcloud("run", "services", "list")
    table = listed.stdout.splitlines()  # empty when no service is left (gcloud says "Listed 0 items." on stderr)
    if table:
        assert table[0].split() == ["SERVICE", "REGION", "URL", "LAST", "DEPLOYED", "BY", "LAST", "DEPLOYED", "AT"]
    assert "private" not in [row.split()[1] for row in table[1:]]  # (the ready mark first) gone from the list


APP = """\
import http.server, os
TEXT = f"Hello from {os.environ.get('CLOUD_PROVIDER', 'nowhere')}!".encode()

class App(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(TEXT)))
        self.end_headers()
        self.wfile.write(TEXT)

http.server.ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), App).serve_forever()
"""


def test_deploy_from_source_builds_pushes_and_deploys(gcloud, services, tmp_path):
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "Dockerfile").write_text('FROM python:3.12-slim\nWORKDIR /app\nCOPY app.py .\nCMD ["python", "app.py"]\n')
    done = gcloud("run", "deploy", "my-app", "--source=.", "--set-env-vars=CLOUD_PROVIDER=GCP",
                  "--allow-unauthenticated", cwd=tmp_path)
    assert ("A repository named [cloud-run-source-deploy] in region [asia-northeast3] will be created."
            in done.stderr)
    assert (f"Building using Dockerfile and deploying container to Cloud Run service [my-app] in project "
            f"[{PROJECT}] region [{REGION}]\nBuilding and deploying new service...\n"
            "Creating Container Repository....done\nUploading sources....done\nBuilding Container....done\n"
            "Creating Revision....done\n") in done.stderr
    service = services.get_service(name=SERVICE.replace("my-service", "my-app"))
    image = service.template.containers[0].image
    registry = gcp.artifact_registry_client(endpoint=gcloud.cloud.endpoint)
    pushed = {img.uri: list(img.tags) for img in registry.list_docker_images(
        parent=f"projects/{PROJECT}/locations/{REGION}/repositories/cloud-run-source-deploy")}
    assert pushed == {image: ["latest"]}  # deployed by digest, as gcloud deploys a source build
    assert image.startswith(f"{REGION}-docker.pkg.dev/{PROJECT}/cloud-run-source-deploy/my-app@sha256:")
    assert answer(gcloud, service.uri).text == "Hello from GCP!"
    (tmp_path / "Dockerfile").unlink()
    bare = gcloud("run", "deploy", "my-app", "--source=.", cwd=tmp_path, check=False)
    assert bare.returncode == 1 and bare.stderr.startswith("ERROR: (gcloud.run.deploy) There is no Dockerfile in .")
