"""Lab 06's solution notebook (Cloud Run: deploy, URL, v2 with no traffic, a 10/90 canary over 500
requests, promotion) run top to bottom as the grader runs it: a fresh local cloud, the kernel's
environment from `labkit.env.cloud_environment`, LABKIT_MANAGED=1, the fast path on as a student's
kernel has it. Goal (issue 10, point 4): the notebook in at most 15 s, kernel start excluded.

    .venv/bin/python bench/lab06_notebook.py [--rounds 3] [--json FILE]

Prints each code cell's median time, the cells' total (the figure the goal is about), the kernel's
start and the wall time of each round. The cell runner is bench/notebook_time.py's.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import notebook_time  # noqa: E402

GOAL_S = 15.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    notebook_time.NOTEBOOK = ROOT / "solutions" / "en" / "lab06.ipynb"
    print(f"$ {' '.join([Path(sys.executable).name, *sys.argv])}", flush=True)
    notebook_time.become_subreaper()
    runs = [notebook_time.run_notebook(fastcli=True) for _ in range(args.rounds)]
    cells_total = [round(sum(c["s"] for c in r["cells"]), 3) for r in runs]
    summary = notebook_time.summarize(runs)
    lines = ["| lab 06 solution notebook, cell (median of rounds) | s |", "|---|---|"]
    lines += [f"| cell {c['cell']}: `{c['source']}`{' (' + c['error'] + ')' if 'error' in c else ''} "
              f"| {c['s']} |" for c in summary["cells"]]
    median = round(statistics.median(cells_total), 3)
    verdict = "met" if median <= GOAL_S else "missed"
    lines += [f"| kernel start | {summary['kernel_start_s']} |",
              f"| **cells, total** (runs: {cells_total}; goal ≤ {GOAL_S:g} s: {verdict}) | **{median}** |",
              f"| wall, kernel start to shutdown (runs: {summary['total_all']}) | {summary['total_s']} |",
              f"| CPU of kernel + zygotes + commands + cloud (runs: {summary['cpu_all']}) | {summary['cpu_s']} |"]
    print("\n".join(lines), flush=True)
    errors = [c for r in runs for c in r["cells"] if "error" in c]
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "cells_total_s": cells_total, "median_s": median}, indent=2))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
