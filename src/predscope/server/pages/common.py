"""What every page route shares: the HTML response (with the UI's CSP), URLs, and the frame.

A page's state is its URL: the project in the path, the prediction set (``set``), the
ground-truth branch (``against``), the IoU threshold (``iou``) and every filter in the query
string, so any view can be shared and reloaded. Links are built here so the routes stay the
one place that knows their shapes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse

from predscope.exceptions import InvalidArgumentsError
from predscope.services.analysis.metrics import list_prediction_sets
from predscope.services.query import THRESHOLDS
from predscope.store.branches import MAIN_BRANCH
from predscope.store.engine import Store
from predscope.store.records import ProjectRecord
from predscope.ui.render import CONTENT_SECURITY_POLICY
from predscope.ui.views import Action, Chrome, FilterField, Link, SetOption

STATIC_URL = "/static"
Params = Mapping[str, str | Sequence[str] | None]


def html(text: str, status: int = 200) -> HTMLResponse:
    """A page, always with the policy that keeps it offline and free of inline script."""
    headers = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Cache-Control": "no-store"}
    return HTMLResponse(text, status_code=status, headers=headers)


def url(path: str, params: Params | None = None) -> str:
    """``path?query`` without empty parameters; lists become repeated keys."""
    pairs: list[tuple[str, str]] = []
    for key, value in (params or {}).items():
        if value is None or value == "":
            continue
        if isinstance(value, str):
            pairs.append((key, value))
        else:
            pairs.extend((key, str(v)) for v in value if v not in (None, ""))
    return f"{path}?{urlencode(pairs)}" if pairs else path


def project_path(project: ProjectRecord, *rest: str) -> str:
    """``/p/<hash>/<rest>``: projects by hash, so a rename never breaks a shared link."""
    tail = "/".join(quote(part, safe="") for part in rest)
    return f"/p/{project.project_hash}" + (f"/{tail}" if tail else "")


def query_items(request: Request, drop: Iterable[str] = ()) -> list[tuple[str, str]]:
    """The request's query parameters in order, without ``drop``: what forms and links keep."""
    skip = set(drop)
    return [(k, v) for k, v in request.query_params.multi_items() if k not in skip and v != ""]


def iou_of(text: str | None) -> float:
    """The IoU threshold from ``iou=``: one of the ten stored ones (0.5 by default)."""
    if text in (None, ""):
        return THRESHOLDS[0]
    try:
        value = float(text)
    except ValueError:
        raise InvalidArgumentsError(f"query parameter 'iou': {text!r} is not a number") from None
    for t in THRESHOLDS:
        if abs(t - value) < 1e-9:
            return t
    raise InvalidArgumentsError(
        f"query parameter 'iou': {text} is not a stored threshold "
        f"({', '.join(f'{t:.2f}' for t in THRESHOLDS)})"
    )


def number_of(name: str, text: str | None) -> float | None:
    if text in (None, ""):
        return None
    try:
        return float(str(text))
    except ValueError:
        raise InvalidArgumentsError(f"query parameter {name!r}: {text!r} is not a number") from None


@dataclass(frozen=True)
class SetChoice:
    """The prediction sets of a project and the one the URL selects (None: nothing analysed)."""

    sets: tuple[dict[str, Any], ...]
    selected: str | None
    against: str

    @property
    def entry(self) -> dict[str, Any] | None:
        return next((s for s in self.sets if s["branch"] == self.selected), None)

    @property
    def stale(self) -> bool:
        fresh = (self.entry or {}).get("freshness") or {}
        return fresh.get("fresh") is False


def choose_set(
    store: Store, project: ProjectRecord, wanted: str | None, against: str | None = None
) -> SetChoice:
    """The analysed sets (complete runs only) and the choice: ``wanted``, else the first."""
    gt = against or MAIN_BRANCH
    sets = tuple(
        s for s in list_prediction_sets(store, project) if s["against"] == gt and s["run_id"]
    )
    names = [s["branch"] for s in sets]
    if wanted and wanted not in names:
        from predscope.exceptions import ResourceNotFoundError

        raise ResourceNotFoundError(
            f"project {project.title!r}: branch {wanted!r} has no complete analysis against "
            f"{gt!r} - run `predscope analyse {project.title} --branch {wanted}` or pick one of "
            f"{', '.join(names) or '(none analysed yet)'}"
        )
    return SetChoice(sets, wanted or (names[0] if names else None), gt)


def nav(project: ProjectRecord, choice: SetChoice | None, current: str) -> tuple[Link, ...]:
    """The sections; every link carries the chosen set, so the choice follows from page to page."""
    keep: dict[str, str | None] = {}
    if choice is not None and choice.selected:
        keep = {"set": choice.selected}
        if choice.against != MAIN_BRANCH:
            keep["against"] = choice.against
    links = [Link("Project", url(project_path(project), keep), current == "project")]
    if choice is not None and choice.selected:
        links += [
            Link("Summary", url(project_path(project, "summary"), keep), current == "summary"),
            Link("Explorer", url(project_path(project, "explore"), keep), current == "explore"),
            Link(
                "Where it fails",
                url(project_path(project, "properties"), keep),
                current == "properties",
            ),
        ]
        if len(choice.sets) > 1:
            links.append(
                Link("Compare", url(project_path(project, "compare"), keep), current == "compare")
            )
    links.append(Link("Labels", url(project_path(project, "labels"), keep), current == "labels"))
    return tuple(links)


def chrome(
    request: Request,
    project: ProjectRecord,
    title: str,
    current: str,
    choice: SetChoice | None,
) -> Chrome:
    """The frame: navigation, and the set selector keeping every other parameter of the URL."""
    options: tuple[SetOption, ...] = ()
    notice = None
    action = None
    if choice is not None:
        options = tuple(
            SetOption(s["branch"], s["branch"], (s.get("freshness") or {}).get("fresh") is False)
            for s in choice.sets
        )
        if choice.stale and choice.selected:
            notice = (
                f"{choice.selected!r} changed since it was analysed (or its ground truth did): "
                "these results are from the last complete run."
            )
            fields = (("set", choice.selected), ("against", choice.against))
            action = Action("Re-analyse now", project_path(project, "analyse"), fields)
    keep = tuple(query_items(request, drop=("set", "offset", "unit")))
    return Chrome(
        title,
        project.title,
        nav(project, choice, current),
        options,
        choice.selected if choice else None,
        request.url.path,
        keep,
        STATIC_URL,
        notice,
        action,
    )


def fmt(value: float | None, digits: int = 3) -> str:
    """A metric for a card: COCO's -1 (no ground truth in range) and None read "n/a"."""
    if value is None or value != value or value < 0:
        return "n/a"
    return f"{value:.{digits}f}"


def iou_field(iou: float) -> FilterField:
    """The IoU-threshold select of a page's form: the ten stored thresholds."""
    options = tuple((f"{t:.2f}", f"{t:.2f}") for t in THRESHOLDS)
    return FilterField("iou", "IoU threshold", "select", options, (f"{iou:.2f}",))


def kept_against(choice: SetChoice) -> tuple[tuple[str, str], ...]:
    """What a page's form carries besides its fields: the ground-truth branch, when not main."""
    return (("against", choice.against),) if choice.against != MAIN_BRANCH else ()
