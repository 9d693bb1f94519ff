"""Stored analysis against ``predscope eval``, incremental re-analysis, and query latencies.

One run, side by side, each timed in its own process (peak memory = ru_maxrss of that process;
every process runs from byte code compiled beforehand, as an installed package does), each
command ``--rounds`` times, (1) and (2) alternating, the fastest taken and the highest peak:

1. ``predscope eval GT DT`` on the generated COCO case (``_gen_coco.py``: 5,000 images, 80
   classes, ~36,000 GT; detections thinned to ~313,000 = 5 of every 8) - the engine on files;
2. ``predscope analyse`` of the same case imported into a store (full run: read rows, match,
   TIDE + dAP, write every object's outcomes at ten thresholds) - goal within 2x of (1), peak
   under 600 MB;
3. the same after one image's prediction row changed (incremental) - goal at most 5% of (2);
   timed as a CLI process (which pays interpreter start, imports and kernel loading, about
   0.7 s, whatever the work) and inside one running process against a full run there, as
   ``predscope serve`` re-analyses on demand;
4. query latencies on the stored results (p50 / p95 of repeated first pages with totals) - goal
   p95 <= 50 ms at a million stored predictions, every shape the UI asks for (``QUERIES``).

    python benchmarks/analyse.py [--work DIR] [--store URL ...] [--postgres] [--scale 1]
        [--keep-every 5/8] [--rounds 3] [--queries-only]

Both backends in one run: ``--store DIR --postgres`` (a throwaway PostgreSQL server). The
query goal's million predictions: ``--scale 2 --keep-every 1/1`` (10,000 images, 1,000,000
detections, about 72,000 GT).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYCACHE = Path(tempfile.gettempdir()) / "predscope-bench-pycache"
sys.path.insert(0, str(HERE))

from _gen_coco import generate  # noqa: E402
from import_coco import _setup  # noqa: E402

CHILD = """
import resource, sys, time
from predscope.cli.app import main
t = time.perf_counter()
cpu = resource.getrusage(resource.RUSAGE_SELF)
try:
    main(sys.argv[1:])
except SystemExit as exc:
    if exc.code:
        raise
