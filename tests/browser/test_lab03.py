"""Lesson 03 and lab 03 (ECS on Fargate) as a student meets them, in one server (the lesson's cloud
and the lab's are separate clouds in its LABKIT_HOME):

- lesson 03 in English: Run All against the local cloud, then the page shows what the text
  promises (tasks at their own 127.0.1.N addresses, Flask's start-up lines in CloudWatch Logs, both
  diagrams drawn) and no cell ends in an error;
- lab 03 in Korean with JupyterLab's UI in Korean: the solution typed cell by cell, the tasks really
  running, every step's "Check my progress" passed and speaking Korean.
"""
from __future__ import annotations

import json
import re

import pytest

from tests.browser import notebook as nb
from tests.browser import student
from tests.browser.conftest import student_server
from tests.browser.server import ROOT
from tests.browser.test_lab02_ko import TRANSLATION_SETTINGS, korean_fonts

LESSON = "en/03_ecs.ipynb"
RUN_ALL_MS = 240_000  # ~30 s alone: an image push, three deployments, ECS Exec, the clean-up
# Cells that build and push the image or wait for a deployment: 2-4 s each alone, but watch() may
# wait up to 60 s for a steady service and then for the app's log line; room for that under load.
DEPLOYMENT_MS = 180_000
WAITS_FOR_DEPLOYMENT = ["setup_image", "watch_v2", "run_exec", "watch_backend"]


@pytest.fixture(scope="module")
def lab(browser, tmp_path_factory):
    """A server of its own: its kernels start the lessons' and lab 03's clouds in a fresh LABKIT_HOME."""
    yield from student_server(tmp_path_factory, "ecs")


def show(cell) -> None:
    """Scroll `cell` into the screenshot: the cells above it take their real height only once they
    come near the screen, which moves it away again; the second scroll waits for it to stand still."""
    cell.scroll_into_view_if_needed()
    cell.scroll_into_view_if_needed()


def set_ui_language(lab, locale: str) -> None:
    """What Settings -> Language saves (test_lab02_ko switches it through the menus): the next
    page load is in that language, without loading the page twice."""
    done = lab.api("PUT", TRANSLATION_SETTINGS, json={"raw": json.dumps({"locale": locale})})
    assert done.status_code in (200, 204), done.text
    assert lab.api("GET", TRANSLATION_SETTINGS).json()["settings"].get("locale") == locale


def test_lesson03_runs_all_and_shows_what_its_text_describes(page, lab, shots):
    source = nb.read_notebook(ROOT / "course" / LESSON)
    ids = [c.get("id") for c in source["cells"]]
    set_ui_language(lab, "en")
    notebook = nb.open_notebook(page, lab, LESSON, len(source["cells"]), workspace="lesson03")
    nb.wait_for_kernel_idle(page)
    assert "Run" in nb.menu_labels(page)
    nb.dismiss_news_prompt(page)
    shots.take(page, "opened")

    # The diagrams are pictures that load, not ASCII art.
    images = notebook.locator(".jp-RenderedMarkdown img")
    assert images.count() == 2, f"{LESSON}: the ECS concepts and architecture diagrams"
    for i in range(images.count()):
        image = images.nth(i)
        image.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete", arg=image.element_handle(), timeout=15_000)
        assert image.evaluate("img => img.naturalWidth") > 0, f"picture {image.get_attribute('src')!r} did not load"
        shots.take(page, f"picture-{i + 1}")

    nb.run_all(page, RUN_ALL_MS)
    nb.wait_for_kernel_idle(page)
    cells = nb.cells(notebook)
    output = lambda cell_id: nb.output_text(cells.nth(ids.index(cell_id)))

    errors = {cell_id: nb.errors_in(cells.nth(i)) for i, cell_id in enumerate(ids)
              if source["cells"][i]["cell_type"] == "code"}
    assert not {k: v for k, v in errors.items() if v}, "no cell ends in an error (or writes to stderr)"

    # describe-tasks: two RUNNING tasks, each at an address of its own, port 80 as mapped
    show(cells.nth(ids.index("task_table")))
    shots.take(page, "task-table")
    running = re.findall(r"RUNNING\s+(127\.0\.1\.\d+)\s+80\b", output("task_table"))
    assert len(running) == 2 and len(set(running)) == 2, output("task_table")
    assert re.search(r'"privateIpv4Address": "127\.0\.1\.\d+"', output("describe_task")), output("describe_task")

    # the app's own start-up lines, read back from CloudWatch Logs
    show(cells.nth(ids.index("get_log_events")))
    shots.take(page, "log-events")
    assert "Running on http://" in output("get_log_events"), output("get_log_events")
    assert output("filter_log_events").count(":8080") >= 2, output("filter_log_events")

    # ECS Exec: the AWS CLI stops for want of the Session Manager plugin; `labkit ecs exec` runs
    # the command in the container, where the app answers
    assert "SessionManagerPlugin is not found" in output("exec_with_aws_cli"), output("exec_with_aws_cli")
    assert "Hello from Container!" in output("exec_ask_8080"), output("exec_ask_8080")
    assert "both services are INACTIVE" in output("clean_up_services"), output("clean_up_services")
    shots.take(page, "done")


