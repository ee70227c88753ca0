"""Memory a student's session needs, against Binder's 2 GB (goal: at most 800 MB).

    .venv/bin/python bench/binder_memory.py [--lang en|ko] [--interval 0.25] [--json FILE]

Starts the student's JupyterLab with the course's launcher (`labkit lab`, on a copy of course/ in
a private HOME), opens the landing page and then lab 02 in headless chromium, and works through
the lab as tests/browser does: the solution typed into each cell, every cell run with
Shift+Enter, every "Check my progress" pressed. Meanwhile it samples, every --interval seconds,
the memory of every process of the session: the launcher, JupyterLab, each kernel and what it
starts (`!aws`, `labkit docker`), and the local clouds. The browser is not counted: it runs on the
student's computer, not on Binder.

Memory is PSS (proportional set size, from /proc/PID/smaps_rollup: shared pages split between
the processes sharing them, so the sum is what the session really holds); RSS is shown beside it
(it counts shared libraries once per process, so its sum overstates). Prints the figures at start
(landing page open), at the peak while the lab runs, and at the end; exits 1 if the peak exceeds
the goal.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GOAL_MB = 800
BINDER_MB = 2048


@dataclass
class Sample:
    t: float
    pss_kb: dict[str, int] = field(default_factory=dict)  # per part: jupyterlab, kernels, cloud, other
    rss_kb: dict[str, int] = field(default_factory=dict)
    kernels: int = 0

    @property
    def pss_total(self) -> int:
        return sum(self.pss_kb.values())

    @property
    def rss_total(self) -> int:
        return sum(self.rss_kb.values())


def children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # ended while we looked
        ppid = int(text.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(stat.parent.name))
    return children


def descendants(pid: int, children: dict[int, list[int]]) -> list[int]:
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


def memory_kb(pid: int) -> tuple[int, int] | None:
    """(PSS, RSS) of one process in kB; PSS falls back to RSS where smaps_rollup is missing."""
    rss = pss = None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
        rollup = Path(f"/proc/{pid}/smaps_rollup")
        if rollup.exists():
            for line in rollup.read_text().splitlines():
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except (OSError, ValueError):
        return None
    if rss is None:
        return None  # a zombie or a kernel thread
    return (pss if pss is not None else rss), rss


def part_of(pid: int) -> str:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "other"
    if "ipykernel" in command:
        return "kernels"
    if "labkit.cloud.server" in command:
        return "cloud"
    if "jupyterlab" in command or "jupyter-lab" in command or "labkit lab" in command:
        return "jupyterlab"
    return "other"  # !aws, labkit docker, a kernel's helpers


def sample(launcher_pid: int, labkit_home: Path) -> Sample:
    from labkit.cloud.process import clouds_under

    children = children_map()
    pids = set(descendants(launcher_pid, children))
    for cloud in clouds_under(labkit_home):  # detached from the kernel's session, still ours
        pids.update(descendants(cloud.pid, children))
    s = Sample(t=time.monotonic())
    for pid in pids:
        mem = memory_kb(pid)
        if mem is None:
            continue
        part = part_of(pid)
        s.pss_kb[part] = s.pss_kb.get(part, 0) + mem[0]
        s.rss_kb[part] = s.rss_kb.get(part, 0) + mem[1]
        s.kernels += part == "kernels"
    return s


class Sampler(threading.Thread):
    def __init__(self, launcher_pid: int, labkit_home: Path, interval: float):
        super().__init__(daemon=True)
        self.launcher_pid, self.labkit_home, self.interval = launcher_pid, labkit_home, interval
        self.samples: list[Sample] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            self.samples.append(sample(self.launcher_pid, self.labkit_home))
            self.stopping.wait(self.interval)

    def peak(self) -> Sample:
        return max(self.samples, key=lambda s: s.pss_total)


def mb(kb: int) -> str:
    return f"{kb / 1024:7.1f}"


def table(rows: list[tuple[str, Sample]]) -> str:
    parts = ["jupyterlab", "kernels", "cloud", "other"]
    head = f"{'moment':<22}{'PSS MB':>9}{'RSS MB':>9}  " + "".join(f"{p + ' PSS':>16}" for p in parts) + f"{'kernels':>9}"
    lines = [head, "-" * len(head)]
    for name, s in rows:
        lines.append(f"{name:<22}{mb(s.pss_total):>9}{mb(s.rss_total):>9}  "
                     + "".join(f"{mb(s.pss_kb.get(p, 0)):>16}" for p in parts) + f"{s.kernels:>9}")
    return "\n".join(lines)


def run(lang: str, interval: float) -> dict:
    from playwright.sync_api import sync_playwright

    from tests.browser import chromium, student
    from tests.browser import notebook as nb
    from tests.browser.server import course_copy, start_lab

    reason = chromium.why_unavailable()
    if reason:
        raise SystemExit(f"cannot measure: {reason}")
    tmp = Path(tempfile.mkdtemp(prefix="binder-memory-"))
    lab = start_lab(tmp / "home", course_copy(tmp))
    try:
        with sync_playwright() as playwright:
            browser = chromium.launch(playwright)
            page = browser.new_context(viewport=chromium.VIEWPORT).new_page()
            sampler = Sampler(lab.process.pid, lab.labkit_home, interval)
            sampler.start()
            page.goto(lab.page_url("/"))  # the landing page opens first, with a kernel of its own
            index = nb.read_notebook(ROOT / "course" / "index.ipynb")
            nb.wait_for_notebook(page, "index.ipynb", len(index["cells"]))
            time.sleep(3)  # its kernel settles
            at_start = sample(lab.process.pid, lab.labkit_home)
            started = time.monotonic()
            notebook_json, solved = student.solutions_for(lang, "lab02")
            notebook = nb.open_notebook(page, lab, f"{lang}/lab02.ipynb", len(notebook_json["cells"]))
            nb.wait_for_kernel_idle(page)
            result = student.work_through(page, notebook, notebook_json, solved)
            duration = time.monotonic() - started
            time.sleep(2)
            at_end = sample(lab.process.pid, lab.labkit_home)
            sampler.stopping.set()
            sampler.join()
            browser.close()
        passed = all(c.passed for step in result.progress.values() for c in step)
        peak = sampler.peak()
    finally:
        lab.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return {"lang": lang, "start": at_start, "peak": peak, "end": at_end, "samples": len(sampler.samples),
            "lab_seconds": duration, "steps_passed": passed, "steps": len(result.progress)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lang", choices=["en", "ko"], default="en")
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between samples")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)

    r = run(args.lang, args.interval)
    python = Path(sys.executable)
    shown = python.relative_to(ROOT) if python.is_relative_to(ROOT) else python
    print(f"command: {' '.join([str(shown), 'bench/binder_memory.py', *sys.argv[1:]])}")
    print(f"lab 02 ({r['lang']}) in the browser: {r['steps']} steps, all conditions passed: {r['steps_passed']}, "
          f"{r['lab_seconds']:.0f} s, {r['samples']} samples")
    print(table([("landing page open", r["start"]), ("peak while lab 02 ran", r["peak"]),
                 ("end of lab 02", r["end"])]))
    peak_mb = r["peak"].pss_total / 1024
    verdict = "met" if peak_mb <= GOAL_MB else "NOT met"
    print(f"peak {peak_mb:.0f} MB PSS of Binder's {BINDER_MB} MB; goal <= {GOAL_MB} MB: {verdict}")
    if args.json:
        def figures(s: Sample) -> dict:
            return {"pss_kb": s.pss_kb, "rss_kb": s.rss_kb, "pss_total_kb": s.pss_total,
                    "rss_total_kb": s.rss_total, "kernels": s.kernels}
        Path(args.json).write_text(json.dumps({**r, **{k: figures(r[k]) for k in ("start", "peak", "end")}}, indent=2))
    return 0 if peak_mb <= GOAL_MB and r["steps_passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
