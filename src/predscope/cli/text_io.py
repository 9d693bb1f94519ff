"""``predscope import yolo`` / ``import voc``: box files under the COCO import's rules."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
from predscope.cli.common import JsonOption, StoreOption
from predscope.cli.groups import import_app
from predscope.cli.import_report import run_import

# Both commands read many files, so their help words the shared flags in the plural.
GroundTruthOption = Annotated[bool, ground_truth_option("The files are")]
DryRunOption = Annotated[bool, dry_run_option("Match and report")]
ReplaceOption = Annotated[bool, replace_option("these files'")]
AppendOption = Annotated[bool, append_option("these files'")]
ImageMapOption = Annotated[
    Path | None, map_option("--image-map", "file name -> data hash or title")
]
CategoryMapOption = Annotated[
    Path | None, map_option("--category-map", "class -> object title or hash")
]


@import_app.command("yolo")
def import_yolo_cmd(
    ctx: typer.Context,
    project: ProjectArgument,
    folder: Annotated[Path, typer.Argument(help="Folder of YOLO .txt files, one per image.")],
    branch: BranchOption = None,
    ground_truth: GroundTruthOption = False,
    dry_run: DryRunOption = False,
    replace: ReplaceOption = False,
    append: AppendOption = False,
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
    from predscope.services.imports.text import import_yolo

    if score_column not in ("auto", "none", "last", "second"):
        raise typer.BadParameter("--score-column must be auto, none, last or second")
    run_import(
        ctx,
        import_yolo,
        folder,
        class_names=classes,
        class_mode="name" if class_names else "index",
        score_column=score_column,
    )


@import_app.command("voc")
def import_voc_cmd(
    ctx: typer.Context,
    project: ProjectArgument,
    path: Annotated[Path, typer.Argument(help="A Pascal VOC .xml file or a folder of them.")],
    branch: BranchOption = None,
    ground_truth: GroundTruthOption = False,
    dry_run: DryRunOption = False,
    replace: ReplaceOption = False,
    append: AppendOption = False,
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
    from predscope.services.imports.text import import_voc

    run_import(ctx, import_voc, path, one_based=not zero_based)


def register(app: typer.Typer) -> None:
    """Commands live on the shared ``import`` group (see cli/groups.py)."""
