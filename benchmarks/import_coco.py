"""Import a COCO-val-sized case with ``predscope import coco`` and print speed and peak memory.

Generates (or reuses) the evaluation helper's deterministic case (``_gen_coco.py``: 5,000 images,
80 classes, about 36,000 GT, 500,000 scored detections), registers the images as data units by title
and size, imports the GT onto ``main`` and the detections onto a prediction branch through the CLI
entry point, each in its own process so peak memory (ru_maxrss) is that import's alone.

The case and the store live in a temporary folder deleted at the end, unless ``--work DIR`` keeps
the case (and reuses it on the next run) and ``--keep`` keeps the store.

    python benchmarks/import_coco.py [--work DIR] [--keep] [--scale 1]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _gen_coco import generate  # noqa: E402

CHILD = """
import resource, sys, time
from predscope.cli.app import main
t = time.perf_counter()
try:
    main(sys.argv[1:])
except SystemExit as exc:
    if exc.code:
        raise
print("SECONDS", time.perf_counter() - t, file=sys.stderr)
print("MAXRSS_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def _setup(store: str, gt_path: Path) -> None:
    from predscope.services.projects import add_data, create_project
    from predscope.store.engine import open_store

    gt = json.loads(gt_path.read_text())
    names = sorted({c["name"] for c in gt["categories"]})
    ontology = {
        "objects": [
            {
                "id": str(i + 1),
                "name": n,
                "color": "#D33115",
                "shape": "bounding_box",
                "featureNodeHash": f"{i + 1:08x}",
                "required": False,
            }
            for i, n in enumerate(names)
        ],
        "classifications": [],
    }
    st = open_store(store)
    project = create_project(st, "bench", ontology)
    add_data(
        st,
        project,
        [
            {"title": im["file_name"], "width": im["width"], "height": im["height"]}
            for im in gt["images"]
        ],
    )
    st.close()


def _import(store: str, path: Path, *extra: str) -> tuple[float, float, str]:
    args = [
        sys.executable,
        "-c",
        CHILD,
        "import",
        "coco",
        "bench",
        str(path),
        "--store",
        store,
        "--json",
        *extra,
    ]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(done.stderr)
    seconds = rss = 0.0
    for line in done.stderr.splitlines():
        if line.startswith("SECONDS"):
            seconds = float(line.split()[1])
        if line.startswith("MAXRSS_KB"):
            rss = float(line.split()[1]) / 1024
    return seconds, rss, done.stdout


def _run(store: str, data_dir: Path, scale: int, full_precision: bool = True) -> None:
    gt_path, dt_path = generate(data_dir, scale=scale, full_precision=full_precision)
    started = time.perf_counter()
    _setup(store, gt_path)
    print(f"setup (project + {scale * 5000} data units): {time.perf_counter() - started:.1f} s")
    n_gt = len(json.loads(gt_path.read_text())["annotations"])
    seconds, rss, out = _import(store, gt_path, "--ground-truth")
    inner = json.loads(out)["seconds"]
    print(
        f"GT   {n_gt:>8,} annotations: {seconds:6.2f} s  {n_gt / seconds:>9,.0f}/s  "
        f"(import itself {inner:.2f} s)  peak {rss:,.0f} MB"
    )
    size_mb = dt_path.stat().st_size / 2**20
    seconds, rss, out = _import(store, dt_path, "--branch", "preds")
    n_dt, inner = json.loads(out)["objects"], json.loads(out)["seconds"]
    print(
        f"DT   {n_dt:>8,} detections ({size_mb:.0f} MB): {seconds:6.2f} s  "
        f"{n_dt / seconds:>9,.0f}/s  (import itself {inner:.2f} s, {n_dt / inner:,.0f}/s)  "
        f"peak {rss:,.0f} MB"
    )
    print(f"this process peak: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--work", type=Path, default=None, help="keep (and reuse) the generated case under DIR/data"
    )
    parser.add_argument("--keep", action="store_true", help="keep the store (its path is printed)")
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument(
        "--short-floats",
        action="store_true",
        help="round boxes and scores (a ~40 MB file) instead of detector-style float32 values "
        "(~100 MB, the default)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="predscope-bench-") as tmp:
        data_dir = (args.work or Path(tmp)) / "data"
        if args.keep:
            store = tempfile.mkdtemp(prefix="predscope-import-")
        else:
            store = str(Path(tmp) / "store")
            Path(store).mkdir()
        _run(store, data_dir, args.scale, full_precision=not args.short_floats)
    if args.keep:
        print(f"store kept in {store}")


if __name__ == "__main__":
    main()
