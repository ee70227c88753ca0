"""What a container workload costs on each service of the course, from labkit/data/prices.yaml.

Pure functions: a size (vCPU, memory in GB), how many hours a day it runs (for Cloud Run: how
many hours a day an instance is busy with requests, which is what request-based billing charges)
and requests per month in; a `Cost` out, the bill's lines with the arithmetic that made each one
("0.5 × $0.04048 × 24"), so a lesson can print the seed's worked examples as the seed writes them.
The prices are examples with a date (each has its source in the data file); lesson 08 says where
the current ones are.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

PRICES_FILE = Path(__file__).parent / "data" / "prices.yaml"
# The services the calculator compares, in the order lesson 08 shows them
SERVICES = ("fargate", "eks_fargate", "eks_ec2", "gke_autopilot", "gke_standard", "cloud_run")
PERIODS = {"day": 1, "month": None}  # a month: prices.yaml's days_per_month


@lru_cache(maxsize=None)
def prices() -> dict:
    return yaml.safe_load(PRICES_FILE.read_text(encoding="utf-8"))


def price(group: str, name: str) -> float:
    """One figure of the data file: price("fargate", "vcpu_hour") -> 0.04048."""
    return float(prices()[group][name]["value"])


def days_in(period: str) -> int:
    if period not in PERIODS:
        raise ValueError(f"period is 'day' or 'month', not {period!r}")
    return PERIODS[period] or int(prices()["days_per_month"])


def number(x: float) -> str:
    """0.5 -> '0.5', 1.0 -> '1', 24.0 -> '24', 2000000 -> '2,000,000': the seed's way of
    writing a quantity."""
    if float(x).is_integer() and abs(x) >= 10000:
        return f"{int(x):,}"
    return f"{x:g}"


def usd(x: float) -> str:
    """A rate as the seed writes it: $0.04048, $0.10, $0.000024."""
    text = f"{x:.8f}".rstrip("0")
    decimals = max(2, len(text.split(".")[1]))
    return f"${x:.{decimals}f}"


@dataclass(frozen=True)
class Line:
    """One line of a bill: what it is for (`kind`: vcpu, memory, cluster, credit, nodes,
    requests, discount), its amount in USD (exact) and the arithmetic behind it."""
    kind: str
    amount: float
    formula: str


@dataclass(frozen=True)
class Cost:
    service: str
    period: str  # "day" or "month"
    lines: tuple[Line, ...]

    @property
    def total(self) -> float:
        """The exact sum of the lines."""
        return sum(line.amount for line in self.lines)

    @property
    def rounded(self) -> float:
        """The lines rounded to the cent, then added: how the seed (and a bill) adds them up.
        Fargate's 0.5 vCPU, 1 GB, 24 h: $0.49 + $0.11 = $0.60, exactly $0.59244."""
        return round(sum(round(line.amount, 2) for line in self.lines), 2)

    def worked(self) -> str:
        """The seed's two-line form: '= (0.5 × $0.04048 × 24) + (1 × $0.004445 × 24)' and
        '= $0.49 + $0.11 = $0.60'."""
        first = " + ".join(f"({line.formula})" for line in self.lines)
        amounts = " + ".join(_signed(line.amount) for line in self.lines).replace("+ -", "- ")
        if len(self.lines) == 1:
            return f"= {first}\n= ${self.rounded:.2f}"
        return f"= {first}\n= {amounts} = ${self.rounded:.2f}"


def _signed(amount: float) -> str:
    return f"-${-amount:.2f}" if amount < 0 else f"${amount:.2f}"


def _check(vcpu: float, memory_gb: float, hours_per_day: float, requests_per_month: float) -> None:
    if vcpu <= 0 or memory_gb <= 0:
        raise ValueError("vCPU and memory must be more than 0")
    if not 0 <= hours_per_day <= 24:
        raise ValueError("hours per day go from 0 to 24")
    if requests_per_month < 0:
        raise ValueError("requests per month cannot be negative")


