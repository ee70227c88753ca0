"""A kernel's fast path, started in the test process as labkit.start() starts it in a kernel: the
environment the commands run with is this process's when the zygotes start."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from labkit.fastcli import launcher

BIN = Path(sys.executable).parent
REGISTRY = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com"


def apply_env(monkeypatch, env: dict) -> None:
    for name in list(os.environ):
        if name not in env:
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def kernel_env(cloud_env, monkeypatch, tmp_path):
    """os.environ as a lab's kernel has it (the cloud's variables, this venv's bin on PATH)."""
    env = dict(cloud_env)
    env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "")])
    env.pop("LABKIT_FASTCLI", None)
    apply_env(monkeypatch, env)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return env


@pytest.fixture
def fast(kernel_env):
    """The fast path on, warmed up. Yields the FastPath; os.environ["PATH"] starts with its shims."""
    fp = launcher.start()
    assert fp is not None
    assert fp.wait_ready(60), "the zygotes did not warm up"
    yield fp
    fp.stop()


class Runner:
    """Runs one shell line twice: through the shims, and with LABKIT_FASTCLI=0 (the real commands)."""

    def __init__(self, fp):
        self.fp = fp

    def run(self, line: str, fast: bool = True, env: dict | None = None, **kw) -> subprocess.CompletedProcess:
        full = dict(os.environ)
        full.update(env or {})
        if not fast:
            full["LABKIT_FASTCLI"] = "0"
        return subprocess.run(line, shell=True, env=full, capture_output=True, timeout=120, **kw)

    def both(self, line: str, env: dict | None = None, **kw):
        return self.run(line, True, env, **kw), self.run(line, False, env, **kw)

    def count(self, word: str) -> int:
        """How many requests the zygotes served ("served") or declined ("declined"), from their logs."""
        return sum(p.read_text().count(f"] {word}") for p in self.fp.folder.glob("*.log"))


@pytest.fixture
def runner(fast):
    return Runner(fast)
