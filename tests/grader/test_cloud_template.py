"""The grader's cloud template (labkit/cloud/template.py): each submission's cloud is forked from
one process that imported the cloud's code once. A forked cloud must be what a plain start gives:
its own state, port and token (refused without it, nowhere in /proc), its own owner, and it ends
with the template."""
from __future__ import annotations

import os
import time
from pathlib import Path

import boto3
import pytest
import requests
from botocore.config import Config

from labkit.cloud.process import CloudTemplate, start_cloud


def ecr(cloud):
    return boto3.client("ecr", endpoint_url=cloud.endpoint, region_name="ap-northeast-2",
                        aws_access_key_id="test", aws_secret_access_key="test",
                        config=Config(retries={"max_attempts": 1}))


def gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def template():
    made = CloudTemplate(dict(os.environ))
    yield made
    made.close()


def test_forked_clouds_are_separate_and_guarded(template, tmp_path):
    one = start_cloud(tmp_path / "one", template=template, owner=os.getpid())
    two = start_cloud(tmp_path / "two", template=template, owner=os.getpid())
    assert len({one.pid, two.pid, template.process.pid}) == 3 and one.port != two.port
    assert one.healthy() and two.healthy()
    # state: a repository made in one cloud is not in the other (nothing shared through the template)
    ecr(one).create_repository(repositoryName="my-app")
    assert [r["repositoryName"] for r in ecr(one).describe_repositories()["repositories"]] == ["my-app"]
    assert ecr(two).describe_repositories()["repositories"] == []
    # the control endpoints answer to each cloud's own token only
    assert one.token != two.token
    reset = f"{one.endpoint}/moto-api/reset"
    assert requests.post(reset, timeout=10).status_code == 403
    assert requests.post(reset, headers={"X-Labkit-Token": two.token}, timeout=10).status_code == 403
    ecr(two).create_repository(repositoryName="theirs")
    assert one.control("reset") == {"reset": True}  # its own token: its own state only
    assert ecr(one).describe_repositories()["repositories"] == []
    assert [r["repositoryName"] for r in ecr(two).describe_repositories()["repositories"]] == ["theirs"]
    # and the token is in no /proc file a neighbour could read (environment, command line)
    for pid in (one.pid, two.pid, template.process.pid):
        for name in ("environ", "cmdline"):
            data = Path(f"/proc/{pid}/{name}").read_bytes()
            assert one.token.encode() not in data and two.token.encode() not in data, (pid, name)


def test_clouds_end_with_their_template(tmp_path):
    made = CloudTemplate(dict(os.environ))
    cloud = start_cloud(tmp_path / "c", template=made, owner=os.getpid())
    assert cloud.healthy()
    made.close()
    assert gone(cloud.pid), f"cloud {cloud.pid} outlived its template"


OWNER = r'''
import json, os, sys, time
from pathlib import Path
from labkit.cloud.process import CloudTemplate, start_cloud
made = CloudTemplate(dict(os.environ))
cloud = start_cloud(Path(sys.argv[1]), template=made, owner=os.getpid())
print(json.dumps({"template": made.process.pid, "cloud": cloud.pid}), flush=True)
time.sleep(600)
'''


def test_a_killed_worker_leaves_neither_its_template_nor_its_clouds(tmp_path):
    """What a pool or a Dask worker relies on when it kills a grading process: a forked cloud has the
    template's /proc environment (kill_leftovers cannot find it by its GRADER_CLOUD mark), and ends
    with the template, which ends with the process that made it, whatever killed that."""
    import json
    import signal
    import subprocess
    import sys

    owner = subprocess.Popen([sys.executable, "-c", OWNER, str(tmp_path / "c")], stdout=subprocess.PIPE, text=True)
    try:
        pids = json.loads(owner.stdout.readline())
        assert not gone(pids["cloud"], timeout=0.2)
        owner.send_signal(signal.SIGKILL)
        owner.wait(timeout=10)
        assert gone(pids["template"]), "the cloud template outlived the process that made it"
        assert gone(pids["cloud"]), "a forked cloud outlived its template's owner"
    finally:
        if owner.poll() is None:
            owner.kill()
