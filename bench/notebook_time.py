"""Where a lab's notebook (lab 02 unless `--lab`) spends its time, as the grader runs it (a fresh local cloud, the
kernel's environment from `labkit.env.cloud_environment`, LABKIT_MANAGED=1).

    .venv/bin/python bench/notebook_time.py [--lab lab02] [--rounds 3] [--fastcli both|on|off] [--json FILE]

Prints: wall and CPU time (the CPU of every process the run started, the cloud included: what
limits a grader on 2 cores), the cost of single process starts (python, `import labkit`, `aws --version`,
`aws ecr describe-repositories`, `labkit docker images`, each through the shims too when the
fast path is on), then the notebook: kernel start, each code cell, total. `--fastcli off` sets
LABKIT_FASTCLI=0 (labkit.start() then starts no zygote and puts no shim on PATH): the figures
before the fast path; `both` measures each in the same run.

For lab 09 it also totals the AWS part (issue 9's goal): kernel start and the code cells before the
"## Step 5" heading (the GCP part), wall and CPU-s, the CPU read from /proc at that heading (every
live process under this one: kernel, zygotes, `aws` children, cloud, containers; plus those reaped).
"""
from __future__ import annotations

import argparse
import ctypes
import re
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))

from labkit import env as cloud_env_module  # noqa: E402
from labkit.cloud.process import start_cloud  # noqa: E402
from labkit.config import Settings  # noqa: E402

NOTEBOOK = ROOT / "solutions" / "en" / "lab02.ipynb"

SINGLE = {  # label: shell command, run in the kernel's environment
    "python -c pass": f"{BIN}/python -c pass",
    "python -I -S -c pass": f"{BIN}/python -I -S -c pass",
    "python -c 'import labkit'": f"{BIN}/python -c 'import labkit'",
    "aws --version": "aws --version",
    "aws ecr describe-repositories": "aws ecr describe-repositories",
    "aws ecr get-login-password | labkit docker login": (
        "aws ecr get-login-password | labkit docker login --username AWS --password-stdin "
        "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com"),
    "labkit docker images": "labkit docker images",
}


PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> None:
    """Orphans (a kernel's zygotes once the kernel is gone) are reparented to this process, so
    their CPU time is counted when reaped (see reap_all)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except Exception:
        pass


def reap_all(within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            if time.monotonic() > deadline:
                return
            time.sleep(0.02)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# The heading that ends lab 09's AWS part (steps 1-4); the GCP step starts there.
PART_END = re.compile(r"^##\s+(Step 5\b|5단계)")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def tree_cpu() -> float:
    """CPU-s so far of every process under this one, alive or reaped: the reaped through getrusage,
    the live ones from /proc (utime + stime + what they reaped themselves). A snapshot mid-run,
    where children_cpu() alone would miss the kernel, cloud and zygotes still running."""
    parents, cpu = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        parents[int(entry)] = int(fields[1])
        cpu[int(entry)] = sum(int(f) for f in fields[11:15]) / CLOCK_TICKS
    me, total = os.getpid(), children_cpu()
    for pid in cpu:
        ancestor = parents.get(pid)
        while ancestor not in (None, 0, 1, me):
            ancestor = parents.get(ancestor)
        if ancestor == me:
            total += cpu[pid]
    return total


def kernel_env(cloud, home: Path, fastcli: bool) -> dict:
    env = dict(os.environ)
    cloud_env_module.apply(cloud_env_module.cloud_environment(
        Settings(home=home, aws_port=cloud.port, managed=True)), env)
    env.update(LABKIT_MANAGED="1", LABKIT_LANG="en", LABKIT_FASTCLI="1" if fastcli else "0")
    env.pop("LABKIT_CONTROL_TOKEN", None)
    env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "")])
    return env


def fast_env(env: dict, work: Path):
    """The environment labkit.start() gives the kernel with the fast path on: the zygote started
    and the shims first on PATH. Returns (env, zygote handle) or (env, None)."""
    from labkit.fastcli import launcher

    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        handle = launcher.start(parent_pid=os.getpid())
        return dict(os.environ), handle
    finally:
        os.environ.clear()
        os.environ.update(saved)


def time_command(cmd: str, env: dict, cwd: Path, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        subprocess.run(cmd, shell=True, env=env, cwd=cwd, capture_output=True)
        times.append(time.perf_counter() - t0)
    return round(statistics.median(times), 3)


def bench_single(rounds: int, fastcli: bool) -> dict:
    home = Path(tempfile.mkdtemp(prefix="nbtime-"))
    cloud = start_cloud(home / "cloud")
    try:
        env = kernel_env(cloud, home / "client", fastcli)
        handle = None
        if fastcli:
            env, handle = fast_env(env, home)
            if handle is not None:
                handle.wait_ready(30)
        out = {label: time_command(cmd, env, home, rounds) for label, cmd in SINGLE.items()}
        if handle is not None:
            handle.stop()
        return out
    finally:
        cloud.stop()
        shutil.rmtree(home, ignore_errors=True)


def run_notebook(fastcli: bool) -> dict:
    import nbformat
    from nbclient import NotebookClient

    home = Path(tempfile.mkdtemp(prefix="nbtime-"))
    cloud = start_cloud(home / "cloud")
    work = home / "work"
    work.mkdir()
    env = kernel_env(cloud, home / "client", fastcli)
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(work)}},
                            shutdown_kernel="immediate")
    cells = []
    part = None  # (wall, CPU-s) at the GCP heading, when the notebook has one
    reap_all(0)
    cpu0 = children_cpu()
    try:
        t0 = time.perf_counter()
        with client.setup_kernel():
            kernel_start = time.perf_counter() - t0
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    if part is None and PART_END.match(cell.source):
                        part = (time.perf_counter() - t0, tree_cpu() - cpu0)
                    continue
                t = time.perf_counter()
                client.execute_cell(cell, index)
                errors = [o for o in cell.outputs if o.get("output_type") == "error"]
                cells.append({"cell": index, "s": round(time.perf_counter() - t, 3),
                              "source": cell.source.splitlines()[0 if not cell.source.startswith("###") else 1][:70],
                              **({"error": errors[0]["ename"]} if errors else {})})
            t = time.perf_counter()
        shutdown = time.perf_counter() - t
        total = time.perf_counter() - t0
    finally:
        os.environ.clear()
        os.environ.update(saved)
        cloud.stop()
        shutil.rmtree(home, ignore_errors=True)
    reap_all()  # the kernel, its zygotes (orphans by now), the cloud
    out = {"kernel_start_s": round(kernel_start, 3), "cells": cells, "shutdown_s": round(shutdown, 3),
           "total_s": round(total, 3), "cpu_s": round(children_cpu() - cpu0, 3)}
    if part is not None:
        out.update(aws_part_s=round(part[0], 3), aws_part_cpu_s=round(part[1], 3))
    return out


def summarize(runs: list[dict]) -> dict:
    cells = [{**c, "s": round(statistics.median(r["cells"][i]["s"] for r in runs), 3)}
             for i, c in enumerate(runs[0]["cells"])]
    out = {}
    if all("aws_part_s" in r for r in runs):
        out = {"aws_part_s": round(statistics.median(r["aws_part_s"] for r in runs), 3),
               "aws_part_all": [r["aws_part_s"] for r in runs],
               "aws_part_cpu_s": round(statistics.median(r["aws_part_cpu_s"] for r in runs), 3),
               "aws_part_cpu_all": [r["aws_part_cpu_s"] for r in runs]}
    return {**out, "kernel_start_s": round(statistics.median(r["kernel_start_s"] for r in runs), 3),
            "cells": cells, "shutdown_s": round(statistics.median(r["shutdown_s"] for r in runs), 3),
            "total_s": round(statistics.median(r["total_s"] for r in runs), 3),
            "total_all": [r["total_s"] for r in runs],
            "cpu_s": round(statistics.median(r["cpu_s"] for r in runs), 3), "cpu_all": [r["cpu_s"] for r in runs]}


def report(name: str, single: dict, notebook: dict) -> str:
    lines = [f"## {name}", "", "| single command (median) | s |", "|---|---|"]
    lines += [f"| `{label}` | {value} |" for label, value in single.items()]
    lines += ["", "| notebook | s |", "|---|---|", f"| kernel start | {notebook['kernel_start_s']} |"]
    lines += [f"| cell {c['cell']}: `{c['source']}`{' (' + c['error'] + ')' if 'error' in c else ''} | {c['s']} |"
              for c in notebook["cells"]]
    lines += [f"| kernel shutdown | {notebook['shutdown_s']} |",
              f"| **total, wall** (runs: {notebook['total_all']}) | **{notebook['total_s']}** |",
              f"| **CPU of kernel + zygotes + commands + cloud** (runs: {notebook['cpu_all']}) | **{notebook['cpu_s']}** |"]
    if "aws_part_s" in notebook:
        lines += [f"| **AWS part (kernel start to the Step 5 heading), wall** (runs: {notebook['aws_part_all']}) "
                  f"| **{notebook['aws_part_s']}** |",
                  f"| **AWS part, CPU-s** (runs: {notebook['aws_part_cpu_all']}) | **{notebook['aws_part_cpu_s']}** |"]
    lines.append(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lab", default="lab02", help="the lab whose solution notebook runs (solutions/en/LAB.ipynb)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--fastcli", choices=["both", "on", "off"], default="both")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    global NOTEBOOK
    NOTEBOOK = ROOT / "solutions" / "en" / f"{args.lab}.ipynb"
    modes = {"both": [False, True], "on": [True], "off": [False]}[args.fastcli]
    names = {False: "fast path off (LABKIT_FASTCLI=0)", True: "fast path on (zygote + shims)"}
    print(f"$ {' '.join([Path(sys.executable).name, *sys.argv])}", flush=True)
    become_subreaper()
    singles = {fast: bench_single(args.rounds, fast) for fast in modes}
    runs = {fast: [] for fast in modes}
    for _ in range(args.rounds):  # interleaved, so both modes see the same machine load
        for fast in modes:
            runs[fast].append(run_notebook(fast))
    figures = {}
    for fast in modes:
        figures[names[fast]] = {"single": singles[fast], "notebook": summarize(runs[fast])}
        print(report(names[fast], singles[fast], figures[names[fast]]["notebook"]), "\n", flush=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
