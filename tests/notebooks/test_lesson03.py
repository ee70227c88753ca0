"""Lesson 03 (ECS on Fargate) shows a student real output from the local cloud: the service's two
tasks run the pushed app, each at its own address, its logs reach CloudWatch Logs, the lesson's
port 80 answers nothing while the app listens on 8080, ECS Exec is refused until a new deployment
and then runs commands in the container, LATEST resolves to a real platform version, and the
clean-up leaves no container running. (test_lessons.py runs it in both languages for errors; this
checks what the text says the student will see.)"""
from __future__ import annotations

import re
import time
from pathlib import Path

from .runner import ROOT, errors, execute


def outputs(nb) -> dict[str, str]:
    """Each code cell's output text, by cell id (stdout and stderr as the student sees them)."""
    found = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        parts = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            else:
                parts.append(out.get("data", {}).get("text/plain", "") + out.get("evalue", ""))
        found[cell.id] = "".join(parts)
    return found


def container_processes(runtime_home: Path) -> list[str]:
    """Processes still running from this cloud's runtime folder (the containers' files live there)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(runtime_home) in cmdline:
            found.append(cmdline)
    return found


def test_lesson03_shows_what_its_text_describes(tmp_path, monkeypatch):
    nb, cloud, home, netlog = execute(ROOT / "course" / "ko" / "03_ecs.ipynb", tmp_path, monkeypatch)
    try:
        assert errors(nb) == []
        out = outputs(nb)
        assert "latest: digest: sha256:" in out["push_image"]
        assert '"FARGATE_SPOT"' in out["create_cluster"]
        assert '"revision": 1' in out["register_task_definition"]
        assert "No Fargate configuration exists for given values: 256 CPU, 4096 memory." in out["register_refused"]
        assert out["create_log_group"].strip() == ""

        # the service reached its desired count, in ECS's words
        assert "ACTIVE\t2\t2\t0" in out["describe_service"]
        assert "has reached a steady state." in out["describe_service"]
        running = re.findall(r"RUNNING\t(127\.0\.1\.\d+)\t80", out["task_table"])
        assert len(running) == 2 and len(set(running)) == 2, out["task_table"]

        # the app's own start-up lines, from both tasks' streams
        assert "Running on all addresses (0.0.0.0)" in out["get_log_events"]
        streams = set(re.findall(r"^(ecs/my-container/[0-9a-f]{32})\t", out["filter_log_events"], re.M))
        assert len(streams) == 2
        assert out["filter_log_events"].count(":8080") >= 2

        # port 80 is mapped but nothing listens; the app's 8080 is not published
        assert re.search(r":80/ -> no answer", out["ask_the_task"])
        assert re.search(r":8080/ -> no answer", out["ask_the_task"])

        # ECS Exec: on for the service, off for the running tasks until a new deployment
        assert out["enable_exec"].split() == ["True", "1"]
        assert out["tasks_without_exec"].count("False") == 2
        assert "InvalidParameterException" in out["exec_refused"]
        assert "execute command was not enabled when the task was run" in out["exec_refused"]
        assert out["wait_new_deployment"].count("RUNNING\tTrue") == 2
        assert "SessionManagerPlugin is not found" in out["exec_with_aws_cli"]
        assert "app.py" in out["exec_ls"] and "requirements.txt" in out["exec_ls"]
        assert "app.run(host='0.0.0.0', port=8080)" in out["exec_cat"]
        assert "Hello from Container!" in out["exec_ask_8080"]

        # 6.1: LATEST kept by the service, a real version on the tasks
        assert out["create_fargate_service"].split() == ["my-fargate-service", "LATEST", "Linux"]
        assert out["fargate_service_tasks"].count("RUNNING\t1.4.0") == 2

        # clean-up: everything gone, no container left running
        assert "both services are INACTIVE" in out["clean_up_services"]
        assert "my-cluster\tINACTIVE" in out["clean_up_rest"]
        deadline = time.monotonic() + 15
        while container_processes(tmp_path / "cloud" / "runtime") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert container_processes(tmp_path / "cloud" / "runtime") == []

        assert netlog.blocked() == []
    finally:
        cloud.stop()
