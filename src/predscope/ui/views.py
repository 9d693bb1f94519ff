"""What a page shows, as plain frozen data: the server fills these, ``render`` turns them into HTML.

Nothing here knows about HTTP or the store; URLs are given ready-made (``href`` fields) so the
server owns its routes and every filter stays in the URL.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from predscope.ui.shapes import OverlayFrame, OverlayObject


@dataclass(frozen=True)
class Link:
    label: str
    href: str
    current: bool = False


@dataclass(frozen=True)
class SetOption:
    """One prediction set in the selector; ``stale`` when its branches changed since analysis."""

    value: str
    label: str
    stale: bool = False


@dataclass(frozen=True)
class Chrome:
    """The frame of every page: title, navigation and the prediction-set selector.

    The selector is a plain GET form to ``set_action`` carrying ``keep`` (the other query
    parameters), so a choice is a URL that can be shared and reloaded, with or without JS.
    """

    title: str
    project: str | None = None
    nav: tuple[Link, ...] = ()
    sets: tuple[SetOption, ...] = ()
    selected_set: str | None = None
    set_action: str = ""
    keep: tuple[tuple[str, str], ...] = ()
    static_url: str = "/static"
    notice: str | None = None  # e.g. "this set is stale: re-analyse"
    notice_action: Action | None = None  # a button beside the notice (re-analyse a stale set)


@dataclass(frozen=True)
class Slider:
    """The confidence slider: the client hides predictions whose score is below its value."""

    minimum: float = 0.0
    maximum: float = 1.0
    value: float = 0.0
    step: float = 0.01

    @classmethod
    def for_objects(cls, objects: tuple[OverlayObject, ...], value: float | None = None) -> Slider:
        """A range covering every score shown (scores need not lie in [0, 1])."""
        scores = [o.score for o in objects if o.score is not None]
        lo = min(0.0, *scores) if scores else 0.0
        hi = max(1.0, *scores) if scores else 1.0
        step = 10.0 ** math.floor(math.log10((hi - lo) / 500))  # 500+ positions, round steps
        return cls(lo, hi, lo if value is None else value, step)


def outcome_counts(frame: OverlayFrame) -> dict[str, int]:
    """TP (predictions), FP and FN counts of one frame, for a tile's badges."""
    seen = Counter(
        o.outcome
        for o in frame.objects
        if (o.layer == "pred" and o.outcome in ("tp", "fp")) or o.outcome == "fn"
    )
    return {k: seen.get(k, 0) for k in ("tp", "fp", "fn")}


@dataclass(frozen=True)
class Tile:
    """One thumbnail of the explorer grid."""

    unit_id: str
    title: str
    image_url: str
    frame: OverlayFrame
    href: str
    focus: str | None = None  # an object id: the tile is that object's crop (a "patch")

    @property
    def counts(self) -> dict[str, int]:
        return outcome_counts(self.frame)


@dataclass(frozen=True)
class FilterField:
    """One control of the explorer's filter form (a GET form: the filters are the URL).

    ``kind`` is "select" (one of ``options``, "" = any), "multi" (several), "number" (with
    ``minimum``/``maximum``/``step``) or "text". ``value`` holds the current choice(s).
    """

    name: str
    label: str
    kind: str = "select"
    options: tuple[tuple[str, str], ...] = ()  # (value, label)
    value: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None


@dataclass(frozen=True)
class ExplorerView:
    chrome: Chrome
    tiles: tuple[Tile, ...]
    slider: Slider
    total: int  # units matching the filters, over all pages
    prev_href: str | None = None
    next_href: str | None = None
    filters: tuple[tuple[str, str], ...] = ()  # other query parameters the filter form keeps
    fields: tuple[FilterField, ...] = ()
    reset_href: str | None = None  # the same view without filters
    noun: tuple[str, str] = ("data unit", "data units")  # what a tile is: ("object", "objects")


