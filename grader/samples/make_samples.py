"""Write grader/samples/<lab>/<case>/<lab>.ipynb and expected.json from the repo's notebooks.

    python -m grader.samples.make_samples            write them
    python -m grader.samples.make_samples --check    exit 1 if the committed samples differ

A "student" answer is the student version (course/<lang>/<lab>.ipynb) with each solution cell
taken from the instructor version (solutions/<lang>/<lab>.ipynb) minus its SOLUTION markers:
what a student who solved the lab hands in (test cells as released, no hidden tests). Every bad
case starts from that answer or from the untouched student version and changes one thing.
"""
from __future__ import annotations

import argparse
import copy
import json
import shutil
import sys
from pathlib import Path

from grader.samples import attacks

SAMPLES = Path(__file__).resolve().parent
REPO = SAMPLES.parent.parent

# How each lab's bad cases are made: the cell after which to put an extra cell, the solution
# cells a "partial" student did, the test cells to edit / delete, and the points those are worth.
LABS = {
    "lab02": {
        # The grader's mechanics (the instructor's notebook, faked checks, a cell timeout, a dead kernel,
        # edited and deleted test cells, huge output) are the same code for every lab: graded on lab 02's
        # samples only, so each new lab adds its own cases, not another ten graded runs in `make test`.
        "mechanics": True,
        "after_first_step": "repository",       # the first step's test cell
        "partial": ["create_repository", "do_login"],
        "partial_score": 4,                     # repository (3) + login (1)
        "edit": "repository",
        "delete": "push",
        "max_score": 22,                        # ECR 15 (steps 1-5) + Artifact Registry 7 (steps 6-9)
        "kill_after": "login",
        "exercise3": "exercise3_answer",        # the written answer's cell, for its other forms
        # sections (preamble, steps 1-4, Exercise 3, steps 6-9 (Artifact Registry), Done) in another
        # valid order: Exercise 3 first, the build before the repository, the rest after
        "reordered": [0, 5, 3, 1, 2, 4, 6, 7, 8, 9, 10],
    },
    "lab03": {
        "partial": ["create_cluster", "register_task_definition"],
        "partial_score": 7,                     # cluster (2) + task definition (5)
        "max_score": 22,
    },
    "lab06": {
        "partial": ["deploy_v1"],
        "partial_score": 7,                     # deploy (5) + public and answering without a token (2)
        "max_score": 20,                        # Exercise 4 is graded by hand
    },
    "lab07": {
        "partial": ["choose"],
        "partial_score": 7,                     # the decision tree (4 shown + 3 hidden); no cloud
        "max_score": 19,                        # tree 7 + table 7.2 7 + Exercise 2's choices 5; the why by hand
    },
    "lab08": {
        "partial": ["fargate_functions"],
        "partial_score": 4,                     # step 1: Fargate and Autopilot (2 shown + 4 x 0.5 hidden); no cloud
        "max_score": 13,                        # 4 + Cloud Run 4 + a month 2 + the plot 3; Exercise 1 by hand
    },
    "lab09": {
        "partial": ["create_apprunner"],
        "partial_score": 6,                     # App Runner (6); Exercise 5 is graded by hand
        "max_score": 26,                        # AWS 21 + Cloud Run from source 5
    },
}

TAMPER = """\
# Make every check pass without doing any work: fake the checks and fake AWS.
import boto3, labkit, labkit.checks.core as core, labkit.checks.progress as progress

def always_passes(*args, **kwargs):
    return 100.0

labkit.assert_step = progress.assert_step = always_passes
core.Step.run = lambda self, ctx, include_hidden=False: [core.Result("faked", True, "faked")]
core.Result.passed = True

class FakeAWS:
    def __getattr__(self, name):
        return lambda *args, **kwargs: {
            "repositories": [{"repositoryName": "my-app", "imageTagMutability": "MUTABLE",
                              "repositoryUri": "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/my-app",
                              "imageScanningConfiguration": {"scanOnPush": True}}],
            "imageIds": [{"imageTag": "v1.0", "imageDigest": "sha256:" + "0" * 64},
                         {"imageTag": "latest", "imageDigest": "sha256:" + "0" * 64}]}

boto3.client = lambda *args, **kwargs: FakeAWS()
boto3.session.Session.client = lambda self, *args, **kwargs: FakeAWS()
"""


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _meta(cell: dict) -> dict:
    return (cell.get("metadata") or {}).get("nbgrader") or {}


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _index(nb: dict, grade_id: str) -> int:
    for i, cell in enumerate(nb["cells"]):
        if _meta(cell).get("grade_id") == grade_id:
            return i
    raise KeyError(f"no cell with grade_id {grade_id!r}")


