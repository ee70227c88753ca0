"""Dispatch of `labkit gcloud GROUP ... COMMAND [ARGS]` and what every command shares: gcloud's
global flags (--project, --format, --quiet), its error line `ERROR: (gcloud.run.deploy) ...`
with exit code 1 (2 for a refused command line), and a check that the local cloud answers
before any call is made (a stopped cloud would otherwise make the clients retry for a minute)."""
from __future__ import annotations

import argparse
import socket
import sys

from labkit.gcloud.errors import GcloudError, UsageError

# command path -> "module:function"; the module is imported only when its command runs
COMMANDS = {
    ("config", "set"): "config:run",
    ("config", "get"): "config:run",
    ("config", "get-value"): "config:run",
    ("config", "unset"): "config:run",
    ("config", "list"): "config:run",
    ("services", "enable"): "services:enable",
    ("services", "disable"): "services:disable",
    ("services", "list"): "services:list_",
    ("auth", "configure-docker"): "auth:configure_docker",
    ("auth", "print-access-token"): "auth:print_access_token",
    ("auth", "list"): "auth:list_",
    ("artifacts", "repositories", "create"): "artifacts:create",
    ("artifacts", "repositories", "list"): "artifacts:list_",
    ("artifacts", "repositories", "describe"): "artifacts:describe",
    ("artifacts", "repositories", "delete"): "artifacts:delete",
    ("artifacts", "docker", "images", "list"): "artifacts:images_list",
    ("run", "deploy"): "run:deploy",
    ("run", "services", "describe"): "run:describe",
    ("run", "services", "list"): "run:list_",
    ("run", "services", "delete"): "run:delete",
    ("run", "services", "update-traffic"): "run:update_traffic",
    ("run", "services", "add-iam-policy-binding"): "run:add_iam_policy_binding",
    ("run", "services", "get-iam-policy"): "run:get_iam_policy",
    ("run", "revisions", "list"): "run:revisions_list",
    ("run", "revisions", "describe"): "run:revisions_describe",
    ("logging", "read"): "logs:read",
}


# gcloud's other top-level groups: named as not emulated rather than as unknown words
GCLOUD_GROUPS = ("access-context-manager", "ai", "ai-platform", "alloydb", "apigee", "app", "bigtable", "builds",
                 "compute", "container", "dataflow", "dataproc", "deploy", "dns", "functions", "iam", "kms",
                 "monitoring", "projects", "pubsub", "redis", "scheduler", "secrets", "sql", "storage",
                 "tasks", "workflows")


def known_commands() -> str:
    groups: dict[tuple, list[str]] = {}
    for path in COMMANDS:
        groups.setdefault(path[:-1], []).append(path[-1])
    return "\n".join(f"  labkit gcloud {' '.join(group)} {'|'.join(verbs)}" for group, verbs in groups.items())


class Parser(argparse.ArgumentParser):
    """argparse with gcloud's refusals: `ERROR: (gcloud.X) unrecognized arguments: --foo`."""

    def error(self, message):
        if message.startswith("the following arguments are required: "):
            message = f"argument {message.split(': ', 1)[1].split(',')[0]}: Must be specified."
        raise UsageError(message)


def parser(command: str, description: str = "") -> Parser:
    """A parser for `gcloud COMMAND` with gcloud's global flags."""
    p = Parser(prog=f"labkit gcloud {command}", description=description, allow_abbrev=False)
    p.add_argument("--project", help="The Google Cloud project ID to use for this invocation.")
    p.add_argument("--format", help="Set the format for printing command output resources: "
                                    "value(...), json, yaml, table(...), none.")
    p.add_argument("--quiet", "-q", action="store_true", help="Disable all interactive prompts.")
    p.add_argument("--verbosity", help=argparse.SUPPRESS)
    p.add_argument("--account", help=argparse.SUPPRESS)
    p.add_argument("--configuration", help=argparse.SUPPRESS)
    p.add_argument("--no-user-output-enabled", action="store_true", help=argparse.SUPPRESS)
    return p


