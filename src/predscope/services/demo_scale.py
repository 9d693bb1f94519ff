"""``predscope demo --scale N``: a generated project of N images, for trying predscope at size.

The images exist only as registered sizes (no pixels), as a COCO dataset without image files
registers them. Ground truth is drawn at random (seeded, so a scale and seed always give the same
project): about six objects per image over eight classes with COCO-like class imbalance, sizes
from tiny to large and a class-typical aspect ratio. Three "detectors" of different quality
then make the errors real models make, each at its own rate:

* **missed** objects, more often the smaller they are;
* **localisation** error: the box's centre and size jittered in proportion to its size;
* **class confusion**: the right box with a look-alike class (car / truck, dog / cat, ...);
* **duplicates**: a second, shifted box on the same object with a lower score;
* **background** false positives: boxes where nothing is, with low scores.

Scores follow the outcome (good detections score high, background ones low, with overlap), so
PR curves, thresholds and calibration have something to show. The files are written to a
temporary folder and go in through the same COCO onboarding and import as a user's files
(``create_project_from_coco``, ``import_coco``); ``services.demo.analyse_branches`` then stores
an analysis run per branch.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from predscope.exceptions import InvalidArgumentsError
from predscope.services.demo import (
    DemoResult,
    Say,
    _quiet,
    analyse_branches,
    replace_own_project,
)
from predscope.services.progress import Progress
from predscope.store.engine import Store

# Marks a generated project as the demo's own (see ``demo.replace_own_project``).
SCALE_DESCRIPTION = "predscope generated demo project (predscope demo --scale)"
MAX_SCALE = 1_000_000

CLASSES = ("person", "car", "bicycle", "dog", "cat", "bus", "truck", "traffic light")
CLASS_SHARE = np.array([0.38, 0.2, 0.06, 0.06, 0.06, 0.05, 0.09, 0.1])
ASPECT = np.array([0.42, 1.7, 1.3, 1.2, 1.1, 1.5, 1.6, 0.4])  # width / height, typical
LOOK_ALIKE = np.array([2, 6, 0, 4, 3, 6, 5, 0])  # index of the class each is confused with
# How easy each class is (1 = easiest): scales the chance to be found, and its localisation noise.
EASE = np.array([1.0, 0.95, 0.7, 0.85, 0.9, 0.97, 0.8, 0.6])
SIZES = ((640, 480), (1280, 720), (800, 600), (1024, 768))
GT_PER_IMAGE = 6.0


@dataclass(frozen=True)
class Detector:
    """One generated model: how often it makes each kind of error."""

    branch: str
    recall: float  # chance to find a large object
    jitter: float  # localisation noise, as a share of the box size
    confusion: float  # chance a found object gets the look-alike class
    duplicates: float  # chance of a second box on a found object
    background: float  # background false positives per image


DETECTORS = (
    Detector(
        "detector-large", recall=0.95, jitter=0.03, confusion=0.03, duplicates=0.03, background=0.5
    ),
    Detector(
        "detector-small", recall=0.85, jitter=0.05, confusion=0.07, duplicates=0.06, background=1.2
    ),
    Detector(
        "detector-legacy", recall=0.72, jitter=0.07, confusion=0.12, duplicates=0.12, background=2.5
    ),
)


def scale_title(n: int) -> str:
    return f"scale-demo-{n}"


@dataclass(frozen=True)
class Boxes:
    """Columns of boxes: image index, class index, x, y, w, h (and a score for detections)."""

    image: np.ndarray
    cls: np.ndarray
    xywh: np.ndarray
    score: np.ndarray | None = None


def generate_ground_truth(rng: np.random.Generator, sizes: np.ndarray) -> Boxes:
    """Objects on images of ``sizes`` (n x 2: width, height)."""
    n = len(sizes)
    counts = np.minimum(rng.poisson(GT_PER_IMAGE, n), 40)
    image = np.repeat(np.arange(n), counts)
    m = image.size
    cls = rng.choice(len(CLASSES), size=m, p=CLASS_SHARE / CLASS_SHARE.sum())
    wh = sizes[image].astype(np.float64)
    short = wh.min(axis=1)
    # Square root of the area, log-uniform from tiny (8 px) to most of the short side.
    side = np.exp(rng.uniform(np.log(8.0), np.log(0.7 * short)))
    aspect = ASPECT[cls] * np.exp(rng.normal(0.0, 0.2, m))
    w = np.minimum(side * np.sqrt(aspect), wh[:, 0])
    h = np.minimum(side / np.sqrt(aspect), wh[:, 1])
    x = rng.uniform(0.0, 1.0, m) * (wh[:, 0] - w)
    y = rng.uniform(0.0, 1.0, m) * (wh[:, 1] - h)
    return Boxes(image, cls, np.column_stack([x, y, w, h]))


def _clip(xywh: np.ndarray, wh: np.ndarray) -> np.ndarray:
    x0 = np.clip(xywh[:, 0], 0.0, wh[:, 0] - 1.0)
    y0 = np.clip(xywh[:, 1], 0.0, wh[:, 1] - 1.0)
    x1 = np.clip(xywh[:, 0] + xywh[:, 2], x0 + 1.0, wh[:, 0])
    y1 = np.clip(xywh[:, 1] + xywh[:, 3], y0 + 1.0, wh[:, 1])
    return np.column_stack([x0, y0, x1 - x0, y1 - y0])


def _jitter(rng: np.random.Generator, xywh: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    w, h = xywh[:, 2], xywh[:, 3]
    cx = xywh[:, 0] + w / 2 + rng.normal(0.0, 1.0, len(w)) * sigma * w
    cy = xywh[:, 1] + h / 2 + rng.normal(0.0, 1.0, len(w)) * sigma * h
    w2 = w * np.exp(rng.normal(0.0, 1.0, len(w)) * sigma)
    h2 = h * np.exp(rng.normal(0.0, 1.0, len(w)) * sigma)
    return np.column_stack([cx - w2 / 2, cy - h2 / 2, w2, h2])


def generate_detections(
    rng: np.random.Generator, gt: Boxes, sizes: np.ndarray, model: Detector
) -> Boxes:
    """One detector's output on the ground truth ``gt`` (see the module doc for the errors)."""
    side = np.sqrt(gt.xywh[:, 2] * gt.xywh[:, 3])
    ease = EASE[gt.cls]
    p_find = model.recall * ease * (1.0 - np.exp(-side / 24.0))  # small objects are missed more
    found = rng.random(side.size) < p_find
    idx = np.flatnonzero(found)
    # Localisation: most boxes a little off, one in ten badly off; hard classes more so.
    sigma = model.jitter * (2.0 - ease[idx]) * np.where(rng.random(idx.size) < 0.1, 4.0, 1.0)
    boxes = _jitter(rng, gt.xywh[idx], sigma)
    cls = gt.cls[idx].copy()
    confused = rng.random(idx.size) < model.confusion
    cls[confused] = LOOK_ALIKE[cls[confused]]
    quality = np.exp(-sigma / 0.25) * np.where(confused, 0.7, 1.0)
    score = np.clip(rng.beta(6, 2, idx.size) * quality, 0.01, 0.999)
    dup = idx[rng.random(idx.size) < model.duplicates]
    dup_boxes = _jitter(rng, gt.xywh[dup], np.full(dup.size, model.jitter * 2))
    dup_score = np.clip(rng.beta(3, 3, dup.size) * 0.8, 0.01, 0.999)
    n = len(sizes)
    bg_counts = rng.poisson(model.background, n)
    bg_image = np.repeat(np.arange(n), bg_counts)
    # Background boxes take the shapes of random objects and go where nothing is matched.
    take = rng.integers(0, max(gt.image.size, 1), bg_image.size)
    bg_xywh = gt.xywh[take] if gt.image.size else np.ones((bg_image.size, 4))
    bg_wh = sizes[bg_image].astype(np.float64)
    room = np.maximum(bg_wh - bg_xywh[:, 2:], 0.0)
    bg_xywh[:, :2] = rng.uniform(0.0, 1.0, (bg_image.size, 2)) * room
    bg_cls = rng.choice(len(CLASSES), size=bg_image.size, p=CLASS_SHARE / CLASS_SHARE.sum())
    bg_score = np.clip(rng.beta(2, 5, bg_image.size), 0.01, 0.999)
    image = np.concatenate([gt.image[idx], gt.image[dup], bg_image])
    xywh = np.concatenate([boxes, dup_boxes, bg_xywh])
    return Boxes(
        image,
        np.concatenate([cls, gt.cls[dup], bg_cls]),
        _clip(xywh, sizes[image].astype(np.float64)),
        np.concatenate([score, dup_score, bg_score]),
    )


