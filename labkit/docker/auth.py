"""Registry credentials in docker's config.json format, kept in LABKIT_HOME/docker/config.json:

    {"auths": {"123456789012.dkr.ecr.ap-northeast-2.amazonaws.com": {"auth": base64("AWS:<password>")}},
     "credHelpers": {"asia-northeast3-docker.pkg.dev": "gcloud"}}

Like docker without a credential helper, the password is stored unencrypted (the file is 0600);
these are the local cloud's tokens, never real ones.
"""
from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from labkit.docker.store import _atomic_write


def config_path(home: str | os.PathLike | None = None) -> Path:
    if home is None:
        from labkit.config import settings

        home = settings().home
    return Path(home) / "docker" / "config.json"


def _read(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (FileNotFoundError, ValueError):
        return {}


def _key(registry: str) -> str:
    registry = registry.strip().lower()
    for prefix in ("https://", "http://"):
        if registry.startswith(prefix):
            registry = registry[len(prefix):]
    return registry.split("/", 1)[0]


GCLOUD_HELPER_USER = "_dcgcloud_token"  # the user gcloud's docker credential helper answers with


def get_credentials(registry: str, home: str | os.PathLike | None = None) -> tuple[str, str] | None:
    """(username, password) saved by `labkit docker login` for `registry`, or None. A registry
    `gcloud auth configure-docker` handed to gcloud's helper (`"credHelpers": {HOST: "gcloud"}`)
    gets what that helper gives: its user and the local cloud's access token. As in docker, a
    host's credential helper comes before a saved login for it (docker's credentials store lookup:
    `credHelpers`, then `credsStore`, then `auths`)."""
    config = _read(config_path(home))
    key = _key(registry)
    if config.get("credHelpers", {}).get(key) == "gcloud" and key.endswith("-docker.pkg.dev"):
        from labkit.cloud.gcp.project import ACCESS_TOKEN

        return GCLOUD_HELPER_USER, ACCESS_TOKEN
    entry = config.get("auths", {}).get(key)
    if not entry:
        return None
    try:
        user, _, password = base64.b64decode(entry.get("auth", "")).decode().partition(":")
    except ValueError:
        return None
    return (user, password) if user or password else None


def save_credentials(registry: str, username: str, password: str, home: str | os.PathLike | None = None) -> Path:
    path = config_path(home)
    data = _read(path)
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    data.setdefault("auths", {})[_key(registry)] = {"auth": token}
    _atomic_write(path, (json.dumps(data, indent="\t") + "\n").encode())
    os.chmod(path, 0o600)
    return path


def remove_credentials(registry: str, home: str | os.PathLike | None = None) -> bool:
    path = config_path(home)
    data = _read(path)
    if _key(registry) not in data.get("auths", {}):
        return False
    del data["auths"][_key(registry)]
    _atomic_write(path, (json.dumps(data, indent="\t") + "\n").encode())
    return True
