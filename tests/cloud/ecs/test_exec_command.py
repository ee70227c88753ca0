"""ECS Exec end to end: `labkit ecs exec` calls ExecuteCommand (ECS's checks and errors, printed as the
AWS CLI prints them), then runs the command in the container through the session the cloud opened
(`/_labkit/ecs-exec/<session>`: single use, its token required, expiring); `--interactive` is a shell
where there is a terminal. The real `aws ecs execute-command` stops where it does without AWS's
Session Manager plugin."""
from __future__ import annotations

import os
import sys

import pytest
import requests

from labkit.cloud.aws.ecs import exec_sessions, models
from tests.cloud.ecs.conftest import TOKEN, aws, wait_for
from tests.cloud.ecs.lesson import NETWORK

CONFIG = b'{"greeting": "hello from my-app"}\n'
NOT_ENABLED_LINE = ("An error occurred (InvalidParameterException) when calling the ExecuteCommand operation: The "
                    "execute command failed because execute command was not enabled when the task was run")


@pytest.fixture
def exec_task(ecs, lesson, cloud):
    """A RUNNING task of the lesson's task definition with ECS Exec on; its container 'holds' CONFIG."""
    def answer(container, argv):
        if argv == ["cat", "/app/config.json"]:
            return 0, CONFIG, b""
        return 1, b"", f"{argv[0]}: not what this test expects\n".encode()
    cloud.runtime.exec_answer = answer
    arn = ecs.run_task(cluster="my-cluster", taskDefinition="my-task:1", launchType="FARGATE",
                       networkConfiguration=NETWORK, enableExecuteCommand=True)["tasks"][0]["taskArn"]
    wait_for(lambda: ecs.describe_tasks(cluster="my-cluster", tasks=[arn])["tasks"][0]["lastStatus"] == "RUNNING",
             what="RUNNING")
    return arn