def _resources(group: str, vcpu_rate: str, gb_rate: str, vcpu: float, memory_gb: float, hours: float) -> list[Line]:
    """vCPU and memory billed by the hour: Fargate's and Autopilot's two lines."""
    v, g = price(group, vcpu_rate), price(group, gb_rate)
    return [Line("vcpu", vcpu * v * hours, f"{number(vcpu)} × {usd(v)} × {number(hours)}"),
            Line("memory", memory_gb * g * hours, f"{number(memory_gb)} × {usd(g)} × {number(hours)}")]


def _cluster(group: str, days: int) -> Line:
    """A control plane's fee: it runs all day, whatever the workload does."""
    rate = price(group, "cluster_hour")
    return Line("cluster", rate * 24 * days, f"{usd(rate)} × {number(24 * days)}")


def nodes_needed(group: str, vcpu: float, memory_gb: float) -> int:
    """How many of the data file's example nodes the workload needs (at least one)."""
    node = prices()[group]["node_hour"]["node"]
    return max(1, math.ceil(vcpu / node["vcpu"]), math.ceil(memory_gb / node["memory_gb"]))


def _nodes(group: str, vcpu: float, memory_gb: float, hours: float) -> Line:
    count, rate = nodes_needed(group, vcpu, memory_gb), price(group, "node_hour")
    return Line("nodes", count * rate * hours, f"{count} × {usd(rate)} × {number(hours)}")


def _gke_credit(cluster: Line, days: int) -> Line:
    """GKE's free tier: a monthly credit per billing account against one cluster's fee."""
    credit = min(cluster.amount, price("gke", "free_cluster_credit_month") / days_in("month") * days)
    return Line("credit", -credit, f"-{usd(credit)}")


def _discount(group: str, lines: list[Line]) -> Line:
    share = price(group, "spot_discount")
    base = sum(line.amount for line in lines)
    return Line("discount", -share * base, f"-{number(share)} × ${base:.2f}")


def fargate(vcpu, memory_gb, hours_per_day=24.0, period="day", spot=False) -> Cost:
    days = days_in(period)
    lines = _resources("fargate", "vcpu_hour", "gb_hour", vcpu, memory_gb, hours_per_day * days)
    if spot:
        lines.append(_discount("fargate", lines))
    return Cost("fargate", period, tuple(lines))


def eks_fargate(vcpu, memory_gb, hours_per_day=24.0, period="day") -> Cost:
    days = days_in(period)
    lines = [_cluster("eks", days), *fargate(vcpu, memory_gb, hours_per_day, period).lines]
    return Cost("eks_fargate", period, tuple(lines))


def eks_ec2(vcpu, memory_gb, hours_per_day=24.0, period="day") -> Cost:
    days = days_in(period)
    return Cost("eks_ec2", period, (_cluster("eks", days), _nodes("eks", vcpu, memory_gb, hours_per_day * days)))


def gke_autopilot(vcpu, memory_gb, hours_per_day=24.0, period="day", spot=False, free_tier=True) -> Cost:
    """The pods' requests, as the seed counts them, plus the cluster fee that the free tier's
    credit cancels for one cluster per billing account (free_tier=False: a second cluster)."""
    days = days_in(period)
    lines = _resources("gke", "autopilot_vcpu_hour", "autopilot_gb_hour", vcpu, memory_gb, hours_per_day * days)
    if spot:
        lines.append(_discount("gke", lines))
    cluster = _cluster("gke", days)
    lines.append(cluster)
    if free_tier:
        lines.append(_gke_credit(cluster, days))
    return Cost("gke_autopilot", period, tuple(lines))


def gke_standard(vcpu, memory_gb, hours_per_day=24.0, period="day", free_tier=True) -> Cost:
    days = days_in(period)
    cluster = _cluster("gke", days)
    lines = [cluster, *([_gke_credit(cluster, days)] if free_tier else []),
             _nodes("gke", vcpu, memory_gb, hours_per_day * days)]
    return Cost("gke_standard", period, tuple(lines))


