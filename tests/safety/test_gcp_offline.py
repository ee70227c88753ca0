"""Never reach real GCP: after labkit.start(), the Google clients labkit.gcp makes go to the local
cloud on 127.0.0.1 (REST through Python's sockets, which the guard watches; gRPC on a channel to
127.0.0.1 that ignores proxy variables), google-auth finds no real credentials (no ADC file, no
GOOGLE_APPLICATION_CREDENTIALS, no metadata server), and the project is the course's."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from tests.safety.test_no_real_cloud import hostile_environment, run_python

UNREACHABLE_PROXY = "http://192.0.2.1:3128"  # TEST-NET-1: a call through it could never succeed


def gcp_hostile_environment(tmp_path, cloud) -> dict:
    """A student machine with real-looking Google credentials and proxies everywhere."""
    env = hostile_environment(tmp_path, cloud)
    home = tmp_path / "home"
    adc = home / ".config" / "gcloud" / "application_default_credentials.json"
    adc.parent.mkdir(parents=True)
    adc.write_text(json.dumps({"type": "authorized_user", "client_id": "real.apps.googleusercontent.com",
                               "client_secret": "real-secret", "refresh_token": "1//real-refresh-token"}))
    key = home / "sa.json"
    key.write_text(json.dumps({"type": "service_account", "project_id": "real-project",
                               "client_email": "real@real-project.iam.gserviceaccount.com"}))
    env.update({"GOOGLE_APPLICATION_CREDENTIALS": str(key), "GOOGLE_CLOUD_PROJECT": "real-project",
                "CLOUDSDK_CONFIG": str(adc.parent), "GOOGLE_API_USE_MTLS_ENDPOINT": "always",
                "grpc_proxy": UNREACHABLE_PROXY, "http_proxy": UNREACHABLE_PROXY, "HTTP_PROXY": UNREACHABLE_PROXY,
                "https_proxy": UNREACHABLE_PROXY, "HTTPS_PROXY": UNREACHABLE_PROXY})  # nothing may go through them
    return env


def test_google_clients_reach_the_local_cloud_only(cloud, tmp_path):
    cloud.control("reset")
    env = gcp_hostile_environment(tmp_path, cloud)
    report = run_python("""
        import json, os
        import labkit
        labkit.start()
        from labkit import gcp
        import google.auth, google.auth.exceptions
        from google.cloud import artifactregistry_v1 as ar
        out = {"project": os.environ["GOOGLE_CLOUD_PROJECT"], "adc": "none",
               "credentials_file": os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")}
        try:
            google.auth.default()
            out["adc"] = "found"
        except google.auth.exceptions.DefaultCredentialsError:
            pass
        parent = f"projects/{gcp.PROJECT_ID}/locations/{gcp.REGION}"
        grpc_client = gcp.artifact_registry_client()
        grpc_client.create_repository(parent=parent, repository_id="safe", repository=ar.Repository(
            format_=ar.Repository.Format.DOCKER)).result(timeout=30)
        rest_client = gcp.artifact_registry_client(transport="rest")
        out["rest"] = [r.name for r in rest_client.list_repositories(parent=parent)]
        out["grpc_target"] = grpc_client.transport.grpc_channel._channel.target().decode()
        out["rest_host"] = rest_client.transport._host
        out["run"] = type(gcp.run_client()).__name__, type(gcp.revisions_client(transport="rest")).__name__
        try:
            gcp.run_client(endpoint="https://run.googleapis.com")
        except ValueError as exc:
            out["refused"] = str(exc)
        print(json.dumps(out))
    """, env)
    assert report["project"] == "labkit-project" and report["credentials_file"] is None
    assert report["adc"] == "none"  # neither ~/.config/gcloud's ADC nor the key file nor a metadata server
    assert report["rest"] == ["projects/labkit-project/locations/asia-northeast3/repositories/safe"]  # made over gRPC
    assert report["grpc_target"] == f"ipv4:127.0.0.1:{cloud.port}"
    assert report["rest_host"] == f"http://127.0.0.1:{cloud.port}/gcp/artifactregistry"
    assert report["run"] == ["ServicesClient", "RevisionsClient"]
    assert "only talks to the local cloud on 127.0.0.1" in report["refused"]
    log = (tmp_path / "net.log").read_text()
    assert "BLOCKED" not in log and f"ok 127.0.0.1:{cloud.port}" in log


@pytest.mark.skipif(shutil.which("gcloud") is None, reason="the real gcloud is not installed here")
def test_the_real_gcloud_after_labkit_env_reaches_the_local_cloud_only(cloud, tmp_path):
    """gcloud (on this machine, not on a student's) with `labkit env`'s configuration: `artifacts` goes
    to the local cloud, `run` is refused before sending anything, and neither asks DNS for
    metadata.google.internal (the guard records and blocks name lookups too)."""
    env = gcp_hostile_environment(tmp_path, cloud)
    env["CLOUDSDK_PYTHON_SITEPACKAGES"] = "1"  # gcloud runs python -S otherwise: no sitecustomize, no guard
    exports = subprocess.run([sys.executable, "-m", "labkit.cli", "env"], env=env, capture_output=True, text=True,
                             check=True).stdout
    script = (f"{exports}\ngcloud artifacts repositories list --location=asia-northeast3 --format=json\n"
              "gcloud run services list --region=asia-northeast3 || true\n")
    out = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().startswith("[")
    log = (tmp_path / "net.log").read_text()
    assert "gcloud" in log  # gcloud's python ran under the guard
    assert "BLOCKED" not in log and f"ok 127.0.0.1:{cloud.port}" in log
