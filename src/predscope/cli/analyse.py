"""``predscope analyse PROJECT --branch NAME``: analyse a prediction branch and store the run.

The numbers come from ``services.analysis.runs.analyse`` (the one evaluation engine); this module
draws the progress bar and prints the stored metrics: the 12-line COCO summary, optionally the
per-class table, or the metrics document as JSON (``predscope metrics`` prints the same later).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

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
from predscope.cli.progress import show_progress, terminal_progress


class IouChoice(StrEnum):
    auto = "auto"
    bbox = "bbox"
    segm = "segm"


BranchOption = Annotated[str, typer.Option("--branch", help="The prediction branch.")]
AgainstOption = Annotated[
    str, typer.Option("--against", "--gt-branch", help="The ground-truth branch.")
]


def _fmt(value: Any) -> str:
    return "-" if value is None or value < 0 else f"{value:0.3f}"


def per_class_table(doc: dict[str, Any]) -> Table:
    """One row per evaluated ontology object; '-' where the class has no ground truth."""
    table = Table(title=f"per class ({doc['iou_type']}, area all, last maxDets; TP/FP/FN at 0.5)")
    table.add_column("class")
    table.add_column("metric")
    first = doc["classes"][0] if doc["classes"] else {}
    ar = next((k for k in first if k.startswith("AR")), "AR100")  # AR20 for skeletons alone
    for name in ("AP", "AP50", "AP75", ar, "GT", "predictions", "TP", "FP", "FN", "F1 thr"):
        table.add_column(name, justify="right")
    for row in doc["classes"]:
        table.add_row(
            str(row["name"]),
            str(row.get("metric", doc["iou_type"])),
            _fmt(row["AP"]),
            _fmt(row["AP50"]),
            _fmt(row["AP75"]),
            _fmt(row[ar]),
            str(row["num_gt"]),
            str(row["num_predictions"]),
            str(row["tp"]),
            str(row["fp"]),
            str(row["fn"]),
            _fmt(row["best_threshold"]),
        )
    return table


def summary_params(doc: dict[str, Any]) -> Any:
    """The parameters the document's stats were summarised with (its classes' metric kinds)."""
    from predscope.services.analysis.kinds import layout_params

    kinds = [c.get("metric") or doc["iou_type"] for c in doc.get("classes", [])]
    return layout_params(kinds or [doc["iou_type"]])


def print_metrics(doc: dict[str, Any], title: str, per_class: bool) -> None:
    """The text form of a metrics document (shared with ``predscope metrics``)."""
    from predscope.evaluation.summary import summary_lines

    run = doc["run"]
    fresh = doc["freshness"]
    state = (
        "up to date"
        if fresh["fresh"]
        else "STALE: "
        + ", ".join(
            side
            for side, changed in (
                ("ground truth changed", fresh["ground_truth_changed"]),
                ("predictions changed", fresh["predictions_changed"]),
            )
            if changed
        )
    )
    console.print(
        f"project {title!r}: branch {doc['branch']!r} against {doc['against']!r} "
        f"({doc['iou_type']}): {doc['images']} images, {doc['ground_truth']} ground-truth "
        f"objects, {doc['predictions']} predictions",
        markup=False,
    )
    console.print(
        f"run {run['id']} ({run['mode']}, {run['changed_units']} units re-matched), "
        f"{state}; review: {doc['review']['status']}",
        markup=False,
    )
    for line in summary_lines(summary_params(doc), doc["stats"]):
        console.print(line, markup=False)
    if per_class:
        console.print(per_class_table(doc))
    attempt = doc.get("latest_attempt")
    if attempt and attempt["status"] != "complete":
        console.print(
            f"note: a newer run {attempt['id']} is {attempt['status']}"
            + (f": {attempt['error']}" if attempt.get("error") else ""),
            markup=False,
        )


def analyse(
    project: Annotated[str, typer.Argument(help="Project hash or title.")],
    branch: BranchOption,
    against: AgainstOption = "main",
    full: Annotated[
        bool, typer.Option("--full", help="Re-match every image, not only changed rows.")
    ] = False,
    iou_type: Annotated[
        IouChoice,
        typer.Option(
            "--iou-type",
            help="auto: each class by its shape (boxes by box IoU, rotated boxes by rotated "
            "IoU, polygons and bitmasks as masks); bbox or segm: every class by box or mask IoU.",
        ),
    ] = IouChoice.auto,
    per_class: Annotated[
        bool, typer.Option("--per-class", help="Also show AP / AR per class.")
    ] = False,
    as_json: JsonOption = False,
    store: StoreOption = None,
) -> None:
    """Analyse a prediction branch against ground truth and store the results (COCO-exact)."""
    from predscope.services.analysis.metrics import get_metrics
    from predscope.services.analysis.runs import analyse as run_analysis

    with cli_store(store) as opened:
        record = find_project(opened, project)
        with terminal_progress(show_progress(as_json)) as progress:
            run_analysis(
                opened,
                record,
                branch,
                against=against,
                full=full,
                iou_type=iou_type.value,
                progress=progress,
            )
        doc = get_metrics(opened, record, branch, against=against)
    if as_json:
        print_json(doc)
        return
    print_metrics(doc, record.title, per_class)


def register(app: typer.Typer) -> None:
    app.command("analyse")(analyse)
