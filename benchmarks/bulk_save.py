"""Bulk-save benchmark: 100,000 bounding-box predictions over 5,000 image rows through bundles.

Runs the guide's store-predictions path (list a new branch, initialise every row in a bundle, add
boxes, save in a bundle) against a fresh embedded SQLite store, and prints per-phase timings, the
end-to-end annotations per second and the peak resident memory of the process.

    .venv/bin/python benchmarks/bulk_save.py [--rows 5000] [--per-row 20] [--store DIR] [--profile]

Goal on a 2-core machine: >= 50,000 annotations/s and < 500 MB peak.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from predscope.objects.coordinates import BoundingBoxCoordinates
from predscope.sdk.client import Client

ONTOLOGY: dict[str, Any] = {
    "objects": [
        {
            "id": "1",
            "name": "car",
            "color": "#D33115",
            "shape": "bounding_box",
            "featureNodeHash": "Y2FyMDAx",
            "required": False,
        }
    ],
    "classifications": [],
}
BRANCH = "bench-predictions"


def _peak_mb() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


@contextmanager
def _phase(timings: dict[str, float], name: str) -> Iterator[None]:
    # CPU time next to wall time: on a shared machine the wall clock includes other processes.
    start, cpu = time.perf_counter(), time.process_time()
    yield
    timings[name] = time.perf_counter() - start
    timings[f"{name} (cpu)"] = time.process_time() - cpu


def run(store_dir: Path, n_rows: int, per_row: int) -> dict[str, float]:
    timings: dict[str, float] = {}
    with Client(store_dir) as client:
        project = client.create_project("bulk-save benchmark", ontology=ONTOLOGY)
        with _phase(timings, "add_data"):
            project.add_data(
                [
                    {"title": f"frame_{i:06d}.jpg", "width": 1280, "height": 720}
                    for i in range(n_rows)
                ]
            )
        box = project.ontology_structure.objects[0]
        with _phase(timings, "list"):
            rows = project.list_label_rows_v2(branch_name=BRANCH)
        with _phase(timings, "initialise"), project.create_bundle() as bundle:
            for row in rows:
                row.initialise_labels(bundle=bundle)
        with _phase(timings, "build"):
            for r, row in enumerate(rows):
                for k in range(per_row):
                    inst = box.create_instance()
                    inst.set_for_frames(
                        coordinates=BoundingBoxCoordinates(
                            height=0.05,
                            width=0.04,
                            top_left_x=(k % 20) * 0.045,
                            top_left_y=(r % 17) * 0.05,
                        ),
                        frames=0,
                        confidence=((r * per_row + k) % 1000) / 1000.0,
                        manual_annotation=False,
                    )
                    row.add_object_instance(inst)
        with _phase(timings, "save"), project.create_bundle() as bundle:
            for row in rows:
                row.save(bundle=bundle)
        with _phase(timings, "check"):
            check = project.list_label_rows_v2(branch_name=BRANCH, data_hashes=[rows[0].data_hash])
            check[0].initialise_labels()
            stored = len(check[0].get_object_instances())
        if stored != per_row:
            raise SystemExit(f"benchmark check failed: row 0 holds {stored} objects, not {per_row}")
    return timings


def _report(timings: dict[str, float], n_rows: int, per_row: int) -> None:
    total = n_rows * per_row
    for name, seconds in timings.items():
        if not name.endswith("(cpu)"):
            print(f"{name:>11}: {seconds:8.3f} s wall {timings[name + ' (cpu)']:8.3f} s cpu")
    print(f"annotations: {total}")
    for clock, suffix in (("wall", ""), ("cpu", " (cpu)")):
        spent = {k: timings[k + suffix] for k in ("list", "initialise", "build", "save")}
        end_to_end = sum(spent.values())
        store_only = end_to_end - spent["build"]
        print(
            f"{clock:>4}: end-to-end (list + initialise + build + save) "
            f"{total / end_to_end:,.0f} annotations/s; without build "
            f"{total / store_only:,.0f} annotations/s"
        )
    print(f"peak memory (max RSS): {_peak_mb():.0f} MB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--per-row", type=int, default=20)
    parser.add_argument(
        "--store", type=Path, default=None, help="store folder (default: a temp dir)"
    )
    parser.add_argument("--profile", action="store_true", help="print the top cProfile entries")
    args = parser.parse_args(argv)

    def go(store_dir: Path) -> dict[str, float]:
        return run(store_dir, args.rows, args.per_row)

    runner: Callable[[Path], dict[str, float]] = go
    with tempfile.TemporaryDirectory(prefix="predscope-bench-") as tmp:
        store_dir = args.store or Path(tmp)
        if args.profile:
            prof = cProfile.Profile()
            timings = prof.runcall(runner, store_dir)
            pstats.Stats(prof).sort_stats("tottime").print_stats(30)
        else:
            timings = runner(store_dir)
    _report(timings, args.rows, args.per_row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
