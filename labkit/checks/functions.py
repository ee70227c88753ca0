"""Run a student's function (or read a value their code builds) outside their kernel.

Lab 07 asks for a function, `choose(...)`, and the checks must call it: reading the cell's text
(answers.py) is not enough, and the grader never runs student code in its own process. So:

1. **Which code.** The cell that defines the name last (`def choose`, `choose = ...`, an import of
   it, at the top level of the cell): the grader takes it from the submitted notebook's code cells in
   order, a kernel from the cells it has run (IPython's `In`), so Check my progress and the grader read
   the same code when the notebook ran top to bottom. IPython syntax (`!`, `%`) is turned into Python
   first; those lines do nothing here.
2. **Where.** That cell alone, in a fresh `python -I -S` (no site-packages, no environment, no
   start-up files), under bubblewrap where it can run (no network, a read-only system and Python, an
   empty /tmp, none of the course's or the grader's files, its own processes; the grader's sandbox
   already needs bwrap), else as a plain child process. Limits: `TIMEOUT_S` of wall time, CPU and
   memory caps. Where a sandbox is expected (the grader's process, with bwrap installed) and it
   fails to start, the answer is "the checker could not run it" (infra), never a run without it.
3. **What comes back.** JSON on a pipe the student's code does not print to: each call's value or
   the exception it raised, each value asked for, or the error that stopped the cell.

The same function runs for the kernel's Check my progress and for the grader, so they agree.
"""
from __future__ import annotations

import ast
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from labkit.checks.core import INFRA, Result

TIMEOUT_S = 5.0
CPU_S = 5
MEMORY_BYTES = 1 << 30
SYSTEM = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
OWN_BWRAP = Path(sys.prefix) / "libexec" / "grader" / "bwrap"  # what `grader sandbox install` puts there


@dataclass
class Outcome:
    """What running the cell gave: `error` set when the cell itself failed (then nothing else is)."""
    ran: bool                                          # False: our side could not run it (infra)
    error: str | None = None                           # "NameError: name 'x' is not defined"
    missing: str | None = None                         # for a NameError: the name
    timed_out: bool = False
    calls: list[dict] = field(default_factory=list)    # per call: {"value": ...} or {"error": "..."}
    values: dict = field(default_factory=dict)         # per name asked for: its plain value, or absent
    problem: str = ""                                  # infra: why it could not run


# -- which code ----------------------------------------------------------------------------------------

def code_cells(ctx) -> list[str] | None:
    """The code cells to look in, in order: the submitted notebook's (the grader), else the cells
    this IPython kernel has run, else None (no notebook, no kernel: nothing to read)."""
    if ctx.notebook is not None:
        cells = []
        for cell in ctx.notebook.get("cells", []):
            if cell.get("cell_type") == "code":
                source = cell.get("source", "")
                cells.append("".join(source) if isinstance(source, list) else str(source))
        return cells
    from labkit.checks.answers import _kernel_cells  # the kernel's cells, read as answers.py reads them

    return _kernel_cells()


