"""``predscope metrics`` and ``predscope sets``: read stored analyses, set review status/notes."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from predscope.cli.analyse import AgainstOption, BranchOption, print_metrics
from predscope.cli.common import (
    JsonOption,
    StoreOption,
    cli_store,
    console,
    find_project,
    print_json,
)


def metrics(
    project: Annotated[str, typer.Argument(help="Project hash or title.")],
    branch: BranchOption,
    against: AgainstOption = "main",
    per_class: Annotated[
        bool, typer.Option("--per-class", help="Also show AP / AR per class.")
    ] = False,
    as_json: JsonOption = False,
    store: StoreOption = None,
) -> None:
    """The latest complete analysis of a branch: metrics, provenance and freshness."""
    from predscope.services.analysis.metrics import get_metrics

    with cli_store(store) as opened:
        record = find_project(opened, project)
        doc = get_metrics(opened, record, branch, against=against)
    if as_json:
        print_json(doc)
        return
    print_metrics(doc, record.title, per_class)


def _fmt(value: object) -> str:
    return "-" if not isinstance(value, (int, float)) or value < 0 else f"{value:0.3f}"


def sets(
    project: Annotated[str, typer.Argument(help="Project hash or title.")],
    branch: Annotated[
        str | None, typer.Option("--branch", help="The set to change (with --status/--notes).")
    ] = None,
    against: AgainstOption = "main",
    status: Annotated[
        str | None,
        typer.Option("--status", help="needs-review, in-review or reviewed."),
    ] = None,
    notes: Annotated[str | None, typer.Option("--notes", help="Free-text notes.")] = None,
    as_json: JsonOption = False,
    store: StoreOption = None,
) -> None:
    """Analysed prediction sets with headline metrics, freshness and review status."""
    from predscope.exceptions import InvalidArgumentsError
    from predscope.services.analysis.metrics import list_prediction_sets, set_review

    if branch is None and (status is not None or notes is not None):
        raise InvalidArgumentsError(
            "sets: --status and --notes change one set - name it with --branch"
        )
    with cli_store(store) as opened:
        record = find_project(opened, project)
        if branch is not None and (status is not None or notes is not None):
            set_review(opened, record, branch, against=against, status=status, notes=notes)
        listing = list_prediction_sets(opened, record)
    if branch is not None:
        listing = [s for s in listing if s["branch"] == branch and s["against"] == against]
    if as_json:
        print_json(listing)
        return
    table = Table(title=f"prediction sets of {record.title!r}")
    for col in ("branch", "vs", "AP", "AP50", "AR100", "fresh", "review", "run", "notes"):
        table.add_column(col, justify="right" if col[:2] in ("AP", "AR") else "left")
    for s in listing:
        m = s["metrics"] or {}
        fresh = s["freshness"]
        last = s["last_run"]
        table.add_row(
            s["branch"],
            s["against"],
            _fmt(m.get("AP")),
            _fmt(m.get("AP50")),
            _fmt(m.get("AR100")),
            "-" if fresh is None else ("yes" if fresh["fresh"] else "stale"),
            s["review_status"].replace("_", " "),
            "-"
            if last is None
            else f"{last['id']}" + ("" if last["status"] == "complete" else f" {last['status']}"),
            s["notes"],
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("metrics")(metrics)
    app.command("sets")(sets)
