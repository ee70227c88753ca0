"""Lesson 07's decision tree (7.1) as clickable questions: Yes or No, one question at a time, to the
service the tree leads to, its row of table 7.2 and the reason, with Back and Start again. The tree,
its answers and the table are labkit.choosing's (the lesson's cells use the same); the words are
the notebook's language (labkit/messages/choosing.*.json). The static figure (where no kernel
runs) is the whole tree, every leaf with its service and its row of 7.2, drawn as the course's
diagrams are (coursebuild.diagrams, at build time)."""
from __future__ import annotations

from html import escape

from labkit import choosing
from labkit.messages import current_language, text

TITLE_PATH = "labkit/choosing.py"  # what the drawn tree comes from (the SVG's "built from" line)


def answer_word(value: bool, lang: str) -> str:
    return text("choosing.answer.yes" if value else "choosing.answer.no", lang)


def question_text(key: str, lang: str) -> str:
    return text(f"choosing.question.{key}", lang)


def use_case_row(serverless: bool, kubernetes: bool, lang: str) -> dict[str, str]:
    """The leaf's row of table 7.2 as the lesson's table shows it in `lang`."""
    use_case = choosing.row(serverless, kubernetes)
    aws, gcp = choosing.USE_CASES[use_case]
    return {"use_case": text(f"choosing.row.{use_case}", lang), "aws": choosing.service(aws),
            "gcp": choosing.service(gcp), "why": text(f"choosing.why.{use_case}", lang)}


def reason(serverless: bool, kubernetes: bool, lang: str) -> str:
    return text(f"choosing.reason.{choosing.leaf(serverless, kubernetes)}", lang)


def result_html(serverless: bool, kubernetes: bool, lang: str) -> str:
    """What the widget says at a leaf: the service, why, and its row of 7.2 as a small table."""
    row = use_case_row(serverless, kubernetes, lang)
    service = choosing.recommend(serverless, kubernetes)
    head = "".join(f"<th style='text-align:left;padding:2px 8px'>{escape(text(f'choosing.column.{c}', lang))}</th>"
                   for c in ("use_case", "aws", "gcp", "why"))
    cells = "".join(f"<td style='padding:2px 8px'>{escape(row[c])}</td>" for c in ("use_case", "aws", "gcp", "why"))
    return (f"<p><b>{escape(text('choosing.recommendation', lang, service=service))}</b></p>"
            f"<p>{escape(reason(serverless, kubernetes, lang))}</p>"
            f"<p>{escape(text('choosing.row_heading', lang))}</p>"
            f"<table><tr>{head}</tr><tr>{cells}</tr></table>")


# -- the static figure -------------------------------------------------------------------------------
def tree_diagram():
    """The whole tree as a coursebuild diagram: each question, each answer's frame, each leaf with its
    service and its row of 7.2, in both languages."""
    from coursebuild.diagrams import Box, Diagram, Group, Label, Row

    def label(key: str, **params) -> Label:
        return Label(text(key, "en", **params), text(key, "ko", **params))

    def same(words: str) -> Label:
        return Label(words, words)

    def leaf_cell(serverless: bool, kubernetes: bool) -> list[Label]:
        use_case = choosing.row(serverless, kubernetes)
        aws, gcp = (choosing.service(name) for name in choosing.USE_CASES[use_case])
        return [label(f"choosing.answer.{'yes' if kubernetes else 'no'}"),
                same(choosing.recommend(serverless, kubernetes)),
                Label(text("choosing.static.row", "en", use_case=text(f"choosing.row.{use_case}", "en")),
                      text("choosing.static.row", "ko", use_case=text(f"choosing.row.{use_case}", "ko"))),
                same(f"AWS: {aws} · GCP: {gcp}")]

    items = [Box(label(f"choosing.question.{choosing.FIRST}"))]
    for serverless in (True, False):
        items.append(Group(label(f"choosing.answer.{'yes' if serverless else 'no'}"), [
            Box(label(f"choosing.question.{choosing.SECOND[serverless]}")),
            Row([leaf_cell(serverless, True), leaf_cell(serverless, False)])]))
    items.append(Box(label("choosing.static.run")))
    return Diagram("choosing_decision_tree_widget", TITLE_PATH, label("choosing.static.title"), items)