def as_python(cell: str) -> str:
    """A cell's source as the kernel runs it: IPython's `!cmd` and `%magic` lines become calls."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:
        return cell
    try:
        return TransformerManager().transform_cell(cell)
    except Exception:  # IPython could not read it either: the kernel raised, the cell defined nothing
        return cell


def defines(tree: ast.Module, name: str) -> bool:
    """Does the cell bind `name` at its top level?"""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return True
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) and getattr(node, "value", None) is not None else []
        for target in targets:  # `fig, ax = plt.subplots()` binds fig too
            names = target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]
            if any(isinstance(t, ast.Name) and t.id == name for t in names):
                return True
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if any((alias.asname or alias.name.split(".")[0]) == name for alias in node.names):
                return True
    return False


def defining_cell(cells: list[str], name: str) -> str | None:
    """The last cell that binds `name` at its top level, as Python, or None."""
    found = None
    for cell in cells:
        if name not in cell:
            continue
        source = as_python(cell)
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue  # the kernel could not run it: `name` keeps what it had
        if defines(tree, name):
            found = source
    return found


# -- where -----------------------------------------------------------------------------------------------

def find_bwrap() -> str | None:
    found = shutil.which("bwrap")
    if found:
        return found
    return str(OWN_BWRAP) if OWN_BWRAP.is_file() and os.access(OWN_BWRAP, os.X_OK) else None


def _python_paths() -> list[str]:
    """The Python installation the child runs (read-only inside), outside the system folders."""
    paths = []
    for p in {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), Path(sys.executable).resolve().parent}:
        if not p.as_posix().startswith(SYSTEM) and not any(p == q or q in p.parents for q in paths):
            paths = [q for q in paths if p not in q.parents] + [p]
    return [str(p) for p in sorted(paths)]


def _bwrap_argv(bwrap: str, argv: list[str], tmp: str) -> list[str]:
    cmd = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--proc", "/proc", "--dev", "/dev",
           "--tmpfs", "/tmp"]
    for name in SYSTEM:
        if os.path.islink(name):
            cmd += ["--symlink", os.readlink(name), name]
        elif os.path.isdir(name):
            cmd += ["--ro-bind", name, name]
    for path in _python_paths():
        cmd += ["--ro-bind", path, path]
    cmd += ["--bind", tmp, "/tmp/run", "--chdir", "/tmp/run", "--"]
    return cmd + argv


def _limits(cpu_s: int = CPU_S) -> None:  # in the child, before exec
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


# -- running it --------------------------------------------------------------------------------------------

# The child: runs the cell in a fresh namespace, then the calls; writes one JSON line to the pipe
# whose descriptor the request names. The cell's own output goes nowhere (it is not what is graded).
CHILD = r'''
import io, json, os, sys
request = json.loads(sys.stdin.read())
sys.path.extend(request.get("path", []))  # run(site_packages=True): the venv's, read-only
out = os.fdopen(request["fd"], "w")
null = os.open(os.devnull, os.O_RDWR)
for fd in (0, 1, 2):
    os.dup2(null, fd)
sys.stdout, sys.stderr = io.StringIO(), io.StringIO()

class _NoShell:
    """get_ipython() for a cell's `!`/`%` lines: they do nothing here."""
    def __getattr__(self, name):
        return lambda *args, **kwargs: None

def plain(value, depth=0):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if depth < 4 and isinstance(value, (list, tuple)):
        return {"tuple" if isinstance(value, tuple) else "list": [plain(v, depth + 1) for v in value]}
    if depth < 4 and isinstance(value, dict):
        return {"dict": [[plain(k, depth + 1), plain(v, depth + 1)] for k, v in list(value.items())[:100]]}
    return {"other": type(value).__name__, "repr": repr(value)[:200]}

def said(exc):
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 300 else text[:297] + "..."

result = {}
namespace = {"__name__": "__main__", "get_ipython": lambda: _NoShell()}
try:
    exec(compile(request["source"], "<cell>", "exec"), namespace)
except BaseException as exc:
    result["error"] = said(exc)
    result["missing"] = getattr(exc, "name", None) if isinstance(exc, NameError) else None
else:
    result["values"] = {name: plain(namespace[name]) for name in request["values"] if name in namespace}
    calls = []
    for call in request["calls"]:
        try:
            calls.append({"value": plain(namespace[call["function"]](**call["kwargs"]))})
        except BaseException as exc:
            calls.append({"error": said(exc), "missing": getattr(exc, "name", None) if isinstance(exc, NameError) else None})
    result["calls"] = calls
