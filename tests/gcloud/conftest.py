"""`labkit gcloud` tests: a real cloud process per module (as Cloud Run's tests make it: seeded
router, short idle and startup times), and `labkit gcloud ...` run as a subprocess with the
environment labkit.start() gives a notebook's kernel, as `!labkit gcloud ...` runs there."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from labkit import env as cloud_env
from labkit.cloud.process import start_cloud
from labkit.config import Settings
from tests.cloud.gcp.run.conftest import AR_HOST, cloud_env as run_cloud_env, push_app  # noqa: F401

LABKIT = shutil.which("labkit", path=str(Path(sys.executable).parent)) or shutil.which("labkit")
PROJECT, REGION = "labkit-project", "asia-northeast3"
REPO_PATH = f"{AR_HOST}/{PROJECT}/my-repo"


class Gcloud:
    """`labkit gcloud ARGS` in a kernel's environment for one cloud."""

    def __init__(self, cloud, home: Path):
        self.cloud = cloud
        self.home = home
        self.env = dict(os.environ)
        cloud_env.apply(cloud_env.cloud_environment(Settings(home=home, aws_port=cloud.port, managed=True)),
                        self.env)
        self.env["HOME"] = str(home.parent)
        self.env["LABKIT_LANG"] = "en"

    def __call__(self, *args: str, check: bool = True, cwd=None, env: dict | None = None):
        done = subprocess.run([LABKIT, "gcloud", *args], env={**self.env, **(env or {})}, capture_output=True,
                              text=True, timeout=120, cwd=cwd)
        if check:
            assert done.returncode == 0, f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
        return done


@pytest.fixture(scope="module")
def gcloud_cloud(tmp_path_factory):
    if LABKIT is None:
        pytest.skip("the labkit command is not installed in this environment")
    cloud = start_cloud(tmp_path_factory.mktemp("gcloud-cloud"), extra_env=run_cloud_env())
    yield cloud
    cloud.stop()


@pytest.fixture(scope="module")
def gcloud(gcloud_cloud, tmp_path_factory):
    return Gcloud(gcloud_cloud, tmp_path_factory.mktemp("gcloud-user") / "labkit-home")
