"""In a real Jupyter kernel: labkit.start() turns the fast path on, `!aws` (under IPython's pty)
prints what the real command prints, `%env` changes are honoured, and the zygotes end with the
kernel."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

CELLS = [
    "import labkit, json, os\nlabkit.start()\nfrom labkit.fastcli import launcher\n"
    "print(json.dumps({'folder': str(launcher._current.folder), "
    "'pids': [p.pid for p in launcher._current.zygotes.values()], 'path0': os.environ['PATH'].split(':')[0]}))",
    "!aws ecr describe-repositories --repository-names missing; echo rc=$?",
    "%env LABKIT_FASTCLI=0",
    "!aws ecr describe-repositories --repository-names missing; echo rc=$?",
    "%env LABKIT_FASTCLI=",
    "!aws ecr create-repository --repository-name k1 > /dev/null\n%env AWS_DEFAULT_OUTPUT=text",
    "!aws ecr describe-repositories --query 'repositories[].repositoryName'",
    "from ptyprocess import PtyProcess\nprint(getattr(PtyProcess.close, '_labkit_reaped_fast', False))",
    # (this kernel's own folder: the test process's PATH may hold another test's, inherited)
    "labkit.start()\nprint(str(launcher._current.folder), os.environ['PATH'].split(':').count(str(launcher._current.bin)))",
]


def _text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_fast_path_in_a_kernel(kernel_env, tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_MANAGED", "1")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in CELLS])
    client = NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        info = json.loads(_text(nb.cells[0]).strip().splitlines()[-1])
        log = "".join(p.read_text() for p in Path(info["folder"]).glob("*.log"))
    assert info["path0"] == info["folder"] + "/bin"
    fast, real = _text(nb.cells[1]), _text(nb.cells[3])
    assert fast == real and "RepositoryNotFoundException" in fast and "rc=255" in fast
    assert _text(nb.cells[6]).strip() == "k1"  # text output: the %env change reached the command
    assert log.count("served as pid") == 3  # cells 1, 5 and 6; cell 3 ran the real aws
    assert _text(nb.cells[7]).strip() == "True"  # `!` lines no longer sleep 0.1 s when done (ptyclose.py)
    assert _text(nb.cells[8]).split() == [info["folder"], "1"]  # start() again: the same zygotes, once on PATH
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in info["pids"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in info["pids"]), "a zygote outlived its kernel"
    assert not os.path.exists(info["folder"])
