"""``predscope branches list|remove|rename``, ``data remove``, ``project remove`` and ``history``.

Every destructive command shows what it will delete and asks first; ``--yes`` answers for a
script, and without a terminal and without ``--yes`` the command refuses instead of guessing.
Ground truth (``main``) also needs ``--force``, checked by the services (one rule everywhere).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from typer.core import TyperGroup

from predscope.cli.arguments import ProjectArgument
from predscope.cli.common import JsonOption, StoreOption, cli_store, console, print_json
from predscope.cli.groups import data_app, project_app
from predscope.exceptions import InvalidArgumentsError

if TYPE_CHECKING:
    from predscope.store.records import HistoryRecord

ORIGIN = "cli"

YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
ForceOption = Annotated[
    bool, typer.Option("--force", help="Allow changing ground truth (branch 'main').")
]


class _ListByDefault(TyperGroup):
    """``predscope branches PROJECT`` keeps working: a first word that is no command means list."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["list", *args]
        return super().resolve_command(ctx, args)


branches_app = typer.Typer(
    cls=_ListByDefault,
    help="List, remove and rename a project's branches (`branches PROJECT` lists them).",
    no_args_is_help=True,
)


def confirm(question: str, yes: bool) -> None:
    """Ask ``question``; refuse when nobody can answer (no terminal) and ``--yes`` was not given."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise InvalidArgumentsError(
            f"{question} - no terminal to ask for confirmation, so nothing was changed; pass "
            "--yes to confirm from a script"
        )
    if not typer.confirm(question, default=False):
        console.print("Nothing changed.")
        raise typer.Exit(1)


@branches_app.command("list")
def branches_list(
    project: ProjectArgument, store: StoreOption = None, as_json: JsonOption = False
) -> None:
    """List a project's branches (main first) with their row and label counts."""
    from predscope.cli.projects import branches

    branches(project, store, as_json)


@branches_app.command("remove")
def branches_remove(
    project: ProjectArgument,
    branch: Annotated[str, typer.Argument(help="Branch to remove.")],
    force: ForceOption = False,
    yes: YesOption = False,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Remove a branch: its label rows and its import records (one transaction)."""
    from predscope.services.branches import refuse_main_without_force, remove_branch
    from predscope.services.projects import get_project
    from predscope.store.label_rows import count_branch_rows

    refuse_main_without_force(f"remove branch {branch!r}", branch == "main", force)
    with cli_store(store) as st:
        record = get_project(st, project)
        with st.read() as conn:
            rows, objects = count_branch_rows(conn, record.id, branch)
        confirm(
            f"Remove branch {branch!r} of {record.title!r} ({rows} rows, {objects} objects)?", yes
        )
        change = remove_branch(st, record, branch, force=force, origin=ORIGIN)
    _done(
        as_json,
        change.to_dict(),
        f"Removed branch {branch!r} of {record.title!r}: {change.rows} rows, {change.objects} "
        f"objects, {change.imports} import record(s)",
    )


@branches_app.command("rename")
def branches_rename(
    project: ProjectArgument,
    old: Annotated[str, typer.Argument(help="Current branch name.")],
    new: Annotated[str, typer.Argument(help="New branch name (must not exist).")],
    force: ForceOption = False,
    yes: YesOption = False,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Rename a branch (its rows and import records move with it)."""
    from predscope.services.branches import refuse_main_without_force, rename_branch
    from predscope.services.projects import get_project

    refuse_main_without_force(f"rename branch {old!r} to {new!r}", "main" in (old, new), force)
    with cli_store(store) as st:
        record = get_project(st, project)
        confirm(f"Rename branch {old!r} of {record.title!r} to {new!r}?", yes)
        change = rename_branch(st, record, old, new, force=force, origin=ORIGIN)
    _done(
        as_json,
        change.to_dict(),
        f"Renamed branch {old!r} of {record.title!r} to {new!r} ({change.rows} rows, "
        f"{change.imports} import record(s))",
    )


@data_app.command("remove")
def data_remove(
    project: ProjectArgument,
    units: Annotated[list[str], typer.Argument(help="Data titles or data hashes.")],
    force: ForceOption = False,
    yes: YesOption = False,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Remove data units and their label rows on every branch (one transaction)."""
    from predscope.services.projects import get_project
    from predscope.services.removal import remove_data_units

    with cli_store(store) as st:
        record = get_project(st, project)
        confirm(
            f"Remove {len(units)} data unit(s) of {record.title!r} and their rows on every branch?",
            yes,
        )
        removal = remove_data_units(st, record, units, force=force, origin=ORIGIN)
    _done(
        as_json,
        removal.to_dict(),
        f"Removed {removal.data_units} data unit(s) of {record.title!r}: {removal.rows} rows, "
        f"{removal.objects} objects",
    )


@project_app.command("remove")
def project_remove(
    project: ProjectArgument,
    force: ForceOption = False,
    yes: YesOption = False,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Remove a project with its data units, rows and imports (its history is kept)."""
    from predscope.cli.projects import project_summary
    from predscope.services.projects import get_project
    from predscope.services.removal import remove_project

    with cli_store(store) as st:
        record = get_project(st, project)
        summary = project_summary(st, record)
        rows = sum(b["rows"] for b in summary["branches"])
        confirm(
            f"Remove project {record.title!r} ({summary['data_units']} data units, {rows} rows "
            f"on {len(summary['branches'])} branches)?",
            yes,
        )
        removal = remove_project(st, record, force=force, origin=ORIGIN)
    _done(
        as_json,
        removal.to_dict(),
        f"Removed project {record.title!r}: {removal.data_units} data units, {removal.rows} "
        f"rows, {removal.objects} objects (`predscope history {record.project_hash}` keeps the "
        "record)",
    )


def _done(as_json: bool, result: dict[str, Any], text: str) -> None:
    """What a command did: its result as JSON with ``--json``, else one sentence."""
    if as_json:
        print_json(result)
    else:
        console.print(text)


def _event_dict(event: HistoryRecord) -> dict[str, Any]:
    return {
        "at": event.created_at,
        "action": event.action,
        "subject": event.subject,
        "details": event.details,
        "actor": event.actor,
        "origin": event.origin,
        "project_hash": event.project_hash,
        "project_title": event.project_title,
    }


def history(
    project: ProjectArgument, store: StoreOption = None, as_json: JsonOption = False
) -> None:
    """What happened to a project: data added, imports, removals and renames, oldest first."""
    from predscope.services.history import list_history

    with cli_store(store) as st:
        events = list_history(st, project)
    if as_json:
        print_json([_event_dict(e) for e in events])
        return
    if not events:
        console.print(f"{project!r} has no recorded history yet.")
        return
    table = Table("when (UTC)", "action", "subject", "details", "by")
    for e in events:
        details = ", ".join(
            f"{k} {v}" for k, v in e.details.items() if isinstance(v, int | str) and k != "action"
        )
        by = f"{e.actor} ({e.origin})" if e.actor else ""
        table.add_row(e.created_at.strftime("%Y-%m-%d %H:%M:%S"), e.action, e.subject, details, by)
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(branches_app, name="branches")
    app.command("history")(history)
