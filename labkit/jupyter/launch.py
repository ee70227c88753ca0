"""`labkit lab`: open JupyterLab on the course, and stop the local clouds it started when it ends.

    labkit lab                          the student's JupyterLab on course/, opening the course index
                                        (course/en/00_index.ipynb, which links the Korean one)
    labkit lab --instructor             the instructor's: nbgrader's tools, on the nbgrader course
                                        (.labkit-instructor/ in the repository, or --course DIR)
    labkit lab --port 8890 --no-browser -- --IdentityProvider.token=SECRET   anything after `--`
                                        (or not known here) goes to Jupyter unchanged

The server binds 127.0.0.1 (its configuration: config/). JupyterLab runs as a child process:
Ctrl-C, SIGTERM or JupyterLab exiting all end here, where every local cloud started during the
session (the lessons' one and each lab's, see labkit.cloud.process.clouds_under) is stopped.
Clouds that were already running before (say `labkit up` in another terminal) are left alone.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

from labkit.jupyter.environment import INSTRUCTOR_COURSE, REPO, course_dir, server_environment
from labkit.messages import text

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="labkit lab", description=__doc__, allow_abbrev=False,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instructor", action="store_true",
                        help="nbgrader's tools (formgrader, Create Assignment, Validate) on the instructor's course")
    parser.add_argument("--course", metavar="DIR",
                        help=f"with --instructor: the nbgrader course folder (default: {INSTRUCTOR_COURSE}/ in the repository)")
    parser.add_argument("--port", type=int, metavar="N", help="serve on this port, or fail if it is taken (default: 8888 or the next free one)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    return parser


def split_arguments(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """Our options, and the arguments for Jupyter: everything after `--`, and anything we do not know."""
    if "--" in argv:
        cut = argv.index("--")
        ours, jupyter = argv[:cut], argv[cut + 1:]
    else:
        ours, jupyter = argv, []
    args, unknown = build_parser().parse_known_args(ours)
    return args, unknown + jupyter


def jupyter_command(args: argparse.Namespace, extra: list[str]) -> list[str]:
    command = [sys.executable, "-m", "jupyterlab"]  # 127.0.0.1: config/common/jupyter_server_config.py
    if args.port:
        command += [f"--ServerApp.port={args.port}", "--ServerApp.port_retries=0"]
    if args.no_browser:
        command.append("--ServerApp.open_browser=False")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # Jupyter refuses root unless told (containers, CI); never needed otherwise
    return command + extra


def main(argv: list[str] | None = None) -> int:
    args, extra = split_arguments(list(sys.argv[1:] if argv is None else argv))
    if args.instructor:
        root = Path(args.course or REPO / INSTRUCTOR_COURSE).expanduser().resolve()
        if not _prepare_instructor_course(root):
            return 1
    else:
        if args.course:
            print(text("jupyter.course_needs_instructor"), file=sys.stderr)
            return 2
        root = course_dir()
        if not root.is_dir():
            print(text("jupyter.no_course", path=root), file=sys.stderr)
            return 1
        from labkit.jupyter.trust import course_notebooks, trust

        trust(course_notebooks(root))
    mode = "instructor" if args.instructor else "student"
    before = _running_clouds()
    try:
        code = run_forwarding_signals(jupyter_command(args, extra), server_environment(mode, root), cwd=root)
    finally:
        stop_clouds_started_since(before)
    return code


def _prepare_instructor_course(root: Path) -> bool:
    from labkit.jupyter.instructor import prepare
    from labkit.jupyter.trust import course_notebooks, trust

    if not prepare(root):
        print(text("jupyter.instructor_init_failed", path=root), file=sys.stderr)
        return False
    # The course's own notebooks only: never a student's submission.
    trust([nb for sub in ("source", "release") for nb in course_notebooks(root / sub)])
    return True


def run_forwarding_signals(command: list[str], env: dict, cwd: Path) -> int:
    """Run Jupyter and hand it the signals we get; returns its exit code once it has ended."""
    proc = subprocess.Popen(command, env=env, cwd=cwd)

    def forward(signum, _frame):
        if signum == signal.SIGINT and _terminal_sent_it_too():
            return  # Ctrl-C reached Jupyter directly: it asks to confirm, a second one stops it
        proc.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in FORWARDED}
    try:
        return proc.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _terminal_sent_it_too() -> bool:
    """We run in the terminal's foreground process group, so Jupyter (in it too) got the Ctrl-C."""
    try:
        return os.isatty(0) and os.tcgetpgrp(0) == os.getpgrp()
    except OSError:
        return False


def _running_clouds() -> set[int]:
    from labkit.cloud.process import clouds_under
    from labkit.config import base_home

    return {cloud.pid for cloud in clouds_under(base_home())}


def stop_clouds_started_since(before: set[int]) -> None:
    """Stop every local cloud under the student's LABKIT_HOME that was not running before, and say so."""
    from labkit.cloud.process import clouds_under
    from labkit.config import base_home

    stopped = kept = 0
    for cloud in clouds_under(base_home()):
        if cloud.pid in before:
            kept += 1
            continue
        cloud.stop()
        stopped += 1
    lines = ([text("jupyter.clouds_stopped", count=stopped)] if stopped else []) + \
            ([text("jupyter.clouds_kept", count=kept)] if kept else [])
    try:
        for line in lines:
            print(line, flush=True)
    except OSError:  # the terminal is gone (closed window): the clouds are stopped all the same
        pass


if __name__ == "__main__":
    sys.exit(main())
