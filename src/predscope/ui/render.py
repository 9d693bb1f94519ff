"""HTML pages from view data (``ui.views``): the one place templates are rendered.

The server calls ``render_explorer`` / ``render_detail`` / ``render_summary`` from a route and
sends the result with ``CONTENT_SECURITY_POLICY``; it mounts ``STATIC_DIR`` at the URL given in
``Chrome.static_url``. Autoescaping is on; only SVG made by ``ui.overlays`` / ``ui.charts`` is
marked safe.

>>> from predscope.ui.views import Chrome, SummaryView
>>> "<title>Summary" in render_summary(SummaryView(Chrome("Summary"), (), ()))
True
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from predscope.ui.overlays import crop_svg, overlay_svg, score_attr, score_text
from predscope.ui.shapes import OverlayFrame
from predscope.ui.views import (
    ChartsView,
    CompareView,
    DetailView,
    ExplorerView,
    ProjectView,
    RunView,
    StartView,
    SummaryView,
)

STATIC_DIR = Path(__file__).resolve().parent / "static"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
"""Every page's policy: nothing from another origin, no inline script, style or handler."""
ENTRY_MODULE = "app.js"
_IMPORT = re.compile(r"""^import\b[^;]*?\bfrom\s+["']\./([\w.-]+\.js)["']""", re.MULTILINE)


def module_graph(entry: str = ENTRY_MODULE) -> tuple[str, ...]:
    """Every module ``entry`` imports, directly or not, read from the files' own ``import``
    lines. Each page names them as ``modulepreload``, so the browser fetches them all at once
    instead of one level of imports at a time: the page's script starts sooner."""
    found: list[str] = []
    todo = [entry]
    while todo:
        source = (STATIC_DIR / todo.pop()).read_text(encoding="utf-8")
        for name in _IMPORT.findall(source):
            if name != entry and name not in found:
                found.append(name)
                todo.append(name)
    return tuple(sorted(found))


GRID_LABEL_PX = 11.0  # label height on screen in a grid tile about 240 px wide


def _overlay(frame: OverlayFrame, *, testid: str | None = None, grid: bool = False) -> Markup:
    font = max(frame.width, frame.height) / 240 * GRID_LABEL_PX if grid else None
    return Markup(overlay_svg(frame, testid=testid, font_size=font))


def _crop(frame: OverlayFrame, image_url: str, focus: str) -> Markup:
    return Markup(crop_svg(frame, image_url, focus))


def _metric(value: float, digits: int = 3) -> str:
    return "n/a" if value != value or value < 0 else f"{value:.{digits}f}"


@cache
def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("predscope.ui", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        overlay=_overlay,
        crop=_crop,
        metric=_metric,
        score=score_text,
        score_attr=score_attr,
        safe_svg=Markup,
        entry_module=ENTRY_MODULE,
        modules=module_graph(),
    )
    return env


def render_explorer(view: ExplorerView) -> str:
    """The grid of data units with overlays, the filters and the confidence slider."""
    return _env().get_template("explorer.html").render(view=view, chrome=view.chrome)


def render_detail(view: DetailView) -> str:
    """One data unit with zoom and pan, layer toggles, keys and the object table."""
    return _env().get_template("detail.html").render(view=view, chrome=view.chrome)


def render_summary(view: SummaryView) -> str:
    """The model summary: cards, the per-class table and the charts."""
    return _env().get_template("summary.html").render(view=view, chrome=view.chrome)


def render_start(view: StartView) -> str:
    """Every project with its counts, branches and analysed prediction sets."""
    return _env().get_template("start.html").render(view=view, chrome=view.chrome)


def render_project(view: ProjectView) -> str:
    """One project: counts, ontology, branches, data units, the verify listing."""
    return _env().get_template("project.html").render(view=view, chrome=view.chrome)


def render_compare(view: CompareView) -> str:
    """Two prediction sets side by side."""
    return _env().get_template("compare.html").render(view=view, chrome=view.chrome)


def render_compare_interval(view: CompareView) -> str:
    """The compare page's part that holds the intervals, alone: what its module fetches."""
    template = _env().get_template("compare_interval.html")
    return template.render(view=view, chrome=view.chrome)


def render_run(view: RunView) -> str:
    """An analysis run's progress page (polls ``view.status_url``)."""
    return _env().get_template("run.html").render(view=view, chrome=view.chrome)


def render_charts(view: ChartsView) -> str:
    """A page of charts and tables (performance by property)."""
    return _env().get_template("charts.html").render(view=view, chrome=view.chrome)


def render_login(next_path: str, message: str = "") -> str:
    """The sign-in page of a server that asks for a token."""
    from predscope.ui.views import Chrome

    template = _env().get_template("login.html")
    return template.render(chrome=Chrome("Sign in"), next=next_path, message=message)


def render_error(status: int, code: str, message: str) -> str:
    """A page for a failed page request: the status, the stable code and what to do."""
    from predscope.ui.views import Chrome

    return (
        _env()
        .get_template("error.html")
        .render(chrome=Chrome(f"Error {status}"), status=status, code=code, message=message)
    )
