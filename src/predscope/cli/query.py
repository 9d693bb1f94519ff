"""``predscope objects`` and ``predscope units``: the query layer from the shell.

Filters mirror ``services.query`` one to one; ``--property area_px=100:5000`` is a range (either
side may be empty), ``--attribute Colour=red`` a nested attribute's answer.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from predscope.cli.analyse import AgainstOption, BranchOption
from predscope.cli.common import (
    JsonOption,
    StoreOption,
    cli_store,
    console,
    find_project,
    print_json,
)

IouOption = Annotated[float, typer.Option("--iou", help="IoU threshold: 0.5, 0.55, ... 0.95.")]
ClassOption = Annotated[
    list[str] | None, typer.Option("--class", help="Only these classes (repeatable).")
]
OffsetOption = Annotated[int, typer.Option("--offset", help="Skip this many rows.")]
LimitOption = Annotated[int, typer.Option("--limit", help="Rows per page (1..1000).")]


def _pairs(values: list[str] | None, option: str) -> list[tuple[str, str]]:
    from predscope.exceptions import InvalidArgumentsError

    out = []
    for value in values or []:
        name, sep, rest = value.partition("=")
        if not sep or not name:
            raise InvalidArgumentsError(f"{option} {value!r}: expected NAME=VALUE")
        out.append((name, rest))
    return out


def _range(name: str, text: str) -> tuple[float | None, float | None]:
    from predscope.exceptions import InvalidArgumentsError

    lo, sep, hi = text.partition(":")
    try:
        if not sep:
            raise ValueError(text)
        return (float(lo) if lo else None, float(hi) if hi else None)
    except ValueError:
        raise InvalidArgumentsError(
            f"--property {name}={text!r}: expected MIN:MAX (either may be empty), e.g. "
            "area_px=100:5000"
        ) from None


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def objects(
    project: Annotated[str, typer.Argument(help="Project hash or title.")],
    branch: BranchOption,
    against: AgainstOption = "main",
    kind: Annotated[str, typer.Option("--kind", help="prediction or ground_truth.")] = "prediction",
    outcome: Annotated[
        list[str] | None, typer.Option("--outcome", help="TP, FP, FN, ignored, not_evaluated.")
    ] = None,
    iou: IouOption = 0.5,
    classes: ClassOption = None,
    error_type: Annotated[
        list[str] | None, typer.Option("--error-type", help="TIDE type, e.g. localisation.")
    ] = None,
    min_confidence: Annotated[float | None, typer.Option("--min-confidence")] = None,
    max_confidence: Annotated[float | None, typer.Option("--max-confidence")] = None,
    min_iou: Annotated[float | None, typer.Option("--min-iou")] = None,
    max_iou: Annotated[float | None, typer.Option("--max-iou")] = None,
    prop: Annotated[
        list[str] | None, typer.Option("--property", help="NAME=MIN:MAX, e.g. area_px=0:1024.")
    ] = None,
    attribute: Annotated[
        list[str] | None, typer.Option("--attribute", help="NAME=VALUE of a nested attribute.")
    ] = None,
    data_hash: Annotated[str | None, typer.Option("--data-hash")] = None,
    order_by: Annotated[
        str, typer.Option("--order-by", help="confidence, iou, area_px, ...; '-' = descending.")
    ] = "-confidence",
    offset: OffsetOption = 0,
    limit: LimitOption = 50,
    as_json: JsonOption = False,
    store: StoreOption = None,
) -> None:
    """Stored predictions or ground-truth objects of an analysed branch, filtered and sorted."""
    from predscope.services.query import query_objects

    attributes: dict[str, list[str]] = {}
    for name, value in _pairs(attribute, "--attribute"):
        attributes.setdefault(name, []).append(value)
    properties = {name: _range(name, text) for name, text in _pairs(prop, "--property")}
    with cli_store(store) as opened:
        record = find_project(opened, project)
        page = query_objects(
            opened,
            record,
            branch,
            kind=kind,
            outcome=outcome or None,
            iou_threshold=iou,
            object_names=classes or None,
            error_type=error_type or None,
            min_confidence=min_confidence,
            max_confidence=max_confidence,
            min_iou=min_iou,
            max_iou=max_iou,
            properties=properties or None,
            attributes=attributes or None,
            data_hash=data_hash,
            order_by=order_by,
            offset=offset,
            limit=limit,
            against=against,
        )
    if as_json:
        print_json(page.to_dict())
        return
    table = Table(title=f"{page.total} {kind} objects at IoU {page.threshold} (from {offset})")
    for col in ("object", "unit", "frame", "class", "conf", "outcome", "IoU", "error", "area"):
        table.add_column(col)
    for i in page.items:
        table.add_row(
            i["object_hash"],
            i["data_title"],
            str(i["frame"]),
            i["class"],
            _fmt(i["confidence"]),
            i["outcome"],
            _fmt(i["iou"]),
            i["error_type"] or "-",
            _fmt(i["properties"]["area_px"]),
        )
    console.print(table)


def units(
    project: Annotated[str, typer.Argument(help="Project hash or title.")],
    branch: BranchOption,
    against: AgainstOption = "main",
    iou: IouOption = 0.5,
    classes: ClassOption = None,
    min_fp: Annotated[int | None, typer.Option("--min-fp")] = None,
    min_fn: Annotated[int | None, typer.Option("--min-fn")] = None,
    min_tp: Annotated[int | None, typer.Option("--min-tp")] = None,
    data_hash: Annotated[str | None, typer.Option("--data-hash")] = None,
    order_by: Annotated[
        str, typer.Option("--order-by", help="tp, fp, fn, num_gt, data_title; '-' = descending.")
    ] = "-fp",
    offset: OffsetOption = 0,
    limit: LimitOption = 50,
    as_json: JsonOption = False,
    store: StoreOption = None,
) -> None:
    """Per image (data unit, frame): TP / FP / FN of an analysed branch, filtered and sorted."""
    from predscope.services.query import query_data_units

    with cli_store(store) as opened:
        record = find_project(opened, project)
        page = query_data_units(
            opened,
            record,
            branch,
            iou_threshold=iou,
            object_names=classes or None,
            min_fp=min_fp,
            min_fn=min_fn,
            min_tp=min_tp,
            data_hash=data_hash,
            order_by=order_by,
            offset=offset,
            limit=limit,
            against=against,
        )
    if as_json:
        print_json(page.to_dict())
        return
    table = Table(title=f"{page.total} images at IoU {page.threshold} (from {offset})")
    for col in ("unit", "frame", "TP", "FP", "FN", "GT", "predictions"):
        table.add_column(col, justify="left" if col == "unit" else "right")
    for i in page.items:
        table.add_row(
            i["data_title"],
            str(i["frame"]),
            *(str(i[k]) for k in ("tp", "fp", "fn", "num_gt", "num_predictions")),
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("objects")(objects)
    app.command("units")(units)
