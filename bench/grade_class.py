"""A class of lab 02 submissions graded by `grader autograde` (sandboxed, N workers) and by plain
`nbgrader autograde` on the same class, in the same run, so machine load hits both alike:

    .venv/bin/python bench/grade_class.py [--students 20] [--jobs 2] [--plain-students 6] [--no-fork-server]

The class mixes the graded samples (good, good_ko, partial, untouched, exercise3_strip) as
students s000, s001, ... Plain nbgrader runs them with its own command, one notebook after
another (its normal use; each notebook's `labkit.start()` starts a cloud of its own, in a
private HOME); it grades only the first --plain-students of them (it is slow) and its rate is
per submission. Prints submissions per minute for each, the CPU seconds each submission cost
(every process of the run: a cgroup's CPU accounting where the machine allows one, else
getrusage of the waited-for descendants, a lower bound, without plain nbgrader's detached
clouds), the
machine's load average, and the ratio. --no-fork-server grades with `grader autograde --no-fork-server`
(the fork server is on by default; --fork-server says so explicitly);
--plain-students 0 skips plain nbgrader. --by-process also splits the CPU by kind of process
(worker, kernel, zygotes, cloud, ...): /proc of the cgroup's processes sampled every 20 ms, each
process's last figure kept (a process that ends loses at most its last 20 ms: "unsampled").
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "grader" / "samples" / "lab02"
MIX = ("good", "good_ko", "partial", "untouched", "exercise3_strip")
BIN = Path(sys.executable).parent


def make_class(root: Path, students: int) -> list[str]:
    names = []
    for i in range(students):
        name = f"s{i:03d}"
        target = root / "submitted" / name / "lab02"
        target.mkdir(parents=True)
        shutil.copy(SAMPLES / MIX[i % len(MIX)] / "lab02.ipynb", target / "lab02.ipynb")
        names.append(name)
    return names


def env_with_bin(home: Path | None = None) -> dict:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if home is not None:
        env["HOME"] = str(home)
    return env


def run(cmd: list[str], **kwargs) -> float:
    return run_measured(cmd, **kwargs)[0]


def children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


CPUACCT = Path("/sys/fs/cgroup/cpuacct")  # cgroup v1's CPU accounting, where this user may make a group


TICK = os.sysconf("SC_CLK_TCK")


def _kind(pid: int, cmdline: str) -> str:
    """What a process of the run is, from its command line and whether it is in a sandbox (a pid
    namespace that is not ours): the kernel and the zygotes are forks of their templates, with the
    templates' command lines."""
    try:
        sandboxed = os.readlink(f"/proc/{pid}/ns/pid") != os.readlink("/proc/self/ns/pid")
    except OSError:
        sandboxed = False
    if "labkit.cloud" in cmdline:
        return "cloud"
    if "grader_sandbox_template" in cmdline:
        if "labkit.fastcli" in cmdline:
            return "zygotes" if sandboxed else "cli templates"
        return "kernel" if sandboxed else "kernel template"
    if "multiprocessing.spawn" in cmdline or "multiprocessing.resource_tracker" in cmdline:
        return "worker"
    if "grader autograde" in cmdline or cmdline.endswith("/grader"):
        return "main"
    if "nbgrader" in cmdline:
        return "nbgrader"
    if "ipykernel" in cmdline:
        return "kernel"
    if cmdline.startswith(("bwrap", "sleep")) or "/bwrap" in cmdline or "relay" in cmdline:
        return "sandbox"
    if "fastcli" in cmdline or "/aws" in cmdline or "/labkit" in cmdline or "gcloud" in cmdline:
        return "zygotes" if sandboxed else "commands"
    return "other: " + os.path.basename(cmdline.split(" ")[0])[:20]


class Sampler:
    """Per kind of process, the CPU seconds of the cgroup's processes (see --by-process)."""

    def __init__(self, group: Path, interval: float = 0.02):
        import threading

        self.group, self.interval, self.last, self.kinds = group, interval, {}, {}
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopped.is_set():
            try:
                pids = (self.group / "cgroup.procs").read_text().split()
            except OSError:
                pids = []
            for pid in pids:
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                key = (pid, fields[19])  # starttime: a reused pid is another process
                if key not in self.kinds:
                    try:
                        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
                    except OSError:
                        continue
                    self.kinds[key] = _kind(int(pid), cmdline)
                self.last[key] = (int(fields[11]) + int(fields[12])) / TICK
            self.stopped.wait(self.interval)

    def stop(self) -> dict[str, float]:
        self.stopped.set()
        self.thread.join()
        out: dict[str, float] = {}
        for key, cpu in self.last.items():
            out[self.kinds[key]] = out.get(self.kinds[key], 0.0) + cpu
        return out


