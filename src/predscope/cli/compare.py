"""``predscope compare PROJECT --branch A --branch B``: two analysed sets side by side."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from predscope.cli.analyse import AgainstOption
from predscope.cli.common import (
    JsonOption,
    StoreOption,
    cli_store,
    console,
    find_project,
    print_json,
)


def _fmt(value: Any, signed: bool = False) -> str:
    if value is None or (not signed and value < 0):
        return "-"
    return f"{value:+0.3f}" if signed else f"{value:0.3f}"


def compare(
    project: Annotated[str, typer.Argument(help="Project hash or title.")],
    branches: Annotated[
        list[str], typer.Option("--branch", help="Two analysed branches: --branch A --branch B.")
    ],
    against: AgainstOption = "main",
    iou: Annotated[float, typer.Option("--iou", help="Threshold for changed outcomes.")] = 0.5,
    resamples: Annotated[int, typer.Option("--resamples", help="Bootstrap resamples.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Bootstrap seed.")] = 0,
    as_json: JsonOption = False,
    store: StoreOption = None,
) -> None:
    """Per-class deltas A - B, a bootstrap interval for the mAP difference, changed outcomes."""
    from predscope.exceptions import InvalidArgumentsError
    from predscope.services.analysis.compare import compare_prediction_sets

    if len(branches) != 2:
        raise InvalidArgumentsError(
            f"compare: got {len(branches)} --branch options - give exactly two (A, then B)"
        )
    with cli_store(store) as opened:
        record = find_project(opened, project)
        doc = compare_prediction_sets(
            opened,
            record,
            branches[0],
            branches[1],
            against=against,
            iou_threshold=iou,
            n_resamples=resamples,
            seed=seed,
        )
    if as_json:
        print_json(doc)
        return
    a, b = branches
    boot = doc["bootstrap"]
    console.print(
        f"mAP {a} - {b} = {boot['estimate']:+0.4f}, {100 * boot['confidence']:.0f}% bootstrap "
        f"interval over images [{boot['low']:+0.4f}, {boot['high']:+0.4f}] "
        f"({boot['n_resamples']} resamples)",
        markup=False,
    )
    table = Table(title=f"{a} vs {b} (A - B)")
    table.add_column("class")
    first = doc["per_class"][0] if doc["per_class"] else {}
    ar = next((k for k in first if k.startswith("AR")), "AR100")  # AR20 for skeletons alone
    for key in ("AP", "AP50", "AP75", ar):
        table.add_column(f"{key} A", justify="right")
        table.add_column("delta", justify="right")
    for row in doc["per_class"]:
        cells = []
        for key in ("AP", "AP50", "AP75", ar):
            cells += [_fmt(row[key]["a"]), _fmt(row[key]["delta"], signed=True)]
        table.add_row(row["name"], *cells)
    console.print(table)
    ch = doc["changed"]
    console.print(
        f"ground truth at IoU {ch['iou_threshold']}: {ch['found_by_a_missed_by_b']} found by {a} "
        f"and missed by {b}; {ch['found_by_b_missed_by_a']} found by {b} and missed by {a}",
        markup=False,
    )


def register(app: typer.Typer) -> None:
    app.command("compare")(compare)
