"""The local image store: content-addressed blobs and a tag index, shared across processes."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from labkit.docker import ImageNotFound, ImageStore, layer_files
from labkit.docker.build import build
from labkit.docker.errors import DockerError
from labkit.docker.layers import LayerWriter


@pytest.fixture
def built(lesson_app, store):
    return build(lesson_app, ["my-app"], store=store).image


def test_get_by_tag_digest_and_id(built, store):
    for ref in ("my-app", "my-app:latest", "docker.io/library/my-app:latest", built.id, built.id[7:],
                built.short_id, built.short_id[:4], built.digest, f"my-app@{built.digest}"):
        assert store.get(ref).digest == built.digest, ref
    with pytest.raises(ImageNotFound) as info:
        store.get("my-app:v2")
    assert info.value.message == "No such image: my-app:v2"
    with pytest.raises(ImageNotFound, match="No such image: other:latest"):
        store.get("other")


def test_tag_list_and_remove(built, store):
    ecr = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/my-app:v1.0"
    store.tag("my-app:latest", ecr)
    image = store.get(ecr)
    assert image.digest == built.digest
    assert image.repo_tags == [ecr, "my-app:latest"]
    assert [i.digest for i in store.list()] == [built.digest]
    assert store.remove("my-app") == ["Untagged: my-app:latest"]
    assert store.get(ecr).repo_tags == [ecr]
    assert store.remove(ecr) == [f"Untagged: {ecr}", f"Deleted: {built.id}"]
    assert store.list() == []
    with pytest.raises(ImageNotFound):
        store.tag("my-app", "x")


def test_remove_by_id_refuses_an_image_of_several_repositories(built, store):
    store.tag("my-app", "other:1")
    with pytest.raises(DockerError, match="image is referenced in multiple repositories"):
        store.remove(built.short_id)
    lines = store.remove(built.short_id, force=True)
    assert lines == ["Untagged: my-app:latest", "Untagged: other:1", f"Deleted: {built.id}"]


def test_rebuilding_leaves_the_old_image_dangling(lesson_app, store, built):
    (lesson_app / "app.py").write_text("print('v2')\n")
    new = build(lesson_app, ["my-app"], store=store).image
    images = store.list()
    assert [i.digest for i in images] == [new.digest, built.digest]
    assert images[1].repo_tags == []
    assert store.prune() == [built.id]


def test_size_is_the_uncompressed_size_of_the_layers(built, store):
    import gzip

    assert built.size == sum(len(gzip.decompress(built.layer(d))) for d in built.layer_digests)


def test_layer_files_and_image_files(built):
    writer = LayerWriter()
    writer.add_file("/app/app.py", b"x")
    writer.add_file("etc/hosts", b"y")
    blob = writer.build().blob
    assert layer_files(blob) == ["/app/app.py", "/etc/hosts"]
    assert layer_files(blob, include_dirs=True) == ["/app", "/app/app.py", "/etc", "/etc/hosts"]
    assert "/app/app.py" in built.files()
    assert "/app" in built.files(include_dirs=True) and "/app" not in built.files()


def test_blobs_are_checked(store):
    with pytest.raises(DockerError, match="digest mismatch"):
        store.put_blob(b"abc", "sha256:" + "0" * 64)
    with pytest.raises(DockerError, match="invalid digest"):
        store.blob("sha256:../../etc/passwd")
    with pytest.raises(DockerError, match="missing"):
        store.add_image(json.dumps({"schemaVersion": 2, "config": {"digest": "sha256:" + "1" * 64},
                                    "layers": []}).encode())


def test_another_process_sees_the_same_store(built, home):
    code = (f"from labkit.docker.store import ImageStore; i = ImageStore({str(home)!r}).get('my-app'); "
            "print(i.config['config']['Cmd'], '/app/app.py' in i.files())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['python', 'app.py'] True"


def test_store_defaults_to_labkit_home(built, home):
    assert ImageStore().get("my-app").digest == built.digest
    assert (home / "docker" / "images.json").is_file()
    assert (home / "docker" / "blobs" / "sha256" / built.digest.split(":")[1]).is_file()
