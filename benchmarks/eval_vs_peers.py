"""predscope vs pycocotools vs faster-coco-eval on a generated COCO-val-sized case.

Each tool runs in its own process (whole process: interpreter start, imports, JSON loading,
evaluation); wall time and peak RSS come from ``os.wait4``. The 12 stats must agree to 1e-12.
The generated cases go to a temporary folder deleted at the end, unless ``--data-dir DIR`` keeps
them there (and reuses them on the next run).

    python benchmarks/eval_vs_peers.py [--scale 1 5] [--iou-type bbox segm]
        [--tools predscope faster-coco-eval pycocotools] [--data-dir DIR] [--extensions N]

``--extensions N`` also times predscope's extensions on each case (no peer has them): TIDE error
types with all six dAP, the bootstrap interval of a mAP difference with N resamples, and
performance by area in 10 buckets. The memory goal printed for segm is predscope's peak at most
30% of pycocotools'.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _gen_coco import generate  # noqa: E402

TOOLS = ("predscope", "faster-coco-eval", "pycocotools")

_CHILD = {
    "predscope": """
from predscope.formats.coco import load_coco_pair
from predscope.evaluation.coco_eval import evaluate_coco
from predscope.evaluation.params import CocoParams
gt, dt = load_coco_pair(GT, DT, TYPE)
stats = evaluate_coco(gt, dt, CocoParams.default(TYPE)).stats_list
""",
    "pycocotools": """
import contextlib, io
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
with contextlib.redirect_stdout(io.StringIO()):
    g = COCO(GT); d = g.loadRes(DT)
    e = COCOeval(g, d, TYPE); e.evaluate(); e.accumulate(); e.summarize()
stats = [float(s) for s in e.stats]
""",
    "faster-coco-eval": """
import contextlib, io
from faster_coco_eval import COCO, COCOeval_faster
with contextlib.redirect_stdout(io.StringIO()):
    g = COCO(GT); d = g.loadRes(DT)
    e = COCOeval_faster(g, d, TYPE, print_function=lambda *a, **k: None)
    e.evaluate(); e.accumulate(); e.summarize()
stats = [float(s) for s in e.stats][:12]
""",
}


_EXTENSIONS = """
import time
from dataclasses import replace
import numpy as np
from predscope.formats.coco import load_coco_pair
from predscope.evaluation.coco_eval import evaluate_coco
from predscope.evaluation.params import CocoParams
from predscope.evaluation.errors import tide_errors
from predscope.evaluation.bootstrap import bootstrap_map_difference
from predscope.evaluation.by_property import performance_by_property
gt, dt = load_coco_pair(GT, DT, TYPE)
p = CocoParams.default(TYPE)
stats = {}
t = time.perf_counter(); ev = evaluate_coco(gt, dt, p); stats["evaluate"] = time.perf_counter() - t
t = time.perf_counter(); tide_errors(gt, dt, p); stats["tide + dAP"] = time.perf_counter() - t
jitter = np.random.default_rng(0).uniform(0.8, 1.0, dt.num_detections)
dtb = replace(dt, score=dt.score * jitter)
evb = evaluate_coco(gt, dtb, p)
t = time.perf_counter()
bootstrap_map_difference(gt, dt, dtb, p, eval_a=ev, eval_b=evb, n_resamples=RESAMPLES)
stats["bootstrap"] = time.perf_counter() - t
t = time.perf_counter()
performance_by_property(gt, dt, gt.area, dt.area, p, n_buckets=10)
stats["by area, 10 buckets"] = time.perf_counter() - t
"""


def run_extensions(gt: Path, dt: Path, iou_type: str, resamples: int) -> dict[str, float]:
    """Time the extensions in one fresh process (after one evaluation, as a stored run would)."""
    with tempfile.NamedTemporaryFile("r", suffix=".json", delete=False) as fh:
        out = fh.name
    code = (
        f"GT, DT, TYPE, RESAMPLES = {str(gt)!r}, {str(dt)!r}, {iou_type!r}, {resamples}\n"
        + _EXTENSIONS
        + f"\nimport json\nopen({out!r}, 'w').write(json.dumps(stats))\n"
    )
    try:
        subprocess.run([sys.executable, "-c", code], check=True)
        timings: dict[str, float] = json.loads(Path(out).read_text())
    finally:
        Path(out).unlink(missing_ok=True)
    return timings


def run_tool(tool: str, gt: Path, dt: Path, iou_type: str) -> tuple[float, float, list[float]]:
    """Run one tool in a fresh process; return (wall seconds, peak RSS MB, stats)."""
    with tempfile.NamedTemporaryFile("r", suffix=".json", delete=False) as fh:
        out = fh.name
    code = (
        f"GT, DT, TYPE = {str(gt)!r}, {str(dt)!r}, {iou_type!r}\n"
        + _CHILD[tool]
        + f"\nimport json\nopen({out!r}, 'w').write(json.dumps(stats))\n"
    )
    try:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", code])
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"{tool} failed with exit code {proc.returncode}")
        stats = json.loads(Path(out).read_text())
    finally:
        Path(out).unlink(missing_ok=True)
    return wall, usage.ru_maxrss / 1024.0, stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, nargs="+", default=[1])
    parser.add_argument("--iou-type", nargs="+", default=["bbox", "segm"], choices=["bbox", "segm"])
    parser.add_argument("--tools", nargs="+", default=list(TOOLS), choices=TOOLS)
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="keep (and reuse) the generated cases in DIR"
    )
    parser.add_argument(
        "--extensions",
        type=int,
        default=0,
        metavar="N",
        help="also time TIDE, a bootstrap with N resamples and performance by area",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="predscope-bench-") as tmp:
        _compare(args, args.data_dir or Path(tmp))


def _compare(args: argparse.Namespace, data_dir: Path) -> None:
    print(
        f"{'case':<12} {'tool':<17} {'wall s':>8} {'peak MB':>9} {'wall/ours':>10} "
        f"{'mem/ours':>9}  stats"
    )
    for iou_type in args.iou_type:
        for scale in args.scale:
            gt, dt = generate(data_dir, scale, iou_type == "segm")
            case = f"{iou_type} x{scale}"
            results = {t: run_tool(t, gt, dt, iou_type) for t in args.tools}
            ours = results.get("predscope")
            for tool, (wall, mem, stats) in results.items():
                agree = "-"
                if ours is not None:
                    diff = max(abs(a - b) for a, b in zip(stats, ours[2], strict=True))
                    agree = "agree" if diff <= 1e-12 else f"DIFFER by {diff:.2e}"
                ratio_t = f"{wall / ours[0]:.2f}" if ours else "-"
                ratio_m = f"{mem / ours[1]:.2f}" if ours else "-"
                print(
                    f"{case:<12} {tool:<17} {wall:8.2f} {mem:9.0f} {ratio_t:>10} "
                    f"{ratio_m:>9}  {agree}",
                    flush=True,
                )
            if ours:
                print(f"{case:<12} predscope AP={ours[2][0]:.6f} AR100={ours[2][8]:.6f}")
            ref = results.get("pycocotools")
            if ours and ref and iou_type == "segm":
                share = 100.0 * ours[1] / ref[1]
                verdict = "met" if share <= 30.0 else "MISSED"
                print(
                    f"{case:<12} predscope peak = {share:.1f}% of pycocotools'"
                    f" (goal <= 30%: {verdict})"
                )
            if args.extensions:
                for name, sec in run_extensions(gt, dt, iou_type, args.extensions).items():
                    print(f"{case:<12} predscope {name:<22} {sec:8.2f} s", flush=True)


if __name__ == "__main__":
    main()
