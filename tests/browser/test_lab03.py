"""Lesson 03 and lab 03 (ECS on Fargate) as a student meets them, in both languages, in one server
(the lesson's cloud and the lab's are separate clouds in its LABKIT_HOME):

- lesson 03 in English: Run All against the local cloud, then the page shows what the text
  promises (tasks at their own 127.0.1.N addresses, Flask's start-up lines in CloudWatch Logs, both
  diagrams drawn) and no cell ends in an error;
- lab 03 in Korean with JupyterLab's UI in Korean: the solution typed cell by cell, the tasks really
  running, every step's "Check my progress" passed and speaking Korean.

The other language of each is not run whole again (that would double the suite's time, ~90 s):
code cells are the same in both languages, so the English run and the Korean run already prove
the ECS work. What changes with the language is tested in the other one:

- lesson 03 in Korean (Korean UI): the Korean text is drawn with a CJK font, both diagrams are
  the Korean ones, load, and draw their Hangul with a CJK font; the first cells, through the image
  push, run and speak Korean (labkit.start()'s banner, `labkit docker build`'s notes);
- lab 03 in English (English UI): the setup cell runs; step 1's "Check my progress" pressed
  before the cluster exists says what is missing and how to fix it in English, and so does the
  step's test cell (labkit's readable error, no traceback); the typed solution then passes. The
  lab's cloud is reset before and after (`labkit reset --lab lab03`, as from a terminal), so
  each lab test starts from the empty cloud a lab promises, in any order.
"""
from __future__ import annotations

import json
import re
import subprocess

import pytest

from labkit.messages import catalogue, text
from tests.browser import notebook as nb
from tests.browser import student
from tests.browser.conftest import student_server
from tests.browser.server import BIN, ROOT, server_environment
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


def needs_korean_fonts() -> None:
    if not korean_fonts():
        pytest.skip("fonts-noto-cjk is not installed (no CJK font for Korean in fc-list): Hangul would "
                    "render as boxes; apt-get install fonts-noto-cjk")


def drawn_with_cjk(page, element) -> bool:
    return any("CJK" in family and glyphs > 0 for family, glyphs in nb.rendering_fonts(page, element).items())


