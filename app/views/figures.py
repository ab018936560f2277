"""Plotly figures onto pages: JSON in a non-executing script element that a static script draws.

The admin's Content-Security-Policy runs no inline script without the request's nonce, and
Plotly's own HTML output is an inline script; so a page carries each figure as
`<script type="application/json">` (data, never run) and app/static/closer/charts.js draws
it with the plotly.min.js this app serves (app.views.assets).
"""
from __future__ import annotations

from dataclasses import dataclass

import plotly.io as pio
from markupsafe import Markup

# JSON is safe inside <script> once nothing in it can close the element or open a comment.
_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def figure_json(fig) -> Markup:
    text = pio.to_json(fig, validate=False)
    for raw, escaped in _ESCAPES.items():
        text = text.replace(raw, escaped)
    return Markup(text)


@dataclass
class ChartSlot:
    """One chart on a page: the figure, or the sentence shown instead when there is no data."""

    dom_id: str
    figure: object | None
    empty_message: str = ""

    @property
    def json(self) -> Markup | None:
        return figure_json(self.figure) if self.figure is not None else None


def slot(dom_id: str, has_data: bool, build, empty_message: str) -> ChartSlot:
    """Build the figure only when there is something to draw."""
    return ChartSlot(dom_id, build() if has_data else None, empty_message)
