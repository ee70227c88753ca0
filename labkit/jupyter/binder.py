"""Binder's side of the student setup: binder/start runs `eval "$(python -m labkit.jupyter.binder)"`
before Binder starts its own Jupyter server, with its own command line.

Trusts the course's notebooks and prints the shell exports that give that server the student's
configuration, rooted at course/ (what `labkit lab` gives it on a laptop).
"""
from __future__ import annotations

import shlex
import sys

from labkit.jupyter.environment import course_dir, server_environment
from labkit.jupyter.trust import course_notebooks, trust

EXPORTED = ("JUPYTER_CONFIG_PATH", "LABKIT_JUPYTER_ROOT")


def main() -> int:
    root = course_dir()
    trust(course_notebooks(root))
    env = server_environment("student", root)
    for name in EXPORTED:
        print(f"export {name}={shlex.quote(env[name])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
