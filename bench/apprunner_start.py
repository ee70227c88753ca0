"""App Runner on the local cloud against issue 9's goal:

    create-service -> the first `Hello from AWS!` on the service URL       goal <= 3 s

    .venv/bin/python bench/apprunner_start.py [--json FILE] [--no-cli]

A real cloud process (moto warmed at start, as `labkit.start()` leaves it) gets the lesson's Flask app
(section 9.1) by `labkit docker build/tag/login/push`; then, for three services in turn, the clock
runs from the CreateService call to the first GET on http://<ServiceUrl>/ (sent to the cloud's port with
the URL's name in `Host`, as a student's kernel sends it) that answers `Hello from AWS!`:
the first service (the image's layers extracted), a second one (layers cached), and the lesson's
`aws apprunner create-service` command run as a student runs it (the AWS CLI's own start-up included;
--no-cli leaves it out). Memory: PSS and RSS of the cloud with one service running, its container
included. Clients are botocore's, made before the clock starts.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ecs_start import client, first_success, labkit_server, memory_of, moto_loaded, stop  # noqa: E402
from runtime_start import ACCOUNT, ECR_HOST, REPOSITORY, TAG, push_lesson_image  # noqa: E402

GOAL_S = 3.0
IMAGE = f"{ECR_HOST}/{REPOSITORY}:{TAG}"


def source(provider: str = "AWS") -> dict:
    return {"ImageRepository": {"ImageIdentifier": IMAGE, "ImageRepositoryType": "ECR",
                                "ImageConfiguration": {"Port": "8080",
                                                       "RuntimeEnvironmentVariables": {"CLOUD_PROVIDER": provider}}},
            "AuthenticationConfiguration": {"AccessRoleArn": f"arn:aws:iam::{ACCOUNT}:role/AppRunnerECRAccessRole"}}


def hello(port: int, url: str) -> bool:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Host": url})
    try:
        with urllib.request.urlopen(request, timeout=1) as response:
            return response.read() == b"Hello from AWS!"
    except OSError:
        return False


def first_hello(port: int, started: float, url: str, timeout: float = 60) -> float:
    while time.perf_counter() - started < timeout:
        if hello(port, url):
            return time.perf_counter() - started
        time.sleep(0.01)
    raise SystemExit(f"{url} did not answer Hello from AWS! within {timeout:.0f} s")


def timed_boto3(apprunner, port: int, name: str) -> tuple[float, str]:
    started = time.perf_counter()
    service = apprunner.create_service(ServiceName=name, SourceConfiguration=source())["Service"]
    return first_hello(port, started, service["ServiceUrl"]), service["ServiceArn"]


def timed_cli(port: int, work: Path, name: str) -> tuple[float, str] | None:
    aws = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")
    if aws is None:
        return None
    from labkit import env as cloud_env
    from labkit.config import Settings

    env = dict(os.environ)
    cloud_env.apply(cloud_env.cloud_environment(Settings(home=work / "cli-home", aws_port=port, managed=True)), env)
    env["HOME"] = str(work)
    started = time.perf_counter()
    out = subprocess.run([aws, "apprunner", "create-service", "--service-name", name, "--source-configuration",
                          json.dumps(source())], env=env, capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise SystemExit(f"aws apprunner create-service failed: {out.stderr}")
    service = json.loads(out.stdout)["Service"]
    return first_hello(port, started, service["ServiceUrl"]), service["ServiceArn"]


def gone(apprunner, arn: str) -> None:
    apprunner.delete_service(ServiceArn=arn)
    deadline = time.monotonic() + 30
    while apprunner.describe_service(ServiceArn=arn)["Service"]["Status"] != "DELETED" and time.monotonic() < deadline:
        time.sleep(0.05)


def measure(work: Path, with_cli: bool) -> dict:
    argv, env, port = labkit_server(work, warm=True)
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        apprunner = client("apprunner", port)
        first_success(apprunner.list_services, proc, time.perf_counter())
        push_lesson_image(port, work)
        deadline = time.monotonic() + 60
        while not moto_loaded(port) and time.monotonic() < deadline:
            time.sleep(0.05)
        figures = {}
        seconds, arn = timed_boto3(apprunner, port, "bench-cold")
        figures["cold"] = {"label": "first service (image layers extracted)", "seconds": round(seconds, 3),
                           "with_service": memory_of(proc.pid)}
        gone(apprunner, arn)
        seconds, arn = timed_boto3(apprunner, port, "bench-warm")
        figures["warm"] = {"label": "second service (layers cached)", "seconds": round(seconds, 3)}
        gone(apprunner, arn)
        if with_cli:
            timed = timed_cli(port, work, "my-app")
            if timed is not None:
                figures["cli"] = {"label": "the lesson's `aws apprunner create-service`", "seconds": round(timed[0], 3),
                                  "note": "AWS CLI start-up included"}
                gone(apprunner, timed[1])
        return figures
    finally:
        stop(proc)


def report(figures: dict) -> str:
    lines = [f"create-service -> first `Hello from AWS!` on the service URL (goal <= {GOAL_S:.0f} s):"]
    for figure in figures.values():
        verdict = "ok" if figure["seconds"] <= GOAL_S else "OVER"
        line = f"  {figure['label']:<46} {figure['seconds']:6.3f} s [{verdict}]"
        if "with_service" in figure:
            m = figure["with_service"]
            line += f"   cloud + 1 service {m['pss_mb']:6.1f} / {m['rss_mb']:6.1f} MB (PSS / RSS)"
        if "note" in figure:
            line += f" ({figure['note']})"
        lines.append(line)
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--no-cli", action="store_true", help="leave out the AWS CLI's run")
    args = parser.parse_args()
    print(f"$ {Path(sys.executable).name} bench/apprunner_start.py {' '.join(sys.argv[1:])}".rstrip())
    with tempfile.TemporaryDirectory(prefix="bench-apprunner-") as tmp:
        figures = measure(Path(tmp), with_cli=not args.no_cli)
    print(report(figures))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, load average {load} (other work slows every figure alike)")
    if args.json:
        Path(args.json).write_text(json.dumps({"figures": figures, "goal_s": GOAL_S}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