@pytest.fixture
def labkit_ecs(cloud, monkeypatch, capfd):
    """`labkit ecs ...` in this process, pointed at the test cloud: returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("LABKIT_AWS_PORT", str(cloud.port))
    monkeypatch.delenv("JPY_PARENT_PID", raising=False)

    def run(*argv: str) -> tuple[int, str, str]:
        from labkit.cli import main

        capfd.readouterr()
        code = main(["ecs", *argv])
        out, err = capfd.readouterr()
        return code, out, err
    return run


def _exec(task: str, *more: str) -> list[str]:
    return ["exec", "--cluster", "my-cluster", "--task", task, "--container", "my-container", *more]


def test_labkit_ecs_exec_prints_the_containers_file(exec_task, labkit_ecs, cloud):
    code, out, err = labkit_ecs(*_exec(exec_task, "--command", "cat /app/config.json"))
    assert (code, out) == (0, CONFIG.decode())
    assert "Starting session with SessionId: ecs-execute-command-" in err
    (container,) = cloud.runtime.named("/my-container")
    assert container.executed == [["cat", "/app/config.json"]]  # no shell in between, as ECS Exec runs it

    task_id = exec_task.rsplit("/", 1)[1]  # the task may be given by id as well as by ARN
    code, out, _ = labkit_ecs(*_exec(task_id, "--command", "cat /app/config.json"))
    assert (code, out) == (0, CONFIG.decode())


def test_the_commands_exit_status_and_errors_come_back(exec_task, labkit_ecs):
    code, out, err = labkit_ecs(*_exec(exec_task, "--command", "ls /nowhere"))
    assert (code, out) == (1, "")
    assert "ls: not what this test expects" in err
    assert "The command exited with status 1." in err


def test_ecs_refusals_are_printed_as_the_aws_cli_prints_them(ecs, lesson, labkit_ecs, cloud):
    arn = ecs.run_task(cluster="my-cluster", taskDefinition="my-task:1", launchType="FARGATE",
                       networkConfiguration=NETWORK)["tasks"][0]["taskArn"]  # no enableExecuteCommand
    wait_for(lambda: ecs.describe_tasks(cluster="my-cluster", tasks=[arn])["tasks"][0]["lastStatus"] == "RUNNING",
             what="RUNNING")
    code, out, err = labkit_ecs(*_exec(arn, "--command", "cat /app/config.json"))
    assert (code, out) == (255, "")
    assert err.startswith("\n" + NOT_ENABLED_LINE)
    assert cloud.runtime.named("/my-container")[0].executed == []  # refused: nothing ran

    code, _, err = labkit_ecs("exec", "--cluster", "nope", "--task", arn, "--command", "ls")
    assert code == 255
    assert "An error occurred (ClusterNotFoundException) when calling the ExecuteCommand operation: Cluster not " \
           "found." in err


def _open_session(ecs, task: str, command: str = "cat /app/config.json") -> dict:
    return ecs.execute_command(cluster="my-cluster", task=task, container="my-container", interactive=True,
                               command=command)["session"]


def _call(cloud, session: dict, body: dict, token: str | None = None, headers: dict | None = None):
    given = {exec_sessions.TOKEN_HEADER: session["tokenValue"] if token is None else token, **(headers or {})}
    return requests.post(f"{cloud.endpoint}{exec_sessions.PATH_PREFIX}{session['sessionId']}", json=body,
                         headers=given, timeout=30)


def test_a_session_is_single_use_needs_its_token_and_expires(ecs, exec_task, cloud):
    session = _open_session(ecs, exec_task)
    assert session["streamUrl"] == f"ws://127.0.0.1:{cloud.port}{exec_sessions.PATH_PREFIX}{session['sessionId']}"
    # the control token is no substitute for the session's own
    assert _call(cloud, session, {"action": "run"}, token="", headers={"X-Labkit-Token": TOKEN}).status_code == 403
    assert _call(cloud, session, {"action": "run"}, token="0" * 32).status_code == 403
    first = _call(cloud, session, {"action": "run"})
    assert first.status_code == 200 and first.json()["exitCode"] == 0
    assert _call(cloud, session, {"action": "run"}).status_code in (409, 410)  # used: never twice

    unknown = dict(session, sessionId="ecs-execute-command-00000000000000000")
    assert _call(cloud, unknown, {"action": "run"}).status_code == 404

    late = _open_session(ecs, exec_task)
    backend = models.backend(cloud.state)
    with cloud.state.lock:
        backend.exec_sessions._sessions[late["sessionId"]].created_at -= exec_sessions.CLAIM_WITHIN_S + 1
    assert _call(cloud, late, {"action": "run"}).status_code == 410
    # a command session is not a shell: lines cannot be sent to it
    other = _open_session(ecs, exec_task)
    assert _call(cloud, other, {"action": "open"}).status_code == 409
    assert _call(cloud, other, {"action": "line", "line": "id"}).status_code == 409


def test_a_session_ends_with_its_task(ecs, exec_task, cloud):
    session = _open_session(ecs, exec_task, command="/bin/sh")
    assert _call(cloud, session, {"action": "open"}).status_code == 200
    assert _call(cloud, session, {"action": "line", "line": "cat /app/config.json", "cwd": "."}).status_code == 200
    ecs.stop_task(cluster="my-cluster", task=exec_task)
    wait_for(lambda: ecs.describe_tasks(cluster="my-cluster", tasks=[exec_task])["tasks"][0]["lastStatus"]
             == "STOPPED", what="STOPPED")
    assert _call(cloud, session, {"action": "line", "line": "ls", "cwd": "."}).status_code == 410


def test_interactive_without_a_terminal_says_so(exec_task, labkit_ecs, cloud):
    code, out, err = labkit_ecs(*_exec(exec_task, "--interactive"))
    assert code == 2 and out == ""
    assert "no terminal here" in err and "--command" in err
    assert cloud.runtime.named("/my-container")[0].executed == []


def test_interactive_opens_a_shell_on_a_terminal(exec_task, cloud, tmp_path):
    pexpect = pytest.importorskip("pexpect", reason="pexpect drives a pseudo-terminal for this test")

    def answer(container, argv):  # a shell line: (shell, -c, script, shell, folder, line)
        if argv[:2] == ["/bin/sh", "-c"] and argv[2] == exec_sessions.LINE_SCRIPT:
            folder, line = argv[4], argv[5]
            if line == "cd /app":
                return 0, b"", b"\x1e/app"
            return 0, f"ran {line!r} in {folder}\n".encode(), b"\x1e" + folder.encode()
        return 127, b"", b"unexpected\n"
    cloud.runtime.exec_answer = answer
    env = {k: v for k, v in os.environ.items() if k != "JPY_PARENT_PID"}
    env.update(LABKIT_AWS_PORT=str(cloud.port), LABKIT_HOME=str(tmp_path), LABKIT_LANG="en")
    child = pexpect.spawn(sys.executable, ["-m", "labkit.cli", "ecs", *_exec(exec_task, "--interactive")], env=env,
                          encoding="utf-8", timeout=30)
    child.expect("Starting session with SessionId: ecs-execute-command-")
    child.expect("A shell in container my-container")
    child.expect(" # ")
    child.sendline("cd /app")
    child.expect("/app # ")
    child.sendline("cat config.json")
    child.expect("ran 'cat config.json' in /app")
    child.sendline("exit")
    child.expect("Exiting session with sessionId: ecs-execute-command-")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_the_aws_clis_execute_command_needs_the_session_manager_plugin(cli_env, exec_task):
    """As on a machine without AWS's plugin: awscli checks for it before calling ECS, and says so."""
    assert not any(os.path.exists(os.path.join(d, "session-manager-plugin"))
                   for d in cli_env.get("PATH", "").split(os.pathsep) if d)
    result = aws(cli_env, "ecs", "execute-command", "--cluster", "my-cluster", "--task", exec_task,
                 "--container", "my-container", "--interactive", "--command", "cat /app/config.json")
    assert result.returncode == 255
    assert result.stderr.strip() == ("SessionManagerPlugin is not found. Please refer to SessionManager "
                                     "Documentation here: http://docs.aws.amazon.com/console/systems-manager/"
                                     "session-manager-plugin-not-found")