out.write(json.dumps(result))
out.flush()
os._exit(0)
'''


def run(source: str, calls: list[dict] | None = None, values: list[str] | None = None,
        sandbox: str = "auto", site_packages: bool = False, timeout: float = TIMEOUT_S) -> Outcome:
    """Run `source` in a fresh Python, then each call {"function": name, "kwargs": {...}}, and read
    back `values` (names). `sandbox`: "auto" (bubblewrap where it runs, else a plain process),
    "require" (bubblewrap or nothing: an infra Outcome), "none". `site_packages`: the course venv's
    site-packages on sys.path (read-only, as the rest of the Python is), matplotlib drawing to no
    screen (Agg) with its font list copied in (else each run spends seconds building it); still
    `-I -S`: no .pth file runs, no user site, no start-up file. `timeout`: wall and CPU seconds."""
    request = {"source": source, "calls": calls or [], "values": values or [],
               "path": site_directories() if site_packages else []}
    bwrap = find_bwrap() if sandbox != "none" else None
    if sandbox == "require" and bwrap is None:
        return Outcome(ran=False, problem="bubblewrap (bwrap) is not installed")
    with tempfile.TemporaryDirectory(prefix="labkit-run-") as tmp:
        if site_packages:
            _matplotlib_cache(Path(tmp) / ".matplotlib")
        argv = [sys.executable, "-I", "-S", "-c", CHILD]
        outcome = _run_once(_bwrap_argv(bwrap, argv, tmp) if bwrap else argv, request, tmp, timeout)
        if not outcome.ran and bwrap and sandbox == "auto" and outcome.problem.startswith("sandbox:"):
            # bwrap is there but cannot make namespaces here (inside another sandbox, a container):
            # the kernel's Check my progress runs it plainly; the grader passes "require"
            outcome = _run_once(argv, request, tmp, timeout)
        return outcome


def site_directories() -> list[str]:
    """The venv's own site-packages (inside sys.prefix, which the sandbox already binds read-only)."""
    import site
    prefix = Path(sys.prefix).resolve()
    return [d for d in site.getsitepackages() if Path(d).is_dir() and prefix in Path(d).resolve().parents]


def _matplotlib_cache(folder: Path) -> None:
    """Matplotlib's font list (fonts of the system and of matplotlib, both visible inside), copied
    from this process's cache into the run's MPLCONFIGDIR; built here once if there is none."""
    folder.mkdir()
    try:
        import matplotlib
        # Imported for its side effect: importing font_manager loads matplotlib's font list, writing
        # fontlist-*.json into this process's cache folder when there is none yet (seconds, once), so
        # the glob below finds one to copy and no run's child has to build its own (seconds every run).
        from matplotlib import font_manager  # noqa: F401
        for found in Path(matplotlib.get_cachedir()).glob("fontlist-*.json"):
            shutil.copyfile(found, folder / found.name)
    except Exception:  # no matplotlib here: the child builds its own list (slower) or fails to import
        pass


def _run_once(argv: list[str], request: dict, tmp: str, timeout: float = TIMEOUT_S) -> Outcome:
    read_end, write_end = os.pipe()  # bwrap and Python keep inherited descriptors: the child writes here
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}
    if request.get("path"):
        home = "/tmp/run" if argv[0] != sys.executable else tmp
        env.update({"MPLBACKEND": "Agg", "MPLCONFIGDIR": f"{home}/.matplotlib"})
    cpu = max(CPU_S, int(timeout))
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                env=env, cwd=tmp, pass_fds=(write_end,), preexec_fn=lambda: _limits(cpu),
                                start_new_session=True)
    except OSError as exc:
        os.close(read_end)
        os.close(write_end)
        return Outcome(ran=False, problem=f"could not start Python: {exc}")
    os.close(write_end)
    try:
        stderr = proc.communicate(json.dumps({**request, "fd": write_end}).encode(), timeout=timeout)[1]
        timed_out = False
    except subprocess.TimeoutExpired:
        _kill(proc)
        stderr, timed_out = b"", True
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    if timed_out:
        return Outcome(ran=True, timed_out=True)
    if not data:
        text = stderr.decode(errors="replace").strip().splitlines()
        if argv[0] != sys.executable and proc.returncode != 0 and text and "bwrap" in text[-1]:
            return Outcome(ran=False, problem=f"sandbox: {text[-1]}")
        if proc.returncode is not None and proc.returncode < 0:  # killed: CPU or memory limit
            return Outcome(ran=True, error=f"stopped by signal {-proc.returncode} (a CPU or memory limit)")
        return Outcome(ran=True, error=(text[-1] if text else f"Python exited with status {proc.returncode}")[:300])
    try:
        result = json.loads(data)
    except ValueError:
        return Outcome(ran=True, error="its answer could not be read")
    return Outcome(ran=True, error=result.get("error"), missing=result.get("missing"),
                   calls=result.get("calls", []), values=result.get("values", {}))


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, 9)
    except OSError:
        pass
    proc.wait()


# -- values back ----------------------------------------------------------------------------------------

def unplain(value):
    """A value as the child described it, back as Python (tuples, lists, dicts; anything else as
    `Other`)."""
    if isinstance(value, dict):
        if "tuple" in value:
            return tuple(unplain(v) for v in value["tuple"])
        if "list" in value:
            return [unplain(v) for v in value["list"]]
        if "dict" in value:
            out = {}
            for k, v in value["dict"]:
                k = unplain(k)
                out[k if isinstance(k, (str, int, float, bool, tuple)) or k is None else repr(k)] = unplain(v)
            return out
        return Other(value.get("other", "object"), value.get("repr", ""))
    return value


@dataclass(frozen=True)
class Other:
    """A value that is not plain data (a function, an object): its type and repr."""
    type: str
    repr: str

    def __str__(self) -> str:
        return self.repr


# -- what the checks say about a run -----------------------------------------------------------------
# Labs 07 and 08 grade functions and values this module runs; what stops a step, or one call, reads
# the same in both. Each lab's messages: `{lab}.cell.timeout`, `{lab}.cell.name_error`,
# `{lab}.cell.error` for the cell, `{prefix}.raised(.name)` for a call.

def sandbox_for(ctx) -> str:
    """run()'s `sandbox=` for a check: the grader (it reads the submitted notebook) never runs student
    code unsandboxed where a sandbox exists; a kernel runs it sandboxed where it can."""
    if ctx.notebook is not None:
        return "require" if find_bwrap() else "none"
    return "auto"


def run_problem(outcome: Outcome, cid: str, lab: str, name: str, timeout: float = TIMEOUT_S) -> list[Result]:
    """The one Result that stops a step when the cell defining `name` did not run to its end: our
    side could not run it (infra), it ran out of time, or it raised (a NameError says which name is
    missing); [] when it ran."""
    if not outcome.ran:
        return [Result(cid, False, "check.crashed", kind=INFRA, params={"error": outcome.problem})]
    if outcome.timed_out:
        return [Result(cid, False, f"{lab}.cell.timeout", params={"name": name, "seconds": int(timeout)})]
    if outcome.error:
        key = f"{lab}.cell.name_error" if outcome.missing else f"{lab}.cell.error"
        return [Result(cid, False, key, params={"name": name, "error": outcome.error, "missing": outcome.missing or "?"})]
    return []


def raised(reply: dict, cid: str, key: str, name_key: str, points: float, params: dict) -> list[Result]:
    """The Result for one call that raised (`reply` has "error"): `name_key` when a NameError says
    which name is missing, else `key` (both written out in full by the lab: tests/test_messages.py
    finds a lab's keys in its source)."""
    key = name_key if reply.get("missing") else key
    return [Result(cid, False, key, points=points,
                   params={**params, "error": reply["error"], "missing": reply.get("missing") or "?"})]


def shown(value) -> str:
    """A value as the student reads it in a message: text as it is, anything else as Python writes
    it, cut to 80 characters."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
