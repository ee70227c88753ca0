"""How fast the local cloud's runtime starts the lesson's Flask app (section 9.1), and what the cloud
costs in memory with 2 containers of it running (issue 8's goals: <= 3 s from start() of 2
containers to both answering HTTP; <= 300 MB for the cloud with 2 tasks, tasks included).

    .venv/bin/python bench/runtime_start.py [--isolation auto|none] [--json FILE]

A real cloud process (labkit.cloud.server's main, moto loaded as an ECS task's awslogs would)
gets the image by `labkit docker build/tag/login/push`; inside it, `state.runtime` starts 2
containers of it: first with an empty image cache (the layers are extracted), then again with
the cache made. Memory: RSS and PSS (shared pages divided among their users, so the sum is fair)
of the cloud process and every process under it, read from /proc with the 2 containers running.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REPOSITORY, TAG = "my-app", "v1"
ACCOUNT, REGION = "123456789012", "ap-northeast-2"
ECR_HOST = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
DOCKERFILE = """FROM python:3.12-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
EXPOSE 8080
CMD ["python", "app.py"]
"""
APP = """from flask import Flask
import os

app = Flask(__name__)

@app.route('/')
def hello():
    return f"Hello from {os.environ.get('CLOUD_PROVIDER', 'Container')}!"

if __name__ == '__main__':
    app.run(host='0.0.0.0', port=8080)
