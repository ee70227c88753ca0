"""Lesson 08's plot: each service's monthly cost against how many hours a day the app is busy,
and where Cloud Run (billed only while busy) crosses Fargate (one task running all day)."""
from __future__ import annotations

from labkit import pricing
from labkit.messages import current_language, text
from labkit.widgets import svg

COLOURS = {"fargate": "#d9822b", "eks_fargate": "#8e6c8a", "eks_ec2": "#7b8794", "gke_autopilot": "#2f8132",
           "gke_standard": "#9fb3c8", "cloud_run": "#2680c2"}


# Product names read the same in both languages; the two with nodes say so in the reader's
PRODUCT_NAMES = {"fargate": "Fargate (ECS)", "eks_fargate": "EKS + Fargate", "gke_autopilot": "GKE Autopilot",
                 "cloud_run": "Cloud Run"}


def service_label(service: str, lang: str) -> str:
    if service in PRODUCT_NAMES:
        return PRODUCT_NAMES[service]
    group = {"eks_ec2": "eks", "gke_standard": "gke"}[service]
    return text(f"widgets.service.{service}", lang, node=pricing.prices()[group]["node_hour"]["node"]["name"])


def cost_figure(vcpu: float, memory_gb: float, requests_per_month: float = 0, lang: str | None = None,
                hours_per_day: float | None = None):
    """The matplotlib Figure (not pyplot: nothing global, nothing shown by itself). Its lines
    carry the services' names as labels; lab 08's checks read plots the same way. `hours_per_day`:
    a dashed line where the calculator's slider is."""
    import matplotlib
    from matplotlib.figure import Figure

    lang = lang or current_language()
    curves = pricing.monthly_against_load(vcpu, memory_gb, requests_per_month)
    hours = curves["hours"]
    with matplotlib.rc_context(svg.MATPLOTLIB_RC):
        fig = Figure(figsize=(8.4, 4.2))
        ax = fig.add_axes((0.08, 0.12, 0.56, 0.76))
        for service in pricing.SERVICES:
            ax.plot(hours, curves[service], label=service_label(service, lang), color=COLOURS[service],
                    linewidth=2.4 if service in ("fargate", "cloud_run") else 1.4, gid=service)
        cross = pricing.crossing(vcpu, memory_gb, requests_per_month)
        if cross is not None:
            at = pricing.cost("fargate", vcpu, memory_gb, 24, period="month").total
            ax.plot([cross], [at], "o", color="#1f2933", gid="crossing")
            note = text("widgets.plot.crossing", lang, hours=f"{cross:.1f}")
        else:
            note = text("widgets.plot.no_crossing", lang)
        if hours_per_day is not None:
            ax.axvline(hours_per_day, color="#52606d", linestyle="--", linewidth=1, gid="hours")
        ax.set_xlim(0, 24)
        ax.set_xticks(range(0, 25, 4))
        ax.set_ylim(0, max(max(values) for key, values in curves.items() if key != "hours") * 1.08)
        ax.set_xlabel(text("widgets.plot.xlabel", lang))
        ax.set_ylabel(text("widgets.plot.ylabel", lang))
        ax.set_title(text("widgets.plot.title", lang, vcpu=f"{vcpu:g}", memory=f"{memory_gb:g}"), fontsize=11)
        ax.grid(True, color="#e4e7eb", linewidth=0.6)
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, fontsize=9)
        fig.text(0.66, 0.14, note, fontsize=9, wrap=True, gid="crossing-note")
    fig.labkit_note = note  # what the figure says about the crossing, for the widget and the tests
    return fig


def cost_svg(vcpu: float, memory_gb: float, requests_per_month: float = 0, lang: str | None = None,
             hours_per_day: float | None = None) -> str:
    return svg.figure_svg(cost_figure(vcpu, memory_gb, requests_per_month, lang, hours_per_day))



def figure_bundle(vcpu: float, memory_gb: float, requests_per_month: float = 0, lang: str | None = None) -> dict:
    """The plot as a notebook output: the SVG and a sentence saying what it shows."""
    lang = lang or current_language()
    fig = cost_figure(vcpu, memory_gb, requests_per_month, lang)
    alt = f"{text('widgets.plot.title', lang, vcpu=f'{vcpu:g}', memory=f'{memory_gb:g}')}. {fig.labkit_note}."
    return svg.mime_bundle(svg.figure_svg(fig), alt)


def show(vcpu: float = 0.5, memory_gb: float = 1.0, requests_per_month: float = 0, lang: str | None = None) -> None:
    """The plot in a notebook, displayed as its SVG bytes (IPython's SVG class would rewrite them;
    these are what the static figure stores, and the browser draws the text, Hangul included)."""
    from IPython.display import display

    display(figure_bundle(vcpu, memory_gb, requests_per_month, lang), raw=True)


def static_figure(lang: str) -> dict:
    """The built notebook's picture in `show()`'s place (coursebuild calls this): lesson 08's example."""
    return figure_bundle(0.5, 1.0, 0, lang)