def reset_lab_cloud(lab, name: str) -> None:
    """`labkit reset --lab NAME` in a terminal of the student's: the lab's cloud forgets everything
    (no cloud running yet is fine: there is nothing to forget)."""
    done = subprocess.run([str(BIN / "labkit"), "reset", "--lab", name], env=server_environment(lab.home),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 or text("cli.reset.none", "en") in done.stderr, done.stdout + done.stderr


def run_cells(page, notebook, notebook_json, cell_ids: list[str]) -> dict[str, str]:
    """Shift+Enter in each cell, in order; {cell id: its output text}. No cell may fail."""
    cells, shown = nb.cells(notebook), {}
    for cell_id in cell_ids:
        cell = cells.nth(nb.cell_index(notebook_json, cell_id))
        nb.run_cell(page, cell)
        assert not nb.errors_in(cell), f"cell {cell_id!r} failed: {nb.errors_in(cell)}"
        shown[cell_id] = nb.output_text(cell)
    return shown


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


def test_lesson03_in_korean_draws_its_text_and_diagrams_and_speaks_korean(page, lab, shots):
    needs_korean_fonts()
    path = "ko/03_ecs.ipynb"
    source = nb.read_notebook(ROOT / "course" / path)
    set_ui_language(lab, "ko_KR")
    notebook = nb.open_notebook(page, lab, path, len(source["cells"]), workspace="lesson03-ko")
    nb.dismiss_news_prompt(page)
    nb.wait_for_kernel_idle(page)
    labels = nb.menu_labels(page)
    assert "File" not in labels and sum(bool(nb.HANGUL.search(label)) for label in labels) >= len(labels) - 1, \
        f"JupyterLab's menus are Korean: {labels}"
    title = notebook.locator(".jp-RenderedMarkdown h1").first
    assert nb.HANGUL.search(title.inner_text()) and drawn_with_cjk(page, title), "the lesson's title, in Hangul"
    shots.take(page, "opened")

    # The diagrams: the Korean ones (the same names in ko/img/), loaded, their Hangul in a CJK font.
    images = notebook.locator(".jp-RenderedMarkdown img")
    assert images.count() == 2, f"{path}: the ECS concepts and architecture diagrams"
    for i in range(images.count()):
        image = images.nth(i)
        image.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete", arg=image.element_handle(), timeout=15_000)
        assert image.evaluate("img => img.naturalWidth") > 0, f"picture {image.get_attribute('src')!r} did not load"
        assert "/ko/img/ecs_" in image.evaluate("img => img.currentSrc") and nb.HANGUL.search(image.get_attribute("alt"))
        shots.take(page, f"picture-{i + 1}")
        drawing = page.context.new_page()  # the picture as a document of its own: its text nodes can be asked
        try:
            drawing.goto(image.evaluate("img => img.currentSrc"))
            label = drawing.locator("svg text").filter(has_text=nb.HANGUL).first
            assert drawn_with_cjk(drawing, label), f"{label.inner_text()!r} in a CJK font"
        finally:
            drawing.close()

    # The first cells, through the image push: labkit speaks the notebook's language.
    ids = [c.get("id") for c in source["cells"] if c["cell_type"] == "code"]
    shown = run_cells(page, notebook, source, ids[:ids.index("push_image") + 1])
    show(nb.cells(notebook).nth(nb.cell_index(source, "push_image")))
    shots.take(page, "pushed")
    assert "로컬 클라우드" in shown["start"], shown["start"]
    assert "latest: digest: sha256:" in shown["push_image"], shown["push_image"]
    offline = catalogue("ko")["docker.note.pip_installed_offline"].split("{")[0]  # RUN pip install, offline
    assert f'{text("docker.note.label", "ko")}: {offline}' in shown["push_image"], shown["push_image"]


def test_lab03_in_english_tells_what_is_missing_then_passes(page, lab, shots):
    path = "en/lab03.ipynb"
    notebook_json, solved = student.solutions_for("en", "lab03")
    reset_lab_cloud(lab, "lab03")
    set_ui_language(lab, "en")
    notebook = nb.open_notebook(page, lab, path, len(notebook_json["cells"]), workspace="lab03-en")
    nb.dismiss_news_prompt(page)
    nb.wait_for_kernel_idle(page)
    assert "File" in nb.menu_labels(page)
    shown = run_cells(page, notebook, notebook_json, ["start", "setup_image"])
    assert text("start.lab_own_cloud", "en").split(":")[0] in shown["start"], shown["start"]
    assert "latest: digest: sha256:" in shown["setup_image"] and not nb.HANGUL.search(shown["setup_image"])

    cells = nb.cells(notebook)
    cell = lambda cell_id: cells.nth(nb.cell_index(notebook_json, cell_id))
    missing = text("lab03.cluster.exists.missing", "en", name="my-cluster")
    hint = text("lab03.cluster.exists.missing.hint", "en")

    # Step 1 before the cluster exists: the widget and the test cell say what is missing, in English.
    nb.run_cell(page, cell("progress_cluster"))
    conditions = nb.check_progress(page, cell("progress_cluster"))
    shots.take(page, "progress-not-yet")
    assert conditions and not any(c.passed for c in conditions), conditions
    widget = nb.widget_text(cell("progress_cluster"))
    assert missing.replace("`", "") in widget and hint.replace("`", "") in widget, widget
    assert not nb.HANGUL.search(widget), widget
    nb.run_cell(page, cell("cluster"))
    error = "\n".join(nb.errors_in(cell("cluster")))
    show(cell("cluster"))
    shots.take(page, "test-cell-not-yet")
    assert text("assert.failed", "en", title=text("lab03.step.cluster", "en")) in error, error
    assert missing in error and hint in error and "Traceback" not in error and not nb.HANGUL.search(error), error

    # The student writes the cell; both now pass.
    nb.replace_cell_text(page, cell("create_cluster"), solved["create_cluster"])
    run_cells(page, notebook, notebook_json, ["create_cluster", "progress_cluster"])
    conditions = nb.check_progress(page, cell("progress_cluster"))
    shots.take(page, "progress-passed")
    assert conditions and all(c.passed for c in conditions), conditions
    assert text("progress.all_passed", "en") in nb.widget_text(cell("progress_cluster"))
    run_cells(page, notebook, notebook_json, ["cluster"])
    reset_lab_cloud(lab, "lab03")


def test_lab03_in_korean_runs_cell_by_cell_and_every_step_passes(page, lab, shots):
    needs_korean_fonts()
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

    assert drawn_with_cjk(page, page.locator(f"{nb.NOTEBOOK} li[data-condition]").last), \
        "Hangul is drawn with a CJK font, not boxes"
