"""Tiny helpers to write SVG/HTML markup safely (one escaping rule for charts and overlays)."""

from __future__ import annotations

import math
from html import escape


def num(value: float, digits: int = 2) -> str:
    """A coordinate as short text: ``12.5``, ``3``, never ``-0`` or ``nan`` (NaN becomes 0)."""
    if not math.isfinite(value):
        return "0"
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def attrs(**values: object) -> str:
    """`` name="value"`` pairs, escaped; ``None`` and ``False`` are left out, ``_`` -> ``-``.

    >>> attrs(data_score="0.5", hidden=None, class_="gt")
    ' data-score="0.5" class="gt"'
    """
    out = []
    for key, value in values.items():
        if value is None or value is False:
            continue
        name = key.rstrip("_").replace("_", "-")
        text = "" if value is True else str(value)
        out.append(f' {name}="{escape(text, quote=True)}"')
    return "".join(out)


def text(value: object) -> str:
    """Element content, escaped."""
    return escape(str(value), quote=False)