"""
REQUIREMENTS = "flask==3.0.0\ngunicorn==21.2.0\n"


# -- inside the cloud process -------------------------------------------------------------------------
def serve(home: str, port: str) -> int:
    """The cloud, whose gateway starts 2 containers (twice) once my-app:v1 is pushed, printing
    one JSON line of timings, then keeps them running until SIGTERM."""
    from labkit.cloud import server
    from labkit.cloud.gateway import Gateway

    class Bench(Gateway):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            threading.Thread(target=self._bench, daemon=True).start()

        def _bench(self) -> None:
            from labkit.cloud.runtime import ContainerSpec
            from labkit.cloud.runtime.images import ImageUnavailable, image_files

            while True:
                try:
                    image = image_files(self.state, ACCOUNT, REGION, REPOSITORY, TAG)
                    break
                except ImageUnavailable:
                    time.sleep(0.05)
            runtime = self.state.runtime
            timings = {}
            for round_ in ("cold", "warm"):
                started = time.perf_counter()
                containers = [runtime.start(ContainerSpec(name=f"{round_}-{i}", image=image, ports=[8080],
                                                          environment={"CLOUD_PROVIDER": "AWS"}))
                              for i in range(2)]
                while not all(c.http_get(8080, timeout=0.5) for c in containers):
                    if any(c.state == "exited" for c in containers):
                        print(json.dumps({"error": [c.reason for c in containers]}), flush=True)
                        return
                    time.sleep(0.01)
                timings[round_] = time.perf_counter() - started
                if round_ == "cold":
                    for c in containers:
                        runtime.stop(c.name, timeout=5)
            from labkit.cloud.runtime import launch

            print(json.dumps({"seconds": timings, "isolation": launch.isolation().how,
                              "addresses": [c.address for c in containers]}), flush=True)

    server.Gateway = Bench
    return server.main(["--port", port, "--home", home])


# -- the driver ---------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree(pid: int) -> list[int]:
    """pid and every process under it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in kB of one process."""
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def command_of(pid: int) -> str:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        return " ".join(a.decode(errors="replace") for a in argv if a)[:90]
    except OSError:
        return "?"


def push_lesson_image(port: int, work: Path) -> None:
    from labkit.checks.core import CheckContext
    from labkit.docker import registry_client
    from labkit.docker.cli import main as docker

    app = work / "app"
    app.mkdir()
    for name, text in (("Dockerfile", DOCKERFILE), ("app.py", APP), ("requirements.txt", REQUIREMENTS)):
        (app / name).write_text(text)
    ctx = CheckContext(endpoint=f"http://127.0.0.1:{port}", home=work / "clients")
    ecr = ctx.client("ecr")
    ecr.create_repository(repositoryName=REPOSITORY)
    ctx.client("logs").describe_log_groups()  # an ECS task's awslogs loads moto in the cloud: measure with it
    password = registry_client.ecr_credentials(ecr)[1]
    reference = f"{ECR_HOST}/{REPOSITORY}:{TAG}"
    env = {"LABKIT_HOME": str(work / "client-home"), "LABKIT_AWS_PORT": str(port), "LABKIT_LANG": "en"}
    old = os.getcwd()
    with mock.patch.dict(os.environ, env), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        os.chdir(app)
        try:
            steps = [["build", "-t", "my-app", "."], ["tag", "my-app:latest", reference],
                     ["login", "--username", "AWS", "--password-stdin", ECR_HOST], ["push", reference]]
            for argv in steps:
                with mock.patch("sys.stdin", io.StringIO(password + "\n")):
                    if docker(argv) != 0:
                        raise SystemExit(f"labkit docker {' '.join(argv)} failed")
        finally:
            os.chdir(old)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--isolation", default="auto", choices=["auto", "none", "bwrap"])
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--serve", nargs=2, metavar=("HOME", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(*args.serve)

    from labkit.cloud.process import health

    with tempfile.TemporaryDirectory(prefix="bench-runtime-") as tmp:
        work, port = Path(tmp), free_port()
        env = {**os.environ, "LABKIT_RUNTIME_ISOLATION": args.isolation, "PYTHONPATH": str(ROOT)}
        cloud = subprocess.Popen([sys.executable, __file__, "--serve", str(work / "home"), str(port)],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
                                 start_new_session=True)
        try:
            deadline = time.monotonic() + 30
            while health(port) is None:
                if time.monotonic() > deadline or cloud.poll() is not None:
                    raise SystemExit("the cloud did not start")
                time.sleep(0.05)
            push_lesson_image(port, work)
            line = ""
            while not line.startswith("{"):  # after the server's own "listening on" line
                line = cloud.stdout.readline()
                if not line:
                    raise SystemExit("the cloud ended before the containers answered")
            report = json.loads(line)
            if "error" in report:
                raise SystemExit(f"a container did not start: {report['error']}")
            time.sleep(1.0)  # let the apps settle after their first answers
            rows = [(pid, *memory_kb(pid), command_of(pid)) for pid in tree(cloud.pid)]
        finally:
            cloud.send_signal(signal.SIGTERM)
            try:
                cloud.wait(10)
            except subprocess.TimeoutExpired:
                cloud.kill()
    rss = sum(r[1] for r in rows) / 1024
    pss = sum(r[2] for r in rows) / 1024
    cloud_rss, cloud_pss = rows[0][1] / 1024, rows[0][2] / 1024
    seconds = report["seconds"]
    print(f"runtime: {report['isolation']}; containers at {', '.join(report['addresses'])}")
    print(f"start() of 2 containers -> both answer GET /: {seconds['cold']:.2f} s with an empty image cache, "
          f"{seconds['warm']:.2f} s with the cache made (goal <= 3 s)")
    print(f"memory with 2 running: cloud + containers PSS {pss:.0f} MB, RSS {rss:.0f} MB (goal <= 300 MB); "
          f"the cloud process alone PSS {cloud_pss:.0f} MB, RSS {cloud_rss:.0f} MB")
    for pid, r, p, cmd in rows:
        print(f"  {pid:>7}  RSS {r / 1024:6.1f} MB  PSS {p / 1024:6.1f} MB  {cmd}")
    if args.json:
        Path(args.json).write_text(json.dumps({"seconds": seconds, "pss_mb": pss, "rss_mb": rss,
                                               "cloud_pss_mb": cloud_pss, "cloud_rss_mb": cloud_rss,
                                               "isolation": report["isolation"]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
