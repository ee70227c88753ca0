"""Checks of lab 07 (lesson 07: 7.1's decision tree, 7.2's use-case table, the seed's Exercise 2).

No cloud: what is graded is the student's code. `choose(serverless, kubernetes, cloud)` is called
on scenarios (the ones the lab shows, and hidden ones phrased otherwise), `USE_CASES` and
`EXERCISE2` are read back; each from the cell that defines it, run alone in a fresh, sandboxed
Python (labkit/checks/functions.py) by Check my progress and by the grader alike.

Names are compared as sets of words (`words`): case, word order, `+`/"on"/"with" and a maker's
name do not matter ("ECS on Fargate" is "Fargate on ECS", "Amazon EKS" is "EKS"); each answer
accepts the names listed for it and nothing else.

Exercise 2's scenario 3 (GPU training jobs): the seed's answer names "ECS Fargate with GPU" or EKS,
but Fargate has no GPUs (lesson 07, table 7.2); EKS and ECS on EC2 (GPU instances) are accepted.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from labkit.checks import functions
from labkit.checks.functions import shown
from labkit.checks.core import CheckContext, Lab, Result, Step, condition
from labkit.messages import message_value

CHOOSE, TABLE, EXERCISE = "choose", "USE_CASES", "EXERCISE2"

_FILLER = frozenset({"on", "with", "and", "amazon", "aws", "google", "gcp", "using", "the", "a", "an", "in", "plus"})
_PLURALS = {"jobs": "job", "pods": "pod", "nodes": "node", "groups": "group", "tasks": "task", "gpus": "gpu"}


def words(name) -> frozenset[str] | None:
    """The words of a service name that say which service it is, or None for anything but text."""
    if not isinstance(name, str):
        return None
    found = [_PLURALS.get(w, w) for w in re.split(r"[^0-9a-z]+", name.casefold()) if w]
    return frozenset(w for w in found if w not in _FILLER)


def accepts(accepted: list[str], answer) -> bool:
    mine = words(answer)
    return bool(mine) and any(mine == words(a) for a in accepted)


# -- 7.1: the decision tree -------------------------------------------------------------------------------

# (cloud, serverless, kubernetes) -> the names accepted, the tree's own first
LEAVES = {
    ("aws", True, True): ["Fargate on EKS"],
    ("aws", True, False): ["Fargate on ECS", "ECS Express Mode"],
    ("aws", False, True): ["EKS", "EKS Standard"],
    ("aws", False, False): ["ECS on EC2"],
    ("gcp", True, True): ["GKE Autopilot"],
    ("gcp", True, False): ["Cloud Run"],
    ("gcp", False, True): ["GKE", "GKE Standard", "GKE Autopilot"],
    ("gcp", False, False): ["Compute Engine + Docker", "Compute Engine"],
}


@dataclass(frozen=True)
class Scenario:
    id: str
    cloud: str
    serverless: bool
    kubernetes: bool
    said: str        # the message that tells the scenario
    reconsider: str  # the message that says what to think about when the answer is wrong

    @property
    def kwargs(self) -> dict:
        return {"serverless": self.serverless, "kubernetes": self.kubernetes, "cloud": self.cloud}

    @property
    def call(self) -> str:
        return f"choose(serverless={self.serverless}, kubernetes={self.kubernetes}, cloud=\"{self.cloud}\")"


# The lab shows these four (AWS, in the lesson's words); Check my progress runs them.
SHOWN = [
    Scenario("aws_plain", "aws", True, False, "lab07.scenario.aws_plain", "lab07.reconsider.aws_plain"),
    Scenario("aws_crds", "aws", True, True, "lab07.scenario.aws_crds", "lab07.reconsider.aws_crds"),
    Scenario("aws_own_k8s", "aws", False, True, "lab07.scenario.aws_own_k8s", "lab07.reconsider.aws_own_k8s"),
    Scenario("aws_own_plain", "aws", False, False, "lab07.scenario.aws_own_plain", "lab07.reconsider.aws_own_plain"),
]
# The grader also runs these: every GCP leaf, and two of day19's way of asking ("do you need to
# manage the infrastructure?", the first question turned round), each phrased unlike the lab's.
HIDDEN = [
    Scenario("gcp_idle_api", "gcp", True, False, "lab07.scenario.gcp_idle_api", "lab07.reconsider.gcp_idle_api"),
    Scenario("gcp_helm_no_nodes", "gcp", True, True, "lab07.scenario.gcp_helm_no_nodes",
             "lab07.reconsider.gcp_helm_no_nodes"),
    Scenario("gcp_machine_types", "gcp", False, True, "lab07.scenario.gcp_machine_types",
             "lab07.reconsider.gcp_machine_types"),
    Scenario("gcp_legacy_vm", "gcp", False, False, "lab07.scenario.gcp_legacy_vm", "lab07.reconsider.gcp_legacy_vm"),
    Scenario("day19_no_infra", "aws", True, False, "lab07.scenario.day19_no_infra", "lab07.reconsider.day19_no_infra"),
    Scenario("day19_infra_no_k8s", "aws", False, False, "lab07.scenario.day19_infra_no_k8s",
             "lab07.reconsider.day19_infra_no_k8s"),
]
SHOWN_POINTS, HIDDEN_POINTS = 1.0, 0.5


def _run_tree(ctx: CheckContext) -> tuple[str | None, functions.Outcome | None]:
    """(the cell that defines choose, what running it on every scenario gave), once per check run."""
    def compute():
        cells = functions.code_cells(ctx)
        source = functions.defining_cell(cells or [], CHOOSE)
        if source is None:
            return None, None
        calls = [{"function": CHOOSE, "kwargs": s.kwargs} for s in [*SHOWN, *HIDDEN]]
        return source, functions.run(source, calls=calls, sandbox=functions.sandbox_for(ctx))
    return ctx.cached("lab07:tree", compute)


MISSING = {"tree": "lab07.tree.missing", "table": "lab07.table.missing", "exercise": "lab07.exercise.missing"}


def _cell_problem(outcome: functions.Outcome | None, source: str | None, prefix: str, name: str) -> list[Result]:
    """The one failure that stops a whole step, or [] when the cell ran."""
    if source is None:
        return [Result(f"{prefix}.defined", False, MISSING[prefix], params={"name": name})]
    return functions.run_problem(outcome, f"{prefix}.defined", "lab07", name)


@condition(points=0)
def tree_ready(ctx: CheckContext) -> list[Result]:
    """The cell defining choose was found and ran (the step's gate)."""
    source, outcome = _run_tree(ctx)
    problem = _cell_problem(outcome, source, "tree", CHOOSE)
    if problem:
        return problem
    if outcome.calls and all(reply.get("value", "") is None for reply in outcome.calls):
        return [Result("tree.defined", False, "lab07.tree.empty", params={"name": CHOOSE})]
    return [Result("tree.defined", True, "lab07.tree.defined", points=0.0, params={"name": CHOOSE})]


def _scenario_condition(scenario: Scenario, points: float):
    @condition(points=points)
    def check(ctx: CheckContext) -> list[Result]:
        source, outcome = _run_tree(ctx)
        index = [*SHOWN, *HIDDEN].index(scenario)
        reply = outcome.calls[index] if outcome and index < len(outcome.calls) else {"error": "?"}
        params = {"scenario": message_value(scenario.said), "call": scenario.call,
                  "reconsider": message_value(scenario.reconsider)}
        cid = f"tree.{scenario.id}"
        if "error" in reply:
            return functions.raised(reply, cid, "lab07.tree.raised", "lab07.tree.raised.name", points, params)
        chose = functions.unplain(reply["value"])
        if chose is None:
            return [Result(cid, False, "lab07.tree.nothing", points=points, params=params)]
        if not isinstance(chose, str):
            return [Result(cid, False, "lab07.tree.not_text", points=points, params={**params, "chose": shown(chose)})]
        ok = accepts(LEAVES[(scenario.cloud, scenario.serverless, scenario.kubernetes)], chose)
        return [Result(cid, ok, "lab07.tree.ok" if ok else "lab07.tree.wrong", points=points,
                       params={**params, "chose": shown(chose)})]
    check.__name__ = f"tree_{scenario.id}"
    return check


# -- 7.2: the use-case table --------------------------------------------------------------------------------

# use case (the lesson's key) -> (AWS names accepted, GCP names accepted, what to reconsider), the
# table's own names first
ROWS = {
    "simple web app": (["ECS Express Mode", "App Runner"], ["Cloud Run"], "lab07.reconsider.row1"),
    "microservices": (["ECS Fargate + Service Connect"], ["Cloud Run"], "lab07.reconsider.row2"),
    "k8s simplified": (["EKS Auto Mode"], ["GKE Autopilot"], "lab07.reconsider.row3"),
    "k8s full control": (["EKS Standard"], ["GKE Standard"], "lab07.reconsider.row4"),
    "ml/gpu workloads": (["EKS + GPU", "EKS + GPU nodes", "EKS + GPU node groups"], ["GKE Autopilot + GPU", "GKE + GPU"],
                         "lab07.reconsider.row5"),
    "batch jobs": (["ECS Task", "ECS task on Fargate", "Fargate"], ["Cloud Run Jobs"], "lab07.reconsider.row6"),
    "event processing": (["Fargate + EventBridge", "ECS Fargate + EventBridge"], ["Cloud Run + Eventarc"],
                         "lab07.reconsider.row7"),
    "cost-sensitive batch": (["Fargate Spot", "ECS Fargate Spot"], ["Autopilot Spot Pods", "GKE Autopilot Spot Pods", "Spot Pods"],
                             "lab07.reconsider.row8"),
    "server control, no k8s": (["ECS on EC2"], ["Compute Engine + Docker", "Compute Engine"], "lab07.reconsider.row9"),
    "multi-cloud": (["EKS"], ["GKE"], "lab07.reconsider.row10"),
}
ROW_IDS = {name: f"row{n}" for n, name in enumerate(ROWS, start=1)}
ROW_KEYS = {(True, True): "lab07.table.row.ok", (False, True): "lab07.table.row.wrong_aws",
            (True, False): "lab07.table.row.wrong_gcp", (False, False): "lab07.table.row.wrong_both"}
SHOWN_ROWS = list(ROWS)[:4]     # Check my progress checks these; the grader every row
ROW_POINTS, HIDDEN_ROW_POINTS = 1.0, 0.5


def _key(name) -> str:
    return " ".join(str(name).casefold().split())


def _run_value(ctx: CheckContext, name: str):
    def compute():
        source = functions.defining_cell(functions.code_cells(ctx) or [], name)
        if source is None:
            return None, None
        return source, functions.run(source, values=[name], sandbox=functions.sandbox_for(ctx))
    return ctx.cached(f"lab07:value:{name}", compute)


def _table(ctx: CheckContext) -> dict:
    _, outcome = _run_value(ctx, TABLE)
    value = functions.unplain(outcome.values.get(TABLE))
    return {_key(k): v for k, v in value.items()} if isinstance(value, dict) else {}


@condition(points=0)
def table_ready(ctx: CheckContext) -> list[Result]:
    source, outcome = _run_value(ctx, TABLE)
    problem = _cell_problem(outcome, source, "table", TABLE)
    if problem:
        return problem
    value = functions.unplain(outcome.values.get(TABLE))
    if not isinstance(value, dict):
        return [Result("table.defined", False, "lab07.table.not_dict", params={"name": TABLE, "found": shown(value)})]
    if all(v in ((), [], None, "") for v in value.values()):  # the student version's placeholders
        return [Result("table.defined", False, "lab07.table.unfilled", params={"name": TABLE})]
    return [Result("table.defined", True, "lab07.table.defined", points=0.0, params={"name": TABLE})]


def _row_condition(use_case: str, points: float):
    @condition(points=points)
    def check(ctx: CheckContext) -> list[Result]:
        table, rid = _table(ctx), ROW_IDS[use_case]
        params = {"use_case": use_case, "reconsider": message_value(ROWS[use_case][2])}
        cid = f"table.{rid}"
        if use_case not in table:
            return [Result(cid, False, "lab07.table.row.absent", points=points, params=params)]
        value = table[use_case]
        if not (isinstance(value, (tuple, list)) and len(value) == 2):
            return [Result(cid, False, "lab07.table.row.shape", points=points, params={**params, "found": shown(value)})]
        aws, gcp = value
        aws_ok, gcp_ok = accepts(ROWS[use_case][0], aws), accepts(ROWS[use_case][1], gcp)
        return [Result(cid, aws_ok and gcp_ok, ROW_KEYS[(aws_ok, gcp_ok)], points=points,
                       params={**params, "aws": shown(aws), "gcp": shown(gcp)})]
    check.__name__ = f"table_{ROW_IDS[use_case]}"
    return check


# -- Exercise 2 -------------------------------------------------------------------------------------------------

OPTIONS = ["ECS on EC2", "ECS Fargate", "EKS", "App Runner", "ECS Express Mode"]
# scenario -> the options accepted (the seed's answers; see the module's note on scenario 3)
EXERCISE_ANSWERS = {1: ["App Runner", "ECS Express Mode"], 2: ["EKS"], 3: ["EKS", "ECS on EC2"], 4: ["ECS on EC2"]}
EXERCISE_KEYS = {  # scenario -> (the message that names it, what to reconsider)
    1: ("lab07.exercise.scenario1", "lab07.reconsider.exercise1"),
    2: ("lab07.exercise.scenario2", "lab07.reconsider.exercise2"),
    3: ("lab07.exercise.scenario3", "lab07.reconsider.exercise3"),
    4: ("lab07.exercise.scenario4", "lab07.reconsider.exercise4"),
}


def _choices(ctx: CheckContext) -> dict:
    _, outcome = _run_value(ctx, EXERCISE)
    value = functions.unplain(outcome.values.get(EXERCISE))
    if not isinstance(value, dict):
        return {}
    out = {}
    for k, v in value.items():
        try:
            out[int(str(k).strip())] = v
        except ValueError:
            continue
    return out


@condition(points=0)
def exercise_ready(ctx: CheckContext) -> list[Result]:
    source, outcome = _run_value(ctx, EXERCISE)
    problem = _cell_problem(outcome, source, "exercise", EXERCISE)
    if problem:
        return problem
    choices = _choices(ctx)
    unanswered = [str(n) for n in EXERCISE_ANSWERS if not (isinstance(choices.get(n), str) and choices[n].strip())]
    if unanswered:
        return [Result("exercise.defined", False, "lab07.exercise.unanswered",
                       params={"name": EXERCISE, "numbers": ", ".join(unanswered)})]
    return [Result("exercise.defined", True, "lab07.exercise.defined", points=0.0, params={"name": EXERCISE})]


@condition(points=1)
def exercise_options(ctx: CheckContext) -> list[Result]:
    choices = _choices(ctx)
    other = [n for n in EXERCISE_ANSWERS if not accepts(OPTIONS, choices.get(n))]
    if other:
        n = other[0]
        return [Result("exercise.options", False, "lab07.exercise.options.other",
                       params={"number": n, "chose": shown(choices.get(n)), "options": ", ".join(OPTIONS)})]
    return [Result("exercise.options", True, "lab07.exercise.options.ok", params={"count": len(EXERCISE_ANSWERS)})]


def _exercise_condition(number: int):
    @condition(points=1)
    def check(ctx: CheckContext) -> list[Result]:
        chose = _choices(ctx).get(number)
        ok = accepts(EXERCISE_ANSWERS[number], chose)
        return [Result(f"exercise.choice{number}", ok, "lab07.exercise.choice.ok" if ok else "lab07.exercise.choice.wrong",
                       params={"number": number, "chose": shown(chose),
                               "scenario": message_value(EXERCISE_KEYS[number][0]),
                               "reconsider": message_value(EXERCISE_KEYS[number][1])})]
    check.__name__ = f"exercise_choice{number}"
    return check


LAB = Lab(id="lab07", cloud=False, steps=[
    Step("tree", "lab07.step.tree", [_scenario_condition(s, SHOWN_POINTS) for s in SHOWN],
         hidden=[_scenario_condition(s, HIDDEN_POINTS) for s in HIDDEN], gate=tree_ready),
    Step("table", "lab07.step.table",
         [_row_condition(name, ROW_POINTS) for name in SHOWN_ROWS],
         hidden=[_row_condition(name, HIDDEN_ROW_POINTS) for name in ROWS if name not in SHOWN_ROWS], gate=table_ready),
    Step("exercise2", "lab07.step.exercise2", [exercise_options],
         hidden=[_exercise_condition(n) for n in EXERCISE_ANSWERS], gate=exercise_ready),
])
