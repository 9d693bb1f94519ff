"""List and export a 300,000-object branch and compare each with the import of the same data.

Builds the import benchmark's case (``_gen_coco.py``: 5,000 images, 80 classes; the project set up
as ``import_coco.py`` does), keeps the first ``--per-image`` detections of every image (60, so
300,000 objects), imports the GT onto ``main`` and the detections onto ``preds``, then runs
``predscope labels --json``, ``export coco`` and ``export coco --results`` on ``preds``. Every
command is its own ``python -m predscope`` process whose wall time and peak RSS (from ``wait4``)
are its alone; the figures are printed with their ratios against the detections' import.

Goal (issue 7): each listing and export within 2x of the import's time and under 500 MB peak.

    python benchmarks/listing.py [--work DIR] [--keep] [--per-image 60] [--profile labels]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _gen_coco import generate  # noqa: E402
from import_coco import _setup  # noqa: E402

GOAL_RATIO, GOAL_MB = 2.0, 500.0


def _timed(args: list[str], out: Path) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS in MB) of one whole ``python -m predscope`` process.

    CPU time is printed next to wall time because on a shared machine the wall clock also
    counts other people's processes; the ratios are given for both.
    """
    started = time.perf_counter()
    with out.open("wb") as stdout:
        proc = subprocess.Popen(
            [sys.executable, "-m", "predscope", *args], stdout=stdout, stderr=subprocess.PIPE
        )
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode:
        raise SystemExit(f"predscope {' '.join(args)} failed ({proc.returncode}):\n{err}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def _subset(dt_path: Path, per_image: int, out: Path) -> int:
    """The first ``per_image`` detections of every image, as a results list."""
    kept: dict[int, int] = {}
    dets = []
    for det in orjson.loads(dt_path.read_bytes()):
        n = kept.get(det["image_id"], 0)
        if n < per_image:
            kept[det["image_id"]] = n + 1
            dets.append(det)
    out.write_bytes(orjson.dumps(dets))
    return len(dets)


def _profile(store: str, work: Path, what: str) -> None:
    """cProfile one command in this process (top 25 by cumulative time)."""
    import cProfile
    import pstats

    from predscope.cli.app import main

    args = {
        "labels": ["labels", "bench", "--branch", "preds", "--json"],
        "export": ["export", "coco", "bench", str(work / "p.json"), "--branch", "preds"],
        "results": ["export", "coco", "bench", str(work / "p.json"), "--branch", "preds"],
    }[what]
    if what == "results":
        args.append("--results")
    profiler = cProfile.Profile()
    saved = sys.stdout
    with (work / "profile.out").open("w") as sink:
        sys.stdout = sink
        try:
            profiler.runcall(main, [*args, "--store", store])
        except SystemExit:
            pass
        finally:
            sys.stdout = saved
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def _prepare(store: str, work: Path, per_image: int) -> None:
    gt_path, dt_path = generate(work / "data", full_precision=True)
    _subset(dt_path, per_image, work / f"dt_{per_image}.json")
    Path(store).mkdir(parents=True, exist_ok=True)
    _setup(store, gt_path)


def _run(store: str, work: Path, per_image: int, profile: str | None) -> None:
    # Preparing loads whole files; it runs in its own process because a child's peak RSS counts
    # the memory of the parent it was forked from (Linux keeps ru_maxrss across exec).
    prepare = multiprocessing.get_context("spawn").Process(
        target=_prepare, args=(store, work, per_image)
    )
    prepare.start()
    prepare.join()
    if prepare.exitcode:
        raise SystemExit("preparing the case failed")
    gt_path, _ = generate(work / "data", full_precision=True)
    dt_subset = work / f"dt_{per_image}.json"
    common = ["--store", store]
    seconds, cpu, rss = _timed(
        ["import", "coco", "bench", str(gt_path), "--ground-truth", "--json", *common],
        work / "gt_report.json",
    )
    print(
        f"import GT onto main:            {seconds:6.2f} s ({cpu:5.2f} s CPU)  peak {rss:5,.0f} MB"
    )
    base_s, base_cpu, base_mb = _timed(
        ["import", "coco", "bench", str(dt_subset), "--branch", "preds", "--json", *common],
        work / "dt_report.json",
    )
    n_dt = orjson.loads((work / "dt_report.json").read_bytes())["objects"]
    print(
        f"import {n_dt:,} detections:      {base_s:6.2f} s ({base_cpu:5.2f} s CPU)  "
        f"peak {base_mb:5,.0f} MB  (baseline)"
    )
    if profile:
        _profile(store, work, profile)
        return
    ds, res = str(work / "ds.json"), str(work / "res.json")
    runs = {  # (arguments, the file the output lands in)
        "labels --json": (["labels", "bench", "--branch", "preds", "--json"], "stdout.txt"),
        "export coco (dataset)": (["export", "coco", "bench", ds, "--branch", "preds"], ds),
        "export coco --results": (
            ["export", "coco", "bench", res, "--branch", "preds", "--results"],
            res,
        ),
    }
    ok = True
    for name, (args, out) in runs.items():
        seconds, cpu, rss = _timed([*args, *common], work / "stdout.txt")
        size = (work / out).stat().st_size / 2**20
        ratio, cpu_ratio = seconds / base_s, cpu / base_cpu
        met = ratio <= GOAL_RATIO and rss < GOAL_MB
        ok &= met
        print(
            f"{name:<31} {seconds:6.2f} s ({cpu:5.2f} s CPU)  peak {rss:5,.0f} MB  "
            f"{ratio:4.2f}x the import's time ({cpu_ratio:4.2f}x its CPU), "
            f"{rss / base_mb:4.2f}x its memory  ({size:,.0f} MB written){'' if met else '  MISSED'}"
        )
    verdict = "met" if ok else "missed"
    print(f"goal (<= {GOAL_RATIO:g}x the import's time, < {GOAL_MB:g} MB): {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=None, help="keep (and reuse) the case in DIR")
    parser.add_argument("--keep", action="store_true", help="keep the store (its path is printed)")
    parser.add_argument("--per-image", type=int, default=60, help="detections kept per image")
    parser.add_argument(
        "--profile", choices=("labels", "export", "results"), help="cProfile one command instead"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="predscope-bench-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        store = tempfile.mkdtemp(prefix="predscope-listing-") if args.keep else f"{tmp}/store"
        _run(store, work, args.per_image, args.profile)
    if args.keep:
        print(f"store kept in {store}")


if __name__ == "__main__":
    main()
