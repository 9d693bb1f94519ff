"""The explorer (a grid of images, or of object crops) and the detail view of one data unit.

``view=units`` pages ``services.query.query_data_units`` (most false positives first by default);
``view=objects`` pages ``query_objects`` with every object filter, one crop per object (FiftyOne's
evaluation patches). Either way the tiles draw the stored rows with their stored outcomes, and
the detail view's previous / next walk the same filtered, sorted list (``pos`` in the URL).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from predscope.exceptions import InvalidArgumentsError
from predscope.server.api.deps import StoreDep, project_of, unit_of
from predscope.server.pages.common import (
    SetChoice,
    choose_set,
    chrome,
    html,
    iou_field,
    iou_of,
    number_of,
    project_path,
    query_items,
    url,
)
from predscope.server.pages.overlay import image_url, thumbnail_url, unit_frames
from predscope.services.analysis.metrics import evaluated_classes
from predscope.services.query import (
    ERROR_CODES,
    GT_OUTCOMES,
    PREDICTION_OUTCOMES,
    Page,
    query_data_units,
    query_objects,
)
from predscope.store.engine import Store
from predscope.store.records import DataUnitRecord, ProjectRecord
from predscope.ui.render import render_detail, render_explorer
from predscope.ui.views import (
    DetailView,
    ExplorerView,
    FilterField,
    Slider,
    Tile,
    VideoFrame,
)

router = APIRouter(include_in_schema=False)
UNITS_PER_PAGE = 24
OBJECTS_PER_PAGE = 48
UNIT_SORTS = (
    ("-fp", "most false positives"),
    ("-fn", "most missed"),
    ("-tp", "most found"),
    ("-num_gt", "most ground truth"),
    ("data_title", "title"),
)
OBJECT_SORTS = (
    ("-confidence", "highest confidence"),
    ("confidence", "lowest confidence"),
    ("-iou", "highest IoU"),
    ("iou", "lowest IoU"),
    ("-area_px", "largest"),
    ("area_px", "smallest"),
)
# URL parameter -> (service argument, parser); one table for the filters and the forms.
OBJECT_NUMBERS = {
    "conf_min": "min_confidence",
    "conf_max": "max_confidence",
    "iou_min": "min_iou",
    "iou_max": "max_iou",
}
UNIT_NUMBERS = {"min_fp": "min_fp", "min_fn": "min_fn", "min_tp": "min_tp"}
AREA = ("area_min", "area_max")


@dataclass(frozen=True)
class Query:
    """The explorer's state, parsed once from the URL (the one place its names are read)."""

    view: str
    iou: float
    params: Mapping[str, list[str]]

    @classmethod
    def parse(cls, request: Request) -> Query:
        params: dict[str, list[str]] = {}
        for key, value in request.query_params.multi_items():
            if value != "":
                params.setdefault(key, []).append(value)
        view = params.get("view", ["units"])[0]
        if view not in ("units", "objects"):
            raise InvalidArgumentsError(f"query parameter 'view': {view!r} is not units or objects")
        return cls(view, iou_of(params.get("iou", [""])[0]), params)

    def one(self, name: str) -> str | None:
        return self.params.get(name, [None])[0]

    def many(self, name: str) -> list[str] | None:
        return self.params.get(name) or None

    def offset(self) -> int:
        text = self.one("offset") or "0"
        if not text.isdigit():
            raise InvalidArgumentsError(f"query parameter 'offset': {text!r} is not a count")
        return int(text)


def run_query(
    store: Store, project: ProjectRecord, choice: SetChoice, q: Query, offset: int, limit: int
) -> Page:
    """The page of units or objects the URL describes."""
    assert choice.selected is not None
    common: dict[str, Any] = {
        "iou_threshold": q.iou,
        "object_names": q.many("class"),
        "offset": offset,
        "limit": limit,
        "against": choice.against,
    }
    if q.view == "units":
        counts: dict[str, Any] = {arg: _int(q, key) for key, arg in UNIT_NUMBERS.items()}
        order = q.one("sort") or "-fp"
        return query_data_units(store, project, choice.selected, order_by=order, **common, **counts)
    numbers: dict[str, Any] = {
        arg: number_of(key, q.one(key)) for key, arg in OBJECT_NUMBERS.items()
    }
    lo, hi = (number_of(k, q.one(k)) for k in AREA)
    return query_objects(
        store,
        project,
        choice.selected,
        kind=q.one("kind") or "prediction",
        outcome=q.many("outcome"),
        error_type=q.many("error"),
        properties={"area_px": (lo, hi)} if lo is not None or hi is not None else None,
        order_by=q.one("sort") or "-confidence",
        **numbers,
        **common,
    )


def _int(q: Query, name: str) -> int | None:
    value = number_of(name, q.one(name))
    return None if value is None else int(value)


