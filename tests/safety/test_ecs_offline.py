"""The loopback guard reaches into the local cloud's containers: one ECS task of the lesson app
(section 9.1, built and pushed with `labkit docker`), on a cloud started under the guard
(guard/sitecustomize.py on PYTHONPATH, guard/bin first on PATH), once per way the cloud runs
containers:

- under bubblewrap (LABKIT_RUNTIME_ISOLATION=bwrap): the container has a network namespace of its
  own in which only loopback exists, so nothing it does can leave the machine; the test reads
  that namespace;
- as plain processes (LABKIT_RUNTIME_ISOLATION=none): the guard adds itself to the environment
  the cloud gives the container, so the image's command and every ECS Exec command run under it,
  and so does guard/bin/curl (the agent between them runs `python -I -S`, standard library only,
  and opens no internet socket).

Each kind is tried with a connection to 192.0.2.7 from inside the task (`labkit ecs exec`):
unreachable, or refused and logged by the guard; the lesson's own ECS Exec command (the app over
the container's loopback) still answers. curl (guard/bin/curl) reaches the task and is refused
192.0.2.7, on the machine and (plain) in the container. The aws CLI and `labkit` run under the
guard too. Any other connection that is not loopback, a DNS lookup, or a curl to anything else,
fails the test.

Covered elsewhere, with the same guard: every lesson and both labs' solutions run whole (lesson 03
and lab 03 included, bubblewrap containers where bwrap runs), their kernel, what it runs and their
cloud, with no BLOCKED line allowed (tests/notebooks, runner.py); the JupyterLab server, its kernels
and the cloud a kernel starts (test_jupyterlab_offline.py, lab 02).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from labkit.checks.core import CheckContext
from labkit.cloud.process import start_cloud
from tests.cloud.ecs.conftest import AWS, wait_for
from tests.cloud.ecs.lesson import NETWORK
from tests.cloud.ecs.test_on_runtime import IMAGE, Student, _get, _register, marked
from tests.docker.conftest import ECR_HOST, LESSON_APP, LESSON_DOCKERFILE, LESSON_REQUIREMENTS, write_files
from tests.notebooks.runner import NetLog

GUARD = Path(__file__).parent / "guard"
ROOT = Path(__file__).resolve().parents[2]
CANARY = "192.0.2.7"  # TEST-NET-1: never routed; only the canaries connect to it
CANARY_COMMAND = f"python -c 'import socket; socket.create_connection((\"{CANARY}\", 9), 3)'"
# the lesson's own ECS Exec command (section 3.5): the app, over the container's loopback
ASK_8080 = "python -c 'import urllib.request as u; print(u.urlopen(\"http://127.0.0.1:8080/\").read().decode())'"
MODES = ("bwrap", "none")


def bubblewrap_here() -> bool:
    """Can this machine run containers under bubblewrap?"""
    env = {k: v for k, v in os.environ.items() if k != "LABKIT_RUNTIME_ISOLATION"}
    done = subprocess.run([sys.executable, "-c", "from labkit.cloud.runtime.launch import isolation; "
                           "print(bool(isolation().bwrap))"], env=env, capture_output=True, text=True, timeout=60)
    return done.stdout.strip() == "True"


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            found += children
            todo += children
    return found


def process(pid: int) -> dict:
    """What the test needs of a running process: its command line, network namespace and interfaces."""
    proc = Path(f"/proc/{pid}")
    try:
        interfaces = [line.split(":")[0].strip() for line in (proc / "net" / "dev").read_text().splitlines()[2:]]
        return {"pid": pid, "cmdline": (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"),
                "comm": (proc / "comm").read_text().strip(), "netns": os.readlink(proc / "ns" / "net"),
                "interfaces": interfaces}
    except OSError:
        return {"pid": pid, "gone": True}


def containers_of(cloud) -> dict:
    """The cloud's own network namespace and every process under it (its containers)."""
    return {"netns": os.readlink(f"/proc/{cloud.pid}/ns/net"),
            "processes": [p for p in map(process, descendants(cloud.pid)) if not p.get("gone")]}


