"""Benchmarks the issue asks for, in one run, with the figures printed as a table (and JSON).

    make bench            # or: .venv/bin/python bench/bench.py [--rounds 5] [--only coldstart,build,notebook,grade,class]

1. cold start to the first successful ECR call: labkit's local cloud vs a bare moto_server (goal ratio <= 1.2)
2. build + push of the lesson's Flask app image with `labkit docker` (goal <= 2 s)
3. lab 02 solution notebook execution (goal <= 10 s)
4. autograde time per submission: `grader autograde` vs plain nbgrader on a trivial one-cell notebook (goal <= 2x)
5. (for instructors, no goal) a class of good lab 02 submissions graded with `grader autograde --jobs 2`:
   wall time per submission, i.e. what grading a whole class costs
"""
from __future__ import annotations

import argparse
import json
import os
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

from labkit.cloud.process import free_port, start_cloud  # noqa: E402


def first_ecr_call(endpoint: str, deadline_s: float = 60.0) -> None:
    """Retry DescribeRepositories until it succeeds (what a student's first cell waits for)."""
    import boto3
    from botocore.config import Config

    client = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                   region_name="ap-northeast-2").client(
        "ecr", endpoint_url=endpoint, config=Config(retries={"max_attempts": 0}, connect_timeout=1, read_timeout=30))
    end = time.monotonic() + deadline_s
    while True:
        try:
            client.describe_repositories()
            return
        except Exception:
            if time.monotonic() > end:
                raise
            time.sleep(0.005)


def bench_coldstart(rounds: int) -> dict:
    import boto3  # noqa: F401  (imported once, outside the timed region, for both contenders)

    labkit_times, moto_times = [], []
    for _ in range(rounds):
        home = Path(tempfile.mkdtemp())
        t0 = time.perf_counter()
        cloud = start_cloud(home, wait=False)
        first_ecr_call(cloud.endpoint)
        labkit_times.append(time.perf_counter() - t0)
        cloud.stop()
        shutil.rmtree(home, ignore_errors=True)

        port = free_port()
        t0 = time.perf_counter()
        proc = subprocess.Popen([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        first_ecr_call(f"http://127.0.0.1:{port}")
        moto_times.append(time.perf_counter() - t0)
        proc.terminate()
        proc.wait()
    lk, mt = statistics.median(labkit_times), statistics.median(moto_times)
    return {"labkit_s": round(lk, 3), "moto_server_s": round(mt, 3), "ratio": round(lk / mt, 2), "goal_ratio": 1.2,
            "labkit_all": [round(t, 3) for t in labkit_times], "moto_all": [round(t, 3) for t in moto_times]}


LESSON_APP = {
    "Dockerfile": 'FROM python:3.12-slim\n\nWORKDIR /app\nCOPY requirements.txt .\n'
                  'RUN pip install --no-cache-dir -r requirements.txt\n\nCOPY . .\n\nEXPOSE 8080\nCMD ["python", "app.py"]\n',
    "app.py": "from flask import Flask\nimport os\n\napp = Flask(__name__)\n\n@app.route('/')\ndef hello():\n"
              "    return f\"Hello from {os.environ.get('CLOUD_PROVIDER', 'Container')}!\"\n\n"
              "if __name__ == '__main__':\n    app.run(host='0.0.0.0', port=8080)\n",
    "requirements.txt": "flask==3.0.0\ngunicorn==21.2.0\n",
}
REGISTRY = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com"


def cloud_env(cloud, home: Path) -> dict:
    from labkit import env as cloud_env_module
    from labkit.config import Settings

    env = dict(os.environ)
    cloud_env_module.apply(cloud_env_module.cloud_environment(Settings(home=home, aws_port=cloud.port, managed=True)), env)
    env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "")])
    return env


def bench_build_push(rounds: int) -> dict:
    home = Path(tempfile.mkdtemp())
    cloud = start_cloud(home / "cloud")
    env = cloud_env(cloud, home / "client")
    app = home / "app"
    app.mkdir()
    for name, text in LESSON_APP.items():
        (app / name).write_text(text)
    run = lambda cmd, **kw: subprocess.run(cmd, env=env, check=True, capture_output=True, text=True, shell=True, **kw)  # noqa: E731
    run("aws ecr create-repository --repository-name my-app --region ap-northeast-2")
    run(f"aws ecr get-login-password --region ap-northeast-2 | labkit docker login --username AWS --password-stdin {REGISTRY}")
    times = []
    for i in range(rounds):
        (app / "app.py").write_text(LESSON_APP["app.py"] + f"# round {i}\n")  # a new image each round
        t0 = time.perf_counter()
        run("labkit docker build -t my-app .", cwd=app)
        run(f"labkit docker tag my-app:latest {REGISTRY}/my-app:v{i}")
        run(f"labkit docker push {REGISTRY}/my-app:v{i}")
        times.append(time.perf_counter() - t0)
    cloud.stop()
    shutil.rmtree(home, ignore_errors=True)
    return {"build_tag_push_s": round(statistics.median(times), 3), "goal_s": 2.0, "all": [round(t, 3) for t in times],
            "note": "three CLI processes (build, tag, push), each paying Python start-up"}


