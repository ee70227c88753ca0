"""Lesson 03 and lab 03 (ECS on Fargate) make no connection past loopback: a real `labkit lab`
server runs them with the loopback guard (guard/sitecustomize.py) on PYTHONPATH and its curl
(guard/bin) first on PATH, as test_jupyterlab_offline runs lab 02. The kernels start the lessons'
and the lab's clouds, which inherit the guard; each cloud's containers are covered too:

- under bubblewrap (the lesson's cloud, where bwrap runs): the container has a network namespace
  of its own in which only loopback exists, so nothing it does can leave the machine; the test
  reads that namespace;
- as plain processes (the lab's cloud, LABKIT_RUNTIME_ISOLATION=none): the guard adds itself to
  the environment the cloud gives the container, so the image's command and every ECS Exec
  command run under it (the agent between them runs `python -I -S`, standard library only, and
  opens no internet socket).

Each kind is tried with a connection to 192.0.2.7 from inside a running task (`labkit ecs exec`):
unreachable, or refused by the guard. Any other connection that is not loopback, a DNS lookup,
or a curl to anything else, fails the test.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.jupyter import labserver as L

GUARD = Path(__file__).parent / "guard"
CANARY = "192.0.2.7"  # TEST-NET-1: never routed; only the canary cells connect to it
CANARY_COMMAND = ("python -c 'import socket; socket.create_connection((\\\"" + CANARY + "\\\", 9), 3)'")
CELL_TIMEOUT_S = 240  # watch() waits up to 60 s for a deployment; more under load


def canary_cell(task: str) -> str:
    """ECS Exec in task `task` (an expression in the kernel) of a command that connects to CANARY."""
    return (f'canary_task = {task}\n'
            f'!labkit ecs exec --cluster my-cluster --task {{canary_task}} --container my-container '
            f'--command "{CANARY_COMMAND}"')


def bubblewrap_here() -> bool:
    """Does this machine run containers under bubblewrap (what the lab's cloud does, on auto)?"""
    env = {k: v for k, v in os.environ.items() if k != "LABKIT_RUNTIME_ISOLATION"}
    done = subprocess.run([sys.executable, "-c", "from labkit.cloud.runtime.launch import isolation; "
                           "print(bool(isolation().bwrap))"], env=env, capture_output=True, text=True, timeout=60)
    return done.stdout.strip() == "True"


def code_cells(notebook: Path) -> list[tuple[str, str]]:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return [(c.get("id", ""), "".join(c["source"])) for c in cells if c["cell_type"] == "code"]


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
    return {"netns": os.readlink(f"/proc/{cloud.pid}/ns/net"), "pid": cloud.pid,
            "processes": [p for p in map(process, descendants(cloud.pid)) if not p.get("gone")]}


def run_notebook(port: int, kernel: str, cells: list[tuple[str, str]], extra: dict[str, str]) -> dict[str, dict]:
    """Run each cell in order (stop at the first error); `extra` = {cell id: code run just
    before it}. {cell id: execute()'s answer}."""
    ran = {}
    for cell_id, code in cells:
        if cell_id in extra:
            ran["before_" + cell_id] = L.execute(port, kernel, extra[cell_id], timeout=CELL_TIMEOUT_S)
        ran[cell_id] = answer = L.execute(port, kernel, code, timeout=CELL_TIMEOUT_S)
        assert answer["status"] == "ok", f"cell {cell_id!r} failed:\n{answer['text'][-3000:]}"
    return ran


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed: lab 03's cells curl the tasks (apt-get install curl)")
    from labkit.cloud.process import clouds_under

    tmp = tmp_path_factory.mktemp("ecs-offline")
    course, net_log = tmp / "course", tmp / "net.log"
    shutil.copytree(L.ROOT / "course", course, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "app"))
    env = L.isolated_env(tmp, PYTHONPATH=str(GUARD), LABKIT_NET_LOG=str(net_log), LABKIT_COURSE_DIR=str(course))
    env["PATH"] = os.pathsep.join([str(GUARD / "bin"), env.get("PATH", "")])
    port, log, home = L.free_port(), tmp / "server.log", Path(env["LABKIT_HOME"])
    proc = L.start_lab(port, env=env, log=log)
    result = {}
    try:
        L.wait_ready(port, proc, log)
        lesson = L.open_notebook(port, "en/03_ecs.ipynb")
        lab = L.open_notebook(port, "en/lab03.ipynb")
        result["kernels"] = [int(L.execute(port, k, "import os; print(os.getpid())")["text"]) for k in (lesson, lab)]

        # The lesson as it is; the canary runs in one of its tasks once ECS Exec is on, before the clean-up.
        seen = {}
        lesson_cells = code_cells(L.ROOT / "course" / "en" / "03_ecs.ipynb")
        index = [i for i, _ in lesson_cells].index("create_fargate_service")
        assert "exec_ask_8080" in dict(lesson_cells[:index])
        ran = run_notebook(port, lesson, lesson_cells[:index], {})
        result["lesson_cloud"] = next(c for c in clouds_under(home) if Path(c.home) == home)
        seen["lesson"] = containers_of(result["lesson_cloud"])
        ran["canary"] = L.execute(port, lesson, canary_cell("task_ids[0]"), timeout=CELL_TIMEOUT_S)
        ran |= run_notebook(port, lesson, lesson_cells[index:], {})
        result["lesson"] = ran

        # Lab 03 as the student who wrote every solution: the solution notebook's cells in the
        # student's notebook (en/lab03.ipynb), its cloud's containers as plain processes (set
        # before labkit.start() starts it), then the canary in a task of the service ECS Exec is on.
        lab_cells = code_cells(L.ROOT / "solutions" / "en" / "lab03.ipynb")
        assert [i for i, _ in lab_cells][:1] == ["start"]
        plain = 'import os; os.environ["LABKIT_RUNTIME_ISOLATION"] = "none"'
        ran = run_notebook(port, lab, lab_cells, {"start": plain})
        result["lab_cloud"] = next(c for c in clouds_under(home) if Path(c.home) != home)
        seen["lab"] = containers_of(result["lab_cloud"])
        ran["canary"] = L.execute(port, lab, canary_cell('tasks_of("my-service")[0][0]'), timeout=CELL_TIMEOUT_S)
        result["lab"] = ran
        result["containers"] = seen
    finally:
        L.stop_lab(proc)
        for cloud in clouds_under(home):
            cloud.stop()
    lines = net_log.read_text().splitlines() if net_log.exists() else []
    result["connections"] = lines
    result["guarded"] = {int(line.split()[0]): line.split(" ", 2)[2] for line in lines if line.split()[1:2] == ["guard"]}
    yield result


