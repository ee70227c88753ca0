"""`labkit gcloud run deploy` against issue 10's goal:

    process start -> `Service URL: ...` printed                                     goal <= 2 s

    .venv/bin/python bench/gcloud_deploy.py [--json FILE]

A real cloud process (as `labkit.start()` leaves it, Google APIs warmed up) gets the lesson's Flask
app pushed to its Artifact Registry (bench/cloudrun_start.py's push_lesson_image). Then
`labkit gcloud run deploy svc-N --image=... --region=asia-northeast3 --allow-unauthenticated` runs
as a notebook's `!labkit gcloud ...` runs it (a new process, the kernel's environment); the clock
runs from the process start to the line `Service URL:` on its stderr. Three new services (the first
extracts the image's layers), then a redeploy of the first (a second revision), then a service of
the tests' plain http.server app (what the Flask app's own start costs). For scale: the same
process doing `run services list` (start-up, imports and one gRPC call only).

With --fastcli the commands run as they do in a notebook after `labkit.start()`: through the shim
of a fast path started here (labkit/fastcli: the labkit zygote, warmed up and idle, forks a child
per command) instead of a fresh interpreter each.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from cloudrun_start import IMAGE, push_lesson_image  # noqa: E402

GOAL_S = 2.0
LABKIT = shutil.which("labkit", path=str(Path(sys.executable).parent)) or "labkit"


def timed(env: dict, *args: str, until: str | None = None) -> tuple[float, float, str]:
    """(seconds to the line starting with `until`, seconds to exit, stderr) of `labkit gcloud ARGS`."""
    start = time.perf_counter()
    proc = subprocess.Popen([env.get("LABKIT_BENCH_COMMAND", LABKIT), "gcloud", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    seen, lines = None, []
    for line in proc.stderr:
        lines.append(line)
        if until and seen is None and line.startswith(until):
            seen = time.perf_counter() - start
    proc.wait()
    total = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"labkit gcloud {' '.join(args)} failed:\n{''.join(lines)}")
    return (seen if seen is not None else total), total, "".join(lines)


def start_fast_path(env: dict):
    """The fast path as labkit.start() starts it in a kernel, with `env` as the kernel's environment;
    (the FastPath, the environment its commands run with: the shims first on PATH). Waits until the
    labkit zygote is warm and has done its idle work (`labkit gcloud`'s imports)."""
    from labkit.fastcli import launcher

    os.environ.clear()
    os.environ.update(env)
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    fp = launcher.start()
    if fp is None or not fp.wait_ready(60):
        raise SystemExit("the fast path did not start")
    log = fp.folder / "labkit.log"
    deadline = time.monotonic() + 60
    while "idle work done" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    run_env = dict(os.environ)
    run_env["LABKIT_BENCH_COMMAND"] = str(fp.bin / "labkit")
    return fp, run_env


def measure(work: Path, fastcli: bool = False) -> dict:
    from labkit import env as cloud_env
    from labkit import gcp
    from labkit.cloud.process import start_cloud
    from labkit.config import Settings

    cloud = start_cloud(work / "cloud", extra_env={"LABKIT_CLOUD_WARM_UP": "1"})
    try:
        gcp.warm_up(cloud.endpoint).join(60)
        push_lesson_image(cloud.port, work)
        env = dict(os.environ)
        cloud_env.apply(cloud_env.cloud_environment(Settings(home=work / "user", aws_port=cloud.port, managed=True)),
                        env)
        fast = None
        if fastcli:
            fast, env = start_fast_path(env)
        list_s = timed(env, "run", "services", "list")[1]
        deploys = []
        for name in ("svc-0", "svc-1", "svc-2"):
            to_url, total, _ = timed(env, "run", "deploy", name, f"--image={IMAGE}", "--region=asia-northeast3",
                                     "--allow-unauthenticated", until="Service URL:")
            deploys.append({"service": name, "to_url_s": round(to_url, 3), "exit_s": round(total, 3)})
        to_url, total, _ = timed(env, "run", "deploy", "svc-0", f"--image={IMAGE}", "--set-env-vars=V=2",
                                 until="Service URL:")
        deploys.append({"service": "svc-0 (redeploy)", "to_url_s": round(to_url, 3), "exit_s": round(total, 3)})
        # the share of the app's own start: the tests' app (Python's http.server) instead of Flask
        from tests.cloud.gcp.run.conftest import push_app

        plain = push_app(cloud.endpoint, "plain-app")
        to_url, total, _ = timed(env, "run", "deploy", "plain", f"--image={plain}", "--allow-unauthenticated",
                                 until="Service URL:")
        deploys.append({"service": "plain (http.server app)", "to_url_s": round(to_url, 3),
                        "exit_s": round(total, 3)})
        served = (fast.folder / "labkit.log").read_text().count("] served") if fast else 0
        if fast is not None:
            fast.stop()
        return {"services_list_s": round(list_s, 3), "deploys": deploys, "goal_s": GOAL_S, "fastcli": fastcli,
                "served_by_zygote": served, "cpus": os.cpu_count(), "load": os.getloadavg()[0]}
    finally:
        cloud.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--fastcli", action="store_true", help="through a kernel's fast path (the labkit zygote)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gcloud-deploy-") as work:
        result = measure(Path(work), fastcli=args.fastcli)
    if args.fastcli:
        print(f"through the fast path: {result['served_by_zygote']} commands served by the labkit zygote")
    print(f"labkit gcloud run services list (start-up + imports + one call): {result['services_list_s']:.2f} s")
    for d in result["deploys"]:
        verdict = "ok" if d["to_url_s"] <= GOAL_S else "over the goal"
        print(f"labkit gcloud run deploy {d['service']}: Service URL after {d['to_url_s']:.2f} s "
              f"(exit {d['exit_s']:.2f} s; goal {GOAL_S:.0f} s: {verdict})")
    print(f"({result['cpus']} CPUs, load {result['load']:.1f})")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
