"""`labkit` command: up | down | status | env | reset | docker ... | ecs ... | lab

    labkit up                 start the local cloud (or say it already runs)
    eval "$(labkit env)"      point this shell's aws CLI at it
    labkit docker build -t my-app .   the subset of docker the course needs, without a Docker engine
    labkit gcloud run deploy my-service --image=...   the lesson's gcloud commands against the local cloud
    labkit ecs exec --cluster my-cluster --task ID --command "cat /app/config.json"   ECS Exec
"""
from __future__ import annotations

import argparse
import json
import sys

from labkit.messages import text


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "docker":  # hand everything after `docker` to the docker CLI unchanged
        from labkit.docker.cli import main as docker_main

        return docker_main(argv[1:])
    if argv and argv[0] == "gcloud":  # the lesson's gcloud commands against the local cloud (labkit/gcloud)
        from labkit.gcloud.cli import exit_now, main as gcloud_main

        return exit_now(gcloud_main(argv[1:]), argv)
    if argv and argv[0] == "ecs":  # ECS Exec and a FARGATE_SPOT interruption (see `labkit ecs --help`)
        from labkit.ecs_cli import main as ecs_main

        return ecs_main(argv[1:])
    if argv and argv[0] == "lab":  # JupyterLab on the course; its own options (see `labkit lab --help`)
        from labkit.jupyter.launch import main as lab_main

        return lab_main(argv[1:])

    parser = argparse.ArgumentParser(prog="labkit", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    lab_help = "a lab's own cloud (e.g. lab02) instead of the lessons' one"
    sub.add_parser("up", help="start the local cloud (reuses a running one)").add_argument("--lab", help=lab_help)
    down = sub.add_parser("down", help="stop the local cloud")
    down.add_argument("--lab", help=lab_help)
    down.add_argument("--all", action="store_true", help="stop the lessons' cloud and every lab's")
    sub.add_parser("status", help="is the local cloud running, and where").add_argument("--lab", help=lab_help)
    sub.add_parser("env", help="print shell exports for the aws CLI: eval \"$(labkit env)\"").add_argument(
        "--lab", help=lab_help)
    sub.add_parser("reset", help="forget everything the local cloud holds (repositories, images, ...); "
                                 "with --lab, start that lab over").add_argument("--lab", help=lab_help)
    sub.add_parser("docker", help="build, tag, push, login, images, inspect (see `labkit docker --help`)")
    sub.add_parser("gcloud", help="the lesson's gcloud commands: run deploy, artifacts, ... (see `labkit gcloud --help`)")
    sub.add_parser("ecs", help="exec in a task's container, interrupt a FARGATE_SPOT task (see `labkit ecs --help`)")
    sub.add_parser("lab", help="open JupyterLab on the course (--instructor: with nbgrader's tools; see `labkit lab --help`)")
    args = parser.parse_args(argv)

    from labkit import session
    from labkit.config import settings

    if getattr(args, "lab", None):  # act on that lab's cloud: the same as its notebook's kernel sees
        from labkit import env as cloud_env

        try:
            cloud_env.apply(session.lab_environment(session.lab_settings(args.lab)))
        except ValueError as error:
            print(error, file=sys.stderr)
            return 2
        if args.command == "up":
            cloud, reused, s = session.ensure_lab_cloud(args.lab)
            cloud_env.apply(session.lab_environment(s))
            print(text("cli.up.reused" if reused else "cli.up.started", endpoint=cloud.endpoint, pid=cloud.pid))
            return 0
    if args.command == "down" and args.all:
        from labkit.cloud.process import clouds_under
        from labkit.config import base_home

        clouds = clouds_under(base_home())
        for cloud in clouds:
            cloud.stop()
        print(text("cli.down.all", count=len(clouds)) if clouds else text("cli.down.none"))
        return 0
    if args.command == "up":
        try:
            cloud, reused = session.ensure_cloud()
        except session.PortInUse as error:
            print(error, file=sys.stderr)
            return 1
        print(text("cli.up.reused" if reused else "cli.up.started", endpoint=cloud.endpoint, pid=cloud.pid))
        return 0
    if args.command == "down":
        print(text("cli.down.stopped" if session.stop() else "cli.down.none"))
        return 0
    if args.command == "status":
        print(json.dumps(session.status(), indent=2))
        return 0 if session.status()["running"] else 1
    if args.command == "env":
        from labkit import env

        print(env.shell_exports(session.lab_environment(settings())))
        return 0
    if args.command == "reset":
        from labkit.cloud.process import _read_record

        record = _read_record(settings().home)
        if record is None or not record.healthy():
            print(text("cli.reset.none"), file=sys.stderr)
            return 1
        print(session.reset())
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
