"""Lesson 06 (serverless containers) as a student meets it, in English, in a real browser:
Run All against the local cloud, then the page shows what the text promises: the Fargate tasks on
platform 1.4.0 answering at their own addresses, the Cloud Run service's `*.run.app` URL answering
`Hello from GCP!` (labkit.gcp.hit's table drawn), the App Runner service RUNNING and its URL answering
`Hello from AWS!` through `labkit.aws.hit` (the answers' table drawn), the ECS Express Mode endpoint
answering and what it made (ALB, HTTPS listener, target group), the 6.3 comparison table with its third
column, the deployment-strategy simulator live (a click on blue/green with a bad v2 redraws it), and no
cell ending in an error. The Korean notebook runs whole in tests/notebooks/test_lesson06.py
(same code cells); its text and table are drawn by the same renderer as lesson 03's Korean test checks.
"""
from __future__ import annotations

import re

import pytest

from tests.browser import notebook as nb
from tests.browser.conftest import student_server
from tests.browser.server import ROOT
from tests.browser.test_lab03 import set_ui_language, show

LESSON = "en/06_serverless.ipynb"
RUN_ALL_MS = 300_000  # ~50 s alone: two image pushes, a Fargate service, Cloud Run, App Runner, Express Mode, the clean-up


@pytest.fixture(scope="module")
def lab(browser, tmp_path_factory):
    """A server of its own: its kernel starts the lessons' cloud in a fresh LABKIT_HOME."""
    yield from student_server(tmp_path_factory, "serverless")


def test_lesson06_runs_all_and_shows_what_its_text_describes(page, lab, shots):
    source = nb.read_notebook(ROOT / "course" / LESSON)
    ids = [c.get("id") for c in source["cells"]]
    set_ui_language(lab, "en")
    notebook = nb.open_notebook(page, lab, LESSON, len(source["cells"]), workspace="lesson06")
    nb.wait_for_kernel_idle(page)
    nb.dismiss_news_prompt(page)
    shots.take(page, "opened")

    nb.run_all(page, RUN_ALL_MS)
    nb.wait_for_kernel_idle(page)
    cells = nb.cells(notebook)
    output = lambda cell_id: nb.output_text(cells.nth(ids.index(cell_id)))

    errors = {cell_id: nb.errors_in(cells.nth(i)) for i, cell_id in enumerate(ids)
              if source["cells"][i]["cell_type"] == "code"}
    assert not {k: v for k, v in errors.items() if v}, "no cell ends in an error (or writes to stderr)"

    # 6.1: LATEST resolved to a real platform version on each task; each task answers at its address
    show(cells.nth(ids.index("fargate_tasks")))
    shots.take(page, "fargate-tasks")
    assert len(re.findall(r"RUNNING\s+FARGATE\s+1\.4\.0\s+127\.0\.1\.\d+", output("fargate_tasks"))) == 2
    assert output("ask_fargate_tasks").count("-> 200 Hello from AWS!") == 2, output("ask_fargate_tasks")

    # Cloud Run: its URL, and labkit.gcp.hit's table of the answers drawn in the page
    show(cells.nth(ids.index("hit_cloudrun")))
    shots.take(page, "cloudrun-hit")
    assert "my-service-123456789012.asia-northeast3.run.app" in output("hit_cloudrun"), output("hit_cloudrun")
    table = cells.nth(ids.index("hit_cloudrun")).locator(".jp-RenderedMarkdown table")
    assert table.count() == 1 and "Hello from GCP!" in table.inner_text() and "100.0%" in table.inner_text()

    # App Runner: RUNNING, and labkit.aws.hit's table of answers drawn in the page
    show(cells.nth(ids.index("hit_apprunner")))
    shots.take(page, "apprunner-hit")
    assert "RUNNING" in output("describe_apprunner") and ".awsapprunner.com" in output("describe_apprunner")
    table = cells.nth(ids.index("hit_apprunner")).locator(".jp-RenderedMarkdown table")
    assert table.count() == 1 and "Hello from AWS!" in table.inner_text() and "100.0%" in table.inner_text()

    # ECS Express Mode: the endpoint answers, and what Express made is there
    show(cells.nth(ids.index("express_resources")))
    shots.take(page, "express-resources")
    assert ".ecs.ap-northeast-2.on.aws" in output("describe_express_service")
    assert "Hello from AWS!" in output("hit_express")
    assert "HTTPS" in output("express_resources") and "healthy" in output("express_resources")
    assert "DRAINING" in output("clean_up_services"), output("clean_up_services")

    # 7.1: the strategy simulator is live in the page: clicking blue/green with a bad v2 redraws it
    simulator = cells.nth(ids.index("strategy_simulator"))
    show(simulator)
    buttons = simulator.locator(".widget-toggle-button")
    buttons.first.wait_for(timeout=30_000)
    assert [b.inner_text().strip() for b in buttons.all()] == ["Rolling update", "Blue/green", "Canary"]
    assert simulator.locator(".widget-html svg").count() == 1
    summary = simulator.locator(".widget-html").first
    assert "Canary: v2 answered every request" in summary.inner_text(), summary.inner_text()
    simulator.get_by_role("button", name="Blue/green").click()
    simulator.locator(".widget-checkbox input").check()
    page.wait_for_function("el => el.innerText.includes('1,750 requests failed')", arg=summary.element_handle(),
                           timeout=15_000)
    shots.take(page, "strategy-simulator")
    assert "Blue/green: the alarm fired after 1.5 min" in summary.inner_text()
    assert "Canary" in output("strategies_compare") and "175 requests failed" in output("strategies_compare")

    # 6.3's comparison has three services side by side: Cloud Run, App Runner, ECS Express Mode
    comparison = next(i for i, c in enumerate(source["cells"]) if c["cell_type"] == "markdown"
                      and "Express Mode" in "".join(c["source"]) and "|---" in "".join(c["source"]).replace(" ", ""))
    show(cells.nth(comparison))
    headers = cells.nth(comparison).locator(".jp-RenderedMarkdown table th")
    page.wait_for_function("els => els.some(e => e.innerText.includes(\"Express Mode\"))",
                           arg=headers.element_handles(), timeout=15_000)  # (a row-name column may have no header)
    names = [h.inner_text() for h in headers.all()]
    assert any("Express Mode" in h for h in names) and any("App Runner" in h for h in names), names
    shots.take(page, "comparison")
