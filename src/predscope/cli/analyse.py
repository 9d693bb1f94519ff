"""``predscope analyse PROJECT --branch NAME``: a stored prediction branch against ``main``.

The numbers come from ``services.analysis.evaluate_branch`` (the one evaluation engine); this
module only prints them: the 12-line COCO summary and a per-class table, or JSON.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from predscope.cli.common import (
    JsonOption,
    StoreOption,
    cli_store,
    console,
    find_project,
    print_json,
)

if TYPE_CHECKING:
    from predscope.services.analysis.evaluate import BranchEvaluation


class IouChoice(StrEnum):
    bbox = "bbox"
    segm = "segm"


def _fmt(value: float) -> str:
    return "-" if value < 0 else f"{value:0.3f}"


def per_class_table(result: BranchEvaluation) -> Table:
    """One row per evaluated ontology object; '-' where the class has no ground truth."""
    table = Table(title=f"per class ({result.iou_type}, area all, maxDets 100)")
    table.add_column("class")
    for name in ("AP", "AP50", "AP75", "AR100", "GT", "predictions"):
        table.add_column(name, justify="right")
    for row in result.per_class_rows():
        table.add_row(
            str(row["name"]),
            _fmt(row["AP"]),
            _fmt(row["AP50"]),
            _fmt(row["AP75"]),
            _fmt(row["AR100"]),
            str(row["num_gt"]),
            str(row["num_detections"]),
        )
    return table


def analyse(
    project: Annotated[str, typer.Argument(help="Project hash or title.")],
    branch: Annotated[str, typer.Option("--branch", help="The prediction branch to measure.")],
    gt_branch: Annotated[
        str, typer.Option("--gt-branch", help="The ground-truth branch.")
    ] = "main",
    iou_type: Annotated[
        IouChoice, typer.Option("--iou-type", help="Box IoU or mask IoU.")
    ] = IouChoice.bbox,
    per_class: Annotated[
        bool, typer.Option("--per-class", help="Also show AP / AR per class.")
    ] = False,
    as_json: JsonOption = False,
    store: StoreOption = None,
) -> None:
    """COCO metrics of a prediction branch against ground truth, equal to pycocotools."""
    from predscope.evaluation.summary import summary_lines
    from predscope.services.analysis.evaluate import evaluate_branch

    with cli_store(store) as opened:
        record = find_project(opened, project)
        result = evaluate_branch(
            opened, record, branch, gt_branch=gt_branch, iou_type=iou_type.value
        )
    if as_json:
        print_json(result.to_dict(per_class=True))
        return
    console.print(
        f"project {record.title!r}: branch {branch!r} against {gt_branch!r} ({result.iou_type}): "
        f"{len(result.images)} images, {result.ground_truth.num_annotations} ground-truth "
        f"objects, {result.detections.num_detections} predictions",
        markup=False,
    )
    for line in summary_lines(result.evaluation.params, result.evaluation.stats):
        console.print(line, markup=False)
    if per_class:
        console.print(per_class_table(result))


def register(app: typer.Typer) -> None:
    app.command("analyse")(analyse)
