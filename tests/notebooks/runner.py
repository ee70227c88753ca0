"""Run a built notebook top to bottom against its own local cloud, as a student would, with the
loopback guard installed in the kernel and every process it starts."""
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


def execute(notebook: Path, tmp_path: Path, monkeypatch, timeout: int = 180, run_all: bool = False):
    """Returns (executed notebook, cloud, client home, network log text). The cloud is stopped by the caller.
    `run_all`: stop at the first error, as JupyterLab's Run All does (later cells keep no outputs)."""
    cloud = start_cloud(tmp_path / "cloud")
    home = tmp_path / "client"
    env = {}
    cloud_env.apply(cloud_env.cloud_environment(Settings(home=home, aws_port=cloud.port, managed=True)), env)
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("LABKIT_MANAGED", "1")
    monkeypatch.setenv("LABKIT_NET_LOG", str(tmp_path / "net.log"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(GUARD), str(ROOT)]))
    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
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
    log = (tmp_path / "net.log").read_text() if (tmp_path / "net.log").exists() else ""
    return nb, cloud, home, log


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
