"""Small images on the python:3.12-slim stand-in, made in memory (no build), for the runtime's
tests; and pushing one straight into a CloudState's ECR model."""
from __future__ import annotations

import json

from labkit.cloud.runtime import ImageFiles
from labkit.docker.bases import CONFIG_V1, LAYER_GZIP, MANIFEST_V2, base_image, dumps
from labkit.docker.layers import LayerWriter, sha256

ACCOUNT, REGION = "123456789012", "ap-northeast-2"


def stand_in_image(files: dict[str, str], **config) -> tuple[bytes, dict[str, bytes]]:
    """(manifest bytes, {digest: blob}) of python:3.12-slim plus one layer holding `files`, with
    `config` (Cmd, WorkingDir, User, StopSignal...) over the base's."""
    base = base_image("python:3.12-slim")
    writer = LayerWriter()
    for path, text in files.items():
        writer.add_file(path, text.encode())
    layer = writer.build(mtime=0)
    image_config = json.loads(base.config_bytes)
    image_config["config"] = {**image_config["config"], "WorkingDir": "/app", **config}
    image_config["rootfs"]["diff_ids"].append(layer.diff_id)
    config_bytes = dumps(image_config)
    layers = [base.layer, layer]
    manifest = dumps({"schemaVersion": 2, "mediaType": MANIFEST_V2,
                      "config": {"mediaType": CONFIG_V1, "size": len(config_bytes), "digest": sha256(config_bytes)},
                      "layers": [{"mediaType": LAYER_GZIP, "size": len(x.blob), "digest": x.digest} for x in layers]})
    blobs = {sha256(config_bytes): config_bytes, **{x.digest: x.blob for x in layers}}
    return manifest, blobs


def image_files_of(files: dict[str, str], **config) -> ImageFiles:
    manifest, blobs = stand_in_image(files, **config)
    doc = json.loads(manifest)
    return ImageFiles(digest=sha256(manifest), config=json.loads(blobs[doc["config"]["digest"]]),
                      layers=[(d["digest"], (lambda d=d["digest"]: blobs[d])) for d in doc["layers"]])


def push_into(state, repository: str, tag: str, files: dict[str, str], **config) -> str:
    """Put the image into `state`'s ECR model (as a push would); returns its digest."""
    from labkit.cloud.aws.ecr import models

    backend = models.backend(state)
    backend.create_repository(ACCOUNT, REGION, repository)
    manifest, blobs = stand_in_image(files, **config)
    for digest, data in blobs.items():
        backend.put_blob(ACCOUNT, REGION, repository, digest, data)
    return backend.put_image(ACCOUNT, REGION, repository, manifest, MANIFEST_V2, tag=tag, via_registry=True).digest
