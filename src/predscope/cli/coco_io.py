"""``predscope import coco`` and ``predscope export coco``.

The import prints the mapping report (what matched, what was skipped or clipped, objects per
class); it is one transaction, so an error means nothing changed. ``--dry-run`` writes nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from predscope.cli.common import JsonOption, StoreOption, cli_store, console, print_json
from predscope.cli.groups import export_app, import_app


@import_app.command("coco")
def import_coco_cmd(
    project: Annotated[str, typer.Argument(help="Project hash or title.")],
    file: Annotated[Path, typer.Argument(help="COCO results list or dataset JSON.")],
    branch: Annotated[
        str | None,
        typer.Option("--branch", help="Target branch (default: main with --ground-truth)."),
    ] = None,
    ground_truth: Annotated[
        bool, typer.Option("--ground-truth", help="The file is ground truth (confidence 1).")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Match, convert and report; write nothing.")
    ] = False,
    replace: Annotated[
        bool, typer.Option("--replace", help="Swap the branch's labels for this file's.")
    ] = False,
    on_unknown_category: Annotated[
        str, typer.Option("--on-unknown-category", help="error or skip.")
    ] = "error",
    on_unknown_image: Annotated[str, typer.Option("--on-unknown-image", help="error or skip.")] = (
        "error"
    ),
    gt: Annotated[
        Path | None,
        typer.Option("--gt", help="COCO dataset giving a results list its images and categories."),
    ] = None,
    image_map: Annotated[
        Path | None,
        typer.Option("--image-map", help="JSON/CSV: image id or file_name -> data hash or title."),
    ] = None,
    category_map: Annotated[
        Path | None,
        typer.Option("--category-map", help="JSON/CSV: category id or name -> object or hash."),
    ] = None,
    score_field: Annotated[
        str, typer.Option("--score-field", help="Annotation field holding the confidence.")
    ] = "score",
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import COCO detections (or ground truth) into a project branch, in one transaction."""
    from predscope.services.coco_import import import_coco
    from predscope.services.projects import get_project

    if branch is None and not ground_truth:
        raise typer.BadParameter("give --branch NAME (or --ground-truth for main)")
    with cli_store(store) as st:
        record = get_project(st, project)
        report = import_coco(
            st,
            record,
            file,
            branch_name=branch or "main",
            ground_truth=ground_truth,
            dry_run=dry_run,
            replace=replace,
            on_unknown_category=on_unknown_category,
            on_unknown_image=on_unknown_image,
            gt_path=gt,
            image_map=image_map,
            category_map=category_map,
            score_field=score_field,
            progress=not as_json and sys.stderr.isatty(),
        )
    if as_json:
        print_json(report.to_dict())
        return
    for line in report.summary_lines():
        console.print(line)
    if dry_run:
        console.print("dry run: nothing written")


@export_app.command("coco")
def export_coco_cmd(
    project: Annotated[str, typer.Argument(help="Project hash or title.")],
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
    from predscope.formats.coco_writer import write_coco_json
    from predscope.services.coco_export import export_coco
    from predscope.services.projects import get_project

    if iou_type not in ("auto", "bbox", "segm"):
        raise typer.BadParameter("--iou-type must be auto, bbox or segm")
    with cli_store(store) as st:
        record = get_project(st, project)
        payload = export_coco(
            st,
            record,
            branch_name=branch,
            results=results,
            iou_type=iou_type,  # type: ignore[arg-type]
        )
    count = len(payload) if isinstance(payload, list) else len(payload["annotations"])
    if str(out) == "-":
        print_json(payload)
        return
    write_coco_json(payload, out)
    if as_json:
        print_json({"annotations": count, "branch": branch, "path": str(out)})
        return
    kind = "results" if results else "dataset"
    console.print(f"Exported {count} annotation(s) of branch {branch!r} as a COCO {kind} to {out}")


def register(app: typer.Typer) -> None:
    """Commands live on the shared ``import`` / ``export`` groups (see cli/groups.py)."""