@dataclass(frozen=True)
class VideoFrame:
    """One frame of a video unit: its image and its overlay."""

    index: int
    image_url: str
    frame: OverlayFrame


@dataclass(frozen=True)
class DetailView:
    """One data unit, large: zoom and pan, layer toggles, the object table, prev/next."""

    chrome: Chrome
    unit_id: str
    title: str
    image_url: str
    frame: OverlayFrame
    slider: Slider
    back_href: str
    prev_href: str | None = None
    next_href: str | None = None
    frames: tuple[VideoFrame, ...] = ()  # video units: one per frame, scrubbed on the client
    current_frame: int = 0
    position: str = ""  # e.g. "12 of 340"


@dataclass(frozen=True)
class Card:
    label: str
    value: str
    href: str | None = None
    hint: str = ""
    kind: str = ""  # "tp", "fp", "fn" colour the card


@dataclass(frozen=True)
class ClassRow:
    """One row of the per-class table; counts link to those objects in the explorer."""

    name: str
    ap: float
    ar: float
    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int
    support: int
    links: dict[str, str] = field(default_factory=dict)  # "tp" | "fp" | "fn" -> href


@dataclass(frozen=True)
class Chart:
    """A chart made by ``ui.charts`` (trusted SVG markup) with its heading."""

    title: str
    svg: str
    wide: bool = False


@dataclass(frozen=True)
class Confusion:
    """Object confusion counts: rows are ground-truth classes, columns predicted classes.

    The last row and column are ``background`` (e.g. "(none)"): a prediction matching no GT is
    counted in the last row (an FP), a GT matched by nothing in the last column (an FN).
    ``hrefs`` (same shape, None for no link) open those objects in the explorer.
    """

    classes: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]  # (len(classes) + 1) x (len(classes) + 1)
    hrefs: tuple[tuple[str | None, ...], ...] = ()
    background: str = "(none)"

    @property
    def labels(self) -> tuple[str, ...]:
        return (*self.classes, self.background)

    def heat(self, count: int) -> int:
        """Colour step 0..9 on a log scale, so rare confusions stay visible beside large ones."""
        top = max((c for row in self.counts for c in row), default=0)
        if count <= 0 or top <= 0:
            return 0
        return max(1, round(9 * math.log1p(count) / math.log1p(top)))

    def href(self, i: int, j: int) -> str | None:
        return self.hrefs[i][j] if self.hrefs else None


@dataclass(frozen=True)
class OperatingPoints:
    """What the summary's IoU selector and confidence slider work from.

    ``cuts`` are confidence cuts, descending; per class ``(name, num_gt, tp, fp)`` where
    ``tp[i]``/``fp[i]`` count predictions scoring at least ``cuts[i]`` at IoU ``iou``.
    The client computes precision, recall and F1 at a cut from these counts alone.
    """

    iou: float
    thresholds: tuple[float, ...]
    cuts: tuple[float, ...]
    classes: tuple[tuple[str, int, tuple[int, ...], tuple[int, ...]], ...]

    def to_json(self) -> dict[str, object]:
        return {
            "iou": self.iou,
            "cuts": list(self.cuts),
            "classes": [
                {"name": n, "num_gt": g, "tp": list(tp), "fp": list(fp)}
                for n, g, tp, fp in self.classes
            ],
        }


@dataclass(frozen=True)
class SummaryView:
    chrome: Chrome
    cards: tuple[Card, ...]
    classes: tuple[ClassRow, ...]
    charts: tuple[Chart, ...] = ()
    parameters: str = ""  # how the numbers were computed, printed under the cards
    confusion: Confusion | None = None
    operating: OperatingPoints | None = None
    classifications: tuple[ClassificationView, ...] = ()


@dataclass(frozen=True)
class ClassificationView:
    """One radio or checklist classification's figures: a headline line and two tables."""

    name: str
    kind: str
    headline: str
    per_option: Table | None  # None: the set does not answer this classification
    confusion: Table | None = None  # radio only: GT rows against predicted columns


