"""``predscope import encord`` and ``predscope export encord``.

The import prints what it wrote per branch (or, with ``--dry-run``, what it would write); every
row is validated before the single write transaction, so an error means nothing changed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from predscope.cli.common import (
    JsonOption,
    StoreOption,
    cli_store,
    console,
    print_json,
)
from predscope.cli.groups import export_app, import_app
from predscope.cli.progress import show_progress, terminal_progress


@import_app.command("encord")
def import_encord_cmd(
    project: Annotated[str, typer.Argument(help="Project hash or title.")],
    files: Annotated[
        list[Path], typer.Argument(help="Encord label-row JSON files (a row or a list of rows).")
    ],
    branch: Annotated[
        str | None,
        typer.Option(
            "--branch", help="Target branch (default: each row's branch_name, else main)."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and report; write nothing.")
    ] = False,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import Encord label rows into a project, in one transaction."""
    from predscope.services.imports.encord import import_encord
    from predscope.services.projects import get_project

    with cli_store(store) as st, terminal_progress(show_progress(as_json)) as progress:
        record = get_project(st, project)
        report = import_encord(
            st, record, files, branch_name=branch, dry_run=dry_run, progress=progress
        )
    if as_json:
        print_json(report.to_dict())
        return
    verb = "Would write" if dry_run else "Wrote"
    table = Table("branch", "rows", "replaced", "objects", "classifications")
    for name, counts in report.branches.items():
        table.add_row(
            name,
            str(counts["rows"]),
            str(counts["replaced"]),
            str(counts["objects"]),
            str(counts["classifications"]),
        )
    console.print(table)
    total = len(report.rows)
    console.print(
        f"{verb} {total} label row(s) to {record.title!r} from {len(report.files)} file(s)"
        + (" (dry run: nothing written)" if dry_run else "")
    )


@export_app.command("encord")
def export_encord_cmd(
    project: Annotated[str, typer.Argument(help="Project hash or title.")],
    out: Annotated[Path, typer.Argument(help="Output JSON file ('-' for stdout).")],
    branch: Annotated[str, typer.Option("--branch", help="Branch to export.")] = "main",
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Export a branch's rows as Encord label-row JSON (a list of rows)."""
    from predscope.services.exports.encord import write_encord_export
    from predscope.services.projects import get_project

    with cli_store(store) as st:
        record = get_project(st, project)
        if str(out) == "-":
            write_encord_export(st, record, sys.stdout, branch_name=branch)
            return
        count = write_encord_export(st, record, out, branch_name=branch)
    if as_json:
        print_json({"rows": count, "branch": branch, "path": str(out)})
        return
    console.print(f"Exported {count} row(s) of branch {branch!r} to {out}")


def register(app: typer.Typer) -> None:
    """Commands live on the shared ``import`` / ``export`` groups (see cli/groups.py)."""