def cloud_run(vcpu, memory_gb, hours_per_day=24.0, requests_per_month=0, period="month") -> Cost:
    """Request-based billing: vCPU-seconds and GiB-seconds while busy, and requests, each after
    its monthly free allowance. The free tier is monthly, so a day is a thirtieth of the month."""
    month = days_in("month")
    seconds = hours_per_day * 3600 * month
    lines = []
    for kind, size, rate, free in (("vcpu", vcpu, "vcpu_second", "free_vcpu_seconds"),
                                   ("memory", memory_gb, "gb_second", "free_gb_seconds")):
        used, allowance, r = size * seconds, price("cloud_run", free), price("cloud_run", rate)
        billable = max(0.0, used - allowance)
        lines.append(Line(kind, billable * r, f"max(0, {number(used)} - {number(allowance)}) × {usd(r)}"))
    free, rate = price("cloud_run", "free_requests"), price("cloud_run", "million_requests")
    billable = max(0.0, requests_per_month - free)
    lines.append(Line("requests", billable / 1e6 * rate,
                      f"max(0, {number(requests_per_month)} - {number(free)}) / 1000000 × {usd(rate)}"))
    if period == "day":
        lines = [Line(line.kind, line.amount / month, f"{line.formula} / {month}") for line in lines]
    else:
        days_in(period)
    return Cost("cloud_run", period, tuple(lines))


def cost(service: str, vcpu: float, memory_gb: float, hours_per_day: float = 24.0,
         requests_per_month: float = 0, period: str = "day", **options) -> Cost:
    """Any service by name (SERVICES); options: spot= (fargate, gke_autopilot), free_tier= (GKE)."""
    _check(vcpu, memory_gb, hours_per_day, requests_per_month)
    if service == "cloud_run":
        return cloud_run(vcpu, memory_gb, hours_per_day, requests_per_month, period)
    functions = {"fargate": fargate, "eks_fargate": eks_fargate, "eks_ec2": eks_ec2,
                 "gke_autopilot": gke_autopilot, "gke_standard": gke_standard}
    if service not in functions:
        raise ValueError(f"unknown service {service!r} (known: {', '.join(SERVICES)})")
    return functions[service](vcpu, memory_gb, hours_per_day, period, **options)


def compare(vcpu: float, memory_gb: float, hours_per_day: float = 24.0, requests_per_month: float = 0,
            period: str = "month") -> dict[str, Cost]:
    """Every service's cost for one workload, in SERVICES order."""
    return {s: cost(s, vcpu, memory_gb, hours_per_day, requests_per_month, period) for s in SERVICES}


def monthly_against_load(vcpu: float, memory_gb: float, requests_per_month: float = 0,
                         busy_hours: list[float] | None = None) -> dict[str, list[float]]:
    """Lesson 08's plot: each service's monthly cost against how many hours a day the app is busy.
    Cloud Run bills only the busy hours; the others keep one copy running all day, busy or not
    (a service that waits for requests keeps its task, pod or node)."""
    hours = busy_hours if busy_hours is not None else [h / 2 for h in range(49)]
    out = {"hours": list(hours)}
    for service in SERVICES:
        if service == "cloud_run":
            out[service] = [cost(service, vcpu, memory_gb, h, requests_per_month, "month").total for h in hours]
        else:
            always = cost(service, vcpu, memory_gb, 24, requests_per_month, "month").total
            out[service] = [always for _ in hours]
    return out


def crossing(vcpu: float, memory_gb: float, requests_per_month: float = 0, other: str = "fargate") -> float | None:
    """The busy hours a day above which Cloud Run costs more a month than `other` running all day
    (None: Cloud Run is cheaper even busy 24 hours). Bisection: Cloud Run's cost only grows with hours."""
    target = cost(other, vcpu, memory_gb, 24, requests_per_month, "month").total

    def run(h: float) -> float:
        return cost("cloud_run", vcpu, memory_gb, h, requests_per_month, "month").total

    if run(24) <= target:
        return None
    low, high = 0.0, 24.0
    if run(0) > target:
        return 0.0
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if run(mid) <= target else (low, mid)
    return high