def run_measured(cmd: list[str], by_process: dict | None = None, **kwargs) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and every process it started). In a cgroup of
    its own where the machine lets us make one (every descendant counted, the sandboxes' too);
    else from getrusage, a lower bound: a process killed with its sandbox never hands its CPU
    time to a parent that waits for it."""
    group = CPUACCT / f"bench-grade-class-{os.getpid()}-{time.monotonic_ns()}"
    try:
        group.mkdir()
    except OSError:
        group = None
    started, cpu = time.monotonic(), children_cpu()
    sampler = Sampler(group) if group is not None and by_process is not None else None
    done = subprocess.run(cmd, capture_output=True, text=True, **kwargs,
                          preexec_fn=(lambda: (group / "tasks").write_text(str(os.getpid()))) if group else None)
    wall, used = time.monotonic() - started, children_cpu() - cpu
    if sampler is not None:
        by_process.update(sampler.stop())
    if group is not None:
        used = int((group / "cpuacct.usage").read_text()) / 1e9
        for _ in range(50):  # empty once its last process is gone
            try:
                group.rmdir()
                break
            except OSError:
                time.sleep(0.1)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return wall, used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--plain-students", type=int, default=6)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--fork-server", action="store_true", help="grade with `grader autograde --fork-server`")
    parser.add_argument("--no-fork-server", action="store_true", help="grade with `grader autograde --no-fork-server`")
    parser.add_argument("--by-process", action="store_true", help="split the CPU by kind of process")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-class-"))
    try:
        ours = tmp / "ours"
        run([str(BIN / "grader"), "init", "--course", str(ours), "lab02"], env=env_with_bin())
        make_class(ours, args.students)
        load_before = os.getloadavg()
        kinds: dict | None = {} if args.by_process else None
        flags = ["--fork-server"] if args.fork_server else ["--no-fork-server"] if args.no_fork_server else []
        seconds, cpu = run_measured([str(BIN / "grader"), "autograde", "lab02", "--course", str(ours), "--jobs",
                                     str(args.jobs), *flags], by_process=kinds, env=env_with_bin())
        load_after = os.getloadavg()
        graded = [json.loads(p.read_text()) for p in sorted((ours / "autograded").glob("*/lab02/labkit-results.json"))]
        sandboxes = {r.get("sandbox") for r in graded}
        per_sub = [r["timing"]["total"] for r in graded if r.get("timing", {}).get("total")]
        ours_rate = args.students / seconds * 60
        statuses = sorted({r.get("status") for r in graded})
        print(f"grader autograde --jobs {args.jobs}{''.join(' ' + f for f in flags)} "
              f"({', '.join(sorted(map(str, sandboxes)))}; {', '.join(map(str, statuses))}): "
              f"{args.students} submissions in {seconds:.1f} s = {ours_rate:.1f} per minute, "
              f"{cpu / args.students:.2f} CPU-s per submission (run start included; "
              f"per submission in a worker: median {sorted(per_sub)[len(per_sub) // 2]:.2f} s); "
              f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after", flush=True)
        parts = sorted({k for r in graded for k in r.get("timing", {})})
        print("  wall per submission in a worker, median: " + ", ".join(
            f"{k} {sorted(r['timing'].get(k, 0) for r in graded)[len(graded) // 2]:.2f} s" for k in parts), flush=True)
        if kinds is not None:
            kinds["unsampled"] = cpu - sum(kinds.values())
            print("  CPU-s per submission by process: " + ", ".join(
                f"{kind} {value / args.students:.2f}" for kind, value in sorted(kinds.items(), key=lambda kv: -kv[1])),
                flush=True)
        if args.plain_students <= 0:
            return

        plain = tmp / "plain"
        run([str(BIN / "grader"), "init", "--course", str(plain), "lab02"], env=env_with_bin())
        make_class(plain, args.plain_students)
        home = tmp / "plain-home"
        home.mkdir()
        plain_seconds, plain_cpu = run_measured([str(BIN / "nbgrader"), "autograde", "lab02", "--force"], cwd=plain,
                                                env=env_with_bin(home))
        plain_rate = args.plain_students / plain_seconds * 60
        subprocess.run([str(BIN / "labkit"), "down", "--all"], env=env_with_bin(home), capture_output=True)
        print(f"plain nbgrader autograde (one command, {args.plain_students} submissions): {plain_seconds:.1f} s "
              f"= {plain_rate:.1f} per minute, {plain_cpu / args.plain_students:.2f} CPU-s per submission; "
              f"load average {os.getloadavg()[0]:.2f} after")
        print(f"ratio: {ours_rate / plain_rate:.2f}x")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
