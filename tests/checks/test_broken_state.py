"""A student who breaks their own docker client state (the login file, the local image store) gets
a failed condition saying what is broken and how to fix it, in both languages: their state is
their answer. A bug of the checker itself still reports INFRA ("not your fault")."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from labkit.checks import images, lab02
from labkit.checks.core import INFRA, STUDENT, CheckContext
from labkit.checks.progress import failure_text
from labkit.checks.registry import get_lab
from labkit.messages import text

REGISTRY = lab02.REGISTRY
DIGEST = "sha256:" + "ab" * 32


def _ctx(tmp_path: Path) -> CheckContext:
    # no cloud behind the endpoint: a broken state is judged before any request
    return CheckContext(endpoint="http://127.0.0.1:9", home=tmp_path / "labkit-home")


def _write(ctx: CheckContext, name: str, content: str) -> Path:
    path = Path(ctx.home) / "docker" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    return path


def _only_failure(ctx: CheckContext, step: str, condition_id: str):
    results = {r.condition: r for r in get_lab("lab02").step(step).run(ctx, include_hidden=True)}
    result = results[condition_id]
    assert not result.passed and result.kind == STUDENT, result
    return result


LOGIN_FILES = {
    "not JSON": ('{"auths": {', "docker_state.config.not_json"),
    "a JSON list": ("[]", "docker_state.config.ill_formed"),
    "auths not a dict": ('{"auths": ["x"]}', "docker_state.config.ill_formed"),
    "an entry without auth": (json.dumps({"auths": {REGISTRY: {"email": "me@example.com"}}}), "docker_state.config.bad_login"),
    "an entry that is a list": (json.dumps({"auths": {REGISTRY: ["AWS"]}}), "docker_state.config.bad_login"),
    "an auth that is not base64": (json.dumps({"auths": {REGISTRY: {"auth": "%%%"}}}), "docker_state.config.bad_login"),
    "not UTF-8": ("\udcff", "docker_state.config.not_json"),
}


@pytest.mark.parametrize("case", sorted(LOGIN_FILES))
def test_a_broken_login_file_is_the_students_failure_with_a_hint(tmp_path, case):
    content, key = LOGIN_FILES[case]
    ctx = _ctx(tmp_path)
    path = Path(ctx.home) / "docker" / "config.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    result = _only_failure(ctx, "login", "login.saved")
    assert result.key == key and result.params["host"] == REGISTRY
    assert result.params["path"].endswith("docker/config.json")
    for lang in ("en", "ko"):
        said = failure_text("lab02", "login", [result], lang=lang)
        assert text(key, lang, **result.params) in said and text(f"{key}.hint", lang, **result.params) in said
        assert "labkit docker login" in said and "not your fault" not in said and "잘못이 아닙니다" not in said
    if key != "docker_state.config.bad_login":  # logging in again cannot repair these: the hint removes the file
        assert f"rm {result.params['path']}" in text(f"{key}.hint", "en", **result.params)


def test_a_login_for_another_registry_is_no_login(tmp_path):
    ctx = _ctx(tmp_path)
    _write(ctx, "config.json", json.dumps({"auths": {"ghcr.io": {"auth": "QVdTOng="}}}))
    assert _only_failure(ctx, "login", "login.saved").key == "lab02.login.missing"


def _image_record() -> str:
    return json.dumps({"images": {DIGEST: {"repo_digests": []}}, "tags": {"docker.io/library/my-app:latest": DIGEST}})


STORES = {
    "an index that is not JSON": '{"images": {',
    "an index that is a JSON list": "[1, 2]",
    "images not a dict": '{"images": [], "tags": {}}',
    "a tag naming a missing blob": _image_record(),
}


@pytest.mark.parametrize("case", sorted(STORES))
def test_a_corrupt_image_store_fails_every_build_condition_with_a_hint(tmp_path, case):
    ctx = _ctx(tmp_path)
    _write(ctx, "images.json", STORES[case])
    for condition_id in ("build.exists", "build.cmd", "build.port"):
        result = _only_failure(ctx, "build", condition_id)
        assert result.key == "docker_state.store.broken"
        assert result.params["dir"].endswith("docker") and result.params["name"] == "my-app" and result.params["error"]
        for lang in ("en", "ko"):
            said = failure_text("lab02", "build", [result], lang=lang)
            assert "labkit docker build -t my-app ." in said and f"rm -rf {result.params['dir']}/images.json" in said


def test_a_missing_store_is_no_image_not_a_broken_one(tmp_path):
    ctx = _ctx(tmp_path)
    assert _only_failure(ctx, "build", "build.exists").key == "lab02.build.exists.missing"
    _write(ctx, "images.json", json.dumps({"images": {}, "tags": {}}))
    assert _only_failure(ctx, "build", "build.exists").key == "lab02.build.exists.missing"


def test_a_bug_of_the_checker_stays_infra(tmp_path, monkeypatch):
    def buggy(home, registry):
        raise AttributeError("'list' object has no attribute 'get'")

    monkeypatch.setattr(images, "saved_credentials", buggy)
    [result] = get_lab("lab02").step("login").run(_ctx(tmp_path), include_hidden=True)
    assert result.kind == INFRA and not result.passed


def test_paths_are_shown_from_the_home_folder():
    assert images.shown_path(Path.home() / ".labkit" / "docker" / "config.json") == "~/.labkit/docker/config.json"
    assert images.shown_path(Path("/srv/x/config.json")) == "/srv/x/config.json"


AR_HOST = lab02.AR_HOST
AR_CONFIG_FILES = {
    "not JSON": ('{"credHelpers": {', "lab02.ar.auth.not_json"),
    "not UTF-8": ("\udcff", "lab02.ar.auth.not_json"),
    "a JSON list": ("[]", "lab02.ar.auth.ill_formed"),
    "credHelpers a list": ('{"credHelpers": ["gcloud"]}', "lab02.ar.auth.ill_formed"),
    "auths a list": ('{"auths": ["x"], "credHelpers": {}}', "lab02.ar.auth.ill_formed"),
    "a login without auth": (json.dumps({"auths": {AR_HOST: {"email": "me@example.com"}}}), "lab02.ar.auth.rejected"),
}


@pytest.mark.parametrize("case", sorted(AR_CONFIG_FILES))
def test_a_broken_docker_config_fails_artifact_registry_auth_with_a_hint(tmp_path, case):
    """configure-docker's entry is read from the same file as step 2's login: a broken file is the
    student's failure on step 7 too, with a hint that names configure-docker, not ECR's login."""
    content, key = AR_CONFIG_FILES[case]
    ctx = _ctx(tmp_path)
    path = Path(ctx.home) / "docker" / "config.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    result = _only_failure(ctx, "ar_auth", "ar_auth.helper")
    assert result.key == key and result.params["host"] == AR_HOST
    for lang in ("en", "ko"):
        assert "configure-docker" in text(f"{key}.hint", lang, **result.params)
