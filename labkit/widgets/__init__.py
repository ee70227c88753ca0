"""The lessons' interactive widgets (ipywidgets), each with a static figure for where no kernel
runs: `coursebuild` stores a widget cell's figure, drawn by the same code with the default
values, as the cell's output (the cell's `static=` attribute names the function; see
coursebuild/README.md, "Static figures"), so GitHub and a static render show a picture, and
running the cell replaces it with the live widget.

- `density_widget()`: lesson 01, how many apps fit on one host as VMs or as containers (`density.py`)
- `pricing_calculator()`: lesson 08, cost per day and month per service, and monthly cost
  against load (`pricing.py`, the plot in `costplot.py`, the prices in labkit.pricing)
- `decision_tree_widget()`: lesson 07, the decision tree's questions as buttons, to a service, its row of
  table 7.2 and the reason (`decision_tree.py`, the tree and the table in labkit.choosing)
- `strategy_simulator()`: lesson 06, a rolling, blue/green or canary rollout with a good or bad v2
  (`strategies.py`, the model in labkit.strategies)

Labels are in the notebook's language (labkit.messages). Figures are SVG with their text as
text (the browser's fonts draw Hangul), byte-identical for the same values (`svg.py`).
"""
from __future__ import annotations


def density_widget(lang: str | None = None):
    from labkit.widgets.density import DensityWidget

    return DensityWidget(lang).box


def pricing_calculator(lang: str | None = None):
    from labkit.widgets.pricing import PricingCalculator

    return PricingCalculator(lang).box


def decision_tree_widget(lang: str | None = None):
    from labkit.widgets.decision_tree import DecisionTree

    return DecisionTree(lang).box


def strategy_simulator(lang: str | None = None):
    from labkit.widgets.strategies import StrategySimulator

    return StrategySimulator(lang).box
