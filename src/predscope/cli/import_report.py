"""The part every import command shares: the options object, store session, report printing.

``import coco``, ``import yolo``, ``import voc`` and ``import encord`` differ only in their format
options; the target branch, mode, mapping choices and the printed report behave the same for all.
The shared flags are read from the command's parsed parameters (``ctx.params``), so each command
declares them once in its signature and passes on only what is its own; the rules themselves live
in ``services.imports.options.ImportOptions``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from predscope.cli.common import cli_store, console, print_json

if TYPE_CHECKING:
    from predscope.services.imports.options import ImportOptions
    from predscope.services.imports.report import ImportReport

# ImportOptions fields a command may declare as flags (same Python names).
_SHARED = (
    "ground_truth",
    "dry_run",
    "replace",
    "append",
    "on_unknown_category",
    "on_unknown_image",
    "image_map",
    "category_map",
)


def import_options(params: Mapping[str, Any], **fixed: Any) -> ImportOptions:
    """The one ``ImportOptions`` of a command, from its parsed parameters (``ctx.params``)."""
    from predscope.services.imports.options import ImportOptions

    given = {name: params[name] for name in _SHARED if name in params}
    return ImportOptions(branch=params["branch"], caller="cli", **given, **fixed)


def run_import(
    ctx: typer.Context,
    importer: Callable[..., ImportReport],
    source: Path,
    **format_options: Any,
) -> None:
    """Resolve the project, call ``importer`` with the shared options, then print its report."""
    from predscope.services.projects import get_project

    params = ctx.params
    options = import_options(params)
    with cli_store(params["store"]) as st:
        record = get_project(st, params["project"])
        report = importer(st, record, source, options, **format_options)
    print_import_report(report, as_json=params["as_json"])


def print_import_report(report: ImportReport, *, as_json: bool) -> None:
    """The report as JSON, or its summary lines (plus a dry-run notice) as text."""
    if as_json:
        print_json(report.to_dict())
        return
    for line in report.summary_lines():
        console.print(line, highlight=False, markup=False)
    if report.dry_run:
        console.print("dry run: nothing written")
