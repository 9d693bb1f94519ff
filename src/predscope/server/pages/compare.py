"""Two prediction sets side by side: ``services.analysis.compare`` drawn as cards, a per-class
delta chart and the ground truth whose outcome changed (each a link to its detail view)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from predscope.exceptions import InvalidArgumentsError
from predscope.server.api.deps import StoreDep, project_of
from predscope.server.pages.common import (
    choose_set,
    chrome,
    fmt,
    html,
    iou_field,
    iou_of,
    kept_against,
    project_path,
    url,
)
from predscope.services.analysis.compare import compare_prediction_sets
from predscope.ui.charts import Delta, delta_chart
from predscope.ui.render import render_compare
from predscope.ui.views import Card, Cell, Chart, CompareView, FilterField, Table

router = APIRouter(include_in_schema=False)
CHANGED_PER_PAGE = 100
# Bootstrap resamples of the page (?resamples= asks for more). Each costs about 4 ns per
# prediction of both sets and threshold, so the page takes 200 up to 100,000 predictions (a
# fraction of a second) and fewer above, down to 50 (a million predictions: about 3 s); the card
# says how many.
PAGE_RESAMPLES, PAGE_MIN_RESAMPLES, PAGE_PREDICTIONS = 200, 50, 100_000


def page_resamples(predictions: int) -> int:
    if predictions <= PAGE_PREDICTIONS:
        return PAGE_RESAMPLES
    return max(PAGE_MIN_RESAMPLES, PAGE_RESAMPLES * PAGE_PREDICTIONS // predictions)


def _signed(value: float | None) -> str:
    return "n/a" if value is None or value != value else f"{value:+.3f}"


@router.get("/p/{project}/compare", response_class=HTMLResponse)
def compare_page(
    request: Request,
    store: StoreDep,
    project: str,
    set: str | None = None,  # noqa: A002 (the URL's own name)
    a: str | None = None,
    b: str | None = None,
    against: str | None = None,
    iou: str | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    resamples: Annotated[int | None, Query(ge=10, le=10_000)] = None,
) -> HTMLResponse:
    record = project_of(store, project)
    choice = choose_set(store, record, a or set, against)
    names = [s["branch"] for s in choice.sets]
    frame = chrome(request, record, "Compare", "compare", choice)
    first = choice.selected
    second = b or next((n for n in names if n != first), None)
    if first is None or second is None:
        raise InvalidArgumentsError(
            f"project {record.title!r}: comparing needs two analysed prediction sets; "
            f"analysed: {', '.join(names) or 'none'}"
        )
    if second not in names:  # the same clear error as for A (the listing is not read twice)
        choose_set(store, record, second, against)
    t = iou_of(iou)
    if resamples is None:
        counts = [(s.get("metrics") or {}).get("predictions") or 0 for s in choice.sets
                  if s["branch"] in (first, second)]  # fmt: skip
        resamples = page_resamples(sum(int(c) for c in counts))
    doc = compare_prediction_sets(
        store,
        record,
        first,
        second,
        against=choice.against,
        iou_threshold=t,
        n_resamples=resamples,
        offset=offset,
        limit=CHANGED_PER_PAGE,
    )
    boot = doc.get("bootstrap") or {}
    changed = doc["changed"]
    stats = doc["stats"]
    cards = (
        Card("mAP A", fmt(stats["AP"]["a"]), hint=first),
        Card("mAP B", fmt(stats["AP"]["b"]), hint=second),
        Card(
            "mAP A − B",
            _signed(stats["AP"]["delta"]),
            hint=f"95% interval {_signed(boot.get('low'))} to {_signed(boot.get('high'))} "
            f"(bootstrap over images, {boot.get('n_resamples', 0)} resamples)",
        ),
        Card("AP50 A − B", _signed(stats["AP50"]["delta"])),
        Card("Found by A, missed by B", str(changed["found_by_a_missed_by_b"]), kind="fn"),
        Card("Found by B, missed by A", str(changed["found_by_b_missed_by_a"]), kind="tp"),
    )
    deltas = [
        Delta(
            c["name"],
            float(c["AP"]["delta"]) if c["AP"]["delta"] is not None else 0.0,
            c["AP"].get("low"),
            c["AP"].get("high"),
            href=url(project_path(record, "summary"), {"set": first}),
        )
        for c in doc["per_class"]
    ]
    chart = Chart("AP per class, A − B", delta_chart(deltas, title=f"AP {first} − {second}"))
    per_class = Table(
        "Per class",
        ("Class", "AP A", "AP B", "AP A − B", "95% interval", "AP50 A − B", "AR A − B"),
        tuple(
            (
                Cell(c["name"]),
                Cell(fmt(c["AP"]["a"]), value=c["AP"]["a"]),
                Cell(fmt(c["AP"]["b"]), value=c["AP"]["b"]),
                Cell(_signed(c["AP"]["delta"]), value=c["AP"]["delta"]),
                Cell(_interval(c["AP"].get("low"), c["AP"].get("high")), value=c["AP"].get("low")),
                Cell(_signed(c["AP50"]["delta"]), value=c["AP50"]["delta"]),
                Cell(_signed(_ar(c)), value=_ar(c)),
            )
            for c in doc["per_class"]
        ),
        (False, True, True, True, True, True, True),
        "per-class-deltas",
    )
    rows = []
    for label, key, shown_set in (
        (f"found by {first}, missed by {second}", "examples_a_not_b", first),
        (f"found by {second}, missed by {first}", "examples_b_not_a", second),
    ):
        for item in changed[key]:
            other = second if shown_set == first else first
            href = url(
                project_path(record, "units", item["data_hash"]),
                {
                    "set": shown_set,
                    "vs": other,
                    "frame": str(item["frame"]) if item["frame"] else None,
                },
            )
            rows.append(
                (
                    Cell(item["object_hash"], href),
                    Cell(item["class"]),
                    Cell(label),
                    Cell(str(item["frame"]), value=item["frame"]),
                )
            )
    table = Table(
        f"Ground truth whose outcome changed at IoU {t:.2f} ({len(rows)} shown)",
        ("Object", "Class", "Change", "Frame"),
        tuple(rows),
        (False, False, False, True),
        "changed",
    )
    fields = (
        FilterField("a", "Set A", "select", tuple((n, n) for n in names), (first,)),
        FilterField("b", "Set B", "select", tuple((n, n) for n in names), (second,)),
        iou_field(t),
    )
    keep = kept_against(choice)
    view = CompareView(frame, first, second, cards, (chart,), (per_class, table), keep, fields)
    return html(render_compare(view))


def _interval(low: float | None, high: float | None) -> str:
    return "n/a" if low is None or high is None else f"{low:+.3f} to {high:+.3f}"


def _ar(c: dict[str, Any]) -> float | None:
    key = next((k for k in c if k.startswith("AR")), None)
    return c[key]["delta"] if key else None
