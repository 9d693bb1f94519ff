"""Where the model fails: precision and recall per bucket of each object property
(``services.analysis.by_property``), each bucket a link to its objects in the explorer, and
first the properties ranked by their importance for being found and for being true."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from predscope.server.api.deps import StoreDep, project_of
from predscope.server.pages.common import (
    SetChoice,
    choose_set,
    chrome,
    html,
    iou_field,
    iou_of,
    kept_against,
)
from predscope.server.pages.summary import explore_link
from predscope.services.analysis.by_property import performance_by_property
from predscope.store.records import ProjectRecord
from predscope.ui.charts import Bar, bar_chart
from predscope.ui.render import render_charts
from predscope.ui.views import Cell, Chart, ChartsView, Table

router = APIRouter(include_in_schema=False)
FILTERABLE = {"area_px": ("area_min", "area_max")}  # properties the explorer filters on


def _link(
    project: ProjectRecord, choice: SetChoice, iou: float, prop: str, b: dict[str, Any], **q: str
) -> str | None:
    if prop not in FILTERABLE:
        return None
    lo_name, hi_name = FILTERABLE[prop]
    bounds = {
        lo_name: None if b["low"] is None else f"{b['low']:g}",
        hi_name: None if b["high"] is None else f"{b['high'] - 1e-9:.9g}",
    }
    return explore_link(project, choice, iou, **q, **bounds)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _importance(rows: list[dict[str, Any]], t: float) -> tuple[Chart, Table]:
    """Every property's importance (docs/metrics.md): mutual information in bits between its
    bucket and the outcome, and the correlation of its raw value with it; most telling first."""
    ranked = sorted(rows, key=lambda p: -(p["importance"]["recall"]["mutual_information"] or 0.0))
    chart = Chart(
        f"Property importance for being found at IoU {t:.2f}",
        bar_chart(
            [
                Bar(
                    p["title"].split(" (")[0],  # short: the table has the full title
                    p["importance"]["recall"]["mutual_information"] or 0.0,
                    note=f"r={_fmt(p['importance']['recall']['correlation'])}",
                )
                for p in ranked
            ],
            title="Property importance",
            value_label="mutual information with found / missed (bits)",
            testid="importance-chart",
        ),
    )
    table = Table(
        "Property importance (mutual information in bits; correlation r with the raw value)",
        ("Property", "Found: MI", "Found: r", "True: MI", "True: r"),
        tuple(
            (
                Cell(p["title"]),
                *(
                    Cell(_fmt(p["importance"][side][key]), value=p["importance"][side][key])
                    for side in ("recall", "precision")
                    for key in ("mutual_information", "correlation")
                ),
            )
            for p in ranked
        ),
        (False, True, True, True, True),
        "importance",
    )
    return chart, table


@router.get("/p/{project}/properties", response_class=HTMLResponse)
def properties_page(
    request: Request,
    store: StoreDep,
    project: str,
    set: str | None = None,  # noqa: A002 (the URL's own name)
    against: str | None = None,
    iou: str | None = None,
) -> HTMLResponse:
    record = project_of(store, project)
    choice = choose_set(store, record, set, against)
    frame = chrome(request, record, "Where it fails", "properties", choice)
    if choice.selected is None:
        return html(render_charts(ChartsView(frame, "No prediction set analysed yet")))
    t = iou_of(iou)
    rows = performance_by_property(
        store, record, choice.selected, iou_threshold=t, against=choice.against
    )
    charts, tables = [], []
    for prop in rows:
        name = prop["name"]
        recall = [
            Bar(
                b["label"],
                b["recall"] if b["recall"] is not None else float("nan"),
                _link(record, choice, t, name, b, kind="ground_truth", outcome="FN"),
                f"n={b['ground_truth']}",
            )
            for b in prop["buckets"]
        ]
        charts.append(
            Chart(
                f"Recall by {prop['title'][0].lower()}{prop['title'][1:]} at IoU {t:.2f}",
                bar_chart(
                    recall,
                    title=prop["title"],
                    value_label="recall",
                    domain=(0.0, 1.0),
                    testid=f"recall-{name}",
                ),
            )
        )
        tables.append(
            Table(
                prop["title"],
                (
                    "Bucket",
                    "Ground truth",
                    "Found",
                    "Missed",
                    "Recall",
                    "Predictions",
                    "TP",
                    "FP",
                    "Precision",
                ),
                tuple(
                    (
                        Cell(b["label"]),
                        Cell(str(b["ground_truth"]), value=b["ground_truth"]),
                        Cell(str(b["found"]), value=b["found"]),
                        Cell(
                            str(b["missed"]),
                            _link(record, choice, t, name, b, kind="ground_truth", outcome="FN"),
                            b["missed"],
                            "fn",
                        ),
                        Cell(_fmt(b["recall"]), value=b["recall"]),
                        Cell(str(b["predictions"]), value=b["predictions"]),
                        Cell(str(b["tp"]), value=b["tp"], kind="tp"),
                        Cell(
                            str(b["fp"]),
                            _link(record, choice, t, name, b, kind="prediction", outcome="FP"),
                            b["fp"],
                            "fp",
                        ),
                        Cell(_fmt(b["precision"]), value=b["precision"]),
                    )
                    for b in prop["buckets"]
                ),
                (False, True, True, True, True, True, True, True, True),
                f"by-{name}",
            )
        )
    if rows:
        chart, table = _importance(rows, t)
        charts.insert(0, chart)
        tables.insert(0, table)
    fields = (iou_field(t),)
    keep = kept_against(choice)
    intro = (
        "Recall (ground truth found) and precision (predictions that are true) of each bucket of "
        "an object property, from the stored outcomes at the chosen IoU; a prediction's bucket is "
        "its own box's, a ground truth's its own. First, how much each property tells about "
        "being found and being true: the mutual information of its bucket with the outcome, and "
        "the correlation of its value with it. docs/metrics.md, section 10b."
    )
    view = ChartsView(
        frame, f"Where {choice.selected} fails", intro, tuple(charts), tuple(tables), fields, keep
    )
    return html(render_charts(view))
