"""Lab 06 (Cloud Run) as a student meets it in a real browser. In English: steps 1 and 2 (deploy, the
public URL) typed and both "Check my progress" buttons passing, in English. In Korean, with JupyterLab's
UI in Korean: the setup pushes the image; the student types the lesson's `gcloud run deploy` (v1), the
URL, v2's `--no-traffic --tag=v2` deploy; step 4's "Check my progress" pressed before the canary says
in Korean that no update shared the traffic; Exercise 4's `update-traffic --to-revisions={NEW}=10,
{OLD}=90` typed, 500 requests sent, and the button then shows the canary's configuration and its
observed split (read from the request log) passing, in Korean. The whole solution runs (and is
graded) in the grader's samples (good, good_ko); the other steps' widgets are the same widget.
"""
from __future__ import annotations

import pytest

from labkit.messages import text
from tests.browser import notebook as nb
from tests.browser import student
from tests.browser.conftest import student_server
from tests.browser.test_lab03 import needs_korean_fonts, reset_lab_cloud, run_cells, set_ui_language, show

SETUP_MS = 180_000  # the image build and push, or a deployment, under load
SETUP = ("start", "setup_app", "setup_registry", "setup_push")  # the cells before step 1


@pytest.fixture(scope="module")
def lab(browser, tmp_path_factory):
    yield from student_server(tmp_path_factory, "lab06")


@pytest.fixture
def opened(request, page, lab):
    """Lab 06 in the language the test is parametrized with (indirect), JupyterLab's UI in that language,
    from the empty cloud a lab promises (`labkit reset --lab lab06`, before and after), its setup cells
    run (the image pushed): a student.OpenLab."""
    lang = request.param
    if lang == "ko":
        needs_korean_fonts()
    reset_lab_cloud(lab, "lab06")
    set_ui_language(lab, {"en": "en", "ko": "ko_KR"}[lang])
    lab06 = student.open_lab(page, lab, lang, "lab06")
    for cell_id in SETUP:
        nb.run_cell(page, lab06.cell(cell_id), timeout_ms=SETUP_MS)
        assert not nb.errors_in(lab06.cell(cell_id)), (cell_id, nb.errors_in(lab06.cell(cell_id)))
    yield lab06
    reset_lab_cloud(lab, "lab06")


@pytest.mark.parametrize("opened", ["en"], indirect=True)
def test_lab06_in_english_deploy_and_url_steps_pass(page, opened, shots):
    notebook_json, solved, notebook, cell = opened.notebook_json, opened.solved, opened.notebook, opened.cell

    for cell_id in ("deploy_v1", "service_url"):
        nb.replace_cell_text(page, cell(cell_id), solved[cell_id])
    shown = run_cells(page, notebook, notebook_json, ["deploy_v1", "list_v1"])
    assert "Service URL: https://my-service-123456789012.asia-northeast3.run.app" in shown["deploy_v1"], shown

    for progress, expected in (("progress_deploy", "Hello from GCP!"),
                               ("progress_url", "anybody may call the URL")):
        if progress == "progress_url":
            run_cells(page, notebook, notebook_json, ["describe_url", "service_url", "iam_policy", "hit_v1"])
        nb.run_cell(page, cell(progress))
        conditions = nb.check_progress(page, cell(progress))
        shots.take(page, progress)
        assert conditions and all(c.passed for c in conditions), (progress, conditions)
        widget = nb.widget_text(cell(progress))
        assert text("progress.all_passed", "en") in widget and expected in widget, widget
        assert not nb.HANGUL.search(widget), f"the English lab's widget speaks English: {widget!r}"


@pytest.mark.parametrize("opened", ["ko"], indirect=True)
def test_lab06_in_korean_canary_step_tells_then_passes(page, opened, shots):
    notebook_json, solved, notebook, cell = opened.notebook_json, opened.solved, opened.notebook, opened.cell

    def type_and_run(cell_id: str) -> str:
        nb.replace_cell_text(page, cell(cell_id), solved[cell_id])
        nb.run_cell(page, cell(cell_id), timeout_ms=SETUP_MS)
        assert not [e for e in nb.errors_in(cell(cell_id)) if "Traceback" in e], nb.errors_in(cell(cell_id))
        return nb.output_text(cell(cell_id))

    assert "v1: digest: sha256:" in nb.output_text(cell("setup_push"))

    # Steps 1-3 as the student types them: v1, its URL, v2 with no traffic
    assert "Service URL: https://my-service-123456789012.asia-northeast3.run.app" in type_and_run("deploy_v1")
    run_cells(page, notebook, notebook_json, ["list_v1", "describe_url"])
    type_and_run("service_url")
    run_cells(page, notebook, notebook_json, ["iam_policy", "hit_v1"])
    assert "serving 0 percent of traffic" in type_and_run("deploy_v2")
    shown = run_cells(page, notebook, notebook_json, ["describe_v2", "hit_tag", "revision_names"])
    assert "Hello from GCP-v2!" in shown["hit_tag"], shown
    assert "NEW = my-service-00002-" in shown["revision_names"], shown

    # Step 4 before the canary: no update shared the traffic, said in Korean
    nb.run_cell(page, cell("progress_canary"))
    conditions = nb.check_progress(page, cell("progress_canary"))
    shots.take(page, "progress-not-yet")
    assert conditions and not any(c.passed for c in conditions), conditions
    widget = nb.widget_text(cell("progress_canary"))
    assert "트래픽을 나눈 업데이트가 없습니다" in widget and nb.HANGUL.search(widget), widget

    # Exercise 4's command, 500 requests, and the button again: configuration and observed split pass
    assert "10% my-service-00002-" in type_and_run("canary_traffic")
    nb.run_cell(page, cell("canary_hit"), timeout_ms=SETUP_MS)
    show(cell("canary_hit"))
    shots.take(page, "canary-hit")
    assert "Hello from GCP-v2!" in nb.output_text(cell("canary_hit"))
    nb.run_cell(page, cell("progress_canary"))   # a fresh button, as a student reruns the cell
    conditions = nb.check_progress(page, cell("progress_canary"))
    shots.take(page, "progress-passed")
    assert conditions and all(c.passed for c in conditions), conditions
    widget = nb.widget_text(cell("progress_canary"))
    assert text("progress.all_passed", "ko") in widget and "요청 로그를 보면" in widget, widget
    run_cells(page, notebook, notebook_json, ["canary"])
