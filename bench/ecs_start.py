"""ECS on the local cloud against issue 8's goals, with MiniStack (a pip-installable peer) measured
beside it in the same run:

    cold start to the first successful ECS call (ListClusters)       goal <= 0.5 s
    idle memory of the cloud process                                  goal <= 100 MB
    create-service -> runningCount == desiredCount == 2, both tasks
        answering HTTP on their address:8080                          goal <= 3 s
    memory of the cloud with those 2 tasks, tasks included           goal <= 300 MB

    .venv/bin/python bench/ecs_start.py [--json FILE] [--no-ministack]

The local cloud is measured twice, with moto warmed in a thread at start (the default) and without
(LABKIT_CLOUD_WARM_UP=0), and for each the latency of the first moto-served call
(`sts get-caller-identity`, right after the first ECS call): the price of not warming. MiniStack is
installed into build/bench/ministack-venv with the project's pip on first use (it says so if it
cannot) and bound to 127.0.0.1. Memory: PSS (shared pages divided among their users) and RSS of the
process and every process under it, from /proc. Clients are botocore's, made before the server starts.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from runtime_start import ACCOUNT, ECR_HOST, REGION, REPOSITORY, TAG, free_port, memory_kb, push_lesson_image, tree  # noqa: E402

MINISTACK_VENV = ROOT / "build" / "bench" / "ministack-venv"
GOALS = {"cold_start_s": 0.5, "idle_mb": 100, "service_s": 3.0, "with_tasks_mb": 300}
NETWORK = {"awsvpcConfiguration": {"subnets": ["subnet-xxx"], "securityGroups": ["sg-xxx"],
                                   "assignPublicIp": "ENABLED"}}


def client(service: str, port: int):
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        service, region_name=REGION, endpoint_url=f"http://127.0.0.1:{port}", aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}, connect_timeout=0.5, read_timeout=60))


def mb(kb: int) -> float:
    return round(kb / 1024, 1)


def memory_of(pid: int) -> dict:
    rss = pss = 0
    for each in tree(pid):
        r, p = memory_kb(each)
        rss, pss = rss + r, pss + p
    return {"pss_mb": mb(pss), "rss_mb": mb(rss)}


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def first_success(call, proc: subprocess.Popen, started: float, timeout: float = 30.0) -> float:
    """Seconds from `started` to the first call() that succeeds."""
    while True:
        try:
            call()
            return time.perf_counter() - started
        except Exception:
            if proc.poll() is not None:
                raise SystemExit(f"the server ended: exit {proc.returncode}")
            if time.perf_counter() - started > timeout:
                raise
            time.sleep(0.005)


def moto_loaded(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_labkit/health", timeout=1) as response:
            return bool(json.loads(response.read()).get("moto_loaded"))
    except OSError:
        return False


# -- cold start ------------------------------------------------------------------------------------

def cold_start(name: str, argv: list[str], env: dict, port: int, labkit: bool) -> dict:
    ecs, sts = client("ecs", port), client("sts", port)
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        first_ecs = first_success(ecs.list_clusters, proc, started)
        begun = time.perf_counter()
        sts.get_caller_identity()
        first_moto = time.perf_counter() - begun
        if labkit and env.get("LABKIT_CLOUD_WARM_UP") == "0":
            idle_note = "moto loaded by that sts call"
        elif labkit:
            deadline = time.monotonic() + 30
            while not moto_loaded(port) and time.monotonic() < deadline:
                time.sleep(0.05)
            idle_note = "moto warmed"
        else:
            idle_note = ""
        time.sleep(1.0)
        idle = memory_of(proc.pid)
        result = {"name": name, "cold_start_s": round(first_ecs, 3), "first_sts_call_s": round(first_moto, 3),
                  "idle": idle, "idle_note": idle_note}
        if labkit and env.get("LABKIT_CLOUD_WARM_UP") == "0":
            # idle before any moto-served call: a second cloud, asked nothing but ECS
            result["idle_before_moto"] = idle_without_moto(argv, env)
        return result
    finally:
        stop(proc)


def idle_without_moto(argv: list[str], env: dict) -> dict:
    port = free_port()
    argv = [a if a != argv[argv.index("--port") + 1] else str(port) for a in argv]
    ecs = client("ecs", port)
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        first_success(ecs.list_clusters, proc, time.perf_counter())
        time.sleep(1.0)
        return memory_of(proc.pid)
    finally:
        stop(proc)


def labkit_server(work: Path, warm: bool) -> tuple[list[str], dict, int]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LABKIT_CONTROL_TOKEN": "bench"}
    env["LABKIT_CLOUD_WARM_UP"] = "1" if warm else "0"
    home = work / f"home-{'warm' if warm else 'cold'}-{port}"
    return [sys.executable, "-m", "labkit.cloud.server", "--port", str(port), "--home", str(home)], env, port


def ministack() -> tuple[Path | None, str]:
    """MiniStack's command, installed on first use; (None, why) when it cannot be."""
    command = MINISTACK_VENV / "bin" / "ministack"
    if command.exists():
        return command, "cached in build/bench/ministack-venv"
    try:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(MINISTACK_VENV)], check=True,
                       capture_output=True, text=True, timeout=120)
        done = subprocess.run([sys.executable, "-m", "pip", "--python", str(MINISTACK_VENV / "bin" / "python"),
                               "install", "-q", "ministack"], capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"MiniStack could not be installed: {exc}"
    if done.returncode != 0 or not command.exists():
        return None, "MiniStack could not be installed: " + (done.stderr.strip().splitlines() or ["pip failed"])[-1]
    return command, "installed now into build/bench/ministack-venv"


# -- create-service on the runtime --------------------------------------------------------------------

def service_start(work: Path) -> dict:
    argv, env, port = labkit_server(work, warm=True)
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        ecs, logs = client("ecs", port), client("logs", port)
        first_success(ecs.list_clusters, proc, time.perf_counter())
        push_lesson_image(port, work)
        ecs.create_cluster(clusterName="my-cluster", capacityProviders=["FARGATE", "FARGATE_SPOT"])
        logs.create_log_group(logGroupName="/ecs/my-task")
        ecs.register_task_definition(
            family="my-task", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
            executionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole",
            containerDefinitions=[{
                "name": "my-container", "image": f"{ECR_HOST}/{REPOSITORY}:{TAG}", "essential": True,
                "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
                "logConfiguration": {"logDriver": "awslogs", "options": {
                    "awslogs-group": "/ecs/my-task", "awslogs-region": REGION, "awslogs-stream-prefix": "ecs"}}}])
        figures = {}
        for name, label in (("svc-cold", "first service (image layers extracted)"),
                            ("svc-warm", "second service (layers cached)")):
            seconds = timed_service(ecs, name)
            figures[name] = {"label": label, "service_s": round(seconds, 3)}
            if name == "svc-cold":
                figures[name]["with_tasks"] = memory_of(proc.pid)
            ecs.delete_service(cluster="my-cluster", service=name, force=True)
            deadline = time.monotonic() + 60
            while ecs.list_tasks(cluster="my-cluster")["taskArns"] and time.monotonic() < deadline:
                time.sleep(0.1)
        return figures
    finally:
        stop(proc)


def timed_service(ecs, name: str) -> float:
    started = time.perf_counter()
    ecs.create_service(cluster="my-cluster", serviceName=name, taskDefinition="my-task", desiredCount=2,
                       launchType="FARGATE", networkConfiguration=NETWORK)
    deadline = started + 60
    while time.perf_counter() < deadline:
        service = ecs.describe_services(cluster="my-cluster", services=[name])["services"][0]
        if service["runningCount"] == service["desiredCount"] == 2:
            arns = ecs.list_tasks(cluster="my-cluster", serviceName=name)["taskArns"]
            tasks = ecs.describe_tasks(cluster="my-cluster", tasks=arns)["tasks"]
            addresses = [t["containers"][0]["networkInterfaces"][0]["privateIpv4Address"] for t in tasks]
            if len(addresses) == 2 and all(answers(a, 8080) for a in addresses):
                return time.perf_counter() - started
        time.sleep(0.02)
    raise SystemExit(f"{name} did not run 2 answering tasks within 60 s")


def answers(address: str, port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{address}:{port}/", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


# -- the report ----------------------------------------------------------------------------------------

def verdict(value: float, goal: float) -> str:
    return "ok" if value <= goal else "OVER"


def report(starts: list[dict], services: dict, note: str) -> str:
    lines = ["cold start to the first ECS call, first moto-served call, idle memory (PSS / RSS):"]
    for s in starts:
        line = (f"  {s['name']:<34} {s['cold_start_s']:6.3f} s [{verdict(s['cold_start_s'], GOALS['cold_start_s'])}]"
                f"   sts {s['first_sts_call_s']:6.3f} s   idle {s['idle']['pss_mb']:6.1f} / {s['idle']['rss_mb']:6.1f} MB"
                f" [{verdict(s['idle']['pss_mb'], GOALS['idle_mb'])}]")
        if s.get("idle_note"):
            line += f" ({s['idle_note']})"
        lines.append(line)
        if "idle_before_moto" in s:
            before = s["idle_before_moto"]
            lines.append(f"  {'':<34} {'':>8}     {'':>14}   idle {before['pss_mb']:6.1f} / {before['rss_mb']:6.1f} MB"
                         f" [{verdict(before['pss_mb'], GOALS['idle_mb'])}] (before any moto-served call)")
    if note:
        lines.append(f"  MiniStack: {note}")
    lines.append("create-service -> 2 RUNNING tasks answering HTTP (goal <= 3 s), memory with them (goal <= 300 MB):")
    for name, figure in services.items():
        line = f"  {figure['label']:<40} {figure['service_s']:6.3f} s [{verdict(figure['service_s'], GOALS['service_s'])}]"
        if "with_tasks" in figure:
            m = figure["with_tasks"]
            line += (f"   cloud + 2 tasks {m['pss_mb']:6.1f} / {m['rss_mb']:6.1f} MB"
                     f" [{verdict(m['pss_mb'], GOALS['with_tasks_mb'])}]")
        lines.append(line)
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--no-ministack", action="store_true", help="measure the local cloud alone")
    args = parser.parse_args()
    print(f"$ {Path(sys.executable).name} bench/ecs_start.py {' '.join(sys.argv[1:])}".rstrip())
    with tempfile.TemporaryDirectory(prefix="bench-ecs-") as tmp:
        work = Path(tmp)
        starts = []
        for warm, label in ((True, "labkit (moto warmed at start)"), (False, "labkit (LABKIT_CLOUD_WARM_UP=0)")):
            argv, env, port = labkit_server(work, warm)
            starts.append(cold_start(label, argv, env, port, labkit=True))
        note = "not measured (--no-ministack)"
        if not args.no_ministack:
            command, note = ministack()
            if command is not None:
                port = free_port()
                env = {**os.environ, "GATEWAY_PORT": str(port), "BIND_HOST": "127.0.0.1"}
                starts.append(cold_start("MiniStack " + ministack_version(), [str(command)], env, port, labkit=False))
        services = service_start(work)
    print(report(starts, services, note))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, load average {load} (other work slows every figure alike)")
    if args.json:
        Path(args.json).write_text(json.dumps({"starts": starts, "services": services, "ministack": note,
                                               "goals": GOALS}, indent=2))
    return 0


def ministack_version() -> str:
    found = list((MINISTACK_VENV / "lib").glob("python*/site-packages/ministack-*.dist-info"))
    return found[0].name.removesuffix(".dist-info").split("-", 1)[1] if found else ""


if __name__ == "__main__":
    sys.exit(main())
