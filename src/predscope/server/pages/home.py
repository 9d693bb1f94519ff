"""The start page (every project), a project's page, and its verify listing (``/labels``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from predscope.server.api.deps import StoreDep, project_of
from predscope.server.pages.common import (
    SetChoice,
    choose_set,
    chrome,
    fmt,
    html,
    project_path,
    url,
)
from predscope.services.exports.listing import listing_page
from predscope.services.projects import list_projects
from predscope.services.summaries import branch_summaries, units_page
from predscope.store.branches import MAIN_BRANCH
from predscope.ui.render import render_project, render_start
from predscope.ui.views import (
    Action,
    Card,
    Cell,
    Chrome,
    Link,
    OntologyItem,
    ProjectCard,
    ProjectView,
    StartView,
    Table,
)

router = APIRouter(include_in_schema=False)
UNITS_PER_PAGE = 100
ROWS_PER_PAGE = 25


@router.get("/", response_class=HTMLResponse)
def start_page(store: StoreDep) -> HTMLResponse:
    cards = []
    for project in list_projects(store):
        branches = branch_summaries(store, project)
        choice = choose_set(store, project, None)
        _, units = units_page(store, project, 0, 1)
        cards.append(
            ProjectCard(
                project.title,
                project_path(project),
                units,
                tuple(
                    Link(b["name"], url(project_path(project, "labels"), {"branch": b["name"]}))
                    for b in branches
                ),
                tuple(
                    Link(
                        f"{s['branch']} (mAP {fmt((s['metrics'] or {}).get('AP'))})",
                        url(project_path(project, "summary"), {"set": s["branch"]}),
                    )
                    for s in choice.sets
                ),
                project.description,
            )
        )
    return html(render_start(StartView(Chrome("Projects"), tuple(cards))))


def _ontology(project: Any) -> tuple[OntologyItem, ...]:
    onto = project.ontology or {}
    items = [
        OntologyItem(
            str(o.get("name", "")),
            str(o.get("shape", "")),
            str(o.get("color") or "#888888"),
            tuple(str(a.get("name", "")) for a in o.get("attributes", ()) or ()),
        )
        for o in onto.get("objects", ()) or ()
    ]
    for c in onto.get("classifications", ()) or ():
        for a in c.get("attributes", ()) or ():
            options = tuple(str(o.get("label", "")) for o in a.get("options", ()) or ())
            items.append(
                OntologyItem(
                    str(a.get("name", "")),
                    f"{a.get('type', '')} classification",
                    "#888888",
                    options,
                )
            )
    return tuple(items)


def _branch_table(project: Any, branches: list[dict[str, Any]], choice: SetChoice) -> Table:
    analysed = {s["branch"] for s in choice.sets}
    rows = []
    for b in branches:
        last = b.get("last_import") or {}
        name = b["name"]
        summary = url(project_path(project, "summary"), {"set": name}) if name in analysed else None
        rows.append(
            (
                Cell(name, summary or url(project_path(project, "labels"), {"branch": name})),
                Cell(str(b["rows"]), value=b["rows"]),
                Cell(str(b["objects"]), value=b["objects"]),
                Cell(str(b["classifications"]), value=b["classifications"]),
                Cell(str(last.get("kind", "")) + (f" {last['source_name']}" if last else "")),
                Cell(str(last.get("created_at", ""))[:19].replace("T", " ")),
            )
        )
    return Table(
        "Branches",
        ("Branch", "Rows", "Objects", "Classifications", "Last import", "When"),
        tuple(rows),
        (False, True, True, True, False, False),
        "branches",
    )


def _sets_table(project: Any, choice: SetChoice) -> Table:
    rows = []
    for s in choice.sets:
        m = s.get("metrics") or {}
        fresh = (s.get("freshness") or {}).get("fresh")
        q = {"set": s["branch"]}
        rows.append(
            (
                Cell(s["branch"], url(project_path(project, "summary"), q)),
                Cell(fmt(m.get("AP")), value=m.get("AP")),
                Cell(fmt(m.get("AP50")), value=m.get("AP50")),
                Cell(str(m.get("predictions", "")), value=m.get("predictions")),
                Cell("fresh" if fresh else "stale: re-analyse", kind="" if fresh else "fn"),
                Cell(str(s.get("review_status", "")).replace("_", " ")),
                Cell("explore", url(project_path(project, "explore"), q)),
            )
        )
    return Table(
        "Prediction sets",
        ("Set", "mAP", "AP50", "Predictions", "Freshness", "Review", ""),
        tuple(rows),
        (False, True, True, True, False, False, False),
        "sets",
    )


@router.get("/p/{project}", response_class=HTMLResponse)
def project_page(
    request: Request,
    store: StoreDep,
    project: str,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    record = project_of(store, project)
    branches = branch_summaries(store, record)
    choice = choose_set(store, record, None)
    units, total = units_page(store, record, offset, UNITS_PER_PAGE)
    unit_rows = tuple(
        (
            Cell(u.data_title, project_path(record, "units", u.data_hash)),
            Cell(u.data_type),
            Cell(
                f"{u.width}×{u.height}" if u.width else "", value=(u.width or 0) * (u.height or 0)
            ),
            Cell(str(u.number_of_frames or len(u.images) or 1), value=u.number_of_frames or 1),
        )
        for u in units
    )
    shown = f"{offset + 1}–{offset + len(units)} of {total}" if units else f"none of {total}"
    tables = (
        _branch_table(record, branches, choice),
        _sets_table(record, choice),
        Table(
            f"Data units ({shown})",
            ("Title", "Type", "Size", "Frames"),
            unit_rows,
            (False, False, True, True),
            "units",
        ),
    )
    main = next((b for b in branches if b["name"] == MAIN_BRANCH), None)
    cards = (
        Card("Data units", str(total)),
        Card("Branches", str(len(branches))),
        Card("Ground-truth objects", str(main["objects"] if main else 0)),
        Card("Analysed sets", str(len(choice.sets))),
    )
    frame = chrome(request, record, record.title, "project", choice)
    more = None
    if offset + len(units) < total:
        more = Link(
            "More data units →", url(project_path(record), {"offset": str(offset + UNITS_PER_PAGE)})
        )
    actions = tuple(
        Action(f"Analyse {b['name']}", project_path(record, "analyse"), (("set", b["name"]),))
        for b in branches
        if b["name"] != MAIN_BRANCH
    )
    view = ProjectView(frame, cards, _ontology(record), tables, more, actions)
    return html(render_project(view))


@router.get("/p/{project}/labels", response_class=HTMLResponse)
def labels_page(
    request: Request,
    store: StoreDep,
    project: str,
    branch: str | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    set: str | None = None,  # noqa: A002 (the URL's own name): the choice the other pages keep
    against: str | None = None,
) -> HTMLResponse:
    """The verify view: rows with every object, attribute and coordinate, as `labels` lists them."""
    record = project_of(store, project)
    choice = choose_set(store, record, set, against)
    rows, more = listing_page(store, record, branch_name=branch, offset=offset, limit=ROWS_PER_PAGE)
    cells = []
    for row in rows:
        unit = Cell(row.data_title, project_path(record, "units", row.data_hash))
        for obj in row.objects:
            attrs = "; ".join(f"{a.name}: {a.answer_text}" for a in obj.attributes)
            for ann in obj.annotations:
                cells.append(
                    (
                        unit,
                        Cell(row.branch_name),
                        Cell(obj.object_name),
                        Cell(obj.shape),
                        Cell(str(ann.frame), value=ann.frame),
                        Cell(ann.coordinates_text),
                        Cell(f"{ann.confidence:g}", value=ann.confidence),
                        Cell(attrs),
                        Cell(obj.object_hash),
                    )
                )
        for c in row.classifications:
            cells.append(
                (
                    unit,
                    Cell(row.branch_name),
                    Cell(c.classification_name),
                    Cell("classification"),
                    Cell(", ".join(str(f) for f in c.frames)),
                    Cell(c.answer_text),
                    Cell(", ".join(f"{a.confidence:g}" for a in c.annotations)),
                    Cell(""),
                    Cell(c.classification_hash),
                )
            )
    which = f"branch {branch}" if branch else "every branch"
    table = Table(
        f"Label rows of {which}, positions {offset + 1}–{offset + ROWS_PER_PAGE}",
        (
            "Data unit",
            "Branch",
            "Object",
            "Shape",
            "Frame",
            "Coordinates",
            "Confidence",
            "Attributes",
            "Hash",
        ),
        tuple(cells),
        (False, False, False, False, True, False, True, False, False),
        "labels",
    )
    frame = chrome(request, record, f"Labels: {which}", "labels", choice)
    nxt = None
    if more:
        params = {
            **dict(frame.keep),
            "set": choice.selected,
            "branch": branch,
            "offset": str(offset + ROWS_PER_PAGE),
        }
        nxt = Link("More rows →", url(project_path(record, "labels"), params))
    return html(render_project(ProjectView(frame, (), (), (table,), nxt)))
