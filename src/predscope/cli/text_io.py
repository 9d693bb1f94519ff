"""``predscope import yolo`` / ``import voc``: box files under the COCO import's rules."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from predscope.cli.common import JsonOption, StoreOption, cli_store, console, print_json
from predscope.cli.groups import import_app

BranchOption = Annotated[
    str | None,
    typer.Option("--branch", help="Target branch (default: main with --ground-truth)."),
]
GroundTruthOption = Annotated[
    bool, typer.Option("--ground-truth", help="The files are ground truth (confidence 1).")
]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Match and report; write nothing.")]
ReplaceOption = Annotated[
    bool, typer.Option("--replace", help="Swap the branch's labels for these files'.")
]
UnknownCategoryOption = Annotated[str, typer.Option("--on-unknown-category", help="error or skip.")]
UnknownImageOption = Annotated[str, typer.Option("--on-unknown-image", help="error or skip.")]
ImageMapOption = Annotated[
    Path | None, typer.Option("--image-map", help="JSON/CSV: file name -> data hash or title.")
]
CategoryMapOption = Annotated[
    Path | None, typer.Option("--category-map", help="JSON/CSV: class -> object title or hash.")
]


def _finish(report: Any, as_json: bool, dry_run: bool) -> None:
    if as_json:
        print_json(report.to_dict())
        return
    for line in report.summary_lines():
        console.print(line)
    if dry_run:
        console.print("dry run: nothing written")


def _branch(branch: str | None, ground_truth: bool) -> str:
    if branch is None and not ground_truth:
        raise typer.BadParameter("give --branch NAME (or --ground-truth for main)")
    return branch or "main"


@import_app.command("yolo")
def import_yolo_cmd(
    project: Annotated[str, typer.Argument(help="Project hash or title.")],
    folder: Annotated[Path, typer.Argument(help="Folder of YOLO .txt files, one per image.")],
    branch: BranchOption = None,
    ground_truth: GroundTruthOption = False,
    dry_run: DryRunOption = False,
    replace: ReplaceOption = False,
    classes: Annotated[
        Path | None,
        typer.Option("--classes", help="Class-names file (default: classes.txt in the folder)."),
    ] = None,
    class_names: Annotated[
        bool, typer.Option("--class-names", help="The first column is a class name, not an index.")
    ] = False,
    score_column: Annotated[
        str, typer.Option("--score-column", help="auto, none, last or second.")
    ] = "auto",
    on_unknown_category: UnknownCategoryOption = "error",
    on_unknown_image: UnknownImageOption = "error",
    image_map: ImageMapOption = None,
    category_map: CategoryMapOption = None,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import YOLO boxes (normalised cx cy w h, optional score) into a project branch."""
    from predscope.services.projects import get_project
    from predscope.services.text_import import import_yolo

    if score_column not in ("auto", "none", "last", "second"):
        raise typer.BadParameter("--score-column must be auto, none, last or second")
    with cli_store(store) as st:
        record = get_project(st, project)
        report = import_yolo(
            st,
            record,
            folder,
            branch_name=_branch(branch, ground_truth),
            ground_truth=ground_truth,
            dry_run=dry_run,
            replace=replace,
            class_names=classes,
            class_mode="name" if class_names else "index",
            score_column=score_column,  # type: ignore[arg-type]
            on_unknown_category=on_unknown_category,
            on_unknown_image=on_unknown_image,
            image_map=image_map,
            category_map=category_map,
        )
    _finish(report, as_json, dry_run)


@import_app.command("voc")
def import_voc_cmd(
    project: Annotated[str, typer.Argument(help="Project hash or title.")],
    path: Annotated[Path, typer.Argument(help="A Pascal VOC .xml file or a folder of them.")],
    branch: BranchOption = None,
    ground_truth: GroundTruthOption = False,
    dry_run: DryRunOption = False,
    replace: ReplaceOption = False,
    zero_based: Annotated[
        bool, typer.Option("--zero-based", help="Pixel edges are 0-based (not the VOC devkit's).")
    ] = False,
    on_unknown_category: UnknownCategoryOption = "error",
    on_unknown_image: UnknownImageOption = "error",
    image_map: ImageMapOption = None,
    category_map: CategoryMapOption = None,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import Pascal VOC XML boxes into a project branch."""
    from predscope.services.projects import get_project
    from predscope.services.text_import import import_voc

    with cli_store(store) as st:
        record = get_project(st, project)
        report = import_voc(
            st,
            record,
            path,
            branch_name=_branch(branch, ground_truth),
            ground_truth=ground_truth,
            dry_run=dry_run,
            replace=replace,
            one_based=not zero_based,
            on_unknown_category=on_unknown_category,
            on_unknown_image=on_unknown_image,
            image_map=image_map,
            category_map=category_map,
        )
    _finish(report, as_json, dry_run)


def register(app: typer.Typer) -> None:
    """Commands live on the shared ``import`` group (see cli/groups.py)."""
