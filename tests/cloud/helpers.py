"""Small images built in memory and the clients that push them, shared by the ECR and registry tests."""
from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field

import requests

ACCOUNT, REGION = "123456789012", "ap-northeast-2"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer(files: dict[str, bytes]) -> bytes:
    """A gzipped tar layer holding `files` (fixed mtimes, so the bytes are reproducible)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(content), 0
            tar.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue(), mtime=0)


@dataclass
class Image:
    config: bytes
    layers: list[bytes]
    media_type: str = DOCKER_MANIFEST
    manifest: bytes = b""
    blobs: dict[str, bytes] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        return digest(self.manifest)

    @property
    def layers_size(self) -> int:
        return sum(len(b) for b in self.layers)


def make_image(text: str = "hello", media_type: str = DOCKER_MANIFEST, indent: int | None = 3) -> Image:
    """A one-layer image whose app.py prints `text`; the manifest is indented, so its digest is
    only right if the registry keeps the exact bytes."""
    app = layer({"app/app.py": f"print({text!r})\n".encode()})
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "config": {"Cmd": ["python", "app.py"], "ExposedPorts": {"8080/tcp": {}}},
                         "rootfs": {"type": "layers", "diff_ids": [digest(gzip.decompress(app))]}}).encode()
    docker = media_type == DOCKER_MANIFEST
    doc = {"schemaVersion": 2, "mediaType": media_type,
           "config": {"mediaType": "application/vnd.docker.container.image.v1+json" if docker
                      else "application/vnd.oci.image.config.v1+json", "size": len(config), "digest": digest(config)},
           "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip" if docker
                       else "application/vnd.oci.image.layer.v1.tar+gzip", "size": len(app), "digest": digest(app)}]}
    image = Image(config=config, layers=[app], media_type=media_type,
                  manifest=json.dumps(doc, indent=indent).encode())
    image.blobs = {digest(config): config, digest(app): app}
    return image


def login(ecr) -> tuple[str, str]:
    """(user, password) from GetAuthorizationToken, as `aws ecr get-login-password` decodes it."""
    token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    user, _, password = base64.b64decode(token).decode().partition(":")
    return user, password


class Registry:
    """Raw OCI distribution API calls with requests (what docker does, step by step)."""

    def __init__(self, endpoint: str, auth: tuple[str, str] | None, host: str | None = None):
        self.endpoint = endpoint
        self.session = requests.Session()
        self.session.auth = auth
        if host:
            self.session.headers["Host"] = host

    def url(self, path: str) -> str:
        return self.endpoint + path

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.session.request(method, self.url(path), timeout=30, **kwargs)

    def push_blob(self, name: str, data: bytes) -> requests.Response:
        """POST to start, PATCH the bytes, PUT ?digest= to finish (docker's way)."""
        start = self.request("POST", f"/v2/{name}/blobs/uploads/")
        if start.status_code != 202:
            return start
        location = start.headers["Location"]
        patch = self.request("PATCH", location, data=data, headers={"Content-Type": "application/octet-stream"})
        assert patch.status_code == 202, patch.text
        return self.request("PUT", patch.headers["Location"], params={"digest": digest(data)})

    def push_manifest(self, name: str, reference: str, manifest: bytes, media_type: str) -> requests.Response:
        return self.request("PUT", f"/v2/{name}/manifests/{reference}", data=manifest,
                            headers={"Content-Type": media_type})

    def push(self, name: str, image: Image, *tags: str) -> list[requests.Response]:
        for data in image.blobs.values():
            response = self.push_blob(name, data)
            assert response.status_code == 201, response.text
        return [self.push_manifest(name, tag, image.manifest, image.media_type) for tag in tags]


def oci_error(response: requests.Response) -> tuple[str, str]:
    error = response.json()["errors"][0]
    return error["code"], error["message"]


def upload_layer(ecr, name: str, data: bytes, part_size: int | None = None) -> str:
    """InitiateLayerUpload, UploadLayerPart (in parts), CompleteLayerUpload: ECR's own layer API."""
    upload_id = ecr.initiate_layer_upload(repositoryName=name)["uploadId"]
    size = part_size or max(len(data), 1)
    for first in range(0, len(data), size):
        part = data[first:first + size]
        ecr.upload_layer_part(repositoryName=name, uploadId=upload_id, partFirstByte=first,
                              partLastByte=first + len(part) - 1, layerPartBlob=part)
    return ecr.complete_layer_upload(repositoryName=name, uploadId=upload_id,
                                     layerDigests=[digest(data)])["layerDigest"]


def ecr_push(ecr, name: str, image: Image, tag: str | None = "v1.0") -> dict:
    """Push through ECR's API only (no registry): layers, then PutImage."""
    for data in image.blobs.values():
        upload_layer(ecr, name, data)
    kwargs = {"imageTag": tag} if tag else {}
    return ecr.put_image(repositoryName=name, imageManifest=image.manifest.decode(),
                         imageManifestMediaType=image.media_type, **kwargs)["image"]
