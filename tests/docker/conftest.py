"""Fixtures for `labkit docker`: the lesson's app folder (section 9.1), a private LABKIT_HOME,
and the CLI run in-process with its output captured."""
from __future__ import annotations

import io
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

LESSON_DOCKERFILE = """\
# Dockerfile
FROM python:3.12-slim

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .

EXPOSE 8080
CMD ["python", "app.py"]
"""

LESSON_APP = """\
# app.py
from flask import Flask
import os

app = Flask(__name__)

@app.route('/')
def hello():
    return f"Hello from {os.environ.get('CLOUD_PROVIDER', 'Container')}!"

if __name__ == '__main__':
    app.run(host='0.0.0.0', port=8080)
"""

LESSON_REQUIREMENTS = "flask==3.0.0\ngunicorn==21.2.0\n"

ECR_HOST = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com"


def write_files(root: Path, files: dict[str, str | bytes]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


@pytest.fixture
def lesson_app(tmp_path) -> Path:
    """A folder with the lesson's Dockerfile, app.py and requirements.txt."""
    return write_files(tmp_path / "app", {"Dockerfile": LESSON_DOCKERFILE, "app.py": LESSON_APP,
                                          "requirements.txt": LESSON_REQUIREMENTS})


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A private LABKIT_HOME for this test (English messages, no cloud on the default port)."""
    path = tmp_path / "labkit-home"
    monkeypatch.setenv("LABKIT_HOME", str(path))
    monkeypatch.setenv("LABKIT_LANG", "en")
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    return path


@pytest.fixture
def store(home):
    from labkit.docker.store import ImageStore

    return ImageStore(home)


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def docker(home, capsys, monkeypatch):
    """docker(*argv, stdin=None, cwd=None) runs `labkit docker ...` in this process."""
    from labkit.docker.cli import main

    def run(*argv: str, stdin: str | None = None, cwd: Path | None = None) -> Run:
        capsys.readouterr()
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        old = os.getcwd()
        if cwd is not None:
            os.chdir(cwd)
        try:
            code = main(list(argv))
        finally:
            os.chdir(old)
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


@pytest.fixture
def cloud_docker(docker, fresh_cloud, monkeypatch):
    """`docker` pointed at the session's local cloud (reset before the test)."""
    monkeypatch.setenv("LABKIT_AWS_PORT", str(fresh_cloud.port))
    return docker
