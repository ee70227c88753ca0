"""Lesson 08's pricing calculator: sliders for vCPU, memory, hours a day and requests a month;
each service's cost per day and per month (labkit.pricing) and the plot of monthly cost against
load (costplot.py), redrawn on every change."""
from __future__ import annotations

from html import escape

from labkit import pricing
from labkit.messages import current_language, text
from labkit.widgets import costplot, svg

# The seed's worked example (0.5 vCPU, 1 GB, all day), and 1 million requests a month
DEFAULTS = {"vcpu": 0.5, "memory_gb": 1.0, "hours_per_day": 24.0, "requests_millions": 1.0}
PRICE_PAGES = (("AWS Fargate", "fargate", "vcpu_hour"), ("Amazon EKS", "eks", "cluster_hour"),
               ("GKE", "gke", "cluster_hour"), ("Cloud Run", "cloud_run", "vcpu_second"))


def rows(vcpu: float, memory_gb: float, hours_per_day: float, requests_millions: float) -> list[tuple[str, float, float]]:
    """(service, per day, per month) in USD for each service, its lines added in cents as a bill
    (and the seed) adds them: Fargate 0.5 vCPU, 1 GB, all day: $0.60."""
    requests = requests_millions * 1e6
    return [(service,
             pricing.cost(service, vcpu, memory_gb, hours_per_day, requests, "day").rounded,
             pricing.cost(service, vcpu, memory_gb, hours_per_day, requests, "month").rounded)
            for service in pricing.SERVICES]


def note_html(lang: str) -> str:
    data = pricing.prices()
    links = ", ".join(f'<a href="{escape(data[group][name]["source"])}" target="_blank">{escape(label)}</a>'
                      for label, group, name in PRICE_PAGES)
    return text("widgets.pricing.note", lang, date=data["checked"], days=data["days_per_month"], links=links)


def table_html(vcpu, memory_gb, hours_per_day, requests_millions, lang: str) -> str:
    head = "".join(f"<th style='text-align:{align};padding:2px 10px'>{text(key, lang)}</th>" for key, align in
                   (("widgets.pricing.service", "left"), ("widgets.pricing.per_day", "right"),
                    ("widgets.pricing.per_month", "right")))
    body = "".join(f"<tr><td style='padding:2px 10px'>{escape(costplot.service_label(service, lang))}</td>"
                   f"<td style='text-align:right;padding:2px 10px'>${day:,.2f}</td>"
                   f"<td style='text-align:right;padding:2px 10px'>${month:,.2f}</td></tr>"
                   for service, day, month in rows(vcpu, memory_gb, hours_per_day, requests_millions))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def table_text(vcpu, memory_gb, hours_per_day, requests_millions, lang: str) -> str:
    lines = [f"{text('widgets.pricing.service', lang):<34}{text('widgets.pricing.per_day', lang):>10}"
             f"{text('widgets.pricing.per_month', lang):>12}"]
    lines += [f"{costplot.service_label(service, lang):<34}{f'${day:,.2f}':>10}{f'${month:,.2f}':>12}"
              for service, day, month in rows(vcpu, memory_gb, hours_per_day, requests_millions)]
    return "\n".join(lines)


def static_figure(lang: str) -> dict:
    """The built notebook's picture in the calculator's place (coursebuild calls this): the plot
    for the default values, and the table as its text."""
    d = DEFAULTS
    plot = costplot.cost_svg(d["vcpu"], d["memory_gb"], d["requests_millions"] * 1e6, lang, d["hours_per_day"])
    return svg.mime_bundle(plot, table_text(d["vcpu"], d["memory_gb"], d["hours_per_day"], d["requests_millions"], lang))


class PricingCalculator:
    def __init__(self, lang: str | None = None):
        import ipywidgets as widgets

        self.lang = lang or current_language()
        style, layout = {"description_width": "14em"}, widgets.Layout(width="38em")

        def slider(key, value, low, high, step, fmt):
            return widgets.FloatSlider(value=value, min=low, max=high, step=step, description=text(key, self.lang),
                                       style=style, layout=layout, continuous_update=False, readout_format=fmt)

        d = DEFAULTS
        self.vcpu = slider("widgets.pricing.vcpu", d["vcpu"], 0.25, 4, 0.25, ".2f")
        self.memory = slider("widgets.pricing.memory", d["memory_gb"], 0.5, 16, 0.5, ".1f")
        self.hours = slider("widgets.pricing.hours", d["hours_per_day"], 0, 24, 1, ".0f")
        self.requests = slider("widgets.pricing.requests", d["requests_millions"], 0, 50, 0.5, ".1f")
        self.table = widgets.HTML(value="")
        self.plot = widgets.HTML(value="")
        self.figure = None  # the last matplotlib Figure drawn (tests read its lines)
        hint = widgets.HTML(value=f"<p>{text('widgets.pricing.hours_note', self.lang)}</p>")
        note = widgets.HTML(value=f"<p><small>{note_html(self.lang)}</small></p>")
        for control in (self.vcpu, self.memory, self.hours, self.requests):
            control.observe(lambda _change: self.update(), names="value")
        self.box = widgets.VBox([hint, self.vcpu, self.memory, self.hours, self.requests, self.table, self.plot, note])
        self.update()

    def values(self) -> tuple[float, float, float, float]:
        return self.vcpu.value, self.memory.value, self.hours.value, self.requests.value

    def update(self) -> None:
        vcpu, memory, hours, millions = self.values()
        self.table.value = table_html(vcpu, memory, hours, millions, self.lang)
        self.figure = costplot.cost_figure(vcpu, memory, millions * 1e6, self.lang, hours)
        self.plot.value = svg.figure_svg(self.figure)
