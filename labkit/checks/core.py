"""What a check is: a small function that reads the local cloud's state and returns one Result
per condition. The same checks serve "Check my progress", nbgrader's hidden tests and the
out-of-kernel grader, so they never change state and never trust the kernel they run beside.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from labkit.config import DEFAULT_ACCOUNT, DEFAULT_REGION, FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY

STUDENT = "student"  # the student's work is not (yet) right
INFRA = "infra"      # the local cloud or the checker failed: never counted against the student


@dataclass
class Result:
    condition: str          # stable id within the lab, e.g. "repository.exists"
    passed: bool
    key: str                # message key of the outcome; "<key>.hint" is the hint
    points: float = 1.0     # points this condition is worth (earned only if passed)
    params: dict = field(default_factory=dict)
    kind: str = STUDENT
    step: str = ""          # filled in by Lab.run

    @property
    def earned(self) -> float:
        return self.points if self.passed else 0.0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class CheckContext:
    """Everything a check may read. Built fresh by whoever runs the checks (kernel or grader)."""

    endpoint: str
    home: Path
    account: str = DEFAULT_ACCOUNT
    region: str = DEFAULT_REGION
    notebook: dict | None = None  # the submitted notebook JSON: answers are read from cell sources
    answers: dict = field(default_factory=dict)  # in a kernel: answer variables by name
    cache: dict = field(default_factory=dict)    # checks of one run share fetched state here

    def client(self, service: str, region: str | None = None):
        """A boto3 client on a session of its own: pinned endpoint, fake credentials, nothing read
        from ~/.aws or the environment, nothing a kernel could have patched on boto3's default
        session. Making one costs tens of milliseconds, so the process keeps the last few, per
        endpoint, service and region: a kernel's eighteen Check my progress cells share them."""
        region = region or self.region
        return self.cached(f"client:{service}:{region}",
                           lambda: _kept(("aws", self.endpoint, service, region), lambda: _new_client(self.endpoint, service, region)))

    def google(self, api: str):
        """An official Google client on this cloud: "run" (Cloud Run services), "revisions" (Cloud
        Run revisions) or "artifactregistry". Over REST: a grader process then never holds gRPC's
        threads (which do not survive a fork). Kept like the boto3 clients."""
        def make():
            from labkit import gcp

            factory = {"run": gcp.run_client, "revisions": gcp.revisions_client,
                       "artifactregistry": gcp.artifact_registry_client}[api]
            return factory(transport="rest", endpoint=self.endpoint)
        return self.cached(f"google:{api}", lambda: _kept(("google", self.endpoint, api), make))

    def cached(self, key: str, compute):
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]

    @classmethod
    def from_environment(cls, notebook: dict | None = None, answers: dict | None = None) -> "CheckContext":
        from labkit.config import settings

        s = settings()
        return cls(endpoint=s.endpoint, home=s.home, notebook=notebook, answers=dict(answers or {}))


_CLIENTS: dict[tuple, object] = {}  # oldest first
CLIENTS_KEPT = 8  # a run's few services; a grader's worker, whose cloud is new per submission, keeps no more


def _kept(key: tuple, make):
    client = _CLIENTS.pop(key, None) or make()
    _CLIENTS[key] = client
    while len(_CLIENTS) > CLIENTS_KEPT:
        del _CLIENTS[next(iter(_CLIENTS))]
    return client


def _new_client(endpoint: str, service: str, region: str):
    import boto3
    import botocore.session
    from botocore.config import Config

    core = botocore.session.get_session()
    # the service models are read-only data: parsed once per process, not once per session
    core.register_component("data_loader", _shared_loader())
    session = boto3.session.Session(
        aws_access_key_id=FAKE_ACCESS_KEY_ID, aws_secret_access_key=FAKE_SECRET_ACCESS_KEY,
        region_name=region, botocore_session=core,
    )
    return session.client(service, endpoint_url=endpoint,
                          config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=30))


_LOADER = None


def _shared_loader():
    global _LOADER
    if _LOADER is None:
        import botocore.loaders

        _LOADER = botocore.loaders.create_loader()
    return _LOADER


Condition = Callable[[CheckContext], list[Result]]


def points_of(condition: Condition) -> float:
    """Points a condition is worth (declared with @condition), without running it."""
    return float(getattr(condition, "points", 1.0))


def _run_condition(condition: Condition, ctx: CheckContext) -> list[Result]:
    try:
        return condition(ctx)
    except Exception as exc:  # the checker's fault, not the student's
        return [Result(condition=getattr(condition, "__name__", "check"), passed=False, key="check.crashed",
                       points=points_of(condition), kind=INFRA, params={"error": f"{type(exc).__name__}: {exc}"})]


@dataclass
class Step:
    id: str                 # also the nbgrader grade_id of the step's test cell
    title_key: str
    conditions: list[Condition]
    hidden: list[Condition] = field(default_factory=list)  # only the grader and hidden tests run these
    # What must hold before the conditions mean anything (e.g. "Exercise 3 is answered at all").
    # Worth no points itself. When it fails, the step is that one failure, carrying every point
    # of the step, instead of each condition repeating it.
    gate: Condition | None = None

    def run(self, ctx: CheckContext, include_hidden: bool = False) -> list[Result]:
        conditions = [*self.conditions, *(self.hidden if include_hidden else [])]
        results: list[Result] = []
        blocked = [r for r in _run_condition(self.gate, ctx) if not r.passed] if self.gate else []
        if blocked:
            one = blocked[0]
            one.points = float(sum(points_of(c) for c in conditions))
            results.append(one)
        else:
            for condition in conditions:
                results.extend(_run_condition(condition, ctx))
        for r in results:
            r.step = self.id
        return results

    def max_points(self, include_hidden: bool = True) -> float:
        """Points the step is worth; needs no cloud (each condition declares `points`)."""
        conditions = [*self.conditions, *(self.hidden if include_hidden else [])]
        return float(sum(points_of(c) for c in conditions))

    def hidden_points(self) -> float:
        """Points only the grader checks (what Check my progress cannot show)."""
        return float(sum(points_of(c) for c in self.hidden))


@dataclass
class Lab:
    id: str
    steps: list[Step]
    cloud: bool = True  # False: the checks read the notebook alone (lab 07), no local cloud to ask

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(f"{self.id} has no step {step_id!r}; steps: {[s.id for s in self.steps]}")

    def run(self, ctx: CheckContext, include_hidden: bool = True) -> list[Result]:
        results: list[Result] = []
        for s in self.steps:
            results.extend(s.run(ctx, include_hidden=include_hidden))
        return results


def condition(points: float = 1.0):
    """Mark a function as a condition worth `points`."""
    def wrap(fn):
        fn.points = points
        return fn
    return wrap


def home_from_env() -> Path:
    return Path(os.environ.get("LABKIT_HOME") or Path.home() / ".labkit")