def _annotations(boxes: Boxes) -> list[dict[str, Any]]:
    xywh = np.round(boxes.xywh, 2).tolist()
    images = (boxes.image + 1).tolist()
    cats = (boxes.cls + 1).tolist()
    if boxes.score is None:
        return [
            {
                "id": i + 1,
                "image_id": im,
                "category_id": c,
                "bbox": b,
                "area": b[2] * b[3],
                "iscrowd": 0,
            }
            for i, (im, c, b) in enumerate(zip(images, cats, xywh, strict=True))
        ]
    scores = np.round(boxes.score, 4).tolist()
    return [
        {"image_id": im, "category_id": c, "bbox": b, "score": s}
        for im, c, b, s in zip(images, cats, xywh, scores, strict=True)
    ]


def write_case(folder: Path, n: int, seed: int = 0) -> tuple[Path, list[tuple[str, Path]]]:
    """Write the generated COCO dataset and one results list per detector into ``folder``."""
    rng = np.random.default_rng(seed)
    sizes = np.array(SIZES)[rng.integers(0, len(SIZES), n)]
    gt = generate_ground_truth(rng, sizes)
    images = [
        {"id": i + 1, "file_name": f"scale/{i + 1:07d}.jpg", "width": int(w), "height": int(h)}
        for i, (w, h) in enumerate(sizes.tolist())
    ]
    categories = [{"id": k + 1, "name": name} for k, name in enumerate(CLASSES)]
    instances = folder / "instances.json"
    doc = {"images": images, "categories": categories, "annotations": _annotations(gt)}
    instances.write_bytes(orjson.dumps(doc))
    results = []
    for model in DETECTORS:
        path = folder / f"{model.branch}.json"
        path.write_bytes(orjson.dumps(_annotations(generate_detections(rng, gt, sizes, model))))
        results.append((model.branch, path))
    return instances, results


