"""Server-side SVG charts, checked on the markup: every value drawn where the axes say."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from predscope.evaluation.calibration import calibration
from predscope.evaluation.coco_eval import evaluate_coco
from predscope.evaluation.curves import pr_curves
from predscope.formats.coco import load_coco_pair
from predscope.ui.charts import (
    Bar,
    Curve,
    Delta,
    bar_chart,
    confidence_histogram,
    delta_chart,
    pr_curves_chart,
    reliability_diagram,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "skimage-images"


def _curves() -> list[Curve]:
    gt, dt = load_coco_pair(
        str(DATA / "demo_ground_truth.json"), str(DATA / "pred_mediapipe_0.10.21.json")
    )
    ev = evaluate_coco(gt, dt)
    ap = {c.name: c.ap50 for c in ev.per_class}
    return [
        Curve(
            c.name,
            tuple(c.recall.tolist()),
            tuple(c.precision.tolist()),
            c.best_threshold,
            c.best_recall,
            c.best_precision,
            ap[c.name],
        )
        for c in pr_curves(ev, 0.5)
    ]


def _plot_map(root: ET.Element) -> tuple[float, float, float, float]:
    """Pixel x of recall 0 and 1, pixel y of precision 0 and 1, read from the drawn ticks."""
    ticks = [t for t in root.iter("text") if t.get("text-anchor") == "middle" and t.text]
    xs = {t.text: float(t.get("x", "nan")) for t in ticks}
    ys = {
        t.text: float(t.get("y", "nan")) - 4
        for t in root.iter("text")
        if t.get("text-anchor") == "end"
    }
    return xs["0"], xs["1"], ys["0"], ys["1"]


def test_pr_curves_mark_each_classes_operating_point_where_the_axes_put_it() -> None:
    curves = _curves()
    root = ET.fromstring(pr_curves_chart(curves))
    series = root.findall("g[@data-class]")
    assert [g.get("data-class") for g in series] == [c.name for c in curves]
    x0, x1, y0, y1 = _plot_map(root)
    marked = 0
    for c, g in zip(curves, series, strict=True):
        point = g.find("circle[@class='operating-point']")
        if c.point_recall is None or not math.isfinite(c.point_recall):
            assert point is None
            continue
        marked += 1
        assert point is not None and point.get("data-testid") == f"op-{c.name}"
        assert float(point.get("cx", "nan")) == pytest.approx(
            x0 + c.point_recall * (x1 - x0), abs=0.01
        )
        assert float(point.get("cy", "nan")) == pytest.approx(
            y0 + c.point_precision * (y1 - y0), abs=0.01
        )  # type: ignore[operator]
        assert float(point.get("data-threshold", "nan")) == pytest.approx(c.threshold, abs=1e-4)
        line = g.find("polyline")
        assert line is not None
        last_x, last_y = (float(v) for v in line.get("points", "").split()[-1].split(","))
        assert last_x == pytest.approx(x0 + c.recall[-1] * (x1 - x0), abs=0.01)
        assert last_y == pytest.approx(y0 + c.precision[-1] * (y1 - y0), abs=0.01)
    assert marked >= 1, "the mediapipe set finds the astronaut's face: one operating point at least"
    legend = [t.text for t in root.iter("text") if t.get("class") == "legend"]
    assert legend[0] and legend[0].startswith(curves[0].name + " (AP ")


def test_pr_curves_with_no_classes_say_so() -> None:
    root = ET.fromstring(pr_curves_chart([]))
    assert [t.text for t in root.iter("text") if t.get("class") == "empty"] == [
        "no classes with ground truth"
    ]


def test_histogram_counts_every_score_once_in_its_bin() -> None:
    rng = np.random.default_rng(3)
    tp, fp = rng.random(57), rng.random(23) ** 3
    root = ET.fromstring(confidence_histogram(tp.tolist(), fp.tolist(), bins=8))
    for name, scores in (("tp", tp), ("fp", fp)):
        bars = root.findall(f"rect[@class='bar {name}']")
        counts = [int(b.get("data-count", "-1")) for b in bars]
        assert counts == np.histogram(scores, np.linspace(0, 1, 9))[0].tolist()
    tallest = max(root.findall("rect[@data-count]"), key=lambda r: int(r.get("data-count", "0")))
    others = [r for r in root.findall("rect[@data-count]") if r.get("data-count") != "0"]
    assert all(float(r.get("height", "0")) <= float(tallest.get("height", "0")) for r in others)


def test_histogram_of_unbounded_scores_uses_their_range() -> None:
    """Haar cascade scores (0.24 ... 7.45 in the demo) are not squeezed into [0, 1]."""
    root = ET.fromstring(confidence_histogram([7.4477], [0.44, 0.64, 5.55], bins=4))
    labels = [t.text for t in root.iter("text") if t.get("text-anchor") == "middle"]
    assert labels[:5] == ["0.44", "2", "4", "6", "7.4477"]  # the ends, and round ticks between
    assert sum(int(r.get("data-count", "0")) for r in root.findall("rect[@class='bar fp']")) == 3


def test_bar_chart_lengths_are_proportional_and_bars_link() -> None:
    bars = [Bar("face", 0.8, "/x?cls=face"), Bar("person", 0.2), Bar("text", -0.1, note="n=3")]
    root = ET.fromstring(bar_chart(bars, title="AP per class", testid="ap"))
    assert root.get("data-testid") == "ap" and root.get("aria-label") == "AP per class"
    rects = {r.get("data-label"): r for r in root.iter("rect")}
    w = {k: float(r.get("width", "0")) for k, r in rects.items()}
    assert w["face"] == pytest.approx(4 * w["person"], rel=1e-3)
    assert w["text"] == pytest.approx(w["person"] / 2, rel=1e-3)
    assert float(rects["text"].get("x", "0")) < float(rects["face"].get("x", "0"))  # left of zero
    links = root.findall("a")
    assert [a.get("href") for a in links] == ["/x?cls=face"]
    values = [t.text for t in root.iter("text") if t.get("class") == "bar-value"]
    assert values == ["0.800", "0.200", "-0.100 n=3"]


def test_reliability_diagram_draws_the_engines_bins() -> None:
    rng = np.random.default_rng(0)
    scores = rng.random(400)
    correct = rng.random(400) < scores**2
    cal = calibration(scores, correct, n_bins=10)
    svg = reliability_diagram(
        cal.edges.tolist(),
        cal.accuracy.tolist(),
        cal.mean_confidence.tolist(),
        cal.count.tolist(),
        ece=cal.ece,
    )
    root = ET.fromstring(svg)
    bars = root.findall("rect[@class='bar']")
    assert [int(b.get("data-count", "0")) for b in bars] == [n for n in cal.count.tolist() if n]
    assert [float(b.get("data-accuracy", "nan")) for b in bars] == pytest.approx(
        [a for a, n in zip(cal.accuracy, cal.count, strict=True) if n], abs=1e-6
    )
    assert root.get("aria-label") == f"Calibration (ECE {cal.ece:.3f})"
    assert len(root.findall("line[@class='mean-confidence']")) == len(bars)
    assert root.find("line[@class='diagonal']") is not None


def test_reliability_diagram_skips_empty_bins() -> None:
    root = ET.fromstring(
        reliability_diagram([0, 0.5, 1], [float("nan"), 1.0], [float("nan"), 0.9], [0, 2])
    )
    assert len(root.findall("rect[@class='bar']")) == 1


def test_delta_chart_marks_only_intervals_that_exclude_zero() -> None:
    deltas = [
        Delta("face", 0.12, 0.05, 0.2, "/cmp?cls=face"),
        Delta("person", -0.3, -0.4, -0.1),
        Delta("text", 0.02, -0.05, 0.08),
        Delta("dog", 0.1),
    ]
    root = ET.fromstring(delta_chart(deltas))
    groups = {g.get("data-label"): g for g in root.findall("g[@data-label]")}
    kinds = {k: g.get("class") for k, g in groups.items()}
    assert kinds == {
        "face": "delta better",
        "person": "delta worse",
        "text": "delta unclear",
        "dog": "delta unclear",
    }
    fills = {k: g.find(".//circle").get("fill") for k, g in groups.items()}  # type: ignore[union-attr]
    assert fills["text"] == "none" and fills["face"] != "none"  # hollow = not significant
    zero = [ln for ln in root.iter("line") if ln.get("stroke-opacity") == "0.6"]
    assert len(zero) == 1
    x0 = float(zero[0].get("x1", "nan"))
    cx = {k: float(g.find(".//circle").get("cx", "nan")) for k, g in groups.items()}  # type: ignore[union-attr]
    assert cx["face"] > x0 > cx["person"]
    assert cx["face"] - x0 == pytest.approx((x0 - cx["person"]) * 0.12 / 0.3, rel=1e-3)
    assert groups["face"].find("a").get("href") == "/cmp?cls=face"  # type: ignore[union-attr]
    assert groups["dog"].find("line") is None  # no interval, no whisker
