"""No container process outlives the cloud: SIGKILL of the cloud process (nothing runs its
clean-up) leaves none, and SIGTERM (`labkit down`) stops them before the cloud leaves. Both under
bubblewrap and as plain processes; each container's app has a child of its own too."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from .test_lesson_app import wait_for

SCRIPT = Path(__file__).with_name("cloud_with_containers.py")
ROOT = Path(__file__).resolve().parents[3]


def marked(marker: str) -> list[int]:
    """Every process whose environment holds ORPHAN_MARKER=marker (wherever it was reparented)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if f"ORPHAN_MARKER={marker}".encode() in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc to find the processes")
@pytest.mark.parametrize("how,extra", [(signal.SIGKILL, []), (signal.SIGTERM, []),
                                       (signal.SIGKILL, ["--no-die-with-parent"])],
                         ids=["SIGKILL", "SIGTERM", "SIGKILL-before-bwrap-set-die-with-parent"])
def test_no_container_process_outlives_the_cloud(isolation, tmp_path, how, extra):
    """The third case: bwrap without --die-with-parent, as when the cloud dies before bwrap sets
    it; the agent's pipe from the cloud still ends the container."""
    marker = uuid.uuid4().hex
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cloud = subprocess.Popen([sys.executable, str(SCRIPT), str(tmp_path / "home"), str(free_port()), marker,
                              *extra],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        line = ""
        while not line.startswith("{"):
            line = cloud.stdout.readline()
            assert line or cloud.poll() is None, cloud.stderr.read()
        report = json.loads(line)["containers"]
        assert [c["answers"] for c in report] == [True, True], report  # alive after their starter thread ended
        # per container: the app and its child (and under bubblewrap, bwrap's and the agent's own)
        assert len(marked(marker)) >= 4
        cloud.send_signal(how)
        cloud.wait(10)
        assert wait_for(lambda: not marked(marker), timeout=10), f"left running: {marked(marker)}"
    finally:
        if cloud.poll() is None:
            cloud.kill()
        for pid in marked(marker):
            os.kill(pid, signal.SIGKILL)
        record = tmp_path / "home" / "runtime" / "sockets"  # a killed cloud leaves its sockets' folder
        if record.exists():
            shutil.rmtree(record.read_text().strip(), ignore_errors=True)