def _fields(q: Query, classes: Sequence[str]) -> tuple[FilterField, ...]:
    def chosen(name: str) -> tuple[str, ...]:
        return tuple(q.many(name) or ())

    base = (
        FilterField(
            "view",
            "Show",
            "select",
            (("units", "images"), ("objects", "objects (crops)")),
            (q.view,),
        ),
        iou_field(q.iou),
        FilterField("class", "Class", "multi", tuple((c, c) for c in classes), chosen("class")),
    )
    if q.view == "units":
        return (
            *base,
            FilterField("sort", "Sort by", "select", UNIT_SORTS, chosen("sort")),
            FilterField(
                "min_fp", "At least FP", "number", value=chosen("min_fp"), minimum=0, step=1
            ),
            FilterField(
                "min_fn", "At least FN", "number", value=chosen("min_fn"), minimum=0, step=1
            ),
            FilterField(
                "min_tp", "At least TP", "number", value=chosen("min_tp"), minimum=0, step=1
            ),
        )
    kind = q.one("kind") or "prediction"
    outcomes = PREDICTION_OUTCOMES if kind == "prediction" else GT_OUTCOMES
    return (
        *base,
        FilterField(
            "kind",
            "Objects",
            "select",
            (("prediction", "predictions"), ("ground_truth", "ground truth")),
            (kind,),
        ),
        FilterField(
            "outcome", "Outcome", "multi", tuple((o, o) for o in outcomes), chosen("outcome")
        ),
        FilterField(
            "error", "Error type", "multi", tuple((e, e) for e in ERROR_CODES), chosen("error")
        ),
        FilterField("conf_min", "Confidence from", "number", value=chosen("conf_min"), step=0.01),
        FilterField("conf_max", "Confidence to", "number", value=chosen("conf_max"), step=0.01),
        FilterField(
            "iou_min",
            "IoU from",
            "number",
            value=chosen("iou_min"),
            minimum=0,
            maximum=1,
            step=0.01,
        ),
        FilterField(
            "iou_max", "IoU to", "number", value=chosen("iou_max"), minimum=0, maximum=1, step=0.01
        ),
        FilterField("area_min", "Area from (px)", "number", value=chosen("area_min"), minimum=0),
        FilterField("area_max", "Area to (px)", "number", value=chosen("area_max"), minimum=0),
        FilterField("sort", "Sort by", "select", OBJECT_SORTS, chosen("sort")),
    )


def _units(
    store: Store, project: ProjectRecord, hashes: Sequence[str]
) -> dict[str, DataUnitRecord]:
    from predscope.services.projects import units_by_hash

    return units_by_hash(store, project, hashes)


def _detail_href(
    project: ProjectRecord, request: Request, data_hash: str, pos: int, **extra: Any
) -> str:
    keep = [(k, v) for k, v in query_items(request, drop=("offset", "pos", "frame", "focus"))]
    params: dict[str, Any] = {}
    for k, v in keep:
        params.setdefault(k, []).append(v)
    params["pos"] = str(pos)
    params.update({k: str(v) for k, v in extra.items() if v is not None})
    return url(project_path(project, "units", data_hash), params)


@router.get("/p/{project}/explore", response_class=HTMLResponse)
def explore_page(request: Request, store: StoreDep, project: str) -> HTMLResponse:
    record = project_of(store, project)
    q = Query.parse(request)
    choice = choose_set(store, record, q.one("set"), q.one("against"))
    frame = chrome(request, record, "Explorer", "explore", choice)
    if choice.selected is None:
        return html(render_explorer(ExplorerView(frame, (), Slider(), 0)))
    classes = evaluated_classes(store, record, choice.selected, against=choice.against)
    per_page = UNITS_PER_PAGE if q.view == "units" else OBJECTS_PER_PAGE
    offset = q.offset()
    page = run_query(store, record, choice, q, offset, per_page)
    units = _units(store, record, [i["data_hash"] for i in page.items])
    frames = unit_frames(
        store,
        record,
        list(units.values()),
        branch=choice.selected,
        against=choice.against,
        iou=q.iou,
        all_frames=q.view == "objects",
    )
    tiles = []
    for n, item in enumerate(page.items):
        unit = units[item["data_hash"]]
        index = int(item.get("frame", 0))
        shown = next(
            (f for f in frames[unit.data_hash] if f.index == index), frames[unit.data_hash][0]
        )
        href = _detail_href(record, request, unit.data_hash, offset + n, frame=index or None)
        if q.view == "units":  # one tile per image: a group's or a video's frames apart
            many = len(unit.images) > 1 or (unit.number_of_frames or 1) > 1
            title = f"{unit.data_title} · frame {index}" if many else unit.data_title
            tiles.append(Tile(unit.data_hash, title, _tile_image(unit, index), shown.frame, href))
        else:
            focus = item["object_hash"]
            if not any(o.object_id == focus for o in shown.frame.objects):
                continue  # the row changed since the analysis: nothing to crop
            title = f"{item['class']} in {unit.data_title}"
            tiles.append(
                Tile(
                    unit.data_hash,
                    title,
                    _full_image(record, unit, index),
                    shown.frame,
                    href,
                    focus,
                )
            )
    base = [(k, v) for k, v in query_items(request, drop=("offset",))]
    prev_href = next_href = None
    if offset > 0:
        prev_href = url(request.url.path, _with(base, offset=max(0, offset - per_page)))
    if offset + per_page < page.total:
        next_href = url(request.url.path, _with(base, offset=offset + per_page))
    objects = tuple(o for t in tiles for o in t.frame.objects)
    conf = number_of("conf", q.one("conf"))
    keep = tuple((k, v) for k, v in query_items(request) if k in ("conf", "hide", "against"))
    view = ExplorerView(
        frame,
        tuple(tiles),
        Slider.for_objects(objects, conf),
        page.total,
        prev_href,
        next_href,
        keep,
        _fields(q, classes),
        url(request.url.path, {"set": choice.selected, "view": q.view}),
        ("data unit", "data units") if q.view == "units" else ("object", "objects"),
    )
    return html(render_explorer(view))


