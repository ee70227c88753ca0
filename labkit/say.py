"""What the lessons' code cells print, in the notebook's language. A cell is the same code in both
notebooks, so the words come from here (labkit/messages/say.*.json) and the numbers from the cell:
`print(say.busy_month(hours, requests, month))` prints "busy 2 h a day, ..." in the English
notebook and "하루 2시간 바쁨, ..." in the Korean one. Numbers, product names and code identifiers
(a price's group and name, its status `seed`) are printed as they are.
"""
from __future__ import annotations

import unicodedata

from labkit.messages import current_language, text


def _lang(lang: str | None) -> str:
    return lang or current_language()


def _columns(words: str) -> int:
    """Width in a monospace font: Hangul takes two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in words)


def _pad(words: str, width: int) -> str:
    return words + " " * max(0, width - _columns(words))


# -- lesson 01 ---------------------------------------------------------------------------------------
def density(vms: int, containers: int, lang: str | None = None) -> str:
    """Lesson 01's density what-if: how many apps fit as VMs and as containers."""
    return text("say.density", _lang(lang), vms=vms, containers=containers)


# -- lesson 08 ---------------------------------------------------------------------------------------
def checked(data: dict, lang: str | None = None) -> str:
    """The prices' date and how many days a month counts."""
    return text("say.prices.checked", _lang(lang), date=data["checked"], days=data["days_per_month"])


def unit(entry: dict, lang: str | None = None) -> str:
    """A price's unit as prices.yaml writes it in the reader's language (`unit_ko` beside `unit`)."""
    return entry.get(f"unit_{_lang(lang)}", entry["unit"])


def price(group: str, name: str, entry: dict, lang: str | None = None) -> str:
    """One line of the prices table: group, name, figure, status, unit."""
    return f"{group:<10} {name:<26} {entry['value']:>12,g}  {entry['status']:<9}  {unit(entry, lang)}"


def exactly_a_day(total: float, lang: str | None = None) -> str:
    return text("say.exactly_a_day", _lang(lang), amount=f"{total:.4f}")


def without_free_tier(amount: float, lang: str | None = None) -> str:
    """GKE's cost with no free-tier credit left (a second cluster of the same billing account)."""
    return text("say.without_free_tier", _lang(lang), amount=f"{amount:.2f}")


def busy_month(hours: float, requests: int, month, lang: str | None = None) -> str:
    """Cloud Run's month for a load: busy hours a day, requests a month, the bill rounded."""
    return text("say.busy_month", _lang(lang), hours=f"{hours:g}", requests=f"{requests:,}",
                amount=f"{month.rounded:.2f}")


def crossing(vcpu: float, memory_gb: float, hours: float | None, other: str = "fargate",
             lang: str | None = None) -> str:
    """Where Cloud Run starts to cost more than `other` (labkit.pricing.crossing's hours, or None)."""
    from labkit.widgets.costplot import service_label

    lang = _lang(lang)
    params = {"vcpu": f"{vcpu:g}", "memory": f"{memory_gb:g}", "other": service_label(other, lang)}
    if hours is None:
        return text("say.crossing.never", lang, **params)
    return text("say.crossing", lang, hours=f"{hours:.1f}", **params)


SAVINGS = ("full", "right_sized", "spot")


def saving(what: str, month, lang: str | None = None) -> str:
    """One line of 8.5's comparison (`what`: full, right_sized or spot), the amounts lined up."""
    lang = _lang(lang)
    labels = {key: text(f"say.saving.{key}", lang) for key in SAVINGS}
    width = max(_columns(label) for label in labels.values()) + 2
    return f"{_pad(labels[what], width)}${month.rounded:7.2f}"
