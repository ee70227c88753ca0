"""Pushing to Artifact Registry names (REGION-docker.pkg.dev/PROJECT/REPO/IMAGE) with `labkit docker`,
on a real cloud process: the repository must exist (GCP's `name unknown: Repository "..." not found`),
the credentials are what gcloud's docker credential helper or `docker login -u oauth2accesstoken`
give, and the push shows in list_docker_images with the true digest, over gRPC and REST."""
from __future__ import annotations

import io
import json
import os
import sys

import pytest
from google.cloud import artifactregistry_v1 as ar

from labkit.cloud.gcp.project import ACCESS_TOKEN
from tests.cloud.gcp.clients import grpc_client, rest_client

HOST = "asia-northeast3-docker.pkg.dev"
PROJECT = "labkit-project"
PARENT = f"projects/{PROJECT}/locations/asia-northeast3"
IMAGE = f"{HOST}/{PROJECT}/my-repo/my-app"
DOCKERFILE = 'FROM scratch\nCOPY hello.txt /hello.txt\nCMD ["/hello"]\n'


@pytest.fixture(scope="module")
def env(cloud, tmp_path_factory):
    """`labkit docker` in this process, on this module's cloud, with an image built once."""
    cloud.control("reset")
    home = tmp_path_factory.mktemp("ar-home")
    app = tmp_path_factory.mktemp("ar-app")
    (app / "Dockerfile").write_text(DOCKERFILE)
    (app / "hello.txt").write_text("hello from Artifact Registry\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LABKIT_HOME", str(home))
        patch.setenv("LABKIT_AWS_PORT", str(cloud.port))
        patch.setenv("LABKIT_LANG", "en")
        run = Docker(patch)
        assert run("build", "-t", f"{IMAGE}:v1", str(app)).code == 0
        yield {"docker": run, "home": home, "cloud": cloud,
               "grpc": grpc_client(ar.ArtifactRegistryClient, cloud.port),
               "rest": rest_client(ar.ArtifactRegistryClient, cloud.port, "artifactregistry")}


class Docker:
    def __init__(self, patch):
        self.patch = patch

    def __call__(self, *argv, stdin=None):
        from labkit.docker.cli import main

        out, err = io.StringIO(), io.StringIO()
        self.patch.setattr(sys, "stdout", out)
        self.patch.setattr(sys, "stderr", err)
        if stdin is not None:
            self.patch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(list(argv))
        self.patch.setattr(sys, "stdout", sys.__stdout__)
        self.patch.setattr(sys, "stderr", sys.__stderr__)
        return type("Run", (), {"code": code, "out": out.getvalue(), "err": err.getvalue()})


def _config(home, data):
    path = home / "docker" / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def test_1_push_without_credentials_is_unauthorized(env):
    _config(env["home"], {})
    run = env["docker"]("push", f"{IMAGE}:v1")
    assert run.code == 1 and "unauthorized" in run.err.lower()


def test_2_push_before_the_repository_exists_is_name_unknown(env):
    _config(env["home"], {"credHelpers": {HOST: "gcloud"}})  # what `gcloud auth configure-docker HOST` writes
    run = env["docker"]("push", f"{IMAGE}:v1")
    assert run.code == 1
    assert run.err.startswith('name unknown: Repository "my-repo" not found'), run.err


def test_3_a_push_shows_in_list_docker_images_with_its_digest(env):
    env["grpc"].create_repository(parent=PARENT, repository_id="my-repo", repository=ar.Repository(
        format_=ar.Repository.Format.DOCKER)).result()
    run = env["docker"]("push", f"{IMAGE}:v1")
    assert run.code == 0, run.err
    digest = run.out.strip().splitlines()[-1].split("digest: ")[1].split()[0]
    from labkit.docker.store import ImageStore

    assert digest == ImageStore(env["home"]).get(f"{IMAGE}:v1").digest
    for kind in ("grpc", "rest"):
        images = list(env[kind].list_docker_images(parent=f"{PARENT}/repositories/my-repo"))
        assert [(i.uri, list(i.tags)) for i in images] == [(f"{IMAGE}@{digest}", ["v1"])]
        assert images[0].name == f"{PARENT}/repositories/my-repo/dockerImages/my-app@{digest}"
        assert images[0].image_size_bytes > 0 and images[0].media_type.endswith("manifest.v2+json")
        assert env[kind].get_docker_image(name=images[0].name).uri == f"{IMAGE}@{digest}"


