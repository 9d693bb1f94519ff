"""The part every file import command shares: branch check, store session, report printing.

``import coco``, ``import yolo`` and ``import voc`` differ only in their format options; the
target branch, mapping choices and the printed report must behave the same for all three. The
shared flags are read from the command's parsed parameters (``ctx.params``), so each command
declares them once in its signature and passes on only what is its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from predscope.cli.common import cli_store, console, print_json

if TYPE_CHECKING:
    from predscope.services.imports.writer import CocoImportReport


@dataclass(frozen=True, slots=True)
class ImportChoices:
    """The parameters every file import command declares, by their Python names."""

    project: str
    branch: str | None
    ground_truth: bool
    dry_run: bool
    replace: bool
    on_unknown_category: str
    on_unknown_image: str
    image_map: Path | None
    category_map: Path | None
    store: str | None
    as_json: bool

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> ImportChoices:
        """Pick the shared parameters out of a command's parsed ones."""
        return cls(**{f.name: params[f.name] for f in fields(cls)})

    def branch_name(self) -> str:
        """``--branch``, or main for ground truth; a prediction import must name its branch."""
        if self.branch is None and not self.ground_truth:
            raise typer.BadParameter("give --branch NAME (or --ground-truth for main)")
        return self.branch or "main"


def run_import(
    ctx: typer.Context,
    importer: Callable[..., CocoImportReport],
    source: Path,
    **format_options: Any,
) -> None:
    """Resolve the project, call ``importer`` with the shared flags, then print its report."""
    from predscope.services.projects import get_project

    choices = ImportChoices.from_params(ctx.params)
    branch_name = choices.branch_name()
    with cli_store(choices.store) as st:
        record = get_project(st, choices.project)
        report = importer(
            st,
            record,
            source,
            branch_name=branch_name,
            ground_truth=choices.ground_truth,
            dry_run=choices.dry_run,
            replace=choices.replace,
            on_unknown_category=choices.on_unknown_category,
            on_unknown_image=choices.on_unknown_image,
            image_map=choices.image_map,
            category_map=choices.category_map,
            **format_options,
        )
    print_import_report(report, as_json=choices.as_json, dry_run=choices.dry_run)


def print_import_report(report: CocoImportReport, *, as_json: bool, dry_run: bool) -> None:
    """The report as JSON, or its summary lines (plus a dry-run notice) as text."""
    if as_json:
        print_json(report.to_dict())
        return
    for line in report.summary_lines():
        console.print(line)
    if dry_run:
        console.print("dry run: nothing written")
