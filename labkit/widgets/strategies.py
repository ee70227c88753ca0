"""Lesson 06's deployment-strategy simulator: pick rolling, blue/green or canary, make v2 bad or not,
and see the rollout the model in labkit.strategies gives: the share of requests per version, the
failed requests, the tasks that run, the alarm and the rollback. The static figure (where no kernel
runs) shows the three strategies side by side with a bad v2: the comparison the lesson draws."""
from __future__ import annotations

from html import escape

from labkit.messages import current_language, text
from labkit.strategies import STRATEGIES, Settings, Timeline, simulate
from labkit.widgets import svg

COLOURS = {"v1": "#2680c2", "v2": "#d9822b", "failed": "#c92a2a", "event": "#52606d", "grid": "#e4e7eb"}
DEFAULTS = {"strategy": "canary", "v2_bad": False, "instances": 4, "canary_percent": 10, "bake_minutes": 5}


def settings(strategy: str, v2_bad: bool, instances: int, canary_percent: int, bake_minutes: float) -> Settings:
    return Settings(strategy=strategy, v2_bad=v2_bad, instances=instances, canary_percent=canary_percent,
                    bake_s=int(bake_minutes * 60))


def _minutes(seconds: int | None) -> str:
    return "-" if seconds is None else f"{seconds / 60:.1f}".rstrip("0").rstrip(".")


def summary(timeline: Timeline, lang: str | None = None) -> str:
    """One sentence on how the rollout ended, in the reader's language (default: the notebook's)."""
    lang = lang or current_language()
    name = text(f"strategies.name.{timeline.settings.strategy}", lang)
    common = {"strategy": name, "tasks": timeline.peak_tasks, "failed": f"{timeline.failed_requests:,}"}
    if timeline.outcome == "rolled_back":
        return text("strategies.summary.rolled_back", lang, alarm=_minutes(timeline.alarm_s),
                    back=_minutes(timeline.done_s), **common)
    if timeline.outcome == "done":
        return text("strategies.summary.done", lang, promoted=_minutes(timeline.promoted_s),
                    done=_minutes(timeline.done_s), **common)
    return text("strategies.summary.unfinished", lang, **common)


def _draw(share_ax, tasks_ax, timeline: Timeline, lang: str, legend: bool) -> None:
    minutes = [t / 60 for t in timeline.t]
    share_ax.stackplot(minutes, timeline.share_v1, timeline.share_v2, step="post",
                       colors=[COLOURS["v1"], COLOURS["v2"]], labels=["v1", "v2"], gid="share")
    share_ax.step(minutes, timeline.errors, where="post", color=COLOURS["failed"], linewidth=2,
                  label=text("strategies.legend.failed", lang), gid="failed")
    for when, what in timeline.events:
        if what in ("alarm", "shifted"):
            share_ax.axvline(when / 60, color=COLOURS["event"], linestyle=":" if what == "shifted" else "--",
                             linewidth=1, gid=what)
    if timeline.alarm_s is not None:
        share_ax.text(timeline.alarm_s / 60, 1.02, text("strategies.event.alarm", lang), fontsize=8,
                      ha="center", va="bottom", color=COLOURS["event"])
    share_ax.set_ylim(0, 1)
    share_ax.set_yticks([0, 0.5, 1])
    share_ax.set_yticklabels(["0%", "50%", "100%"])
    share_ax.set_title(text(f"strategies.name.{timeline.settings.strategy}", lang), fontsize=11, pad=14)
    tasks_ax.stackplot(minutes, timeline.tasks_v1, timeline.tasks_v2, step="post",
                       colors=[COLOURS["v1"], COLOURS["v2"]], gid="tasks")
    tasks_ax.set_ylim(0, 2 * timeline.settings.instances + 1)
    tasks_ax.set_xlabel(text("strategies.axis.minutes", lang), fontsize=9)
    for ax in (share_ax, tasks_ax):
        ax.set_xlim(0, max(minutes))
        ax.grid(True, color=COLOURS["grid"], linewidth=0.6)
    if legend:
        share_ax.legend(loc="lower left", fontsize=8, framealpha=0.9)