def run_scale_demo(
    store: Store,
    n: int,
    *,
    seed: int = 0,
    say: Say = _quiet,
    progress: Progress | None = None,
) -> DemoResult:
    """Build the generated project of ``n`` images in ``store`` and analyse every branch."""
    from predscope.services.imports.coco import import_coco
    from predscope.services.imports.onboard import create_project_from_coco
    from predscope.services.imports.options import ImportOptions

    if not 1 <= n <= MAX_SCALE:
        raise InvalidArgumentsError(
            f"demo --scale {n}: the number of generated images must be 1 to {MAX_SCALE:,}"
        )
    title = scale_title(n)
    replace_own_project(store, title, SCALE_DESCRIPTION, say)
    with tempfile.TemporaryDirectory(prefix="predscope-scale-") as tmp:
        instances, results = write_case(Path(tmp), n, seed)
        say(f"generated {n} images with ground truth and {len(results)} detectors (seed {seed})")
        onboard = create_project_from_coco(
            store,
            title,
            instances,
            description=SCALE_DESCRIPTION,
            shape="bounding_box",
            progress=progress,
            origin="demo",
        )
        gt_objects = onboard.ground_truth.objects if onboard.ground_truth else 0
        project = onboard.project
        say(
            f"created project {title!r} ({project.project_hash}): {onboard.data_units} images "
            f"registered by size, {gt_objects} ground-truth objects on 'main'"
        )
        for branch, path in results:
            report = import_coco(
                store, project, path, ImportOptions(branch=branch), progress=progress
            )
            say(f"imported {report.objects} predictions to branch {branch!r}")
    branches = [branch for branch, _ in results]
    analysed = analyse_branches(store, project, branches, say=say, progress=progress)
    return DemoResult(
        project=project,
        data_units=onboard.data_units,
        branches=["main", *branches],
        ground_truth_objects=gt_objects,
        results=analysed,
    )