def test_lesson_and_lab_ran_and_their_tasks_answered(session):
    lesson, lab = session["lesson"], session["lab"]
    assert "Hello from Container!" in lesson["exec_ask_8080"]["text"]
    assert "both services are INACTIVE" in lesson["clean_up_services"]["text"]
    assert lab["watch_v2"]["text"].count("-> Hello from Container!") == 2, lab["watch_v2"]["text"]
    assert lab["watch_backend"]["text"].count("-> Hello from Container!") == 2, lab["watch_backend"]["text"]
    assert "portName 'http' does not match any named port mapping" in lab["try_backend_service"]["text"]


def test_the_guard_covered_the_kernels_clouds_aws_and_curl(session):
    guarded = session["guarded"]
    for pid in session["kernels"] + [session["lesson_cloud"].pid, session["lab_cloud"].pid]:
        assert pid in guarded, f"process {pid} ran without the guard"
    assert "labkit.cloud.server" in guarded[session["lesson_cloud"].pid] + guarded[session["lab_cloud"].pid]
    for command in ("bin/aws ecs ", "bin/aws logs ", "bin/aws servicediscovery ", "bin/labkit ecs exec ",
                    "bin/labkit docker push "):
        assert any(command in cmdline for cmdline in guarded.values()), f"{command.strip()} ran under the guard"
    curls = {pid for pid, cmdline in guarded.items() if "guard/bin/curl" in cmdline}
    asked = [line for line in session["connections"] if int(line.split()[0]) in curls and " ok 127.0.1." in line]
    assert len(curls) >= 6 and len(asked) >= 6, "lab 03 curls each task of three deployments, under the guard"


def test_plain_containers_run_under_the_guard(session):
    seen = session["containers"]["lab"]
    commands = [p for p in seen["processes"] if "agent.py" not in p["cmdline"]]
    assert len(commands) >= 4, f"the lab's four tasks (my-service, backend-service): {seen['processes']}"
    for p in seen["processes"]:
        assert p["netns"] == seen["netns"], "a plain process shares the cloud's network"
    for p in commands:
        assert p["pid"] in session["guarded"], f"container process without the guard: {p['cmdline']}"
    # the canary: refused by the guard, in the container's own exec process
    canary = session["lab"]["canary"]["text"]
    assert f"labkit safety guard: connection to {CANARY} refused" in canary, canary
    blocked = [line for line in session["connections"] if f"BLOCKED {CANARY}:9" in line]
    assert blocked and all(CANARY in session["guarded"][int(line.split()[0])] for line in blocked), blocked


def test_bubblewrap_containers_have_only_loopback(session):
    if not bubblewrap_here():
        pytest.skip("bubblewrap cannot run here: the lesson's containers ran as plain processes, under the "
                    "guard like the lab's (test_plain_containers_run_under_the_guard)")
    seen = session["containers"]["lesson"]
    assert any(p["comm"] == "bwrap" for p in seen["processes"]), \
        "lesson 03's cloud ran no container under bubblewrap: " + "; ".join(p["cmdline"][:120] for p in seen["processes"])
    inside = [p for p in seen["processes"] if p["netns"] != seen["netns"]]
    assert len(inside) >= 6, "two tasks: each bubblewrap's process inside, the agent and the app"
    for p in seen["processes"]:
        if p["comm"] == "bwrap" and p["netns"] == seen["netns"]:
            continue  # bubblewrap's outer process: sets up the namespaces, connects nowhere
        assert p["netns"] != seen["netns"], f"in the cloud's network: {p['cmdline']}"
        assert p["interfaces"] == ["lo"], f"{p['cmdline']} sees {p['interfaces']}"
    canary = session["lesson"]["canary"]["text"]
    assert "Network is unreachable" in canary, canary


def test_no_connection_left_127_0_0_1(session):
    blocked = [line for line in session["connections"] if " BLOCKED " in line and f"BLOCKED {CANARY}:9" not in line]
    assert not blocked, blocked
    assert re.search(r"^\d+ ok 127\.0\.1\.\d+:8080$", "\n".join(session["connections"]), re.M), \
        "the tasks were reached at their own addresses"