def run_task(you, cloud, tmp: Path) -> dict:
    """One task of the lesson's task definition (containerPort 8080), ECS Exec on, running and answering."""
    tmp.mkdir()
    ecs = CheckContext(endpoint=cloud.endpoint, home=tmp / "checks").client("ecs")
    ecs.create_cluster(clusterName="my-cluster")
    CheckContext(endpoint=cloud.endpoint, home=tmp / "checks").client("logs").create_log_group(
        logGroupName="/ecs/my-task")
    marker = uuid.uuid4().hex
    task_definition = _register(you, tmp, 8080, marker)  # through the aws CLI, under the guard
    arn = ecs.run_task(cluster="my-cluster", taskDefinition=task_definition, launchType="FARGATE",
                       networkConfiguration=NETWORK, enableExecuteCommand=True)["tasks"][0]["taskArn"]

    def running():
        task = ecs.describe_tasks(cluster="my-cluster", tasks=[arn])["tasks"][0]
        return task if task["lastStatus"] == "RUNNING" else None
    task = wait_for(running, 60, "the task to run")
    address = task["containers"][0]["networkInterfaces"][0]["privateIpv4Address"]
    wait_for(lambda: _get(address, 8080), 30, f"the app to answer on {address}:8080")
    return {"id": arn.rsplit("/", 1)[1], "address": address, "marker": marker}


def exec_in(you, task_id: str, command: str) -> subprocess.CompletedProcess:
    return you.labkit("ecs", "exec", "--cluster", "my-cluster", "--task", task_id, "--container", "my-container",
                      "--command", command, check=False)


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    if AWS is None:
        pytest.skip("the aws CLI is not installed")
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed: guard/bin/curl runs the real one (apt-get install curl)")
    tmp = tmp_path_factory.mktemp("ecs-offline")
    net_log = tmp / "net.log"
    guarded_env = {"PYTHONPATH": os.pathsep.join([str(GUARD), str(ROOT)]), "LABKIT_NET_LOG": str(net_log),
                   "PATH": os.pathsep.join([str(GUARD / "bin"), str(Path(sys.executable).parent),
                                            os.environ.get("PATH", "")])}
    app = write_files(tmp / "app", {"Dockerfile": LESSON_DOCKERFILE, "app.py": LESSON_APP,
                                    "requirements.txt": LESSON_REQUIREMENTS})
    result = {"bwrap_here": bubblewrap_here(), "clouds": {}, "modes": {}}
    modes = [m for m in MODES if m != "bwrap" or result["bwrap_here"]]
    try:
        for mode in modes:
            cloud = result["clouds"][mode] = start_cloud(
                tmp / f"cloud-{mode}", extra_env={**guarded_env, "LABKIT_RUNTIME_ISOLATION": mode})
            you = Student(cloud, tmp / "client")  # one client home: the image is built once, pushed to each cloud
            you.env.update(guarded_env)
            you.aws("ecr", "create-repository", "--repository-name", "my-app")
            if mode == modes[0]:
                you.labkit("docker", "build", "-t", IMAGE, ".", cwd=app)
            password = you.run(AWS, "ecr", "get-login-password").stdout
            you.labkit("docker", "login", "--username", "AWS", "--password-stdin", ECR_HOST, stdin=password)
            you.labkit("docker", "push", IMAGE)
            task = run_task(you, cloud, tmp / mode)
            seen = {"task": task, "containers": containers_of(cloud), "marked": marked(task["marker"])}
            seen["curl_task"] = you.run("curl", "-s", "-m", "5", f"http://{task['address']}:8080/", check=False)
            seen["ask_8080"] = exec_in(you, task["id"], ASK_8080)
            seen["canary"] = exec_in(you, task["id"], CANARY_COMMAND)
            if mode == "none":  # a plain container's PATH: guard/bin first too
                seen["canary_curl"] = exec_in(you, task["id"], f"curl -s -m 3 http://{CANARY}:9/")
            result["modes"][mode] = seen
        result["host_canary_curl"] = you.run("curl", "-s", "-m", "3", f"http://{CANARY}:9/", check=False)
    finally:
        for cloud in result["clouds"].values():
            cloud.stop()
    result["connections"], result["guarded"] = NetLog(net_log).lines(), NetLog(net_log).guarded()
    yield result


def test_each_task_answered_curl_and_its_own_loopback(session):
    for mode, seen in session["modes"].items():
        assert seen["curl_task"].returncode == 0 and seen["curl_task"].stdout == "Hello from Container!", (mode, seen)
        assert seen["ask_8080"].returncode == 0 and "Hello from Container!" in seen["ask_8080"].stdout, (mode, seen)
    assert set(session["modes"]) == {m for m in MODES if m != "bwrap" or session["bwrap_here"]}


