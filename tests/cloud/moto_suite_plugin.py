"""pytest plugin for a run of moto's own tests against the local cloud (moto_suite.py copies this file
alone into a folder on PYTHONPATH and starts the run as `python -m pytest -p moto_suite_plugin ...` in
moto's extracted tests; this file is never collected by our own suite).

It does four things inside that run:
- moto's server mode resets state with `requests.post(ENDPOINT + "/moto-api/reset")` and no header;
  the local cloud wants its control token there (docs/fidelity.md, moto's control API), so every
  request to /moto-api/ gets `X-Labkit-Token` from MOTO_SUITE_TOKEN;
- moto's `mock_aws` gives each test a fresh boto3 session, which parses botocore's JSON models and
  builds each client class again (EC2's: ~0.3 s and ~750 methods, and most ELBv2 tests make EC2
  clients): models and classes are only read, and every session here is a default one with the
  same handlers, so the run shares what the first session made;
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
    _share_botocore_models()


def _share_botocore_models() -> None:
    from botocore import client, loaders

    loaded: dict = {}
    for name in ("load_service_model", "load_data"):
        original = getattr(loaders.Loader, name)

        def shared(self, *args, _original=original, _name=name, **kwargs):
            key = (_name, tuple(self.search_paths), args, tuple(sorted(kwargs.items())))
            if key not in loaded:
                loaded[key] = _original(self, *args, **kwargs)
            return loaded[key]
        setattr(loaders.Loader, name, shared)

    classes: dict = {}
    make_class = client.ClientCreator._create_client_class

    def shared_class(self, service_name, service_model):
        key = (service_name, service_model.api_version)
        if key not in classes:
            classes[key] = make_class(self, service_name, service_model)
        return classes[key]
    client.ClientCreator._create_client_class = shared_class


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