print("SECONDS", time.perf_counter() - t, file=sys.stderr)
end = resource.getrusage(resource.RUSAGE_SELF)
used = end.ru_utime + end.ru_stime - cpu.ru_utime - cpu.ru_stime
print("CPU", used, file=sys.stderr)
print("MAXRSS_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""

# Every shape the UI asks for: outcome at several thresholds, class, error type, confidence and
# IoU ranges, a property range, one data unit, ordered by confidence / IoU / area either way.
QUERIES: dict[str, dict[str, object]] = {
    "all predictions, by confidence": {},
    "FP of one class >= 0.7 at IoU 0.75, by confidence": {
        "outcome": "FP",
        "iou_threshold": 0.75,
        "object_names": ["class_1"],
        "min_confidence": 0.7,
    },
    "all TP at IoU 0.5, by confidence": {"outcome": "TP"},
    "TP at IoU 0.75, least confident first": {
        "outcome": "TP",
        "iou_threshold": 0.75,
        "order_by": "confidence",
    },
    "FP at IoU 0.95, by confidence": {"outcome": "FP", "iou_threshold": 0.95},
    "TP at IoU 0.5, confidence 0.3..0.6": {
        "outcome": "TP",
        "min_confidence": 0.3,
        "max_confidence": 0.6,
    },
    "FP at IoU 0.5, confidence >= 0.5": {"outcome": "FP", "min_confidence": 0.5},
    "FP of one class, largest first": {
        "outcome": "FP",
        "object_names": ["class_3"],
        "order_by": "-area_px",
    },
    "all predictions, smallest first": {"order_by": "area_px"},
    "missed GT at IoU 0.5, largest first": {
        "kind": "ground_truth",
        "outcome": "FN",
        "order_by": "-area_px",
    },
    "GT found at IoU 0.9, one class": {
        "kind": "ground_truth",
        "outcome": "TP",
        "iou_threshold": 0.9,
        "object_names": ["class_5"],
    },
    "TP at IoU 0.5, worst IoU first": {"outcome": "TP", "order_by": "iou"},
    "IoU 0.5..0.7 at IoU 0.5, best IoU first": {
        "min_iou": 0.5,
        "max_iou": 0.7,
        "order_by": "-iou",
    },
    "background errors, by confidence": {"error_type": "background"},
    "localisation errors, largest first": {"error_type": "localisation", "order_by": "-area_px"},
    "classification errors of one class": {
        "error_type": "classification",
        "object_names": ["class_7"],
    },
    "area 1000..5000 px, by confidence": {"properties": {"area_px": (1000.0, 5000.0)}},
    "one data unit, by confidence": {"data_hash": None},  # filled with a real unit
}
UNIT_QUERIES: dict[str, dict[str, object]] = {
    "images with most FP": {},
    "images with most FN at IoU 0.75": {"iou_threshold": 0.75, "order_by": "-fn"},
    "images with >= 5 FP, by title": {"min_fp": 5, "order_by": "data_title"},
    "images, one class, most FN": {"object_names": ["class_2"], "order_by": "-fn"},
}


@dataclass(frozen=True)
class Timed:
    """One command in its own process: wall and CPU seconds (all threads), peak RSS, stdout.
    On a shared machine the CPU seconds are the steadier figure; both are printed."""

    seconds: float
    cpu: float
    rss_mb: float
    stdout: str

    def figures(self) -> str:
        return f"{self.seconds:7.2f} s (cpu {self.cpu:6.2f} s)  peak {self.rss_mb:5.0f} MB"


def _child_env() -> dict[str, str]:
    """Children run as an installed package does: from byte code compiled beforehand (into a
    cache folder outside the tree). Without it, a machine that sets PYTHONDONTWRITEBYTECODE
    compiles every predscope module in every child (0.3 s of an analyse run), and whichever
    child ran first would pay for the others' imports."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env


def _compile_package() -> None:
    import predscope

    package = Path(predscope.__file__).parent
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(package)], env=_child_env(), check=True
    )


def _cli(*args: str) -> Timed:
    cmd = [sys.executable, "-c", CHILD, *args]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=_child_env())
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    found = {"SECONDS": 0.0, "CPU": 0.0, "MAXRSS_KB": 0.0}
    for line in done.stderr.splitlines():
        key, _, value = line.partition(" ")
        if key in found:
            found[key] = float(value)
    return Timed(found["SECONDS"], found["CPU"], found["MAXRSS_KB"] / 1024, done.stdout)


def _thin(dt_path: Path, keep: tuple[int, int]) -> Path:
    out = dt_path.with_name(dt_path.stem + f"_keep{keep[0]}of{keep[1]}.json")
    if not out.exists():
        dets = json.loads(dt_path.read_text())
        out.write_text(json.dumps([d for i, d in enumerate(dets) if i % keep[1] < keep[0]]))
    return out


def _has_project(store: str) -> bool:
    from predscope.exceptions import ResourceNotFoundError
    from predscope.services.projects import get_project
    from predscope.store.engine import open_store

    opened = open_store(store)
    try:
        get_project(opened, "bench")
        return True
    except ResourceNotFoundError:
        return False
    finally:
        opened.close()


def _best(runs: list[Timed]) -> Timed:
    """The fastest of repeated runs by wall time (its CPU time the least too), with the highest
    peak of any of them: noise on a shared machine only ever adds time."""
    return Timed(
        min(r.seconds for r in runs),
        min(r.cpu for r in runs),
        max(r.rss_mb for r in runs),
        min(runs, key=lambda r: r.seconds).stdout,
    )


def _change_one_row(store: str, which: int = 17) -> str:
    """Lower the confidence of one object of one prediction row (a new value each call)."""
    from predscope.sdk.client import Client

    with Client(store) as client:
        project = client.get_project("bench")
        row = project.list_label_rows_v2(branch_name="preds")[which]
        row.initialise_labels()
        inst = row.get_object_instances()[0]
        annotation = inst.get_annotations()[0]
        annotation.confidence = 0.001 if annotation.confidence != 0.001 else 0.002
        row.save()
        return row.data_title


def _warm_incremental(store: str) -> tuple[float, float]:
    """An incremental run after one changed row, and a full run, inside one process that has
    analysed before (imports done, kernels loaded), through ``services.analysis.runs.analyse``
    as ``predscope serve``'s jobs call it: the median of nine incremental runs and the fastest
    of three full ones, so both sides pay the same. (``project.analyse`` adds a read of the metrics
    document it returns, as long as ``project.get_metrics``.)"""
    code = (
        "import sys, time\n"
        "sys.path.insert(0, sys.argv[2])\n"
        "from analyse import _change_one_row\n"
        "from predscope.services.analysis.runs import analyse\n"
        "from predscope.store.engine import open_store\n"
        "store = open_store(sys.argv[1])\n"
        "inc, full = [], []\n"
        "for i in range(13):\n"
        "    _change_one_row(sys.argv[1], 17 + i)\n"
        "    t = time.perf_counter()\n"
        "    analyse(store, 'bench', 'preds', full=i >= 10)\n"
        "    (full if i >= 10 else inc).append(time.perf_counter() - t)\n"
        "print(sorted(inc[1:])[4], min(full))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, store, str(HERE)],
        capture_output=True,
        text=True,
        check=False,
        env=_child_env(),
    )
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    inc, full = (float(v) for v in done.stdout.split()[-2:])
    return inc, full


def _queries(store: str, repeats: int) -> None:
    from predscope.services.query import query_data_units, query_objects
    from predscope.store.engine import open_store

    opened = open_store(store)
    try:
        unit = query_objects(opened, "bench", "preds", limit=1).items[0]["data_hash"]
        cases = [
            (name, lambda q=q: query_objects(opened, "bench", "preds", **q))
            for name, q in (
                (n, {**q, "data_hash": unit} if "data_hash" in q else q) for n, q in QUERIES.items()
            )
        ]
        cases += [
            (name, lambda q=q: query_data_units(opened, "bench", "preds", **q))
            for name, q in UNIT_QUERIES.items()
        ]
        worst = 0.0
        for name, call in cases:
            call()  # warm the connection and caches
            times = []
            for _ in range(repeats):
                t = time.perf_counter()
                page = call()
                times.append((time.perf_counter() - t) * 1000)
            p95 = statistics.quantiles(times, n=20)[-1]
            worst = max(worst, p95)
            print(
                f"  {name:<44} total {page.total:>9,}  p50 {statistics.median(times):7.1f} ms  "
                f"p95 {p95:7.1f} ms"
            )
        print(f"  worst p95 {worst:.1f} ms (goal <= 50 ms)")
    finally:
        opened.close()


def _run(
    store: str,
    data_dir: Path,
    scale: int,
    keep: tuple[int, int],
    repeats: int,
    queries_only: bool = False,
    rounds: int = 3,
) -> None:
    gt_path, dt_full = generate(data_dir, scale=scale, full_precision=True)
    dt_path = _thin(dt_full, keep)
    n_dt = len(json.loads(dt_path.read_text()))
    print(f"case: {scale * 5000:,} images, {n_dt:,} detections ({dt_path.name}), store {store}")
    if queries_only:
        print(f"query latencies ({n_dt:,} stored predictions, {repeats} repeats, in-process):")
        _queries(store, repeats)
        return
    if _has_project(store):
        print(f"reusing project 'bench' in {store}")
    else:
        _setup(store, gt_path)
        _cli("import", "coco", "bench", str(gt_path), "--store", store, "--ground-truth", "--json")
        _cli(
            "import", "coco", "bench", str(dt_path), "--store", store, "--branch", "preds", "--json"
        )
    evs, fulls, incs = [], [], []
    for _ in range(rounds):  # alternating, so a slow spell of a shared machine hits both sides
        evs.append(_cli("eval", str(gt_path), str(dt_path), "--json"))
        fulls.append(
            _cli("analyse", "bench", "--branch", "preds", "--full", "--store", store, "--json")
        )
    for i in range(rounds):
        title = _change_one_row(store, 17 + i)
        incs.append(_cli("analyse", "bench", "--branch", "preds", "--store", store, "--json"))
    ev, full, inc = _best(evs), _best(fulls), _best(incs)
    ratios = " ".join(f"{f.seconds / e.seconds:.2f}x" for e, f in zip(evs, fulls, strict=True))
    print(f"predscope eval (files)            {ev.figures()}")
    doc = json.loads(full.stdout)
    print(
        f"predscope analyse (full, stored)  {full.figures()}  = {full.seconds / ev.seconds:.2f}x "
        f"eval (cpu {full.cpu / ev.cpu:.2f}x; rounds {ratios})   stages {doc['run']['timings']}"
    )
    run = json.loads(inc.stdout)["run"]
    print(
        f"predscope analyse (1 row changed) {inc.figures()}  = "
        f"{100 * inc.seconds / full.seconds:.1f}% of full (cpu {100 * inc.cpu / full.cpu:.1f}%; "
        f"{run['mode']}, {run['changed_units']} unit: {title})   stages {run['timings']}"
    )
    warm, warm_full = _warm_incremental(store)
    print(
        f"  in a running process (as the server's jobs run it): 1 row changed {warm:6.3f} s, "
        f"full {warm_full:6.2f} s: incremental = {100 * warm / warm_full:.1f}% of full "
        f"({100 * warm / full.seconds:.1f}% of the full process)"
    )
    print(f"query latencies ({n_dt:,} stored predictions, {repeats} repeats, in-process):")
    _queries(store, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=None, help="keep (and reuse) the case here")
    parser.add_argument(
        "--store",
        action="append",
        default=[],
        help="a store folder or URL (e.g. PostgreSQL), kept and reused; repeat for several "
        "backends; default: a temp folder",
    )
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="also run on a throwaway PostgreSQL server (tests/pg_server.py: initdb + pg_ctl)",
    )
    parser.add_argument(
        "--queries-only", action="store_true", help="only the query latencies of kept stores"
    )
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--keep-every", default="5/8", help="keep A of every B detections")
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument(
        "--rounds", type=int, default=3, help="whole-process runs of each command (best taken)"
    )
    args = parser.parse_args()
    a, b = (int(v) for v in args.keep_every.split("/"))
    _compile_package()
    with tempfile.TemporaryDirectory(prefix="predscope-bench-") as tmp:
        data_dir = (args.work or Path(tmp)) / "data"
        stores = list(args.store) or [str(Path(tmp) / "store")]
        server = None
        if args.postgres:
            sys.path.insert(0, str(HERE.parent))
            from tests.pg_server import PgServer, find_pg_bin

            bin_dir = find_pg_bin()
            if bin_dir is None:
                raise SystemExit("--postgres: initdb/pg_ctl not found")
            server = PgServer(bin_dir)
            server.start()
            server.admin_execute("CREATE DATABASE bench")
            stores.append(server.url("bench"))
        try:
            for store in stores:
                _run(
                    store,
                    data_dir,
                    args.scale,
                    (a, b),
                    args.repeats,
                    args.queries_only,
                    args.rounds,
                )
        finally:
            if server is not None:
                server.stop()


if __name__ == "__main__":
    main()
