"""ECS Exec's sessions: ExecuteCommand (api.py, after ECS's checks in models.py) opens one; its
`streamUrl` path `/_labkit/ecs-exec/<sessionId>` is where `labkit ecs exec` then runs the accepted
command in the container (the runtime's `Container.exec`), as the Session Manager plugin would use
the stream on AWS.

A session is reached only with the `tokenValue` ExecuteCommand returned (header
X-Labkit-Session-Token), so this path grants nothing an ECS call did not. It is claimed once: a
command session runs its command once and ends; a shell session (the command is a shell, e.g.
"/bin/sh") then runs the lines typed into it until it is closed or idle for IDLE_TIMEOUT_S (Session
Manager's default idle timeout). An unclaimed session expires after CLAIM_WITHIN_S. Every request
checks again that the task and its container still run.

Requests: POST JSON {"action": "run"} (command session), {"action": "open"}, then {"action": "line",
"line": "...", "cwd": "/app"} and {"action": "close"} (shell session). Answers JSON: {"exitCode",
"stdout", "stderr" (base64)}, or {"error": text} with 403 (wrong token), 404 (no such session), 409
(already used), 410 (expired, closed, or the task stopped).
"""
from __future__ import annotations

import base64
import hmac
import json
import os
import shlex
from dataclasses import dataclass, field

from werkzeug.wrappers import Request, Response


PATH_PREFIX = "/_labkit/ecs-exec/"
TOKEN_HEADER = "X-Labkit-Session-Token"
CLAIM_WITHIN_S = 60.0
IDLE_TIMEOUT_S = 20 * 60.0
COMMAND_TIMEOUT_S = 120.0
SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "ksh"})
# One shell line: run it in the session's folder, then report the folder it ended in (after a
# record separator on stderr) so `cd` carries over to the next line, as in one shell.
LINE_SCRIPT = 'cd "$1" 2>/dev/null; eval "$2"; __labkit_rc=$?; printf "\\036%s" "$PWD" >&2; exit $__labkit_rc'


class SessionError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class Session:
    id: str
    token: str
    task: object          # models.Task
    container: object     # models.TaskContainer
    command: str
    created_at: float
    claimed_at: float | None = None
    last_used: float = 0.0
    closed: bool = False
    argv: list[str] = field(default_factory=list)

    @property
    def shell(self) -> bool:
        return len(self.argv) == 1 and os.path.basename(self.argv[0]) in SHELLS


class Sessions:
    """The open sessions of one ECS backend (its lock held by the caller)."""

    def __init__(self):
        self._sessions: dict[str, Session] = {}

    def open(self, session_id: str, token: str, task, container, command: str, now: float) -> Session:
        self._forget_old(now)
        try:
            argv = shlex.split(command)
        except ValueError:
            argv = [command]  # the agent will say it cannot run it
        session = Session(id=session_id, token=token, task=task, container=container, command=command,
                          created_at=now, last_used=now, argv=argv)
        self._sessions[session_id] = session
        return session

    def use(self, session_id: str, token: str, action: str, now: float) -> Session:
        """The session a request may act on, or SessionError (claims it on first use)."""
        session = self._sessions.get(session_id)
        if session is None:
            raise SessionError(404, f"no session {session_id}")
        if not token or not hmac.compare_digest(token.encode(), session.token.encode()):
            raise SessionError(403, "the session token does not match")
        if session.closed:
            raise SessionError(410, f"session {session_id} has ended")
        if session.claimed_at is None:
            if now - session.created_at > CLAIM_WITHIN_S:
                session.closed = True
                raise SessionError(410, f"session {session_id} expired before it was used")
            if action not in ("run", "open"):
                raise SessionError(409, f"session {session_id} was not opened")
            if action == "open" and not session.shell:
                raise SessionError(409, f"session {session_id} runs a command, not a shell")
            session.claimed_at = now
        elif action in ("run", "open"):
            raise SessionError(409, f"session {session_id} was already used")
        elif now - session.last_used > IDLE_TIMEOUT_S:
            session.closed = True
            raise SessionError(410, f"session {session_id} timed out (idle)")
        if session.task.last_status != "RUNNING" or session.container.last_status != "RUNNING":
            session.closed = True
            raise SessionError(410, "the task is no longer running")
        session.last_used = now
        if action in ("run", "close"):
            session.closed = True
        return session

    def _forget_old(self, now: float) -> None:
        for key, session in list(self._sessions.items()):
            if session.closed or now - session.last_used > max(CLAIM_WITHIN_S, IDLE_TIMEOUT_S):
                del self._sessions[key]


def exec_app(state, environ, start_response):
    """POST /_labkit/ecs-exec/<sessionId> (the gateway sends it here without the control token)."""
    from labkit.cloud.aws.ecs import models

    request = Request(environ)
    if request.method != "POST":
        return _answer({"error": "use POST"}, 405)(environ, start_response)
    session_id = request.path[len(PATH_PREFIX):]
    try:
        body = json.loads(request.get_data() or b"{}")
        action = body.get("action")
    except (ValueError, AttributeError):
        return _answer({"error": "the body must be a JSON object"}, 400)(environ, start_response)
    if action not in ("run", "open", "line", "close"):
        return _answer({"error": f"unknown action {action!r}"}, 400)(environ, start_response)
    backend = models.backend(state)
    with state.lock:
        try:
            session = backend.exec_sessions.use(session_id, request.headers.get(TOKEN_HEADER, ""), action,
                                                backend.clock())
        except SessionError as exc:
            return _answer({"error": exc.message}, exc.status)(environ, start_response)
        runtime_name = session.container.runtime_name
        argv = list(session.argv)
    if action in ("open", "close"):
        return _answer({"sessionId": session_id, "shell": argv[0] if argv else ""})(environ, start_response)
    if action == "line":
        argv = [argv[0], "-c", LINE_SCRIPT, argv[0], str(body.get("cwd") or "."), str(body.get("line") or "")]

    runtime = state.runtime
    handle = runtime.get(runtime_name) if runtime is not None else None
    if handle is None:
        return _answer({"error": "the task is no longer running"}, 410)(environ, start_response)
    code, out, err = handle.exec(argv, timeout=COMMAND_TIMEOUT_S)
    return _answer({"exitCode": code, "stdout": base64.b64encode(out).decode(),
                    "stderr": base64.b64encode(err).decode()})(environ, start_response)


def _answer(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")
