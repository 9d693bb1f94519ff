"""``predscope objects`` / ``units``: the query layer from the shell equals the Python API."""

from __future__ import annotations

import json
from typing import Any

from tests.cli.test_cli_analyse import location, run  # noqa: F401 - the module fixture

__all__ = ["location"]


def _analysed(location: str) -> None:  # noqa: F811
    assert run("analyse", "demo", "--branch", "haar", "--store", location).exit_code == 0


def test_objects_json_equals_the_sdk(location: str) -> None:  # noqa: F811
    from predscope.sdk.client import Client

    _analysed(location)
    result = run(
        "objects",
        "demo",
        "--branch",
        "haar",
        "--outcome",
        "FP",
        "--iou",
        "0.5",
        "--order-by",
        "-area_px",
        "--json",
        "--store",
        location,
    )
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(result.output)
    with Client(location) as client:
        page = client.get_project("demo").query_objects("haar", outcome="FP", order_by="-area_px")
    assert doc["total"] == page.total and doc["items"] == page.items
    areas = [i["properties"]["area_px"] for i in doc["items"]]
    assert areas == sorted(areas, reverse=True) and doc["total"] > 0
    gt = run(
        "objects",
        "demo",
        "--branch",
        "haar",
        "--kind",
        "ground_truth",
        "--outcome",
        "FN",
        "--property",
        "area_px=0:",
        "--store",
        location,
    )
    assert gt.exit_code == 0 and "ground_truth objects at IoU 0.5" in gt.output


def test_units_and_bad_input(location: str) -> None:  # noqa: F811
    _analysed(location)
    result = run(
        "units", "demo", "--branch", "haar", "--order-by", "-fn", "--json", "--store", location
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["total"] == 8
    fns = [i["fn"] for i in doc["items"]]
    assert fns == sorted(fns, reverse=True)
    text = run("units", "demo", "--branch", "haar", "--min-fp", "1", "--store", location)
    assert text.exit_code == 0 and "images at IoU 0.5" in text.output
    bad = run(
        "objects", "demo", "--branch", "haar", "--property", "area_px=big", "--store", location
    )
    assert "expected MIN:MAX" in str(bad.exception)
    bad_iou = run("objects", "demo", "--branch", "haar", "--iou", "0.3", "--store", location)
    assert "not one of the stored thresholds" in str(bad_iou.exception)


def test_compare_command(location: str) -> None:  # noqa: F811
    for branch in ("haar", "ocr"):
        assert run("analyse", "demo", "--branch", branch, "--store", location).exit_code == 0
    result = run(
        "compare",
        "demo",
        "--branch",
        "haar",
        "--branch",
        "ocr",
        "--resamples",
        "50",
        "--json",
        "--store",
        location,
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["a"]["branch"] == "haar" and doc["bootstrap"]["n_resamples"] == 50
    assert doc["bootstrap"]["low"] <= doc["bootstrap"]["estimate"] <= doc["bootstrap"]["high"]
    text = run("compare", "demo", "--branch", "haar", "--branch", "ocr", "--store", location)
    assert text.exit_code == 0 and "bootstrap interval over images" in text.output
    one = run("compare", "demo", "--branch", "haar", "--store", location)
    assert "give exactly two" in str(one.exception)
