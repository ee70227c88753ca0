"""Lesson 08's widgets as a student meets them in JupyterLab, in Korean: before anything runs, the
plot and the calculator show their static figures (SVG outputs the build stored); after Run All
the calculator is a live widget with its four sliders labelled in Korean and the seed's $0.60,
and moving the vCPU slider with the keyboard recomputes the table. (Its figures and callbacks are
tested without a browser in tests/test_widgets.py; the notebook runs in tests/notebooks/test_lesson08.py.)"""
from __future__ import annotations

from tests.browser import notebook as nb
from tests.browser.server import ROOT
from tests.browser.test_lab03 import set_ui_language, show

LESSON = "ko/08_pricing.ipynb"
SVG = ".jp-OutputArea-output[data-mime-type='image/svg+xml']"


def test_lesson08_static_figures_then_live_calculator(page, student_lab, shots):
    source = nb.read_notebook(ROOT / "course" / LESSON)
    ids = [c.get("id") for c in source["cells"]]
    set_ui_language(student_lab, "en")  # JupyterLab's menus in English (run_all); the notebook is Korean
    notebook = nb.open_notebook(page, student_lab, LESSON, len(source["cells"]), workspace="lesson08")
    nb.wait_for_kernel_idle(page)
    nb.dismiss_news_prompt(page)
    cells = nb.cells(notebook)
    calculator = cells.nth(ids.index("calculator"))

    # Not run yet: the stored static figures stand in the widget cells' place
    show(calculator)
    shots.take(page, "static")
    for cell_id in ("cost_plot", "calculator"):
        figure = cells.nth(ids.index(cell_id)).locator(SVG)
        assert figure.count() == 1, cell_id
        # JupyterLab draws an SVG output as an <img> of it (a data URL), text and all
        drawn = figure.evaluate("el => { const img = el.querySelector('img'); "
                                "return img && img.naturalWidth > 0 ? decodeURIComponent(img.src) : ''; }")
        assert "월 비용(USD)" in drawn, cell_id

    nb.run_all(page, 120_000)
    nb.wait_for_kernel_idle(page)
    sliders = calculator.locator(".widget-slider")
    sliders.first.wait_for(timeout=30_000)
    show(calculator)
    shots.take(page, "live")
    assert calculator.locator(SVG).count() == 0  # the live widget replaced the static figure
    labels = calculator.locator(".widget-slider .widget-label").all_inner_texts()
    assert labels == ["vCPU 수", "메모리(GB)", "하루 실행 시간", "월 요청 수(백만)"], labels
    table = lambda: calculator.locator(".widget-html-content table").inner_text()
    assert "Fargate (ECS)\t$0.60\t$17.77" in table(), table()

    # One step right on the vCPU slider (0.5 -> 0.75): Fargate's day becomes $0.73 + $0.11
    calculator.locator(".widget-slider .noUi-handle").first.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("el => el.innerText.includes('$0.84')", arg=calculator.element_handle(), timeout=30_000)
    shots.take(page, "moved")
    assert "Fargate (ECS)\t$0.84" in table(), table()
    assert nb.errors_in(calculator) == []