def test_the_guard_covered_the_clouds_aws_labkit_and_curl(session):
    guarded = session["guarded"]
    for mode, cloud in session["clouds"].items():
        assert cloud.pid in guarded and "labkit.cloud.server" in guarded[cloud.pid], f"the {mode} cloud ran unguarded"
    for command in ("bin/aws ecr ", "bin/aws ecs ", "labkit.cli docker push ", "labkit.cli ecs exec "):
        assert any(command in cmdline for cmdline in guarded.values()), f"{command.strip()} ran without the guard"
    curls = {pid for pid, cmdline in guarded.items() if "guard/bin/curl" in cmdline}
    asked = [line for line in session["connections"] if int(line.split()[0]) in curls and " ok 127.0.1." in line]
    assert len(asked) >= len(session["modes"]), "curl reached each task at its own address, under the guard"
    # curl pointed past loopback: refused before the real curl runs, and logged
    refused = session["host_canary_curl"]
    assert refused.returncode == 7 and f"connection to {CANARY} refused" in refused.stderr, refused
    assert any(int(line.split()[0]) in curls and f"BLOCKED {CANARY}:9" in line for line in session["connections"])


def test_plain_containers_run_under_the_guard(session):
    seen = session["modes"]["none"]
    commands = [p for p in seen["containers"]["processes"] if "agent.py" not in p["cmdline"]]
    assert commands and {p["pid"] for p in commands} <= set(seen["marked"]), \
        f"the task's own processes: {seen['containers']['processes']}"
    for p in seen["containers"]["processes"]:
        assert p["netns"] == seen["containers"]["netns"], "a plain process shares the cloud's network"
    for p in commands:
        assert p["pid"] in session["guarded"], f"container process without the guard: {p['cmdline']}"
    # loopback inside the container: seen by the guard in the exec process, and let through
    # (at the task's own address: the plain container's sitecustomize maps its 127.0.0.1 there)
    asked = [line for line in session["connections"] if " ok 127." in line and line.endswith(":8080")
             and session["guarded"].get(int(line.split()[0]), "").startswith("python -c import urllib")]
    assert asked, "the lesson's ECS Exec command reached the app under the guard"
    # the canaries: refused by the guard in the container's own exec process, and by its curl
    canary = seen["canary"]
    assert canary.returncode != 0 and f"labkit safety guard: connection to {CANARY} refused" in canary.stdout + \
        canary.stderr, canary
    blocked = [line for line in session["connections"] if f"BLOCKED {CANARY}:9" in line]
    assert any(CANARY in session["guarded"].get(int(line.split()[0]), "") and "python -c" in
               session["guarded"][int(line.split()[0])] for line in blocked), blocked
    curl = seen["canary_curl"]
    assert curl.returncode == 7 and "labkit safety guard" in curl.stdout + curl.stderr, curl


def test_bubblewrap_containers_have_only_loopback(session):
    if not session["bwrap_here"]:
        pytest.skip("bubblewrap cannot run here: only plain-process containers were tried "
                    "(test_plain_containers_run_under_the_guard)")
    seen = session["modes"]["bwrap"]
    processes, netns = seen["containers"]["processes"], seen["containers"]["netns"]
    assert any(p["comm"] == "bwrap" for p in processes), \
        "the cloud ran no container under bubblewrap: " + "; ".join(p["cmdline"][:120] for p in processes)
    inside = [p for p in processes if p["netns"] != netns]
    assert len(inside) >= 3, "bubblewrap's process inside, the agent and the app"
    for p in processes:
        if p["comm"] == "bwrap" and p["netns"] == netns:
            continue  # bubblewrap's outer process: sets up the namespaces, connects nowhere
        assert p["netns"] != netns, f"in the cloud's network: {p['cmdline']}"
        assert p["interfaces"] == ["lo"], f"{p['cmdline']} sees {p['interfaces']}"
    canary = seen["canary"]
    assert canary.returncode != 0 and "Network is unreachable" in canary.stdout + canary.stderr, canary


def test_no_connection_left_127_0_0_1(session):
    blocked = [line for line in session["connections"] if " BLOCKED " in line and f"BLOCKED {CANARY}:9" not in line]
    assert not blocked, blocked
