"""How long the whole course takes to execute: every lesson of `course/{en,ko}` and every lab's solution
(`solutions/{en,ko}`), each top to bottom in a fresh kernel against its own fresh local cloud, as the
notebook tests run them (issue 11's measure: all of it in both languages, goal <= 3 min on 2 cores).

    .venv/bin/python bench/course_time.py [--jobs 2] [--only 06_serverless,lab06] [--json FILE]

Prints each notebook's wall time (cloud start + kernel + cells), its CPU seconds and whether a cell
failed, then the sums and the wall time of the whole run with `--jobs` notebooks at a time. CPU-s is
what load does not change: the notebook's process and every process of its that was waited for (the
cloud, the kernel and what they reaped; a process left to init is not counted, so it is a lower
bound; the process's own start and imports are in it, not in the wall time). A notebook's own
cells are run as they are: nothing is skipped or shortened.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def notebooks() -> list[Path]:
    found = []
    for lang in ("en", "ko"):
        found += sorted(p for p in (ROOT / "course" / lang).glob("*.ipynb") if not p.name.startswith("lab"))
        found += sorted((ROOT / "solutions" / lang).glob("lab*.ipynb"))
    return found


def run_one(notebook: Path) -> dict:
    """In this process: a fresh cloud and client home, the kernel's environment as a student's, the
    notebook executed; JSON on stdout."""
    import nbformat
    from nbclient import NotebookClient

    from labkit import env as cloud_env
    from labkit.cloud.process import start_cloud
    from labkit.config import Settings

    with tempfile.TemporaryDirectory(prefix="course-time-") as tmp:
        tmp = Path(tmp)
        began = time.monotonic()
        cloud = start_cloud(tmp / "cloud", owner=os.getpid())
        try:
            env = {}
            cloud_env.apply(cloud_env.cloud_environment(Settings(home=tmp / "client", aws_port=cloud.port,
                                                                 managed=True)), env)
            for name, value in env.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            os.environ["LABKIT_MANAGED"] = "1"
            os.environ.pop("LABKIT_LANG", None)
            work = tmp / "work"
            work.mkdir()
            target = work / notebook.name
            target.write_bytes(notebook.read_bytes())
            os.environ["JPY_SESSION_NAME"] = str(target)
            nb = nbformat.read(target, as_version=4)
            NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                           resources={"metadata": {"path": str(work)}}).execute()
            errors = [f"{cell.get('id')}: {out.get('ename')}" for cell in nb.cells
                      for out in cell.get("outputs", []) if out.get("output_type") == "error"]
        finally:
            cloud.stop()
        return {"notebook": str(notebook.relative_to(ROOT)), "seconds": round(time.monotonic() - began, 2),
                "cpu_s": round(cpu_seconds(), 2), "errors": errors}


def cpu_seconds() -> float:
    """User + system CPU of this process and of its children that were waited for."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measured(notebook: Path) -> dict:
    done = subprocess.run([sys.executable, __file__, "--one", str(notebook)], capture_output=True, text=True)
    if done.returncode != 0:
        return {"notebook": str(notebook.relative_to(ROOT)), "seconds": None, "cpu_s": None,
                "errors": [done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", help="comma-separated notebook names (without .ipynb), both languages")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one)))
        return 0
    chosen = notebooks()
    if args.only:
        names = set(args.only.split(","))
        chosen = [p for p in chosen if p.stem in names]
    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(measured, chosen))
    wall = time.monotonic() - began
    for r in results:
        shown = f"{r['seconds']:7.1f} s {r['cpu_s']:7.1f} CPU-s" if r["seconds"] is not None else "  failed" + " " * 18
        print(f"{shown}  {r['notebook']}" + (f"   errors: {', '.join(r['errors'])}" if r["errors"] else ""))
    total = sum(r["seconds"] or 0 for r in results)
    cpu = sum(r["cpu_s"] or 0 for r in results)
    load = os.getloadavg()[0]
    print(f"\n{len(results)} notebooks: {total:.1f} s one after the other, {cpu:.1f} CPU-s; {wall:.1f} s wall with "
          f"{args.jobs} at a time (load average {load:.1f} at the end)")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "sum_s": total, "cpu_s": cpu, "wall_s": wall,
                                         "jobs": args.jobs}, indent=1))
    return 1 if any(r["errors"] or r["seconds"] is None for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