def _without_markers(text: str) -> str:
    return "\n".join(line for line in text.split("\n") if "BEGIN SOLUTION" not in line and "END SOLUTION" not in line)


def answered(student: dict, solution: dict, only: list[str] | None = None) -> dict:
    nb = copy.deepcopy(student)
    answers = {_meta(c)["grade_id"]: _without_markers(_source(c)) for c in solution["cells"] if _meta(c).get("solution")}
    for cell in nb["cells"]:
        grade_id = _meta(cell).get("grade_id")
        if _meta(cell).get("solution") and grade_id in answers and (only is None or grade_id in only):
            cell["source"] = answers[grade_id]
    return nb


def _code(cell_id: str, text: str) -> dict:
    return {"cell_type": "code", "execution_count": None, "id": cell_id, "metadata": {}, "outputs": [],
            "source": text.lstrip("\n")}


def _insert_after(nb: dict, grade_id: str, cell: dict) -> dict:
    nb = copy.deepcopy(nb)
    nb["cells"].insert(_index(nb, grade_id) + 1, cell)
    return nb


def _rewritten(nb: dict, grade_id: str, rewrite) -> dict:
    """`nb` with one cell's source passed through `rewrite` (the same answer, written differently)."""
    nb = copy.deepcopy(nb)
    cell = nb["cells"][_index(nb, grade_id)]
    cell["source"] = rewrite(_source(cell)).lstrip("\n")
    return nb


def _append(nb: dict, cell: dict) -> dict:
    nb = copy.deepcopy(nb)
    nb["cells"].append(cell)
    return nb


def _without_test_cells(nb: dict) -> dict:
    nb = copy.deepcopy(nb)
    nb["cells"] = [c for c in nb["cells"] if not (_meta(c).get("grade") and not _meta(c).get("solution"))]
    return nb


def _reordered(nb: dict, order: list[int]) -> dict:
    """The notebook's sections (a section starts at a `## ` heading; the first one is what comes
    before any) in `order`, and in each section its explanatory cells after its code: the same
    work, done and explained in another valid order."""
    sections: list[list[dict]] = [[]]
    for cell in copy.deepcopy(nb["cells"]):
        if cell["cell_type"] == "markdown" and _source(cell).lstrip().startswith("## "):
            sections.append([])
        sections[-1].append(cell)
    assert sorted(order) == list(range(len(sections))), f"{len(sections)} sections"
    cells = []
    for section in (sections[i] for i in order):
        head = section[:1] if section[0]["cell_type"] == "markdown" and _source(section[0]).lstrip().startswith("#") else []
        rest = section[len(head):]
        cells += head + [c for c in rest if c["cell_type"] == "code"] + [c for c in rest if c["cell_type"] != "code"]
    nb = copy.deepcopy(nb)
    nb["cells"] = cells
    return nb


def _one_line(source: str) -> str:
    """`x = \"\"\"...\"\"\"` with its commands joined by `&&` on one line, as a shell user writes them."""
    name, _, literal = source.partition(" = ")
    commands = [line for line in literal.strip().strip('"').splitlines() if line.strip()]
    return f"{name} = {' && '.join(commands)!r}\n"


def _title(lab: str, step_id: str) -> str:
    """A step's English title, as the grader's notes name it."""
    from labkit.checks.registry import get_lab
    from labkit.messages import text

    return text(get_lab(lab).step(step_id).title_key, "en")


def _steps(lab: str) -> list:
    from labkit.checks.registry import get_lab

    return get_lab(lab).steps


