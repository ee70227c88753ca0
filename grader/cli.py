"""grader: autograde the course's labs with nbgrader, every score decided outside the student's kernel.

examples:
  grader init --course ~/class lab02                 nbgrader course + gradebook for lab 02
  grader autograde lab02 --course ~/class            every submission in ~/class/submitted/*/lab02/
  grader autograde lab02 --course ~/class --student kim --student lee --jobs 2 --timeout 60
  grader export grades.csv --course ~/class --lab lab02
  grader feedback lab02 --course ~/class             HTML per student, in the student's language
  grader sandbox check                               can this machine sandbox each submission?

Submissions use nbgrader's layout: DIR/submitted/<student>/<lab>/<lab>.ipynb (`nbgrader collect`
puts them there). A submission that cannot be graded is reported as NOT GRADED with its reason,
never as a silent 0; when our side failed (local cloud, checker) it NEEDS REGRADE.
"""
from __future__ import annotations

import argparse
import os
import sys

from grader.course import DEFAULT_NOTEBOOK_TIMEOUT, DEFAULT_TIMEOUT, MAX_OUTPUT_BYTES, Course
from grader.errors import GraderError

EXAMPLES = {
    "init": """examples:
  grader init --course ~/class lab02
  grader init --course ~/class lab02 --solutions path/to/solutions   (a folder with en/lab02.ipynb, ko/lab02.ipynb)
""",
    "autograde": """examples:
  grader autograde lab02 --course ~/class
  grader autograde lab02 --course ~/class --student kim --jobs 1 --timeout 60
  grader autograde lab02 --course ~/class --scheduler tcp://grader1:8786   (on a Dask cluster)

Each submission gets its own local cloud and its own sandbox (see `grader sandbox check`); its notebook
runs under nbgrader; then the grader checks that cloud itself. Results: DIR/autograded/<student>/<lab>/labkit-results.json and nbgrader's gradebook.
""",
    "export": """examples:
  grader export grades.csv --course ~/class
  grader export lab02.csv --course ~/class --lab lab02

One row per student and lab: status (graded | not graded | needs regrade), reason, score,
max_score, then the points of every condition.
""",
    "feedback": """examples:
  grader feedback lab02 --course ~/class
  grader feedback lab02 --course ~/class --student kim

Writes DIR/feedback/<student>/<lab>/<lab>.html in the student's language (never the hidden tests);
`nbgrader release_feedback` can hand them out.
""",
    "sandbox": """examples:
  grader sandbox check      says whether submissions will run sandboxed here, and why not
  grader sandbox install    puts bubblewrap in this environment (Debian/Ubuntu, no root needed)
""",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grader", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="{init,autograde,export,feedback,sandbox}")

    def add(name, help_text):
        p = sub.add_parser(name, help=help_text, description=help_text, epilog=EXAMPLES[name],
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("--course", required=True, metavar="DIR", help="the nbgrader course directory")
        return p

    p = add("init", "create an nbgrader course directory and put labs in its gradebook")
    p.add_argument("labs", nargs="*", metavar="LAB", help="labs to set up, e.g. lab02")
    p.add_argument("--solutions", metavar="DIR", help="folder with en/<lab>.ipynb (and ko/<lab>.ipynb); default: the repo's solutions/")
    p.add_argument("--checks", metavar="MODULE", help="module or .py file defining the lab's checks (default: labkit's registry)")
    p.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT, help=f"seconds per cell written to nbgrader_config.py (default {DEFAULT_TIMEOUT})")

    p = add("autograde", "grade the submissions of a lab")
    p.add_argument("lab", metavar="LAB")
    p.add_argument("--student", action="append", metavar="S", help="only this student (repeatable)")
    p.add_argument("--jobs", type=int, default=2, metavar="N", help="worker processes (default 2; one per core helps, more does not)")
    p.add_argument("--timeout", type=int, default=None, metavar="SECONDS",
                   help="seconds a cell may run before it is interrupted (default: nbgrader_config.py's, else 30)")
    p.add_argument("--notebook-timeout", type=int, default=DEFAULT_NOTEBOOK_TIMEOUT, metavar="SECONDS",
                   help=f"seconds the whole notebook may run (default {DEFAULT_NOTEBOOK_TIMEOUT})")
    p.add_argument("--max-output", type=int, default=MAX_OUTPUT_BYTES, metavar="CHARS", help="output a cell may keep")
    p.add_argument("--checks", metavar="MODULE", help="override the checks module recorded by init")
    p.add_argument("--sandbox", choices=("auto", "require", "none"), default="auto",
                   help="auto: a sandbox per submission where the machine allows it, else graded without one "
                        "and marked so; require: stop if none; none: trust the students (plain nbgrader)")
    p.add_argument("--fork-server", action="store_true",
                   help="fork each sandbox's `aws`/`labkit` command servers from templates made once per worker "
                        "(the default; same as GRADER_FORK_SERVER=1; see grader/README.md, Speed)")
    p.add_argument("--no-fork-server", action="store_true",
                   help="start each sandbox's command servers the plain way, as a student's kernel does "
                        "(slower; same as GRADER_FORK_SERVER=0)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="grade on the workers of this Dask scheduler (e.g. tcp://host:8786) instead of local "
                        "processes (--jobs is then ignored); see grader/README.md")

    p = add("export", "write the grade table as CSV")
    p.add_argument("file", metavar="FILE.csv")
    p.add_argument("--lab", action="append", metavar="LAB", help="only this lab (repeatable; default all)")

    p = add("feedback", "write an HTML feedback file per student")
    p.add_argument("lab", metavar="LAB")
    p.add_argument("--student", action="append", metavar="S", help="only this student (repeatable)")
    p = sub.add_parser("sandbox", help="check or install the sandbox submissions run in", epilog=EXAMPLES["sandbox"],
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=("check", "install"))
    return parser


def _configured_timeout(course: Course) -> int:
    try:
        value = course.nbgrader_config().Execute.timeout
        return int(value) if isinstance(value, int) else DEFAULT_TIMEOUT
    except Exception:
        return DEFAULT_TIMEOUT


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = lambda line: print(line, flush=True)  # noqa: E731
    try:
        if args.command == "sandbox":
            from grader.sandbox import install

            return install.main(args.action, out=out)
        course = Course(args.course)
        if args.command == "init":
            from grader.prepare import init_course

            init_course(course.root, args.labs, solutions=args.solutions, checks=args.checks, timeout=args.timeout, out=out)
        elif args.command == "autograde":
            from grader.pool import autograde

            course.require(args.lab)
            timeout = args.timeout or _configured_timeout(course)
            if args.fork_server:  # the workers read it (grader/worker.py: fork_server_wanted)
                os.environ["GRADER_FORK_SERVER"] = "1"
            elif args.no_fork_server:
                os.environ["GRADER_FORK_SERVER"] = "0"
            if args.scheduler:
                try:
                    from grader.distributed import autograde as autograde_on_cluster
                except ModuleNotFoundError as exc:
                    if (exc.name or "").split(".")[0] not in ("distributed", "dask"):
                        raise
                    raise GraderError("--scheduler needs Dask's distributed: pip install "
                                      "'cloud-containers-course[distributed]'") from None
                autograde_on_cluster(course, args.lab, args.scheduler, students=args.student, timeout=timeout,
                                     notebook_timeout=args.notebook_timeout, checks=args.checks,
                                     max_output=args.max_output, sandbox=args.sandbox, out=out)
                return 0
            autograde(course, args.lab, students=args.student, jobs=args.jobs, timeout=timeout,
                      notebook_timeout=args.notebook_timeout, checks=args.checks, max_output=args.max_output,
                      sandbox=args.sandbox, out=out)
        elif args.command == "export":
            from grader.export import export

            export(course, args.file, labs=args.lab, out=out)
        elif args.command == "feedback":
            from grader.feedback import feedback

            feedback(course, args.lab, students=args.student, out=out)
        return 0
    except GraderError as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("grader: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
