"""Lesson 01 (containers and virtual machines) shows a student what its text says they will see,
in both languages: the kernel the notebook runs on, `labkit docker version` with no engine behind
it, the `hello` image built from the lesson's Dockerfile with one layer per instruction in its
history, the configuration `inspect` prints (command, folder, OS/architecture; no kernel), the image
in `docker images`, and the density what-if's numbers for its assumptions. (test_lessons.py leaves
this lesson to this module.)"""
from __future__ import annotations

import platform
import re

import pytest

from .runner import ROOT, errors, execute
from .test_lesson03 import outputs


@pytest.mark.parametrize("notebook", ["en/01_containers.ipynb", "ko/01_containers.ipynb"])
def test_lesson01_shows_what_its_text_describes(notebook, tmp_path, monkeypatch):
    nb, cloud, home, netlog = execute(ROOT / "course" / notebook, tmp_path, monkeypatch)
    try:
        assert errors(nb) == []
        assert netlog.blocked() == []
        out = {cell: text.replace("\r\n", "\n") for cell, text in outputs(nb).items()}  # `!` lines print CRLF

        # 1.1: one kernel for everything on the host: the kernel cell prints this machine's
        assert out["kernel"].strip() == f"{platform.system()} {platform.release()}"
        # Docker's parts: the client answers, and says there is no engine (no `docker run`)
        assert out["docker_version"].startswith("Client: labkit docker")
        assert "Server: none" in out["docker_version"], out["docker_version"]

        # The image: built, its history one step per Dockerfile line over the base image's
        assert "naming to docker.io/library/hello:latest done" in out["build_hello"], out["build_hello"]
        history = out["history_hello"].splitlines()
        assert history[0].split()[:2] == ["IMAGE", "CREATED"], history
        steps = "\n".join(history[1:4])
        assert 'CMD ["python" "hello.py"]' in steps or 'CMD ["python", "hello.py"]' in steps, steps
        assert "COPY" in history[2] and "WORKDIR /app" in history[3], history
        assert re.search(r"\b0B\b", history[1]) and re.search(r"\b0B\b", history[3])  # CMD, WORKDIR: config only
        assert not re.search(r"\b0B\b", history[2])  # COPY: a layer of files
        # inspect: the command, the folder, the platform; an environment but no kernel
        first, env = out["inspect_hello"].strip().splitlines()
        assert first == '["python","hello.py"] /app linux/amd64', first
        assert env.startswith('["') and "PATH=" in env
        # images: the store lists hello:latest with an id and a size
        rows = out["images_hello"].splitlines()
        assert rows[0].split()[:2] == ["REPOSITORY", "TAG"] and rows[1].split()[:2] == ["hello", "latest"], rows

        # The density what-if: 64 GiB host, 0.5 GiB apps, 1 GiB guest OS -> 42 VMs, 128 containers
        # (said in the notebook's language: labkit/say.py)
        expected = {"en": ["VMs:", "42", "containers:", "128"], "ko": ["VM:", "42개", "컨테이너:", "128개"]}
        assert out["density"].split() == expected[notebook.split("/")[0]], out["density"]
        # ... and as a widget: running the cell replaces the static figure with the live one
        cell = next(c for c in nb.cells if c.id == "density_widget")
        assert [sorted(o["data"]) for o in cell.outputs] == [["application/vnd.jupyter.widget-view+json", "text/plain"]]
    finally:
        cloud.stop()
