"""``predscope eval GT.json DT.json``: COCO metrics of a results file, equal to pycocotools."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from predscope.evaluation.results import CocoEvaluation

# The engine (numpy, numba kernels) is imported inside the command, so that every other
# predscope command starts without paying for it.


class IouTypeOption(StrEnum):
    bbox = "bbox"
    segm = "segm"
    keypoints = "keypoints"


def evaluation_json(ev: CocoEvaluation, per_class: bool = True) -> dict[str, Any]:
    """The ``--json`` document: stats keyed AP ... ARl and the per-class table."""
    out: dict[str, Any] = {
        "iou_type": ev.params.iou_type,
        "stats": dict(ev.stats),
        "pycocotools_compat": ev.pycocotools_compat,
    }
    if per_class:
        ar_key = f"AR{ev.params.max_dets[-1]}"
        out["per_class"] = [
            {
                "category_id": c.category_id,
                "name": c.name,
                "AP": c.ap,
                "AP50": c.ap50,
                "AP75": c.ap75,
                ar_key: c.ar,
            }
            for c in ev.per_class
        ]
    return out


def _print_table(console: Console, ev: CocoEvaluation) -> None:
    table = Table(title=f"Per class (area all, maxDets {ev.params.max_dets[-1]})")
    for col in ("id", "name", "AP", "AP50", "AP75", f"AR{ev.params.max_dets[-1]}", "GT", "dets"):
        table.add_column(col, justify="right" if col not in ("name",) else "left")

    def fmt(v: float) -> str:
        return "n/a" if v == -1 else f"{v:.3f}"

    for c in ev.per_class:
        table.add_row(
            str(c.category_id),
            c.name,
            fmt(c.ap),
            fmt(c.ap50),
            fmt(c.ap75),
            fmt(c.ar),
            str(c.num_gt),
            str(c.num_detections),
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the ``eval`` command to the root app."""

    @app.command("eval")
    def eval_command(
        gt: Annotated[Path, typer.Argument(help="COCO ground-truth dataset JSON.")],
        dt: Annotated[Path, typer.Argument(help="COCO results list (or dataset with scores).")],
        iou_type: Annotated[
            IouTypeOption, typer.Option("--iou-type", help="bbox, segm or keypoints.")
        ] = IouTypeOption.bbox,
        as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
        per_class: Annotated[
            bool, typer.Option("--per-class", help="Also show AP/AR per category.")
        ] = False,
        pycocotools_compat: Annotated[
            bool,
            typer.Option(
                "--pycocotools-compat",
                help="Reproduce pycocotools exactly, including its GT-id-0 quirk.",
            ),
        ] = False,
    ) -> None:
        """Evaluate detections against ground truth with COCO metrics (pycocotools-exact)."""
        from predscope.evaluation.coco_eval import evaluate_coco
        from predscope.evaluation.params import CocoParams
        from predscope.evaluation.summary import summary_lines
        from predscope.formats.coco import load_coco_pair

        kind = iou_type.value
        warnings: list[str] = []
        gt_in, dt_in = load_coco_pair(
            str(gt),
            str(dt),
            kind,  # type: ignore[arg-type]
            warnings=warnings,
        )
        ev = evaluate_coco(
            gt_in,
            dt_in,
            CocoParams.default(kind),  # type: ignore[arg-type]
            pycocotools_compat=pycocotools_compat,
        )
        if as_json:
            doc = evaluation_json(ev, per_class=True)
            doc["warnings"] = warnings
            typer.echo(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())
            return
        for warning in warnings:  # a silent AP of 0 is the trap this names
            typer.echo(f"warning: {warning}", err=True)
        console = Console()
        console.print(f"Evaluate annotation type *{kind}*", highlight=False, markup=False)
        for line in summary_lines(ev.params, ev.stats):
            console.print(line, highlight=False, markup=False)
        if per_class:
            _print_table(console, ev)
