"""Image references are read like docker reads them, and routed only to 127.0.0.1."""
from __future__ import annotations

import pytest

from labkit.docker import reference
from labkit.docker.reference import InvalidReference, RegistryRefused, parse, route

ECR = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com"
DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize("text, name, familiar, tag, digest", [
    ("my-app", "docker.io/library/my-app", "my-app", "latest", None),
    ("my-app:v1", "docker.io/library/my-app", "my-app", "v1", None),
    ("user/app", "docker.io/user/app", "user/app", "latest", None),
    ("index.docker.io/library/python:3.12-slim", "docker.io/library/python", "python", "3.12-slim", None),
    (f"{ECR}/my-app:v1.0", f"{ECR}/my-app", f"{ECR}/my-app", "v1.0", None),
    (f"{ECR}/team/my-app", f"{ECR}/team/my-app", f"{ECR}/team/my-app", "latest", None),
    ("asia-northeast3-docker.pkg.dev/proj/repo/my-app:latest", "asia-northeast3-docker.pkg.dev/proj/repo/my-app",
     "asia-northeast3-docker.pkg.dev/proj/repo/my-app", "latest", None),
    ("localhost:5000/app", "localhost:5000/app", "localhost:5000/app", "latest", None),
    ("localhost/app", "localhost/app", "localhost/app", "latest", None),
    (f"my-app@{DIGEST}", "docker.io/library/my-app", "my-app", None, DIGEST),
    (f"my-app:v1@{DIGEST}", "docker.io/library/my-app", "my-app", "v1", DIGEST),
    ("a__b.c-d---e", "docker.io/library/a__b.c-d---e", "a__b.c-d---e", "latest", None),
])
def test_parse_normalises_like_docker(text, name, familiar, tag, digest):
    ref = parse(text)
    assert (ref.name, ref.familiar_name, ref.tag, ref.digest) == (name, familiar, tag, digest)


def test_tagged_and_familiar_forms():
    ref = parse("my-app")
    assert ref.tagged == "docker.io/library/my-app:latest"
    assert ref.familiar == "my-app:latest"
    assert str(ref) == "docker.io/library/my-app:latest"
    assert parse(f"{ECR}/my-app:v1.0").familiar == f"{ECR}/my-app:v1.0"


@pytest.mark.parametrize("text, message", [
    ("My-App", "invalid reference format: repository name (library/My-App) must be lowercase"),
    ("my-app:", "invalid reference format"),
    ("-app", "invalid reference format"),
    ("my app", "invalid reference format"),
    ("my-app:" + "x" * 129, "invalid reference format"),
    ("", "invalid reference format"),
])
def test_invalid_references_use_dockers_words(text, message):
    with pytest.raises(InvalidReference) as info:
        parse(text)
    assert info.value.message == message


def test_cloud_registries_go_to_the_local_cloud_with_their_host_header(monkeypatch):
    monkeypatch.setenv("LABKIT_AWS_PORT", "4999")
    r = route(ECR)
    assert (r.connect_host, r.connect_port, r.host_header, r.kind) == ("127.0.0.1", 4999, ECR, "ecr")
    assert (r.ecr_account, r.ecr_region) == ("123456789012", "ap-northeast-2")
    assert r.display_base == f"https://{ECR}"
    r = route("asia-northeast3-docker.pkg.dev")
    assert (r.connect_port, r.host_header, r.kind) == (4999, "asia-northeast3-docker.pkg.dev", "artifact-registry")
    assert route(ECR, endpoint="http://127.0.0.1:5123").connect_port == 5123


def test_loopback_registries_are_used_directly():
    r = route("127.0.0.1:5000")
    assert (r.connect_host, r.connect_port, r.host_header, r.kind) == ("127.0.0.1", 5000, "127.0.0.1:5000", "loopback")
    assert route("localhost:5001").connect_host == "127.0.0.1"


@pytest.mark.parametrize("host", ["docker.io", "ghcr.io", "quay.io", "gcr.io", "public.ecr.aws", "example.com:5000",
                                  "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com.evil.com", "10.0.0.5:5000",
                                  "192.168.1.2", "pkg.dev", "docker.pkg.dev.example.org"])
def test_every_other_registry_is_refused(host):
    with pytest.raises(RegistryRefused) as info:
        route(host)
    assert host in info.value.message
    assert info.value.hint[0] == "docker.hint.registry_refused"


def test_an_endpoint_off_loopback_is_refused():
    with pytest.raises(RegistryRefused):
        route(ECR, endpoint="http://10.1.2.3:4566")
    with pytest.raises(RegistryRefused):
        route(ECR, endpoint="https://ecr.ap-northeast-2.amazonaws.com")


def test_is_digest():
    assert reference.is_digest(DIGEST)
    assert not reference.is_digest("sha256:abc")