def _points(lab: str, step_id: str) -> int:
    from labkit.checks.registry import get_lab

    return int(get_lab(lab).step(step_id).max_points())


def _cell_index(nb: dict, cell_id: str) -> int:
    return next(i for i, c in enumerate(nb["cells"]) if c.get("id") == cell_id)


def _dump(nb: dict) -> bytes:
    return (json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")


def build(lab: str, repo: Path = REPO) -> dict[str, bytes]:
    """relative path -> file content, for every file of grader/samples/<lab>/."""
    spec = LABS[lab]
    student = {lang: _read(repo / "course" / lang / f"{lab}.ipynb") for lang in ("en", "ko")}
    solution = {lang: _read(repo / "solutions" / lang / f"{lab}.ipynb") for lang in ("en", "ko")}
    good = answered(student["en"], solution["en"])
    cases: dict[str, tuple[bytes, dict]] = {}
    full, none = spec["max_score"], 0

    def add(name: str, content: dict | bytes, status: str, score, reason: str = "", **more) -> None:
        cases[name] = (content if isinstance(content, bytes) else _dump(content),
                       {"status": status, "score": score, "reason": reason, **more})

    add("good", good, "graded", full, notes=0)
    add("good_ko", answered(student["ko"], solution["ko"]), "graded", full, notes=0)
    add("untouched", student["en"], "graded", none)
    add("partial", answered(student["en"], solution["en"], only=spec["partial"]), "graded", spec["partial_score"])
    if spec.get("mechanics"):
        _mechanics_cases(lab, student, solution, good, add)
    add("malformed_json", _dump(good)[:-200], "not graded", None, "not valid JSON")
    {"lab02": _lab02_cases, "lab03": _lab03_cases, "lab06": _lab06_cases, "lab07": _lab07_cases,
     "lab08": _lab08_cases, "lab09": _lab09_cases}[lab](lab, student, good, add)

    files = {f"{name}/{lab}.ipynb": content for name, (content, _) in cases.items()}
    expected = {name: meta for name, (_, meta) in sorted(cases.items())}
    files["expected.json"] = (json.dumps(expected, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    return files


def _mechanics_cases(lab: str, student: dict, solution: dict, good: dict, add) -> None:
    """How the grader copes with a submission, whatever the lab: the instructor's own notebook, faked
    checks, a cell timeout, a dead kernel, edited and deleted test cells, huge output."""
    spec, full = LABS[lab], LABS[lab]["max_score"]
    add("solution", solution["en"], "graded", full, notes=0)  # the instructor's notebook itself
    add("tamper", _insert_after(student["en"], "start", _code("tamper", TAMPER)), "graded", 0)
    add("infinite_loop", _insert_after(good, spec["after_first_step"], _code("endless", "while True:\n    pass")),
        "graded", full, "was interrupted")
    add("kills_kernel", _insert_after(good, spec["kill_after"], _code("kill", "import os\nos.kill(os.getpid(), 9)")),
        "not graded", None, "kernel died while running cell")
    edited = copy.deepcopy(good)
    edited["cells"][_index(edited, spec["edit"])]["source"] = "# I do not need this test\npass"
    add("edited_test_cell", edited, "graded", full, f"test cell of {_title(lab, spec['edit'])} was edited")
    deleted = copy.deepcopy(good)
    del deleted["cells"][_index(deleted, spec["delete"])]
    add("deleted_test_cell", deleted, "graded", full, f"test cell of {_title(lab, spec['delete'])} was deleted")
    add("huge_output", _insert_after(good, spec["after_first_step"], _code("huge", "print('x' * 50_000_000)")),
        "graded", full, "rest of its output was dropped")


def _lab02_cases(lab: str, student: dict, good: dict, add) -> None:
    spec, full, none = LABS[lab], LABS[lab]["max_score"], 0
    # Exercise 3 written as a person may write it: read the same as the lab's own form.
    add("exercise3_strip", _rewritten(good, spec["exercise3"], lambda s: s.rstrip() + ".strip()\n"),
        "graded", full, notes=0)
    add("exercise3_annotated", _rewritten(good, spec["exercise3"], lambda s: s.replace(" = ", ": str = ", 1)),
        "graded", full, notes=0)
    add("exercise3_one_line", _rewritten(good, spec["exercise3"], _one_line), "graded", full, notes=0)
    # A deleted test cell: the checks run outside the kernel anyway, so the step earns what the
    # cloud shows; a note tells the instructor (nbgrader alone would give the step 0).
    add("deleted_all_test_cells", _without_test_cells(good), "graded", full,
        f"test cell of {_title(lab, _steps(lab)[0].id)} was deleted", notes=len(_steps(lab)))
    # The student's own broken docker state (after a finished lab) is their answer: login, build
    # and Artifact Registry's docker auth (the same config file) fail with a hint saying what is
    # broken, the pushed images still count.
    add("broken_docker_state", _append(good, _code("break_docker", attacks.BROKEN_DOCKER_STATE)), "graded",
        full - _points(lab, "login") - _points(lab, "build") - _points(lab, "ar_auth"),
        failed=["docker_state.config.not_json", "docker_state.store.broken", "lab02.ar.auth.not_json"])
    # Correct but different: boto3 for every `!aws`, a push through the registry's HTTP API,
    # steps done and explained in another order.
    boto3_lab = _rewritten(_rewritten(good, "create_repository", lambda _: attacks.BOTO3_REPOSITORY),
                           "do_login", lambda _: attacks.BOTO3_LOGIN)
    boto3_lab["cells"][_cell_index(boto3_lab, "list_images")]["source"] = attacks.BOTO3_LIST_IMAGES.lstrip()
    add("correct_boto3", boto3_lab, "graded", full, notes=0)
    add("correct_registry_api", _rewritten(good, "tag_and_push", lambda _: attacks.REGISTRY_API_PUSH),
        "graded", full, notes=0)
    add("correct_reordered", _reordered(good, spec["reordered"]), "graded", full, notes=0)

    # The attacks of issue "Grading a class that may cheat", in the order of its list. Graded in
    # sorted order: attack_1 and attack_3 come before every blank and correct submission they
    # aim at, tamper_results after most of those it rewrites, correct_attacking_neighbours
    # alongside correct ones (tests/grader/test_attacks.py).
    # "needs_sandbox": only the sandbox defends it, and unsandboxed it harms the machine.
    blank, guarded = student["en"], {"needs_sandbox": True}
    # (attacks 1 and 5 kill what they can see last: inside a sandbox that includes the relay to
    # their own cloud, and cells waiting on a dead cloud only slow the run down)
    add("attack_1_checks", _append(blank, _code("attack", attacks.CHECKS_REPLACED)), "graded", none, **guarded)
    add("tamper_results", _insert_after(blank, "start", _code("attack", attacks.RESULTS_REWRITTEN)),
        "graded", none, **guarded)
    add("attack_3_startup", _insert_after(blank, "start", _code("attack", attacks.STARTUP_PLANTED)),
        "graded", none, **guarded)
    # (named to be graded just before the correct_* ones: its neighbours have clouds to lose)
    neighbours = _insert_after(good, "start", _code("attack", attacks.NEIGHBOURS_ATTACKED))
    add("correct_attacking_neighbours", _append(neighbours, _code("attack_again", attacks.NEIGHBOURS_ATTACKED)),
        "graded", full, notes=0, **guarded)
    add("attack_5_escape", _append(blank, _code("attack", attacks.ESCAPE)), "graded", none, **guarded)
    add("attack_6_exception", _insert_after(good, spec["after_first_step"], _code("attack", attacks.HUGE_EXCEPTION)),
        "graded", full, "rest of its output was dropped")
    add("attack_7_leak", _insert_after(blank, "start", _code("attack", attacks.LEAK_FILES)), "graded", none,
        **guarded)


# Lab 03 through boto3 instead of the AWS CLI: each answer cell as a student who prefers Python writes it.
LAB03_BOTO3 = {
    "create_cluster": """
import boto3

boto3.client("ecs").create_cluster(clusterName="my-cluster", capacityProviders=["FARGATE", "FARGATE_SPOT"])
""",
    "register_task_definition": """
import json
import boto3

boto3.client("logs").create_log_group(logGroupName="/ecs/my-task")
with open("task-definition.json") as f:
    print(boto3.client("ecs").register_task_definition(**json.load(f))["taskDefinition"]["taskDefinitionArn"])
""",
    "create_service": """
boto3.client("ecs").create_service(
    cluster="my-cluster", serviceName="my-service", taskDefinition="my-task:1", desiredCount=2, launchType="FARGATE",
    networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-xxx"], "securityGroups": ["sg-xxx"],
                                                  "assignPublicIp": "ENABLED"}})
""",
    "fix_port": """
ecs_client = boto3.client("ecs")
with open("task-definition.json") as f:
    definition = json.load(f)
definition["containerDefinitions"][0]["portMappings"] = [{"containerPort": 8080, "protocol": "tcp"}]
revision = ecs_client.register_task_definition(**definition)["taskDefinition"]["revision"]
ecs_client.update_service(cluster="my-cluster", service="my-service", taskDefinition=f"my-task:{revision}")
""",
    "enable_exec": """
boto3.client("ecs").update_service(cluster="my-cluster", service="my-service", enableExecuteCommand=True,
                                   forceNewDeployment=True)
""",
    "create_namespace": """
boto3.client("servicediscovery").create_http_namespace(Name="my-app-namespace")
""",
    "service_connect_fix": """
with open("task-definition.json") as f:
    definition = json.load(f)
definition["containerDefinitions"][0]["portMappings"] = [{"name": "http", "containerPort": 8080, "protocol": "tcp"}]
revision = boto3.client("ecs").register_task_definition(**definition)["taskDefinition"]["revision"]
with open("backend-service.json") as f:
    backend = json.load(f)
backend["taskDefinition"] = f"my-task:{revision}"
boto3.client("ecs").create_service(**backend)
""",
}


def _lab03_cases(lab: str, student: dict, good: dict, add) -> None:
    full = LABS[lab]["max_score"]
    boto3_lab = good
    for cell_id, code in LAB03_BOTO3.items():
        boto3_lab = _rewritten(boto3_lab, cell_id, lambda _, code=code: code)
    add("correct_boto3", boto3_lab, "graded", full, notes=0)
    # The lesson's containerPort 80 kept in revision 2 (and so in revision 3): the service runs, its
    # tasks never answer; every condition that needs the app to answer fails with a hint saying why.
    port80 = _rewritten(good, "fix_port", lambda s: s.replace('["containerPort"] = 8080', '["containerPort"] = 80'))
    add("port80", port80, "graded", full - 1 - 1 - 2 - 1 - 1,
        failed=["lab03.port.revision.wrong_port", "lab03.port.deployed.old_revision", "lab03.port.answers.wrong_port",
                "lab03.service_connect.port_name.wrong_port", "lab03.service_connect.answers.wrong_port"])


def _lab06_cases(lab: str, student: dict, good: dict, add) -> None:
    full = LABS[lab]["max_score"]
    # Exercise 4's percents swapped (NEW=90,OLD=10): the canary's configuration and its observed split
    # fail, each with its hint; the promotion that follows still counts.
    reversed_split = _rewritten(good, "canary_traffic", lambda s: s.replace("{NEW}=10,{OLD}=90", "{NEW}=90,{OLD}=10"))
    add("canary_reversed", reversed_split, "graded", full - 2 - 2,
        failed=["lab06.canary.traffic.other", "lab06.canary.split.off"])
    # The canary left at 10/90: step 5 earns nothing, everything before it counts.
    add("never_promoted", _rewritten(good, "promote_latest", lambda s: "# not yet\n"), "graded", full - 3,
        failed=["lab06.promote.traffic.not_yet"])


LAB07_AWS_ONLY = '''def choose(serverless: bool, kubernetes: bool, cloud: str) -> str:
    """The tree's AWS leaves, whatever the cloud."""
    if serverless:
        return "Fargate on EKS" if kubernetes else "Fargate on ECS"
    return "EKS" if kubernetes else "ECS on EC2"
'''


def _lab07_cases(lab: str, student: dict, good: dict, add) -> None:
    full = LABS[lab]["max_score"]
    # A tree written for the four AWS scenarios the lab shows: Check my progress says 4/4, the grader's
    # hidden scenarios on GCP (4 x 0.5) fail with what to reconsider; day19's AWS ones pass.
    add("wrong_tree", _rewritten(good, "choose", lambda _: LAB07_AWS_ONLY), "graded", full - 2,
        failed=["lab07.tree.wrong"])


def _lab08_cases(lab: str, student: dict, good: dict, add) -> None:
    full = LABS[lab]["max_score"]
    # Cloud Run's free tier taken for compute only: every request charged from the first. The shown
    # cases with requests fail (2), and the hidden ones with requests (3 x 0.5), the month with 3
    # million requests (1) and the plot's Cloud Run line (1); compute past the free tier is right.
    add("wrong_free_tier", _rewritten(good, "cloud_run_function", lambda s: s.replace(
        "max(0, requests_per_month - CLOUD_RUN_FREE_REQUESTS)", "requests_per_month")), "graded", full - 5.5,
        failed=["lab08.cost.wrong", "lab08.plot.values.wrong"])


def _lab09_cases(lab: str, student: dict, good: dict, add) -> None:
    # (a student who does the work through boto3 instead of the CLI: lab 03's correct_boto3, the
    # checks read state the same way here; not graded again, for make test's budget)
    full = LABS[lab]["max_score"]
    # The Express service told CLOUD_PROVIDER=aws: it runs and answers, the wrong text; both conditions
    # that read it fail with a hint, nothing else does.
    wrong = _rewritten(good, "create_express", lambda s: s.replace('"value": "AWS"', '"value": "aws"'))
    add("wrong_text", wrong, "graded", full - 1 - 1,
        failed=["lab09.express.container.env", "lab09.express.answers.wrong"])
    # App Runner pointed at lab 02's tag v1.0, never pushed in this lab: CREATE_FAILED. Step 1's running,
    # image and URL fail, and step 2 cannot update a failed service; steps 3 and 4 are untouched.
    never_pushed = _rewritten(good, "create_apprunner", lambda s: s.replace("my-app:latest", "my-app:v1.0"))
    add("image_never_pushed", never_pushed, "graded", full - 3 - 3,
        failed=["lab09.apprunner.running.failed", "lab09.apprunner.image.not_pushed",
                "lab09.apprunner.answers.not_running", "lab09.update.operation.failed_service",
                "lab09.update.env.other", "lab09.update.answers.wrong"])
    # Cloud Run deployed from source without --allow-unauthenticated: private, its URL answers 403;
    # built, Ready and configured all the same.
    private = _rewritten(good, "deploy_source", lambda s: s.replace(" --allow-unauthenticated", ""))
    add("cloudrun_private", private, "graded", full - 2,
        failed=["lab09.cloudrun.public.private", "lab09.cloudrun.answers.forbidden"])


def differences(lab: str, target: Path | None = None) -> list[str]:
    target = target or SAMPLES / lab
    wanted = build(lab)
    present = {str(p.relative_to(target)) for p in target.rglob("*") if p.is_file()} if target.exists() else set()
    diffs = [f"missing or different: {rel}" for rel, content in wanted.items()
             if not (target / rel).is_file() or (target / rel).read_bytes() != content]
    diffs += [f"not made by the script: {rel}" for rel in sorted(present - set(wanted))]
    return diffs


def write(lab: str, target: Path | None = None) -> Path:
    target = target or SAMPLES / lab
    if target.exists():
        shutil.rmtree(target)
    for rel, content in build(lab).items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.samples.make_samples", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("labs", nargs="*", default=sorted(LABS))
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 on a difference")
    args = parser.parse_args(argv)
    status = 0
    for lab in args.labs:
        if args.check:
            diffs = differences(lab)
            for line in diffs:
                print(f"{lab}: {line}")
            if diffs:
                print(f"{lab}: samples are stale: run `python -m grader.samples.make_samples {lab}`")
                status = 1
        else:
            print(f"wrote {write(lab)}")
    return status


if __name__ == "__main__":
    sys.exit(main())