def test_4_the_runtime_reads_the_pushed_image(env):
    from labkit.cloud.gcp.artifactregistry import images
    from labkit.cloud.state import CloudState

    assert images.parse(f"{IMAGE}:v1")["reference"] == "v1"
    assert images.parse("docker.io/library/python") is None
    with pytest.raises(images.ImageNotFound, match="not found"):
        images.image_files(CloudState(), f"{IMAGE}:v1")  # a cloud without that repository


def test_5_login_takes_oauth2accesstoken_and_the_local_token_only(env):
    _config(env["home"], {})
    bad = env["docker"]("login", "--username", "oauth2accesstoken", "--password-stdin", HOST, stdin="ya29.wrong\n")
    assert bad.code == 1
    good = env["docker"]("login", "--username", "oauth2accesstoken", "--password-stdin", HOST,
                         stdin=ACCESS_TOKEN + "\n")
    assert good.code == 0 and good.out == "Login Succeeded\n", good.err
    env["docker"]("tag", f"{IMAGE}:v1", f"{IMAGE}:v2")
    assert env["docker"]("push", f"{IMAGE}:v2").code == 0
    tags = {t for i in env["rest"].list_docker_images(parent=f"{PARENT}/repositories/my-repo") for t in i.tags}
    assert tags == {"v1", "v2"}


def test_5b_packages_versions_and_tags_see_the_same_images(env):
    repo = f"{PARENT}/repositories/my-repo"
    for kind in ("grpc", "rest"):
        client = env[kind]
        [package] = list(client.list_packages(parent=repo))
        assert package.name == f"{repo}/packages/my-app" and package.display_name == "my-app"
        assert client.get_package(name=package.name).name == package.name
        [version] = list(client.list_versions(request={"parent": package.name, "view": ar.VersionView.FULL}))
        digest = version.name.rsplit("/versions/", 1)[1]
        assert digest.startswith("sha256:") and sorted(t.name.rsplit("/", 1)[1] for t in version.related_tags) == \
            ["v1", "v2"]
        assert client.get_version(name=version.name).name == version.name
        tags = list(client.list_tags(parent=package.name))
        assert [(t.name.rsplit("/", 1)[1], t.version) for t in tags] == [("v1", version.name), ("v2", version.name)]
        assert client.get_tag(name=f"{package.name}/tags/v2").version == version.name


def test_5c_an_image_name_with_a_slash_is_escaped_in_its_resource_name(env):
    env["docker"]("tag", f"{IMAGE}:v1", f"{HOST}/{PROJECT}/my-repo/team/web:v1")
    assert env["docker"]("push", f"{HOST}/{PROJECT}/my-repo/team/web:v1").code == 0
    for kind in ("grpc", "rest"):
        images = [i for i in env[kind].list_docker_images(parent=f"{PARENT}/repositories/my-repo")
                  if "/team/web@" in i.uri]
        assert len(images) == 1 and "/dockerImages/team%2Fweb@sha256:" in images[0].name
        assert env[kind].get_docker_image(name=images[0].name).uri == images[0].uri
        package = f"{PARENT}/repositories/my-repo/packages/team%2Fweb"
        assert env[kind].get_package(name=package).display_name == "team/web"
        assert [t.name.rsplit("/", 1)[1] for t in env[kind].list_tags(parent=package)] == ["v1"]


def test_6_an_image_name_needs_three_parts_and_the_project_must_be_ours(env):
    _config(env["home"], {"credHelpers": {HOST: "gcloud"}})
    env["docker"]("tag", f"{IMAGE}:v1", f"{HOST}/{PROJECT}/my-repo:v1")
    run = env["docker"]("push", f"{HOST}/{PROJECT}/my-repo:v1")
    assert run.code == 1 and "Missing image name" in run.err
    env["docker"]("tag", f"{IMAGE}:v1", f"{HOST}/other-project/my-repo/my-app:v1")
    run = env["docker"]("push", f"{HOST}/other-project/my-repo/my-app:v1")
    assert run.code == 1  # its first request reads (HEAD of a blob): the read permission is the one named
    assert 'denied: Permission "artifactregistry.repositories.downloadArtifacts" denied on resource ' \
           '"projects/other-project/locations/asia-northeast3/repositories/my-repo"' in run.err


def test_7_deleting_the_repository_deletes_its_images(env):
    name = f"{PARENT}/repositories/my-repo"
    env["grpc"].delete_repository(name=name).result()
    env["grpc"].create_repository(parent=PARENT, repository_id="my-repo", repository=ar.Repository(
        format_=ar.Repository.Format.DOCKER)).result()
    assert list(env["grpc"].list_docker_images(parent=name)) == []
