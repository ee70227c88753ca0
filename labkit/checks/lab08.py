"""Checks of lab 08 (lesson 08: the cost functions of 8.1 and 8.2, a month of each, the plot of 8.3).

No cloud: what is graded is the student's code. Each function is called on cases (the seed's worked
examples, which the lab shows, and hidden ones: other sizes, a month, Fargate Spot, both sides of
Cloud Run's free tier) and compared with labkit.pricing's answer for the same workload; the prices
are the ones of labkit/data/prices.yaml, the same figures the lab's setup cell gives the student
(PRICE_NAMES: one source). The plot is the figure the student's cell leaves in `fig`: its axes'
labels and its lines (matplotlib objects read back, never pixels).

How the code runs: the cells that define the functions a check needs (in the notebook's order),
after the price constants, alone in a fresh sandboxed Python (labkit/checks/functions.py), for
Check my progress and the grader alike; the plot's run has the course's matplotlib on its path.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from labkit import pricing
from labkit.checks import functions
from labkit.checks.core import CheckContext, Lab, Result, Step, condition
from labkit.messages import message_value

# The setup cell's constants: name -> (group, price) in prices.yaml. DAYS_PER_MONTH is days_in("month").
PRICE_NAMES = {
    "FARGATE_VCPU_HOUR": ("fargate", "vcpu_hour"),
    "FARGATE_GB_HOUR": ("fargate", "gb_hour"),
    "FARGATE_SPOT_DISCOUNT": ("fargate", "spot_discount"),
    "AUTOPILOT_VCPU_HOUR": ("gke", "autopilot_vcpu_hour"),
    "AUTOPILOT_GB_HOUR": ("gke", "autopilot_gb_hour"),
    "CLOUD_RUN_VCPU_SECOND": ("cloud_run", "vcpu_second"),
    "CLOUD_RUN_GB_SECOND": ("cloud_run", "gb_second"),
    "CLOUD_RUN_MILLION_REQUESTS": ("cloud_run", "million_requests"),
    "CLOUD_RUN_FREE_VCPU_SECONDS": ("cloud_run", "free_vcpu_seconds"),
    "CLOUD_RUN_FREE_GB_SECONDS": ("cloud_run", "free_gb_seconds"),
    "CLOUD_RUN_FREE_REQUESTS": ("cloud_run", "free_requests"),
}
FUNCTIONS = ("fargate_cost", "autopilot_cost", "cloud_run_cost", "monthly_costs")
FIGURE = "fig"
PLOT_WORKLOAD = {"vcpu": 0.5, "memory_gb": 1, "requests_per_month": 3_000_000}  # the lab's plot
PLOT_TIMEOUT_S = 20.0  # matplotlib's import alone takes ~2 s on a busy 2-core machine


def constants() -> dict:
    values = {name: pricing.price(group, key) for name, (group, key) in PRICE_NAMES.items()}
    return {**values, "DAYS_PER_MONTH": pricing.days_in("month")}


def preamble() -> str:
    return "".join(f"{name} = {value!r}\n" for name, value in constants().items())


# -- what each case should cost (labkit.pricing's answer) ---------------------------------------------------

def expected(function: str, kwargs: dict):
    """A float (USD), or for monthly_costs a dict of service -> USD."""
    if function == "fargate_cost":
        return pricing.fargate(kwargs["vcpu"], kwargs["memory_gb"], kwargs["hours"], "day",
                               spot=kwargs.get("spot", False))
    if function == "autopilot_cost":  # the pods' requests: the free tier's credit covers one cluster's fee
        return pricing.gke_autopilot(kwargs["vcpu"], kwargs["memory_gb"], kwargs["hours"], "day")
    if function == "cloud_run_cost":
        return pricing.cloud_run(kwargs["vcpu"], kwargs["memory_gb"], kwargs["busy_hours_per_day"],
                                 kwargs["requests_per_month"], "month")
    month = {"fargate": pricing.fargate(kwargs["vcpu"], kwargs["memory_gb"], 24, "month"),
             "cloud_run": pricing.cloud_run(kwargs["vcpu"], kwargs["memory_gb"], kwargs["busy_hours_per_day"],
                                            kwargs["requests_per_month"], "month")}
    return month


def close(answer, cost: pricing.Cost) -> bool:
    """Right to the cent, exactly or as the seed adds it (each line rounded: $0.49 + $0.11 = $0.60)."""
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        return False
    return abs(answer - cost.total) <= max(0.01, 0.002 * abs(cost.total)) or abs(answer - cost.rounded) < 0.005


def dollars(x) -> str:
    return f"${x:,.2f}" if isinstance(x, (int, float)) and not isinstance(x, bool) else functions.shown(x)


@dataclass(frozen=True)
class Case:
    id: str
    function: str
    kwargs: dict
    said: str  # the message that tells the case

    @property
    def call(self) -> str:
        args = ", ".join(f"{k}={v!r}" if not isinstance(v, int) or isinstance(v, bool) or v < 10_000 else f"{k}={v:_}"
                         for k, v in self.kwargs.items())
        return f"{self.function}({args})"


C = Case
FARGATE_SHOWN = [
    C("fargate_seed", "fargate_cost", {"vcpu": 0.5, "memory_gb": 1, "hours": 24}, "lab08.case.fargate_seed"),
    C("autopilot_seed", "autopilot_cost", {"vcpu": 0.5, "memory_gb": 1, "hours": 24}, "lab08.case.autopilot_seed"),
]
FARGATE_HIDDEN = [
    C("fargate_working_day", "fargate_cost", {"vcpu": 2, "memory_gb": 4, "hours": 8}, "lab08.case.fargate_working_day"),
    C("fargate_month", "fargate_cost", {"vcpu": 0.5, "memory_gb": 1, "hours": 720}, "lab08.case.fargate_month"),
    C("fargate_spot", "fargate_cost", {"vcpu": 0.5, "memory_gb": 1, "hours": 24, "spot": True}, "lab08.case.fargate_spot"),
    C("autopilot_month", "autopilot_cost", {"vcpu": 1, "memory_gb": 2, "hours": 720}, "lab08.case.autopilot_month"),
]
CLOUD_RUN_SHOWN = [
    C("run_free", "cloud_run_cost", {"vcpu": 0.5, "memory_gb": 1, "busy_hours_per_day": 2, "requests_per_month": 1_000_000},
      "lab08.case.run_free"),
    C("run_busy", "cloud_run_cost", {"vcpu": 1, "memory_gb": 2, "busy_hours_per_day": 8, "requests_per_month": 3_000_000},
      "lab08.case.run_busy"),
]
# 0.5 vCPU and 1 GiB use up both compute allowances at 100 busy hours a month (3.33 h a day)
CLOUD_RUN_HIDDEN = [
    C("run_just_under", "cloud_run_cost", {"vcpu": 0.5, "memory_gb": 1, "busy_hours_per_day": 3, "requests_per_month": 1_500_000},
      "lab08.case.run_just_under"),
    C("run_just_over", "cloud_run_cost", {"vcpu": 0.5, "memory_gb": 1, "busy_hours_per_day": 4, "requests_per_month": 0},
      "lab08.case.run_just_over"),
    C("run_requests_only", "cloud_run_cost", {"vcpu": 0.5, "memory_gb": 1, "busy_hours_per_day": 0, "requests_per_month": 2_500_000},
      "lab08.case.run_requests_only"),
    C("run_all_day", "cloud_run_cost", {"vcpu": 2, "memory_gb": 4, "busy_hours_per_day": 24, "requests_per_month": 30_000_000},
      "lab08.case.run_all_day"),
]
MONTHLY_SHOWN = [
    C("monthly_seed", "monthly_costs", {"vcpu": 0.5, "memory_gb": 1, "busy_hours_per_day": 4, "requests_per_month": 3_000_000},
      "lab08.case.monthly_seed"),
]
MONTHLY_HIDDEN = [
    C("monthly_all_day", "monthly_costs", {"vcpu": 0.5, "memory_gb": 1, "busy_hours_per_day": 24, "requests_per_month": 0},
      "lab08.case.monthly_all_day"),
    C("monthly_past_crossing", "monthly_costs", {"vcpu": 0.5, "memory_gb": 1, "busy_hours_per_day": 15, "requests_per_month": 0},
      "lab08.case.monthly_past_crossing"),
]
CASES = [*FARGATE_SHOWN, *FARGATE_HIDDEN, *CLOUD_RUN_SHOWN, *CLOUD_RUN_HIDDEN, *MONTHLY_SHOWN, *MONTHLY_HIDDEN]
NEEDS = {"fargate_cost": ["fargate_cost"], "autopilot_cost": ["autopilot_cost"], "cloud_run_cost": ["cloud_run_cost"],
         "monthly_costs": ["fargate_cost", "cloud_run_cost", "monthly_costs"]}


def _program(ctx: CheckContext, names: list[str]) -> tuple[str | None, str | None]:
    """(the price constants and the cells defining `names`, in the notebook's order; the first name
    no cell defines)."""
    cells = functions.code_cells(ctx) or []
    sources = []
    for name in names:
        source = functions.defining_cell(cells, name)
        if source is None:
            return None, name
        if source not in sources:
            sources.append(source)
    ordered = sorted(sources, key=lambda s: max(i for i, c in enumerate(cells) if functions.as_python(c) == s))
    return preamble() + "\n".join(ordered), None


def _run_function(ctx: CheckContext, function: str):
    """(missing name, Outcome of every case of `function`), once per check run."""
    def compute():
        source, missing = _program(ctx, NEEDS[function])
        if source is None:
            return missing, None
        calls = [{"function": function, "kwargs": c.kwargs} for c in CASES if c.function == function]
        return None, functions.run(source, calls=calls, sandbox=functions.sandbox_for(ctx))
    return ctx.cached(f"lab08:{function}", compute)


def _problem(ctx: CheckContext, function: str, cid: str) -> list[Result]:
    missing, outcome = _run_function(ctx, function)
    if missing is not None:
        return [Result(cid, False, "lab08.missing", params={"name": missing})]
    return functions.run_problem(outcome, cid, "lab08", function)


def _gate(functions_: list[str], step: str):
    @condition(points=0)
    def ready(ctx: CheckContext) -> list[Result]:
        for function in functions_:
            problem = _problem(ctx, function, f"{step}.defined")
            if problem:
                return problem
            _, outcome = _run_function(ctx, function)
            if outcome.calls and all(reply.get("value", "") is None for reply in outcome.calls):
                return [Result(f"{step}.defined", False, "lab08.empty", params={"name": function})]
        return [Result(f"{step}.defined", True, "lab08.defined", points=0.0,
                       params={"name": ", ".join(f"`{f}`" for f in functions_)})]
    ready.__name__ = f"{step}_ready"
    return ready


def _case_condition(case: Case, points: float):
    @condition(points=points)
    def check(ctx: CheckContext) -> list[Result]:
        _, outcome = _run_function(ctx, case.function)
        mine = [c for c in CASES if c.function == case.function]
        index = mine.index(case)
        reply = outcome.calls[index] if outcome and index < len(outcome.calls) else {"error": "?"}
        want = expected(case.function, case.kwargs)
        params = {"scenario": message_value(case.said), "call": case.call}
        cid = f"{case.function}.{case.id}"
        if "error" in reply:
            return functions.raised(reply, cid, "lab08.raised", "lab08.raised.name", points, params)
        got = functions.unplain(reply["value"])
        if case.function != "monthly_costs":
            ok = close(got, want)
            return [Result(cid, ok, "lab08.cost.ok" if ok else "lab08.cost.wrong", points=points,
                           params={**params, "got": dollars(got), "want": dollars(want.rounded)})]
        if not isinstance(got, dict) or set(got) != set(want):
            return [Result(cid, False, "lab08.monthly.shape", points=points, params={**params, "got": functions.shown(got)})]
        wrong = [s for s in want if not close(got[s], want[s])]
        shown = ", ".join(f"{s} {dollars(got[s])}" for s in want)
        expect = ", ".join(f"{s} {dollars(want[s].rounded)}" for s in want)
        return [Result(cid, not wrong, "lab08.cost.ok" if not wrong else "lab08.cost.wrong", points=points,
                       params={**params, "got": shown, "want": expect})]
    check.__name__ = f"case_{case.id}"
    return check


# -- the plot (8.3) --------------------------------------------------------------------------------------------

# Run after the student's cells in the same fresh Python: what `fig` holds, as plain data.
INSPECT = '''
def _lab08_figure():  # as JSON text: the figure nests deeper than plain values travel
    import json
    from matplotlib.figure import Figure
    figure = globals().get("fig")
    if not isinstance(figure, Figure):
        return json.dumps({"not_figure": type(figure).__name__})
    axes = []
    for ax in figure.axes:
        lines = [{"label": str(l.get_label()), "x": [float(v) for v in l.get_xdata()][:500],
                  "y": [float(v) for v in l.get_ydata()][:500]} for l in ax.get_lines()]
        axes.append({"xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(), "lines": lines})
    return json.dumps({"axes": axes})
'''
SERIES = {"fargate": ("fargate",), "cloud_run": ("cloud run", "cloudrun", "cloud_run")}
X_WORDS = ("hour", "시간")
Y_WORDS = ("month", "monthly", "월", "$", "usd", "cost", "비용", "달러")


def _run_plot(ctx: CheckContext):
    def compute():
        source, missing = _program(ctx, [*FUNCTIONS, FIGURE])
        if source is None:
            return missing, None
        return None, functions.run(source + "\n" + INSPECT, calls=[{"function": "_lab08_figure", "kwargs": {}}],
                                   sandbox=functions.sandbox_for(ctx), site_packages=True, timeout=PLOT_TIMEOUT_S)
    return ctx.cached("lab08:plot", compute)


def _figure(ctx: CheckContext) -> dict:
    _, outcome = _run_plot(ctx)
    reply = outcome.calls[0] if outcome and outcome.calls else {}
    try:
        value = json.loads(reply.get("value") or "{}")
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


@condition(points=0)
def plot_ready(ctx: CheckContext) -> list[Result]:
    missing, outcome = _run_plot(ctx)
    if missing is not None:
        return [Result("plot.defined", False, "lab08.missing", params={"name": missing})]
    problem = functions.run_problem(outcome, "plot.defined", "lab08", FIGURE, timeout=PLOT_TIMEOUT_S)
    if problem:
        return problem
    figure = _figure(ctx)
    if "axes" not in figure:
        return [Result("plot.defined", False, "lab08.plot.not_figure",
                       params={"name": FIGURE, "found": figure.get("not_figure", "?")})]
    if not figure["axes"]:
        return [Result("plot.defined", False, "lab08.plot.no_axes", params={"name": FIGURE})]
    if not any(ax["lines"] for ax in figure["axes"]):
        return [Result("plot.defined", False, "lab08.plot.no_lines", params={"name": FIGURE})]
    return [Result("plot.defined", True, "lab08.defined", points=0.0, params={"name": f"`{FIGURE}`"})]


def _series(ax: dict) -> dict:
    """service -> the first line whose label names it."""
    found = {}
    for line in ax["lines"]:
        label = line["label"].casefold()
        for service, names in SERIES.items():
            if service not in found and any(n in label for n in names):
                found[service] = line
    return found


def _plot_axes(ctx: CheckContext) -> dict:
    """The axes that holds both series (else the first)."""
    axes = _figure(ctx)["axes"]
    return next((ax for ax in axes if len(_series(ax)) == len(SERIES)), axes[0])


@condition(points=1)
def plot_labels(ctx: CheckContext) -> list[Result]:
    ax = _plot_axes(ctx)
    x_ok = any(w in ax["xlabel"].casefold() for w in X_WORDS)
    y_ok = any(w in ax["ylabel"].casefold() for w in Y_WORDS)
    key = "lab08.plot.labels.ok" if x_ok and y_ok else "lab08.plot.labels.x" if not x_ok else "lab08.plot.labels.y"
    return [Result("plot.labels", x_ok and y_ok, key, params={"found": f"{ax['xlabel']!r} / {ax['ylabel']!r}"})]


@condition(points=1)
def plot_series(ctx: CheckContext) -> list[Result]:
    ax = _plot_axes(ctx)
    found = _series(ax)
    labels = ", ".join(repr(line["label"]) for line in ax["lines"]) or "-"
    if len(found) < len(SERIES):
        return [Result("plot.series", False, "lab08.plot.series.missing", params={"found": labels})]
    short = [line["label"] for line in found.values() if len(line["x"]) < 5 or min(line["x"]) > 1 or max(line["x"]) < 23]
    if short:
        return [Result("plot.series", False, "lab08.plot.series.range", params={"found": ", ".join(short)})]
    return [Result("plot.series", True, "lab08.plot.series.ok", params={"found": labels})]


@condition(points=1)
def plot_values(ctx: CheckContext) -> list[Result]:
    found = _series(_plot_axes(ctx))
    w = PLOT_WORKLOAD
    for service, line in found.items():
        for x, y in zip(line["x"], line["y"]):
            if not 0 <= x <= 24:
                continue
            if service == "fargate":
                want = pricing.fargate(w["vcpu"], w["memory_gb"], 24, "month")
            else:
                want = pricing.cloud_run(w["vcpu"], w["memory_gb"], x, w["requests_per_month"], "month")
            if not close(y, want):
                return [Result("plot.values", False, "lab08.plot.values.wrong",
                               params={"found": line["label"], "hours": f"{x:g}", "got": dollars(y),
                                       "want": dollars(want.rounded)})]
    if len(found) < len(SERIES):
        return [Result("plot.values", False, "lab08.plot.series.missing", params={"found": "-"})]
    return [Result("plot.values", True, "lab08.plot.values.ok", params={})]


LAB = Lab(id="lab08", cloud=False, steps=[
    Step("fargate", "lab08.step.fargate", [_case_condition(c, 1.0) for c in FARGATE_SHOWN],
         hidden=[_case_condition(c, 0.5) for c in FARGATE_HIDDEN], gate=_gate(["fargate_cost", "autopilot_cost"], "fargate")),
    Step("cloud_run", "lab08.step.cloud_run", [_case_condition(c, 1.0) for c in CLOUD_RUN_SHOWN],
         hidden=[_case_condition(c, 0.5) for c in CLOUD_RUN_HIDDEN], gate=_gate(["cloud_run_cost"], "cloud_run")),
    Step("monthly", "lab08.step.monthly", [_case_condition(c, 1.0) for c in MONTHLY_SHOWN],
         hidden=[_case_condition(c, 0.5) for c in MONTHLY_HIDDEN], gate=_gate(["monthly_costs"], "monthly")),
    Step("plot", "lab08.step.plot", [plot_labels, plot_series, plot_values], gate=plot_ready),
])