def rollout_figure(timelines: list[Timeline], lang: str | None = None):
    """The matplotlib Figure (not pyplot): one column per timeline, share of requests above, tasks below."""
    import matplotlib
    from matplotlib.figure import Figure

    lang = lang or current_language()
    with matplotlib.rc_context(svg.MATPLOTLIB_RC):
        fig = Figure(figsize=(3.6 * len(timelines) + 1.0, 4.4))
        axes = fig.subplots(2, len(timelines), squeeze=False, gridspec_kw={"height_ratios": [2, 1]})
        for column, timeline in enumerate(timelines):
            _draw(axes[0][column], axes[1][column], timeline, lang, legend=column == 0)
        axes[0][0].set_ylabel(text("strategies.axis.share", lang), fontsize=9)
        axes[1][0].set_ylabel(text("strategies.axis.tasks", lang), fontsize=9)
        # room on the left for the y labels and on the right for the last tick, one column or three
        fig.subplots_adjust(left=0.08 if len(timelines) > 1 else 0.2, right=0.97 if len(timelines) > 1 else 0.93,
                            top=0.88, bottom=0.13, wspace=0.25, hspace=0.3)
    return fig


def static_figure(lang: str) -> dict:
    """The built notebook's picture in the simulator's place (coursebuild calls this): the three
    strategies with a bad v2, and what each cost as its text."""
    timelines = [simulate(strategy=name, v2_bad=True) for name in STRATEGIES]
    alt = text("strategies.static.alt", lang) + " " + " ".join(summary(t, lang) for t in timelines)
    return svg.mime_bundle(svg.figure_svg(rollout_figure(timelines, lang)), alt)


class StrategySimulator:
    def __init__(self, lang: str | None = None):
        import ipywidgets as widgets

        self.lang = lang or current_language()
        style, layout = {"description_width": "16em"}, widgets.Layout(width="40em")
        d = DEFAULTS
        self.strategy = widgets.ToggleButtons(
            options=[(text(f"strategies.name.{name}", self.lang), name) for name in STRATEGIES],
            value=d["strategy"], description=text("strategies.control.strategy", self.lang), style=style)
        self.bad = widgets.Checkbox(value=d["v2_bad"], description=text("strategies.control.bad", self.lang),
                                    style=style, layout=layout)
        self.instances = widgets.IntSlider(value=d["instances"], min=2, max=10, description=text(
            "strategies.control.instances", self.lang), style=style, layout=layout, continuous_update=False)
        self.canary = widgets.IntSlider(value=d["canary_percent"], min=5, max=50, step=5, description=text(
            "strategies.control.canary", self.lang), style=style, layout=layout, continuous_update=False)
        self.bake = widgets.IntSlider(value=d["bake_minutes"], min=1, max=10, description=text(
            "strategies.control.bake", self.lang), style=style, layout=layout, continuous_update=False)
        self.result = widgets.HTML(value="")
        self.plot = widgets.HTML(value="")
        self.timeline = None   # the last rollout drawn (tests read it)
        for control in (self.strategy, self.bad, self.instances, self.canary, self.bake):
            control.observe(lambda _change: self.update(), names="value")
        self.box = widgets.VBox([self.strategy, self.bad, self.instances, self.canary, self.bake,
                                 self.result, self.plot])
        self.update()

    def update(self) -> None:
        self.timeline = simulate(settings(self.strategy.value, self.bad.value, self.instances.value,
                                          self.canary.value, self.bake.value))
        canary = self.strategy.value == "canary"
        self.canary.disabled = self.bake.disabled = not canary   # the canary's own settings
        self.result.value = f"<p><b>{escape(summary(self.timeline, self.lang))}</b></p>"
        self.plot.value = svg.figure_svg(rollout_figure([self.timeline], self.lang))


def strategy_simulator(lang: str | None = None):
    """The simulator as a widget for a notebook cell."""
    return StrategySimulator(lang).box