def test_lab03_in_korean_runs_cell_by_cell_and_every_step_passes(page, lab, shots):
    if not korean_fonts():
        pytest.skip("fonts-noto-cjk is not installed (no CJK font for Korean in fc-list): Hangul would "
                    "render as boxes; apt-get install fonts-noto-cjk")
    notebook_json, solved = student.solutions_for("ko", "lab03")
    cell_count = len(notebook_json["cells"])
    set_ui_language(lab, "ko_KR")
    notebook = nb.open_notebook(page, lab, "ko/lab03.ipynb", cell_count, workspace="lab03")
    nb.dismiss_news_prompt(page)
    nb.wait_for_kernel_idle(page)
    labels = nb.menu_labels(page)
    assert "File" not in labels and sum(bool(nb.HANGUL.search(label)) for label in labels) >= len(labels) - 1, \
        f"JupyterLab's menus are Korean: {labels}"
    shots.take(page, "opened")

    run = student.work_through(page, notebook, notebook_json, solved, shots,
                               timeouts=dict.fromkeys(WAITS_FOR_DEPLOYMENT, DEPLOYMENT_MS))
    shots.take(page, "done")

    progress_cells = [c.get("id") for c in notebook_json["cells"] if "check_progress(" in nb.source(c)]
    assert list(run.progress) == progress_cells and len(progress_cells) == 6, "every step's button was pressed"
    assert sorted(run.typed) == sorted(solved), "every cell the student writes was typed in"
    assert all(c.passed for step in run.progress.values() for c in step)
    for text in run.widget_texts:
        assert nb.HANGUL.search(text), f"the Korean lab's widget speaks Korean: {text!r}"

    # What the running tasks showed: the lesson's port 80 answers nothing, revision 2's tasks answer.
    cells = nb.cells(notebook)
    ids = [c.get("id") for c in notebook_json["cells"]]
    output = lambda cell_id: nb.output_text(cells.nth(ids.index(cell_id)))
    addresses = re.findall(r"http://(127\.0\.1\.\d+):80/ -> \(no answer\)", output("curl_tasks_v1"))
    assert len(set(addresses)) == 2, output("curl_tasks_v1")
    assert "Running on http://" in output("read_logs"), output("read_logs")
    assert output("watch_v2").count("Hello from Container!") == 2, output("watch_v2")
    assert "SessionManagerPlugin is not found" in output("run_exec"), output("run_exec")  # the AWS CLI's plugin
    assert '{"app": "my-app", "listen": "0.0.0.0:8080"}' in output("run_exec"), output("run_exec")  # labkit ecs exec
    # the lesson's Service Connect, refused with ECS's reason, before the port mapping has a name
    assert "portName 'http' does not match any named port mapping" in output("try_backend_service")
    assert output("watch_backend").count("Hello from Container!") == 2, output("watch_backend")

    fonts = nb.rendering_fonts(page, page.locator(f"{nb.NOTEBOOK} li[data-condition]").last)
    assert any("CJK" in family and glyphs > 0 for family, glyphs in fonts.items()), \
        f"Hangul is drawn with a CJK font, not boxes: {fonts}"
