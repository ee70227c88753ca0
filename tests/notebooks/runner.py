"""Run a built notebook top to bottom against its own local cloud, as a student would, with the
loopback guard (tests/safety/guard) in every process that takes part: the kernel and what it runs
(`aws`, `labkit`, curl through guard/bin/curl), the cloud, and the cloud's containers (as plain
processes the guard adds itself to them; under bubblewrap they have a network namespace of their
own with only loopback in it, checked by tests/safety/test_ecs_offline.py)."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from labkit import env as cloud_env
from labkit.cloud.process import start_cloud
from labkit.config import Settings

ROOT = Path(__file__).resolve().parents[2]
GUARD = ROOT / "tests" / "safety" / "guard"


class NetLog:
    """The guard's log ($LABKIT_NET_LOG): each guarded process appends `PID KIND DETAIL` lines to it
    while it runs (KIND: guard, ok, BLOCKED, udp-connect; see guard/sitecustomize.py). Read at each
    call, so a check made after the grading also covers what the cloud did meanwhile."""

    def __init__(self, path: Path):
        self.path = path

    def lines(self) -> list[str]:
        return self.path.read_text().splitlines() if self.path.exists() else []

    def blocked(self) -> list[str]:
        """Connections, datagrams, DNS lookups and curls the guard refused: they would have left 127.0.0.1."""
        return [line for line in self.lines() if line.split(" ", 2)[1:2] == ["BLOCKED"]]

    def connected(self) -> list[str]:
        """HOST:PORT of each loopback connection."""
        return [line.split(" ", 2)[2] for line in self.lines() if line.split(" ", 2)[1:2] == ["ok"]]

    def guarded(self) -> dict[int, str]:
        """{pid: command line} of every process that started under the guard."""
        return {int(line.split(" ", 2)[0]): line.split(" ", 2)[2] for line in self.lines()
                if line.split(" ", 2)[1:2] == ["guard"]}


def guard_everything(monkeypatch, log: Path) -> None:
    """The guard for the processes started from now on: set before the cloud starts, so that it,
    its plain-process containers (the guard adds itself to the environment the cloud gives them)
    and the kernel all load it, and curl is the guard's (guard/bin first on PATH)."""
    monkeypatch.setenv("LABKIT_NET_LOG", str(log))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(GUARD), str(ROOT)]))
    monkeypatch.setenv("PATH", os.pathsep.join([str(GUARD / "bin"), str(Path(sys.executable).parent),
                                                os.environ.get("PATH", "")]))


def execute(notebook: Path, tmp_path: Path, monkeypatch, timeout: int = 180, run_all: bool = False):
    """Returns (executed notebook, cloud, client home, NetLog). The cloud is stopped by the caller.
    `run_all`: stop at the first error, as JupyterLab's Run All does (later cells keep no outputs)."""
    netlog = NetLog(tmp_path / "net.log")
    guard_everything(monkeypatch, netlog.path)
    cloud = start_cloud(tmp_path / "cloud")
    try:
        assert cloud.pid in netlog.guarded(), "the cloud started without the loopback guard"
        nb = _run(notebook, tmp_path, monkeypatch, cloud, timeout, run_all)
        assert any("ipykernel" in cmdline for cmdline in netlog.guarded().values()), \
            "the kernel started without the loopback guard"
    except BaseException:
        cloud.stop()
        raise
    return nb, cloud, tmp_path / "client", netlog


def _run(notebook: Path, tmp_path: Path, monkeypatch, cloud, timeout: int, run_all: bool):
    env = {}
    cloud_env.apply(cloud_env.cloud_environment(Settings(home=tmp_path / "client", aws_port=cloud.port, managed=True)),
                    env)
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("LABKIT_MANAGED", "1")
    monkeypatch.delenv("LABKIT_LANG", raising=False)  # the notebook's own metadata must decide
    work = tmp_path / "work"
    work.mkdir()
    target = work / notebook.name
    shutil.copy(notebook, target)
    monkeypatch.setenv("JPY_SESSION_NAME", str(target))  # as Jupyter sets it for a kernel
    nb = nbformat.read(target, as_version=4)
    from nbclient.exceptions import CellExecutionError

    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=not run_all,
                       resources={"metadata": {"path": str(work)}}).execute()
    except CellExecutionError:
        assert run_all
    return nb


def errors(nb) -> list[str]:
    """Error outputs, and shell commands that failed (a `!cmd` failure is not a Python error)."""
    found = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                found.append(f"cell {i} ({cell.get('id')}): {out.get('ename')}: {out.get('evalue')}")
    return found


def text_of(nb) -> str:
    """All output text. Stream chunks are joined as the terminal would show them (a print may
    arrive in several chunks), other outputs each on their own lines."""
    chunks = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                chunks.append(out.get("text", ""))
                continue
            data = out.get("data", {})
            chunks.append("\n" + data.get("text/plain", "") + data.get("text/markdown", "") + data.get("text/html", "") + "\n")
        chunks.append("\n")
    return "".join(chunks)
