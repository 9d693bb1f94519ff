"""``predscope import coco`` and ``predscope export coco``.

The import prints the mapping report (what matched, what was skipped or clipped, objects per
class); it is one transaction, so an error means nothing changed. ``--dry-run`` writes nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from predscope.cli.arguments import (
    BranchOption,
    ProjectArgument,
    UnknownCategoryOption,
    UnknownImageOption,
    append_option,
    dry_run_option,
    ground_truth_option,
    map_option,
    replace_option,
)
from predscope.cli.common import (
    JsonOption,
    StoreOption,
    StreamedOutput,
    cli_store,
    console,
    fail_streamed,
    print_json,
)
from predscope.cli.groups import export_app, import_app
from predscope.cli.import_report import run_import
from predscope.cli.progress import show_progress, terminal_progress
from predscope.exceptions import PredscopeError


@import_app.command("coco")
def import_coco_cmd(
    ctx: typer.Context,
    project: ProjectArgument,
    file: Annotated[Path, typer.Argument(help="COCO results list or dataset JSON.")],
    branch: BranchOption = None,
    ground_truth: Annotated[bool, ground_truth_option("The file is")] = False,
    dry_run: Annotated[bool, dry_run_option("Match, convert and report")] = False,
    replace: Annotated[bool, replace_option("this file's")] = False,
    append: Annotated[bool, append_option("this file's")] = False,
    on_unknown_category: UnknownCategoryOption = "error",
    on_unknown_image: UnknownImageOption = "error",
    gt: Annotated[
        Path | None,
        typer.Option("--gt", help="COCO dataset giving a results list its images and categories."),
    ] = None,
    image_map: Annotated[
        Path | None, map_option("--image-map", "image id or file_name -> data hash or title")
    ] = None,
    category_map: Annotated[
        Path | None, map_option("--category-map", "category id or name -> object or hash")
    ] = None,
    score_field: Annotated[
        str, typer.Option("--score-field", help="Annotation field holding the confidence.")
    ] = "score",
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import COCO detections (or ground truth) into a project branch, in one transaction."""
    from predscope.services.imports.coco import import_coco

    with terminal_progress(show_progress(as_json)) as progress:
        run_import(ctx, import_coco, file, gt_path=gt, score_field=score_field, progress=progress)


@export_app.command("coco")
def export_coco_cmd(
    project: ProjectArgument,
    out: Annotated[Path, typer.Argument(help="Output JSON file ('-' for stdout).")],
    branch: Annotated[str, typer.Option("--branch", help="Branch to export.")] = "main",
    results: Annotated[
        bool, typer.Option("--results", help="Write a results list with scores.")
    ] = False,
    iou_type: Annotated[
        str, typer.Option("--iou-type", help="Results: auto, bbox or segm.")
    ] = "auto",
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Export a branch as a COCO dataset (ground truth) or results list (--results)."""
    from predscope.services.exports.coco import export_coco_file, write_coco_export
    from predscope.services.projects import get_project

    if iou_type not in ("auto", "bbox", "segm"):
        raise typer.BadParameter("--iou-type must be auto, bbox or segm")
    options: dict[str, Any] = {"branch_name": branch, "results": results, "iou_type": iou_type}
    with cli_store(store) as st:
        record = get_project(st, project)
        if str(out) == "-":  # readable JSON on stdout, written as it is made
            stdout = StreamedOutput(sys.stdout.buffer.write)
            try:
                write_coco_export(st, record, stdout, indent=True, **options)  # type: ignore[arg-type]
            except PredscopeError as exc:
                fail_streamed(exc, stdout, as_json)
            stdout.write(b"\n")
            sys.stdout.buffer.flush()
            return
        count = export_coco_file(st, record, out, **options)
    if as_json:
        print_json({"annotations": count, "branch": branch, "path": str(out)})
        return
    kind = "results" if results else "dataset"
    console.print(f"Exported {count} annotation(s) of branch {branch!r} as a COCO {kind} to {out}")


def register(app: typer.Typer) -> None:
    """Commands live on the shared ``import`` / ``export`` groups (see cli/groups.py)."""
