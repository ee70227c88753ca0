"""An nbgrader course directory, and what the grader keeps beside nbgrader's own files.

    DIR/nbgrader_config.py                  written by `grader init`; formgrader and plain nbgrader read it
    DIR/gradebook.db                        nbgrader's gradebook
    DIR/source/<lab>/<lab>.ipynb            the English solution (one assignment serves both languages)
    DIR/release/<lab>/<lab>.ipynb           the English student version (nbgrader generate_assignment)
    DIR/submitted/<student>/<lab>/<lab>.ipynb
    DIR/autograded/<student>/<lab>/labkit-results.json   the grader's verdict (see results.py)
    DIR/feedback/<student>/<lab>/<lab>.html
    DIR/grader-labs/<lab>.json              what init learnt: steps, points, test cells per language
    DIR/grader-labs/<lab>/release.<lang>.ipynb   the student version in each language
    DIR/grader-labs/logs/                   worker logs of the last autograde run

The Korean notebook has the same code and test cells and grade ids as the English one (only
markdown and full-line comments differ), so nbgrader knows one assignment per lab; the grader
records the Korean student version to tell a translated comment from an edited test cell.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

from coursebuild.release import CODE_STUB, TEXT_STUB
from grader.errors import GraderError
from grader.results import RESULTS_NAME as RESULTS_FILE

RECORDS = "grader-labs"
CONFIG_MARKER = "# Written by `grader init`"
DEFAULT_TIMEOUT = 30            # seconds per cell (nbgrader's Execute.timeout default)
DEFAULT_NOTEBOOK_TIMEOUT = 300  # seconds for a whole notebook
MAX_OUTPUT_BYTES = 1_000_000    # per cell, kept in the autograded notebook
HIDDEN_BEGIN, HIDDEN_END = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]*$")


def check_name(kind: str, value: str) -> str:
    if not _NAME.match(value or ""):
        raise GraderError(f"{kind} {value!r} is not a valid name (letters, digits, _ . @ + -)")
    return value


class Course:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).expanduser().resolve()

    # -- nbgrader's layout ---------------------------------------------------------------------
    @property
    def config_file(self) -> Path:
        return self.root / "nbgrader_config.py"

    @property
    def db_path(self) -> Path:
        return self.root / "gradebook.db"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.db_path}"

    def source(self, lab: str) -> Path:
        return self.root / "source" / lab

    def release(self, lab: str) -> Path:
        return self.root / "release" / lab

    def submitted(self, student: str, lab: str) -> Path:
        return self.root / "submitted" / student / lab

    def autograded(self, student: str, lab: str) -> Path:
        return self.root / "autograded" / student / lab

    def feedback(self, student: str, lab: str) -> Path:
        return self.root / "feedback" / student / lab

    def results_file(self, student: str, lab: str) -> Path:
        return self.autograded(student, lab) / RESULTS_FILE

    # -- the grader's records ------------------------------------------------------------------
    @property
    def records(self) -> Path:
        return self.root / RECORDS

    def record_file(self, lab: str) -> Path:
        return self.records / f"{lab}.json"

    def release_copy(self, lab: str, lang: str) -> Path:
        return self.records / lab / f"release.{lang}.ipynb"

    @property
    def logs(self) -> Path:
        return self.records / "logs"

    def require(self, lab: str | None = None) -> None:
        """Fail with the next command to run if `grader init` has not prepared this course (lab)."""
        hint_lab = lab or "lab02"
        if not self.root.is_dir():
            raise GraderError(f"no course directory {self.root}: run `grader init --course {self.root} {hint_lab}` first")
        if not self.db_path.exists() or not self.config_file.exists():
            raise GraderError(f"no gradebook in {self.root}: run `grader init --course {self.root} {hint_lab}` first")
        if lab is not None and not self.record_file(lab).exists():
            raise GraderError(f"{lab} is not set up in {self.root}: run `grader init --course {self.root} {lab}` first")

    def record(self, lab: str) -> dict:
        self.require(lab)
        return json.loads(self.record_file(lab).read_text(encoding="utf-8"))

    def labs(self) -> list[str]:
        if not self.records.is_dir():
            return []
        return sorted(p.stem for p in self.records.glob("*.json"))

    def students(self, lab: str) -> list[str]:
        """Students with a submission folder for `lab` (nbgrader's layout)."""
        base = self.root / "submitted"
        if not base.is_dir():
            return []
        return sorted(p.parent.name for p in base.glob(f"*/{lab}") if p.is_dir())

    # -- nbgrader configuration ------------------------------------------------------------------
    def write_config(self, timeout: int = DEFAULT_TIMEOUT, lang: str = "en") -> bool:
        """Write nbgrader_config.py unless someone else's is there. Returns True if written."""
        if self.config_file.exists() and CONFIG_MARKER not in self.config_file.read_text(encoding="utf-8"):
            return False
        self.config_file.write_text(
            f"""{CONFIG_MARKER}; formgrader and plain `nbgrader` commands read it too.
c = get_config()  # noqa: F821
c.CourseDirectory.root = {str(self.root)!r}
c.CourseDirectory.db_url = {self.db_url!r}
# Each cell may run this long before it is interrupted (`grader autograde --timeout` overrides).
c.Execute.timeout = {int(timeout)}
c.Execute.interrupt_on_timeout = True
# Without it, a kernel shutdown occasionally stalls for seconds.
c.Execute.shutdown_kernel = "immediate"
# Cap what a cell may leave in the autograded notebook (lines and traceback lines);
# `grader autograde` also caps bytes per cell while the notebook runs.
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100
# Student versions get the course's placeholder in the notebook's language (no NotImplementedError,
# so Run All reaches every step's check), the same as the committed course/<lang>/ labs.
c.ClearSolutions.code_stub = {{"python": {CODE_STUB[lang]!r}}}
c.ClearSolutions.text_stub = {TEXT_STUB[lang]!r}
# The grader's own files never belong to an assignment.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", {RECORDS!r}]
""", encoding="utf-8")
        return True

    def nbgrader_config(self, **overrides):
        """The traitlets Config nbgrader would load from this course, plus overrides
        ("Section.trait": value)."""
        from traitlets.config import Config
        from traitlets.config.loader import PyFileConfigLoader

        config = Config()
        if self.config_file.exists():
            config.merge(PyFileConfigLoader(self.config_file.name, path=str(self.root)).load_config())
        config.CourseDirectory.root = str(self.root)
        config.CourseDirectory.db_url = self.db_url
        for dotted, value in overrides.items():
            section, trait = dotted.split(".", 1)
            setattr(config[section], trait, value)
        return config

    def api(self, **overrides):
        _fast_gradebook_creation()
        """An in-process nbgrader API on this course (no 3 s command start per call)."""
        import logging
        import sys

        from nbgrader.apps import NbGraderAPI

        # nbgrader runs the `alembic` command when it creates a gradebook: use this environment's.
        bin_dir = str(Path(sys.executable).parent)
        if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
            os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])
        from nbgrader.coursedir import CourseDirectory

        config = self.nbgrader_config(**overrides)
        coursedir = CourseDirectory(config=config)
        api = NbGraderAPI(coursedir=coursedir, config=config)
        api.log.propagate = False  # capture_log collects what each call says; nothing on our console
        for handler in list(api.log.handlers):
            if isinstance(handler, logging.StreamHandler) and getattr(handler, "stream", None) in (None,):
                api.log.removeHandler(handler)
        return api


_ALEMBIC_PATCHED = False


def _fast_gradebook_creation() -> None:
    """nbgrader learns the schema version of a new gradebook by running the `alembic heads`
    command (~3 s, and only if `alembic` is on PATH); alembic's Python API gives the same
    revision in milliseconds."""
    global _ALEMBIC_PATCHED
    if _ALEMBIC_PATCHED:
        return
    try:
        import nbgrader
        import nbgrader.api
        from alembic.config import Config as AlembicConfig
        from alembic.script import ScriptDirectory

        config = AlembicConfig()
        config.set_main_option("script_location", str(Path(nbgrader.__file__).parent / "alembic"))
        head = ScriptDirectory.from_config(config).get_current_head()
        if head:
            nbgrader.api.get_alembic_version = lambda: head
    except Exception:  # keep nbgrader's own way
        pass
    _ALEMBIC_PATCHED = True