def _with(base: list[tuple[str, str]], **values: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in base:
        out.setdefault(k, []).append(v)
    for k, v in values.items():
        out[k] = [str(v)]
    return out


def _tile_image(unit: DataUnitRecord, frame: int) -> str:
    return thumbnail_url(unit, frame) if unit.data_link or unit.images else NO_MEDIA


def _full_image(project: ProjectRecord, unit: DataUnitRecord, frame: int) -> str:
    return image_url(project, unit, frame) if unit.data_link or unit.images else NO_MEDIA


NO_MEDIA = "/static/no-media.svg"


@router.get("/p/{project}/units/{data_hash}", response_class=HTMLResponse)
def detail_page(request: Request, store: StoreDep, project: str, data_hash: str) -> HTMLResponse:
    record = project_of(store, project)
    unit = unit_of(store, record, data_hash)
    q = Query.parse(request)
    wanted = q.one("set")
    choice = choose_set(store, record, wanted, q.one("against"))
    branch = choice.selected
    second = q.one("vs")
    if second is not None:
        choose_set(store, record, second, choice.against)  # a clear error when not analysed
    frames = unit_frames(
        store,
        record,
        [unit],
        branch=branch,
        against=choice.against,
        iou=q.iou,
        all_frames=True,
        second=second if second != branch else None,
    )[unit.data_hash]
    current = int(number_of("frame", q.one("frame")) or 0)
    position, prev_href, next_href = "", None, None
    pos_text = q.one("pos")
    if branch and pos_text is not None and pos_text.isdigit():
        pos = int(pos_text)
        around = run_query(store, record, choice, q, max(0, pos - 1), 3)
        items = around.items
        start = max(0, pos - 1)
        position = f"{pos + 1} of {around.total}"
        for i, item in enumerate(items):
            at = start + i
            if at in (pos - 1, pos + 1):
                href = _detail_href(
                    record, request, item["data_hash"], at, frame=int(item.get("frame", 0)) or None
                )
                if at == pos - 1:
                    prev_href = href
                else:
                    next_href = href
    back = [(k, v) for k, v in query_items(request, drop=("pos", "frame"))]
    back_offset = 0
    if pos_text and pos_text.isdigit():
        per_page = UNITS_PER_PAGE if q.view == "units" else OBJECTS_PER_PAGE
        back_offset = int(pos_text) // per_page * per_page
    back_href = (
        url(project_path(record, "explore"), _with(back, offset=back_offset))
        if branch
        else project_path(record)
    )
    title = unit.data_title + (f" ({branch} and {second})" if second and branch else "")
    frame = chrome(request, record, title, "explore", choice)
    shown = next((f for f in frames if f.index == current), frames[0])
    objects = tuple(o for f in frames for o in f.frame.objects)
    video = unit.data_type in ("video", "img_group") and len(frames) > 1
    view = DetailView(
        frame,
        unit.data_hash,
        title,
        _full_image(record, unit, shown.index),
        shown.frame,
        Slider.for_objects(objects, number_of("conf", q.one("conf"))),
        back_href,
        prev_href,
        next_href,
        tuple(VideoFrame(f.index, _full_image(record, unit, f.index), f.frame) for f in frames)
        if video
        else (),
        next((i for i, f in enumerate(frames) if f.index == current), 0) if video else 0,
        position,
    )
    return html(render_detail(view))