def bench_notebook(rounds: int) -> dict:
    import nbformat
    from nbclient import NotebookClient

    times = []
    for _ in range(rounds):
        home = Path(tempfile.mkdtemp())
        cloud = start_cloud(home / "cloud")
        env = cloud_env(cloud, home / "client")
        work = home / "work"
        work.mkdir()
        nb = nbformat.read(ROOT / "solutions" / "en" / "lab02.ipynb", as_version=4)
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(env)
        try:
            t0 = time.perf_counter()
            NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()
            times.append(time.perf_counter() - t0)
        finally:
            os.environ.clear()
            os.environ.update(saved)
            cloud.stop()
            shutil.rmtree(home, ignore_errors=True)
    return {"lab02_solution_s": round(statistics.median(times), 3), "goal_s": 10.0, "all": [round(t, 3) for t in times]}


def bench_grade(rounds: int) -> dict:
    """Per-submission autograde time, ours vs plain nbgrader on a trivial one-cell notebook, same run
    (grader/bench.py lays out both courses; `rounds` sets the class size, at least 8)."""
    from grader.bench import measure

    with tempfile.TemporaryDirectory(prefix="grader-bench-") as tmp:
        result = measure(max(8, rounds), Path(tmp))
    result["ratio_vs_nbgrader_one_command"] = round(
        result["grader_jobs1_per_submission_s"] / result["nbgrader_one_command_per_submission_s"], 2)
    result["ratio_steady_vs_nbgrader_one_command"] = round(
        result["grader_steady_per_submission_s"] / result["nbgrader_one_command_per_submission_s"], 2)
    result["goal_ratio"] = 2.0
    return result


def bench_class(rounds: int) -> dict:
    """A class of `rounds` (at least 4) copies of the good lab 02 sample, graded in one command."""
    students = max(4, rounds)
    sample = ROOT / "grader" / "samples" / "lab02" / "good" / "lab02.ipynb"
    with tempfile.TemporaryDirectory(prefix="grader-class-") as tmp:
        root = Path(tmp) / "course"
        grader = [str(BIN / "grader")]
        subprocess.run(grader + ["init", "--course", str(root), "lab02", "--solutions", str(ROOT / "solutions")],
                       check=True, capture_output=True)
        for i in range(students):
            target = root / "submitted" / f"s{i:02d}" / "lab02"
            target.mkdir(parents=True)
            shutil.copy(sample, target / "lab02.ipynb")
        t0 = time.perf_counter()
        subprocess.run(grader + ["autograde", "lab02", "--course", str(root), "--jobs", "2"], check=True, capture_output=True)
        wall = time.perf_counter() - t0
        results = [json.loads(path.read_text()) for path in sorted(root.glob("autograded/*/lab02/labkit-results.json"))]
    scores = sorted({r.get("score") for r in results}, key=str)
    return {"students": students, "wall_s": round(wall, 2), "wall_per_submission_s": round(wall / students, 2),
            "steady_per_submission_s": round(statistics.median(r["timing"]["total"] for r in results), 2),
            "scores": scores, "note": "two workers; a lab 02 notebook takes ~5 s to run, so this is no overhead figure"}


BENCHES = {"coldstart": bench_coldstart, "build": bench_build_push, "notebook": bench_notebook, "grade": bench_grade,
           "class": bench_class}

# (part, label, key of the figure, key of its goal or None): the figure meets its goal when <= it
SUMMARY = [
    ("coldstart", "cold start, labkit / bare moto_server", "ratio", "goal_ratio"),
    ("build", "build + tag + push of the lesson's app (s)", "build_tag_push_s", "goal_s"),
    ("notebook", "lab 02 solution notebook (s)", "lab02_solution_s", "goal_s"),
    ("grade", "autograde per submission / plain nbgrader", "ratio_vs_nbgrader_one_command", "goal_ratio"),
    ("class", "a class of lab 02, per submission, 2 workers (s)", "wall_per_submission_s", None),
]


def summary(figures: dict) -> str:
    rows = ["| measure | figure | goal | met |", "|---|---|---|---|"]
    for part, label, figure, goal in SUMMARY:
        if part not in figures:
            continue
        value = figures[part][figure]
        target = figures[part][goal] if goal else None
        met = "" if target is None else ("yes" if value <= target else "NO")
        rows.append(f"| {label} | {value} | {'' if target is None else '<= ' + str(target)} | {met} |")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", default=",".join(BENCHES))
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    figures = {}
    for name in args.only.split(","):
        print(f"== {name} ...", flush=True)
        figures[name] = BENCHES[name](args.rounds)
        print(json.dumps(figures[name], indent=2), flush=True)
    print(summary(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
