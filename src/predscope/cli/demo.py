"""``predscope demo``: the README's main job, on the photos shipped in ``data/skimage-images``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from predscope.cli.common import console

REPO_DATA = Path(__file__).resolve().parents[3] / "data" / "skimage-images"
STAT_COLUMNS = ("AP", "AP50", "AP75", "AR100")  # the rest are in `predscope analyse`


def _fmt(value: float) -> str:
    return "n/a" if value < 0 else f"{value:.3f}"


def demo(
    store: Annotated[
        Path,
        typer.Option(
            "--store",
            help="Store to add the demo project to (only an earlier demo project is replaced).",
        ),
    ] = Path(".predscope-demo"),
    data: Annotated[
        Path,
        typer.Option("--data", help="The scikit-image demo folder."),
    ] = REPO_DATA,
) -> None:
    """Build a project from real photos, import three detectors' predictions and evaluate them."""
    from predscope.services.demo import run_demo
    from predscope.store.engine import open_store

    if not (data / "demo_ontology.json").is_file():
        raise typer.BadParameter(
            f"{data} has no demo_ontology.json - point --data at data/skimage-images"
        )
    with open_store(store) as opened:  # never deletes files: the store keeps everything else
        result = run_demo(opened, data, say=lambda line: console.print(f"- {line}"))

    table = Table(
        title=f"COCO bbox metrics against 'main' ({result.ground_truth_objects} GT objects)",
        box=box.SIMPLE_HEAD,
        collapse_padding=True,
        pad_edge=False,
    )
    table.add_column("branch", no_wrap=True)
    table.add_column("dets", justify="right")
    for column in STAT_COLUMNS:
        table.add_column(column, justify="right")
    for column in ("TP@.5", "FP@.5", "FN@.5"):
        table.add_column(column, justify="right")
    for r in result.results:
        counts = r.outcomes_at_50
        table.add_row(
            r.branch,
            str(r.detections),
            *(_fmt(r.stats[c]) for c in STAT_COLUMNS),
            *(str(counts[k]) for k in ("tp", "fp", "fn")),
        )
    console.print(table)
    for r in result.results:
        if r.per_class:
            classes = ", ".join(f"{c['name']} AP {_fmt(c['AP'])}" for c in r.per_class)
            console.print(f"  {r.branch}: {classes}")
    console.print(
        f"\nStore: {store.resolve()}  (try: predscope labels {result.project.title} "
        f"--all-branches --store {store})"
    )


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
