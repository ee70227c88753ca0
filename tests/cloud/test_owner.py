"""A cloud started for a process (a test run, a grader) stops when that process is gone, even when it
was killed and could not stop its cloud (labkit/cloud/owner.py); a student's cloud has no owner and
outlives whoever started it."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from labkit.cloud import owner
from labkit.cloud.process import _alive, start_cloud


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_a_cloud_stops_when_its_owner_is_killed(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    cloud = start_cloud(tmp_path / "cloud", owner=sleeper.pid)
    try:
        assert cloud.healthy()
        os.kill(sleeper.pid, signal.SIGKILL)
        sleeper.wait()
        assert gone_within(cloud.pid, 10), "the cloud outlived its owner"
    finally:
        cloud.stop()


def test_a_cloud_without_an_owner_outlives_the_process_that_started_it(tmp_path):
    home = tmp_path / "cloud"
    starter = subprocess.run(
        [sys.executable, "-c", "import sys; from pathlib import Path; from labkit.cloud.process import start_cloud; "
                               f"print(start_cloud(Path({str(home)!r})).pid)"],
        env={k: v for k, v in os.environ.items() if k != owner.ENV}, capture_output=True, text=True, timeout=60)
    pid = int(starter.stdout.strip().splitlines()[-1])
    try:
        assert not gone_within(pid, 1.5), "a student's cloud must outlive its kernel"
    finally:
        os.kill(pid, signal.SIGTERM)
        gone_within(pid, 10)


def test_the_watch_calls_leave_when_the_process_ends_and_at_once_when_it_is_already_gone():
    left = []
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    thread = owner.watch(sleeper.pid, lambda: left.append("sleeper"))
    time.sleep(0.2)
    assert left == []
    sleeper.kill()
    sleeper.wait()
    thread.join(5)
    assert left == ["sleeper"]
    owner.watch(sleeper.pid, lambda: left.append("again")).join(5)
    assert left == ["sleeper", "again"]


def test_the_owner_is_read_once_and_not_passed_on():
    environ = {owner.ENV: "not-a-pid"}
    assert owner.watch_from_environment(lambda: None, environ) is None and owner.ENV not in environ
    assert owner.watch_from_environment(lambda: None, {}) is None
