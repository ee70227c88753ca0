"""skopeo (containers/image, the library podman and buildah use) copies an image into the local
registry and back. CI installs skopeo; without it only this file is skipped."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cloud.helpers import OCI_MANIFEST, Image, login, make_image

SKOPEO = shutil.which("skopeo")
pytestmark = pytest.mark.skipif(SKOPEO is None, reason="skopeo is not installed (CI installs it: apt-get install skopeo)")


def write_layout(path: Path, image: Image, tag: str) -> None:
    """An OCI image layout directory (what `skopeo copy oci:DIR:TAG` reads)."""
    blobs = path / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    for digest, data in {**image.blobs, image.digest: image.manifest}.items():
        (blobs / digest.split(":", 1)[1]).write_bytes(data)
    (path / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    (path / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": image.media_type, "digest": image.digest, "size": len(image.manifest),
         "annotations": {"org.opencontainers.image.ref.name": tag}}]}))


@pytest.fixture
def skopeo(tmp_path):
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}  # no user registries.conf or auth.json

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([SKOPEO, "--policy", str(policy), *args], env=env, capture_output=True, text=True,
                              timeout=120)
    return run


def test_skopeo_copies_in_and_out(aws, fresh_cloud, skopeo, tmp_path):
    ecr = aws("ecr")
    ecr.create_repository(repositoryName="team/my-app")
    user, password = login(ecr)
    image = make_image(media_type=OCI_MANIFEST)
    write_layout(tmp_path / "src", image, "v1.0")
    target = f"docker://127.0.0.1:{fresh_cloud.port}/team/my-app"
    creds = f"{user}:{password}"

    for tag in ("v1.0", "latest"):
        pushed = skopeo("copy", "--dest-tls-verify=false", "--dest-creds", creds,
                        f"oci:{tmp_path / 'src'}:v1.0", f"{target}:{tag}")
        assert pushed.returncode == 0, pushed.stderr
    ids = ecr.list_images(repositoryName="team/my-app")["imageIds"]
    assert sorted(i["imageTag"] for i in ids) == ["latest", "v1.0"]
    assert {i["imageDigest"] for i in ids} == {image.digest}  # copied byte for byte

    raw = skopeo("inspect", "--raw", "--tls-verify=false", "--creds", creds, f"{target}:latest")
    assert raw.returncode == 0, raw.stderr
    assert raw.stdout.encode() == image.manifest

    pulled = skopeo("copy", "--src-tls-verify=false", "--src-creds", creds, f"{target}:v1.0",
                    f"oci:{tmp_path / 'out'}:v1.0")
    assert pulled.returncode == 0, pulled.stderr
    index = json.loads((tmp_path / "out" / "index.json").read_text())
    assert index["manifests"][0]["digest"] == image.digest


def test_skopeo_without_credentials_and_to_a_missing_repository(aws, fresh_cloud, skopeo, tmp_path):
    ecr = aws("ecr")
    image = make_image(media_type=OCI_MANIFEST)
    write_layout(tmp_path / "src", image, "v1.0")
    target = f"docker://127.0.0.1:{fresh_cloud.port}/my-app:v1.0"
    anonymous = skopeo("copy", "--dest-tls-verify=false", f"oci:{tmp_path / 'src'}:v1.0", target)
    assert anonymous.returncode != 0
    assert "401" in anonymous.stderr or "authentication required" in anonymous.stderr
    user, password = login(ecr)
    missing = skopeo("copy", "--dest-tls-verify=false", "--dest-creds", f"{user}:{password}",
                     f"oci:{tmp_path / 'src'}:v1.0", target)
    assert missing.returncode != 0
    assert "The repository with name 'my-app' does not exist in the registry with id '123456789012'" in missing.stderr
