"""`labkit ecs`: what a student does to ECS tasks that the AWS CLI alone cannot do here.

    labkit ecs exec --cluster C --task T [--container N] --command "cat /app/config.json"
        ECS Exec: ExecuteCommand (ECS's own checks, errors printed as the AWS CLI prints them), then
        the command runs in the container through the session the cloud opened, and its output and
        exit status come back. `aws ecs execute-command` needs AWS's Session Manager plugin for that
        second half, which is not installed (and would reach AWS).
    labkit ecs exec ... --interactive [--command /bin/sh]
        a shell in the container, line by line, where there is a terminal.
    labkit ecs interrupt --cluster C --task T
        reclaims a FARGATE_SPOT task's capacity, as AWS may at any time (stopCode SpotInterruption).

The cloud is the one this shell's environment points at (LABKIT_AWS_PORT, as `labkit env` sets
it), or a lab's with --lab. Only 127.0.0.1 is ever contacted.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import urllib.error
import urllib.request

from labkit.messages import text

AWS_CLI_ERROR_EXIT = 255   # what AWS CLI v1 exits with on a ClientError
SESSION_TOKEN_HEADER = "X-Labkit-Session-Token"
LINE_END = "\x1e"           # before the folder a shell line ended in (exec_sessions.LINE_SCRIPT)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="labkit ecs", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="action", required=True)
    exec_ = sub.add_parser("exec", help="run a command (or a shell) in a task's container: ECS Exec")
    exec_.add_argument("--cluster", default="default")
    exec_.add_argument("--task", required=True, help="the task's id or ARN")
    exec_.add_argument("--container", help="needed when the task has several containers")
    exec_.add_argument("--command", dest="command_text", help='what to run, e.g. "cat /app/config.json" (no shell: use '
                                         '"sh -c \'...\'" for pipes); with --interactive, /bin/sh by default')
    exec_.add_argument("--interactive", action="store_true", help="open a shell (needs a terminal)")
    interrupt = sub.add_parser("interrupt", help="interrupt a FARGATE_SPOT task, as AWS reclaims Spot capacity")
    interrupt.add_argument("--cluster", default="default")
    interrupt.add_argument("--task", required=True, help="the task's id or ARN")
    for each in (exec_, interrupt):
        each.add_argument("--region", help="default: AWS_REGION, else the course's region")
        each.add_argument("--lab", help="a lab's own cloud (e.g. lab03) instead of the lessons' one")
    args = parser.parse_args(argv)
    if args.action == "exec" and not args.interactive and not args.command_text:
        parser.error("--command is required (or --interactive for a shell)")
    if args.lab:
        from labkit import env as cloud_env
        from labkit import session

        try:
            cloud_env.apply(session.lab_environment(session.lab_settings(args.lab)))
        except ValueError as error:
            print(error, file=sys.stderr)
            return 2
    return run_exec(args) if args.action == "exec" else run_interrupt(args)


# -- the cloud -------------------------------------------------------------------------------------

def _endpoint() -> str:
    from labkit.config import settings

    return settings().endpoint


def _region(args) -> str:
    from labkit.config import DEFAULT_REGION

    return args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def _ecs_client(region: str):
    import boto3
    from botocore.config import Config

    from labkit.config import FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY

    return boto3.session.Session().client(
        "ecs", region_name=region, endpoint_url=_endpoint(), aws_access_key_id=FAKE_ACCESS_KEY_ID,
        aws_secret_access_key=FAKE_SECRET_ACCESS_KEY,
        config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=60))


def _post(path: str, body: dict, headers: dict | None = None, timeout: float = 180) -> tuple[int, dict]:
    request = urllib.request.Request(_endpoint() + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        try:
            return error.code, json.loads(error.read() or b"{}")
        except ValueError:
            return error.code, {}


def _cloud_down() -> int:
    print(text("ecs.cli.cloud_down", endpoint=_endpoint()), file=sys.stderr)
    return 1


def _aws_error(operation: str, code: str, message: str) -> int:
    """A refusal printed as the AWS CLI prints a ClientError (a blank line first, as it does)."""
    print(f"\nAn error occurred ({code}) when calling the {operation} operation: {message}", file=sys.stderr)
    return AWS_CLI_ERROR_EXIT


# -- exec ------------------------------------------------------------------------------------------

def has_terminal() -> bool:
    """A person can type here: stdin and stdout are terminals, and this is not a notebook's `!`
    line (ipykernel runs it on a pseudo-terminal nobody types into; its kernels have JPY_PARENT_PID)."""
    return os.isatty(0) and os.isatty(1) and "JPY_PARENT_PID" not in os.environ


def run_exec(args) -> int:
    if args.interactive and not has_terminal():
        print(text("ecs.exec.no_terminal", cluster=args.cluster, task=args.task), file=sys.stderr)
        return 2
    command = args.command_text or "/bin/sh"
    from botocore.exceptions import ClientError, EndpointConnectionError

    params = {"cluster": args.cluster, "task": args.task, "command": command, "interactive": True}
    if args.container:
        params["container"] = args.container
    try:
        answer = _ecs_client(_region(args)).execute_command(**params)
    except EndpointConnectionError:
        return _cloud_down()
    except ClientError as error:
        return _aws_error("ExecuteCommand", error.response["Error"].get("Code", ""),
                          error.response["Error"].get("Message", ""))
    session = answer["session"]
    print(f"\nStarting session with SessionId: {session['sessionId']}\n", file=sys.stderr, flush=True)
    try:
        if args.interactive:
            code = _shell(session, answer["containerName"], args.task)
            if code is None:  # not a shell: a command, run once (as ECS Exec runs it)
                code = _run_once(session)
        else:
            code = _run_once(session)
    except (urllib.error.URLError, ConnectionError):
        return _cloud_down()
    print(f"\n\nExiting session with sessionId: {session['sessionId']}.\n", file=sys.stderr)
    return code


def _session_call(session: dict, body: dict) -> tuple[int, dict]:
    return _post("/_labkit/ecs-exec/" + session["sessionId"], body,
                 headers={SESSION_TOKEN_HEADER: session["tokenValue"]})


def _session_ended(status: int, answer: dict) -> int:
    print(text("ecs.exec.session_ended", status=status, reason=answer.get("error", "")), file=sys.stderr)
    return 1


def _run_once(session: dict) -> int:
    status, answer = _session_call(session, {"action": "run"})
    if status != 200:
        return _session_ended(status, answer)
    _write(answer)
    code = int(answer["exitCode"])
    if code:
        print(text("ecs.exec.exit_status", code=code), file=sys.stderr)
    return code


def _write(answer: dict, strip_folder: bool = False) -> str | None:
    """Print a command's output; with strip_folder, return the folder its shell line ended in."""
    out, err = base64.b64decode(answer.get("stdout", "")), base64.b64decode(answer.get("stderr", ""))
    folder = None
    if strip_folder and LINE_END.encode() in err:
        err, _, tail = err.rpartition(LINE_END.encode())
        folder = tail.decode(errors="replace") or None
    sys.stdout.buffer.write(out)
    sys.stdout.flush()
    sys.stderr.buffer.write(err)
    sys.stderr.flush()
    return folder