@dataclass(frozen=True)
class Cell:
    """A table cell: text, an optional link, a sort value and a kind ("tp", "fp", "fn")."""

    text: str
    href: str | None = None
    value: float | None = None
    kind: str = ""


@dataclass(frozen=True)
class Table:
    """A generic sortable table (branches, data units, the verify listing, compare rows)."""

    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    numeric: tuple[bool, ...] = ()  # per column: right-aligned, sorted as numbers
    testid: str | None = None

    def is_numeric(self, col: int) -> bool:
        return col < len(self.numeric) and self.numeric[col]


@dataclass(frozen=True)
class ProjectCard:
    """One project on the start page."""

    name: str
    href: str
    units: int
    branches: tuple[Link, ...] = ()
    sets: tuple[Link, ...] = ()  # analysed prediction sets, each a link to its summary
    description: str = ""


@dataclass(frozen=True)
class StartView:
    chrome: Chrome
    projects: tuple[ProjectCard, ...]


@dataclass(frozen=True)
class OntologyItem:
    """One ontology object or classification, with its colour swatch."""

    name: str
    shape: str
    colour: str = "#888888"
    attributes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Action:
    """A button that POSTs ``fields`` to ``href`` (a form: it works without JavaScript)."""

    label: str
    href: str
    fields: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ProjectView:
    """A project: counts, the ontology, then tables (branches, data units, the verify listing)."""

    chrome: Chrome
    cards: tuple[Card, ...]
    ontology: tuple[OntologyItem, ...]
    tables: tuple[Table, ...]
    more: Link | None = None  # the next page of the last table
    actions: tuple[Action, ...] = ()  # buttons that POST (start an analysis)


@dataclass(frozen=True)
class CompareView:
    """Two prediction sets side by side: headline deltas, charts, per-class and changed objects.

    ``cards``, ``charts`` and ``tables`` carry the bootstrap intervals; while ``interval_url`` is
    set they come without them and the page's module fetches that URL (same origin), which
    answers the same part with the intervals in (``render_compare_interval``)."""

    chrome: Chrome
    a: str
    b: str
    cards: tuple[Card, ...]
    charts: tuple[Chart, ...] = ()
    tables: tuple[Table, ...] = ()
    filters: tuple[tuple[str, str], ...] = ()  # other query parameters the form keeps
    fields: tuple[FilterField, ...] = ()  # choosing A, B and the IoU threshold
    reset_href: str | None = None
    changed_cards: tuple[Card, ...] = ()  # the objects whose outcome changed, their table
    changed_tables: tuple[Table, ...] = ()
    interval_url: str | None = None  # the intervals are still to come from here
    interval_now_href: str | None = None  # this page with them computed in it (no script)


@dataclass(frozen=True)
class RunView:
    """An analysis run: its progress, polled on the client from ``status_url``.

    ``status_url`` answers JSON ``{"state": "queued"|"running"|"done"|"failed", "done": int,
    "total": int, "stage": str, "message": str, "result_href": str | null}``; on "done" the
    page goes to ``result_href``, on "failed" it shows ``message``. Without JS the page is a
    snapshot with a reload link.
    """

    chrome: Chrome
    title: str
    status_url: str
    state: str = "queued"
    done: int = 0
    total: int = 0
    stage: str = ""
    message: str = ""
    result_href: str | None = None
    rerun_action: str | None = None  # POST target of a "Run again" button (failed or stale)
    rerun_fields: tuple[tuple[str, str], ...] = ()  # the form's hidden fields


@dataclass(frozen=True)
class ChartsView:
    """A page of charts and tables under a heading (performance by property)."""

    chrome: Chrome
    heading: str
    intro: str = ""
    charts: tuple[Chart, ...] = ()
    tables: tuple[Table, ...] = ()
    fields: tuple[FilterField, ...] = ()  # a GET form above the charts (the IoU threshold)
    filters: tuple[tuple[str, str], ...] = ()
    reset_href: str | None = None