def require_cloud() -> str:
    """The local cloud's endpoint, once something answers on its port."""
    from labkit import gcp
    from labkit.messages import text

    endpoint = gcp.endpoint()
    port = int(endpoint.rsplit(":", 1)[1])
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
    except OSError:
        raise GcloudError(text("gcloud.cloud_down", endpoint=endpoint)) from None
    return endpoint


def _resolve(argv: list[str]):
    """(command path, handler name, the rest of argv) or a GcloudError naming the first bad word."""
    path: tuple[str, ...] = ()
    words = list(argv)
    while words and not words[0].startswith("-"):
        candidate = path + (words[0],)
        if candidate in COMMANDS:
            return candidate, COMMANDS[candidate], words[1:]
        if any(p[:len(candidate)] == candidate for p in COMMANDS):
            path = candidate
            words.pop(0)
            continue
        break
    if words and words[0] in ("-h", "--help"):
        return path, "help", []
    if not path and words and words[0] in GCLOUD_GROUPS:  # real gcloud knows it; the local cloud does not
        from labkit.messages import text

        error = GcloudError(text("gcloud.not_emulated", group=words[0]),
                            hint=("gcloud.hint.commands", {"commands": known_commands()}))
        error.where = f"gcloud.{words[0]}"
        raise error
    if not words or words[0].startswith("-"):
        error = UsageError("Command name argument expected.", hint=("gcloud.hint.commands", {"commands": known_commands()}))
    else:
        error = UsageError(f"Invalid choice: '{words[0]}'.", hint=("gcloud.hint.commands", {"commands": known_commands()}))
    error.where = ".".join(("gcloud",) + path)
    raise error


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        from labkit.messages import text

        print(text("gcloud.usage", commands=known_commands()))
        return 0 if argv else 2
    if argv[0] == "--version" or argv[0] == "version":
        from labkit.messages import text

        print(text("gcloud.version"))
        return 0
    name = "gcloud"
    try:
        path, handler, rest = _resolve(argv)
        name = ".".join(("gcloud",) + path)
        if handler == "help":
            from labkit.messages import text

            print(text("gcloud.usage", commands=known_commands()))
            return 0
        module_name, function = handler.split(":")
        import importlib

        module = importlib.import_module(f"labkit.gcloud.{module_name}")
        if module_name == "config":
            fmt = next((a.split("=", 1)[1] for a in rest if a.startswith("--format=")), None)
            return getattr(module, function)([path[-1]] + [a for a in rest if not a.startswith("--format=")], fmt) or 0
        return getattr(module, function)(rest) or 0
    except GcloudError as exc:
        return report(exc, getattr(exc, "where", name))
    except Exception as exc:  # an API error from the clients: gcloud's `STATUS: message`
        from labkit.gcloud.errors import from_api

        if type(exc).__module__.startswith("google.api_core"):
            return report(from_api(exc), name)
        raise


def report(exc: GcloudError, name: str) -> int:
    print(f"ERROR: ({name}) {exc.message}", file=sys.stderr)
    if exc.hint:
        from labkit.messages import text

        key, params = exc.hint
        print(text(key, **params), file=sys.stderr)
    return exc.exit_code


def wait(operation, timeout: float = 300):
    """An operation's result, polled as gcloud's progress tracker polls (every few tenths of a second);
    google-api-core's default waits 1 s, then 1.5 s, ... between polls, which would double a deploy."""
    from google.api_core.future import polling

    return operation.result(polling=polling.DEFAULT_POLLING.with_delay(initial=0.05, maximum=0.5, multiplier=1.3)
                            .with_timeout(timeout))


def exit_now(code: int, argv: list[str]) -> int:
    """End the `labkit gcloud` process at once, skipping the interpreter's teardown (gRPC and the
    Google libraries take about 0.35 s to unload, which a notebook cell would wait for). Only when
    this process is that command (its own command line); a caller in-process gets the code back."""
    if sys.argv[1:] == argv:
        import os

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