def alt_text(lang: str) -> str:
    """Every path in words, for whatever shows no picture."""
    lines = [text("choosing.static.title", lang) + "."]
    for serverless, kubernetes in choosing.PATHS:
        first, second = choosing.questions((serverless, kubernetes))
        row = use_case_row(serverless, kubernetes, lang)
        lines.append(text("choosing.static.path", lang, first=question_text(first, lang),
                          first_answer=answer_word(serverless, lang), second=question_text(second, lang),
                          second_answer=answer_word(kubernetes, lang),
                          service=choosing.recommend(serverless, kubernetes),
                          use_case=row["use_case"], aws=row["aws"], gcp=row["gcp"]))
    return "\n".join(lines)


def static_figure(lang: str) -> dict:
    """The built notebook's picture in the widget's place (coursebuild calls this)."""
    import re

    from coursebuild.diagrams import render

    from labkit.widgets import svg

    picture = render(tree_diagram(), lang).decode("utf-8")
    picture = re.sub(r"\A<\?xml[^>]*>\s*<!--[^>]*-->\s*", "", picture)  # inline, as the other figures
    return svg.mime_bundle(picture, alt_text(lang))


# -- the widget ----------------------------------------------------------------------------------------
class DecisionTree:
    """Yes / No buttons for the question the tree asks now; Back undoes the last answer, Start again
    all of them. `answers` is the path so far, `recommendation` the tree's answer at a leaf."""

    def __init__(self, lang: str | None = None):
        import ipywidgets as widgets

        self.lang = lang or current_language()
        self.answers: list[bool] = []
        self.trail = widgets.HTML(value="")
        self.question = widgets.HTML(value="")
        self.yes = widgets.Button(description=answer_word(True, self.lang), button_style="primary")
        self.no = widgets.Button(description=answer_word(False, self.lang), button_style="primary")
        self.back = widgets.Button(description=text("choosing.back", self.lang), icon="arrow-left")
        self.restart = widgets.Button(description=text("choosing.restart", self.lang), icon="refresh")
        self.result = widgets.HTML(value="")
        self.yes.on_click(lambda _button: self.answer(True))
        self.no.on_click(lambda _button: self.answer(False))
        self.back.on_click(lambda _button: self.go_back())
        self.restart.on_click(lambda _button: self.start_again())
        self.box = widgets.VBox([self.trail, self.question, widgets.HBox([self.yes, self.no]), self.result,
                                 widgets.HBox([self.back, self.restart])])
        self.update()

    @property
    def recommendation(self) -> str | None:
        return choosing.recommend(*self.answers) if len(self.answers) == 2 else None

    def answer(self, value: bool) -> None:
        if choosing.next_question(tuple(self.answers)) is not None:
            self.answers.append(value)
            self.update()

    def go_back(self) -> None:
        if self.answers:
            self.answers.pop()
            self.update()

    def start_again(self) -> None:
        self.answers.clear()
        self.update()

    def update(self) -> None:
        lang, answers = self.lang, tuple(self.answers)
        asked = [choosing.FIRST, choosing.SECOND[answers[0]]][:len(answers)] if answers else []
        self.trail.value = "".join(
            f"<p>✓ {escape(text('choosing.answered', lang, question=question_text(q, lang), answer=answer_word(a, lang)))}</p>"
            for q, a in zip(asked, answers))
        now = choosing.next_question(answers)
        if now is None:
            self.question.value = ""
            self.result.value = result_html(*answers, lang)
        else:
            self.question.value = (f"<p>{escape(text('choosing.step', lang, number=len(answers) + 1))}</p>"
                                   f"<h4>{escape(question_text(now, lang))}</h4>"
                                   f"<p>{escape(text(f'choosing.hint.{now}', lang))}</p>")
            self.result.value = ""
        self.yes.disabled = self.no.disabled = now is None
        self.back.disabled = self.restart.disabled = not answers


def decision_tree_widget(lang: str | None = None):
    """The clickable tree as a widget for a notebook cell."""
    return DecisionTree(lang).box
