"""Two prediction sets side by side: ``services.analysis.compare`` drawn as cards, a per-class
delta chart and the ground truth whose outcome changed (each a link to its detail view).

The deltas and changed objects come from stored results and are quick; the bootstrap interval
costs seconds on a large project (and compiles its kernel on a server's first compare), so the
page is sent without it and its module fetches ``/p/{hash}/compare/interval``, the same part
with the intervals in. ``?interval=inline`` computes them in the page (for a browser without
script: the pending notice links there)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from predscope.exceptions import InvalidArgumentsError
from predscope.server.api.deps import StoreDep, project_of
from predscope.server.pages.common import (
    SetChoice,
    choose_set,
    chrome,
    fmt,
    html,
    iou_field,
    iou_of,
    kept_against,
    project_path,
    query_items,
    url,
)
from predscope.services.analysis.compare import compare_prediction_sets
from predscope.store.engine import Store
from predscope.store.records import ProjectRecord
from predscope.ui.charts import Delta, delta_chart
from predscope.ui.render import render_compare, render_compare_interval
from predscope.ui.views import Card, Cell, Chart, CompareView, FilterField, Table

router = APIRouter(include_in_schema=False)
CHANGED_PER_PAGE = 100
# Bootstrap resamples of the interval part (?resamples= asks for more). Each costs about 4 ns per
# prediction of both sets and threshold, so it takes 200 up to 100,000 predictions (a fraction
# of a second) and fewer above, down to 50 (a million predictions: about 3 s); the card says how
# many. The page itself does not wait for them.
PAGE_RESAMPLES, PAGE_MIN_RESAMPLES, PAGE_PREDICTIONS = 200, 50, 100_000


def page_resamples(predictions: int) -> int:
    if predictions <= PAGE_PREDICTIONS:
        return PAGE_RESAMPLES
    return max(PAGE_MIN_RESAMPLES, PAGE_RESAMPLES * PAGE_PREDICTIONS // predictions)


def _signed(value: float | None) -> str:
    return "n/a" if value is None or value != value else f"{value:+.3f}"


@dataclass(frozen=True)
class _Pair:
    """What both routes resolve from the URL: the project, the sets A and B, the resamples."""

    record: ProjectRecord
    choice: SetChoice
    a: str
    b: str
    resamples: int


def _pair(
    store: Store,
    project: str,
    wanted_a: str | None,
    wanted_b: str | None,
    against: str | None,
    resamples: int | None,
) -> _Pair:
    record = project_of(store, project)
    choice = choose_set(store, record, wanted_a, against)
    names = [s["branch"] for s in choice.sets]
    first = choice.selected
    second = wanted_b or next((n for n in names if n != first), None)
    if first is None or second is None:
        raise InvalidArgumentsError(
            f"project {record.title!r}: comparing needs two analysed prediction sets; "
            f"analysed: {', '.join(names) or 'none'}"
        )
    if second not in names:  # the same clear error as for A (the listing is not read twice)
        choose_set(store, record, second, against)
    if resamples is None:
        counts = [(s.get("metrics") or {}).get("predictions") or 0 for s in choice.sets
                  if s["branch"] in (first, second)]  # fmt: skip
        resamples = page_resamples(sum(int(c) for c in counts))
    return _Pair(record, choice, first, second, resamples)


def _interval_view(
    doc: dict[str, Any], pair: _Pair
) -> tuple[tuple[Card, ...], tuple[Chart, ...], tuple[Table, ...]]:
    """The cards, chart and per-class table; without ``doc["bootstrap"]`` their intervals are
    left to come."""
    first, second, record = pair.a, pair.b, pair.record
    boot = doc["bootstrap"]
    stats = doc["stats"]
    if boot is None:
        hint = "95% interval: computing (bootstrap over images)"
    else:
        hint = (
            f"95% interval {_signed(boot['low'])} to {_signed(boot['high'])} "
            f"(bootstrap over images, {boot['n_resamples']} resamples)"
        )
    cards = (
        Card("mAP A", fmt(stats["AP"]["a"]), hint=first),
        Card("mAP B", fmt(stats["AP"]["b"]), hint=second),
        Card("mAP A − B", _signed(stats["AP"]["delta"]), hint=hint),
        Card("AP50 A − B", _signed(stats["AP50"]["delta"])),
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
    pending = boot is None
    per_class = Table(
        "Per class",
        ("Class", "AP A", "AP B", "AP A − B", "95% interval", "AP50 A − B", "AR A − B"),
        tuple(
            (
                Cell(c["name"]),
                Cell(fmt(c["AP"]["a"]), value=c["AP"]["a"]),
                Cell(fmt(c["AP"]["b"]), value=c["AP"]["b"]),
                Cell(_signed(c["AP"]["delta"]), value=c["AP"]["delta"]),
                Cell("…", value=None)
                if pending
                else Cell(
                    _interval(c["AP"].get("low"), c["AP"].get("high")), value=c["AP"].get("low")
                ),
                Cell(_signed(c["AP50"]["delta"]), value=c["AP50"]["delta"]),
                Cell(_signed(_ar(c)), value=_ar(c)),
            )
            for c in doc["per_class"]
        ),
        (False, True, True, True, True, True, True),
        "per-class-deltas",
    )
    return cards, (chart,), (per_class,)


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
    interval: str | None = None,
) -> HTMLResponse:
    pair = _pair(store, project, a or set, b, against, resamples)
    record, choice, first, second = pair.record, pair.choice, pair.a, pair.b
    names = [s["branch"] for s in choice.sets]
    frame = chrome(request, record, "Compare", "compare", choice)
    # The header's set selector chooses A here: it must not carry the old A along.
    frame = replace(frame, keep=tuple(kv for kv in frame.keep if kv[0] != "a"))
    t = iou_of(iou)
    inline = interval == "inline"
    doc = compare_prediction_sets(
        store,
        record,
        first,
        second,
        against=choice.against,
        iou_threshold=t,
        n_resamples=pair.resamples,
        offset=offset,
        limit=CHANGED_PER_PAGE,
        interval=inline,
    )
    changed = doc["changed"]
    cards, charts, tables = _interval_view(doc, pair)
    changed_cards = (
        Card("Found by A, missed by B", str(changed["found_by_a_missed_by_b"]), kind="fn"),
        Card("Found by B, missed by A", str(changed["found_by_b_missed_by_a"]), kind="tp"),
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
    later = None if inline else _interval_params(pair, resamples)
    here = dict(query_items(request, drop=("interval",)))
    view = CompareView(
        frame,
        first,
        second,
        cards,
        charts,
        tables,
        keep,
        fields,
        changed_cards=changed_cards,
        changed_tables=(table,),
        interval_url=None
        if later is None
        else url(project_path(record, "compare", "interval"), later),
        interval_now_href=url(request.url.path, {**here, "interval": "inline"}),
    )
    return html(render_compare(view))


def _interval_params(pair: _Pair, resamples: int | None) -> dict[str, str | None]:
    """The interval part's URL: the page's sets and, if the page was given any, its resamples."""
    return {
        "a": pair.a,
        "b": pair.b,
        **dict(kept_against(pair.choice)),
        "resamples": None if resamples is None else str(resamples),
    }


@router.get("/p/{project}/compare/interval", response_class=HTMLResponse)
def compare_interval_part(
    request: Request,
    store: StoreDep,
    project: str,
    a: str,
    b: str,
    against: str | None = None,
    resamples: Annotated[int | None, Query(ge=10, le=10_000)] = None,
) -> HTMLResponse:
    """The compare page's cards, chart and per-class table with their bootstrap intervals."""
    pair = _pair(store, project, a, b, against, resamples)
    doc = compare_prediction_sets(
        store,
        pair.record,
        pair.a,
        pair.b,
        against=pair.choice.against,
        n_resamples=pair.resamples,
        changed=False,
    )
    cards, charts, tables = _interval_view(doc, pair)
    frame = chrome(request, pair.record, "Compare", "compare", pair.choice)
    view = CompareView(frame, pair.a, pair.b, cards, charts, tables)
    return html(render_compare_interval(view))


def _interval(low: float | None, high: float | None) -> str:
    return "n/a" if low is None or high is None else f"{low:+.3f} to {high:+.3f}"


def _ar(c: dict[str, Any]) -> float | None:
    key = next((k for k in c if k.startswith("AR")), None)
    return c[key]["delta"] if key else None
