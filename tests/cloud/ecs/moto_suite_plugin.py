"""pytest plugin for the run of moto's own ECS tests against the local cloud (test_moto_suite.py
starts that run as `python -m pytest -p moto_suite_plugin ...` in moto's extracted tests; this file
is never collected by our own suite).

It does three things inside that run:
- moto's server mode resets state with `requests.post(ENDPOINT + "/moto-api/reset")` and no header;
  the local cloud wants its control token there (docs/fidelity.md, moto's control API), so every
  request to /moto-api/ gets `X-Labkit-Token` from MOTO_SUITE_TOKEN;
- the tests listed in the file MOTO_SUITE_DESELECT are deselected (not applicable: not run at all);
- every collected test and every outcome is written to the JSON file MOTO_SUITE_RESULTS.
"""
from __future__ import annotations

import json
import os

RESULTS: dict = {"collected": [], "outcomes": {}}


def pytest_configure(config) -> None:
    import requests

    token = os.environ["MOTO_SUITE_TOKEN"]
    request = requests.Session.request

    def with_token(self, method, url, *args, **kwargs):
        if "/moto-api/" in str(url):
            kwargs["headers"] = {**(kwargs.get("headers") or {}), "X-Labkit-Token": token}
        return request(self, method, url, *args, **kwargs)

    requests.Session.request = with_token


def short_id(nodeid: str) -> str:
    """'tests/test_ecs/test_ecs.py::test_x[a]' -> 'test_ecs.py::test_x[a]' (the expectations' keys)."""
    return nodeid.split("/")[-1] if "::" in nodeid.split("/")[-1] else nodeid


def pytest_collection_modifyitems(config, items) -> None:
    with open(os.environ["MOTO_SUITE_DESELECT"]) as f:
        deselect = set(json.load(f))
    RESULTS["collected"] = [short_id(item.nodeid) for item in items]
    kept = [item for item in items if short_id(item.nodeid) not in deselect]
    dropped = [item for item in items if short_id(item.nodeid) in deselect]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = kept


def pytest_runtest_logreport(report) -> None:
    key = short_id(report.nodeid)
    previous = RESULTS["outcomes"].get(key)
    if previous is not None and previous["outcome"] != "passed":
        return  # the first failure (setup or call) is the one to report
    if report.when != "call" and report.outcome == "passed":
        return
    message = ""
    if report.longrepr is not None:
        crash = getattr(report.longrepr, "reprcrash", None)
        message = crash.message if crash is not None else str(report.longrepr)
    RESULTS["outcomes"][key] = {"outcome": report.outcome, "when": report.when, "message": message[:600]}


def pytest_sessionfinish(session) -> None:
    with open(os.environ["MOTO_SUITE_RESULTS"], "w") as f:
        json.dump(RESULTS, f, indent=1)
