"""``predscope import encord`` and ``predscope export encord``.

The import prints the shared import report (per branch: rows, objects, classifications); every
row is validated before the single write transaction, so an error means nothing changed. The
re-import rule (``--replace`` / ``--append``) is every import's.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from predscope.cli.arguments import ProjectArgument, append_option, dry_run_option, replace_option
from predscope.cli.common import (
    JsonOption,
    StoreOption,
    cli_store,
    console,
    print_json,
)
from predscope.cli.groups import export_app, import_app
from predscope.cli.import_report import import_options, print_import_report
from predscope.cli.progress import show_progress, terminal_progress


@import_app.command("encord")
def import_encord_cmd(
    ctx: typer.Context,
    project: ProjectArgument,
    files: Annotated[
        list[Path], typer.Argument(help="Encord label-row JSON files (a row or a list of rows).")
    ],
    branch: Annotated[
        str | None,
        typer.Option(
            "--branch", help="Target branch (default: each row's branch_name, else main)."
        ),
    ] = None,
    dry_run: Annotated[bool, dry_run_option("Validate and report")] = False,
    replace: Annotated[bool, replace_option("these rows'")] = False,
    append: Annotated[bool, append_option("these rows'")] = False,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import Encord label rows into a project, in one transaction."""
    from predscope.services.imports.encord import import_encord
    from predscope.services.projects import get_project

    options = import_options(ctx.params, branch_in_rows=True)
    with cli_store(store) as st, terminal_progress(show_progress(as_json)) as progress:
        record = get_project(st, project)
        report = import_encord(st, record, files, options, progress=progress)
    print_import_report(report, as_json=as_json)


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