def _shell(session: dict, container: str, task: str) -> int | None:
    """Line by line: each line runs in the container's shell, `cd` carries over. None when the
    session's command is not a shell."""
    status, answer = _session_call(session, {"action": "open"})
    if status == 409 and "not a shell" in answer.get("error", ""):
        return None
    if status != 200:
        return _session_ended(status, answer)
    try:
        import readline  # noqa: F401  (line editing and history for input())
    except ImportError:
        pass
    print(text("ecs.exec.shell_note", container=container, task=task.rsplit("/", 1)[-1]), file=sys.stderr)
    folder, code = ".", 0
    while True:
        try:
            line = input(f"{'' if folder == '.' else folder} # ")
        except EOFError:
            print()
            break
        except KeyboardInterrupt:
            print()
            continue
        if line.strip() in ("exit", "logout"):
            break
        if not line.strip():
            continue
        status, answer = _session_call(session, {"action": "line", "line": line, "cwd": folder})
        if status != 200:
            return _session_ended(status, answer)
        folder = _write(answer, strip_folder=True) or folder
        code = int(answer["exitCode"])
    _session_call(session, {"action": "close"})
    return code


# -- interrupt -------------------------------------------------------------------------------------

def run_interrupt(args) -> int:
    try:
        status, answer = _post("/_labkit/ecs/interrupt-spot",
                               {"cluster": args.cluster, "task": args.task, "region": _region(args)}, timeout=30)
    except (urllib.error.URLError, ConnectionError):
        return _cloud_down()
    if status != 200:
        print(text("ecs.interrupt.refused", code=answer.get("__type", status), message=answer.get("message", "")),
              file=sys.stderr)
        return 1
    task = answer["task"]
    print(text("ecs.interrupt.done", task=task["taskArn"].rsplit("/", 1)[-1], cluster=args.cluster,
               reason=task.get("stoppedReason", "")))
    return 0
