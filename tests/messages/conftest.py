"""Every lab 02 scenario of tests/checks/lab02_states.py, run once against a fresh local cloud."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from labkit.checks.core import CheckContext, Result
from labkit.checks.registry import get_lab
from tests.checks.lab02_states import SCENARIOS


@dataclass
class Outcome:
    scenario: str
    step: str
    visible: list[Result]   # what Check my progress shows
    full: list[Result]      # what the hidden test cell and the grader judge


@pytest.fixture(scope="session")
def outcomes(cloud, tmp_path_factory) -> list[Outcome]:
    found = []
    for scenario in SCENARIOS:
        cloud.control("reset")
        workdir = tmp_path_factory.mktemp(scenario.name)
        ctx = scenario.apply(CheckContext(endpoint=cloud.endpoint, home=workdir / "labkit-home"), workdir)
        for step in get_lab("lab02").steps:
            found.append(Outcome(scenario.name, step.id, step.run(ctx), step.run(ctx, include_hidden=True)))
    return found
