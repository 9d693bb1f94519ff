"""Deterministic generator of a COCO-val-sized evaluation case (GT dataset + results list).

At scale 1: 5,000 images, 80 classes, about 36,000 GT (about 1% crowd, crowd masks as
uncompressed RLE) and 500,000 scored detections (100 per image). With ``--segm`` the GT carry
polygons and the detections compressed-RLE masks (no bbox, so every tool takes the segm branch).

    python benchmarks/_gen_coco.py OUT_DIR [--scale 1] [--segm] [--seed 0]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import orjson
from pycocotools import mask as mask_utils

IMAGES = 5000
CLASSES = 80
GT_PER_IMAGE = 7.2
DETS_PER_IMAGE = 100


def _octagon(x: float, y: float, w: float, h: float) -> list[float]:
    """A polygon inside the box, so mask area differs from box area as in COCO."""
    a, b = w * 0.25, h * 0.25
    pts = [
        (x + a, y),
        (x + w - a, y),
        (x + w, y + b),
        (x + w, y + h - b),
        (x + w - a, y + h),
        (x + a, y + h),
        (x, y + h - b),
        (x, y + b),
    ]
    return [round(float(c), 2) for p in pts for c in p]


def _box(rng: np.random.Generator, width: int, height: int) -> tuple[float, float, float, float]:
    w = float(np.clip(rng.lognormal(3.6, 0.9), 4, width - 2))
    h = float(np.clip(w * rng.lognormal(0.0, 0.4), 4, height - 2))
    x = float(rng.uniform(0, width - w))
    y = float(rng.uniform(0, height - h))
    return round(x, 2), round(y, 2), round(w, 2), round(h, 2)


def generate(
    out_dir: Path, scale: int = 1, segm: bool = False, seed: int = 0, full_precision: bool = False
) -> tuple[Path, Path]:
    """Write gt.json and dt.json under ``out_dir`` (skipped when both already exist).

    ``full_precision`` writes detection boxes and scores unrounded, as detectors emit them (float32
    values widened to Python floats): the same case, about 2.5x the bytes.
    """
    tag = f"{'segm' if segm else 'bbox'}_x{scale}_s{seed}{'_fp' if full_precision else ''}"
    gt_path, dt_path = out_dir / f"gt_{tag}.json", out_dir / f"dt_{tag}.json"
    if gt_path.exists() and dt_path.exists():
        return gt_path, dt_path
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_img = IMAGES * scale
    images, anns, dets = [], [], []
    ann_id = 1
    for img_id in range(1, n_img + 1):
        width, height = int(rng.choice([640, 480, 500])), int(rng.choice([480, 427, 375]))
        images.append(
            {"id": img_id, "width": width, "height": height, "file_name": f"{img_id:012d}.jpg"}
        )
        n_gt = int(rng.poisson(GT_PER_IMAGE))
        classes = rng.choice(CLASSES, size=max(1, int(rng.integers(1, 5))), replace=False) + 1
        gts = []
        for _ in range(n_gt):
            x, y, w, h = _box(rng, width, height)
            cat = int(rng.choice(classes))
            crowd = int(rng.random() < 0.01)
            ann: dict[str, object] = {
                "id": ann_id,
                "image_id": img_id,
                "category_id": cat,
                "bbox": [x, y, w, h],
                "iscrowd": crowd,
            }
            if crowd:
                m = np.zeros((height, width), dtype=np.uint8, order="F")
                m[int(y) : int(y + h), int(x) : int(x + w)] = 1
                rle = mask_utils.encode(m)
                counts = _uncompressed_counts(m)
                ann["segmentation"] = {"size": [height, width], "counts": counts}
                ann["area"] = float(mask_utils.area(rle))
            else:
                ann["segmentation"] = [_octagon(x, y, w, h)]
                ann["area"] = round(w * h * 0.875, 2)
            anns.append(ann)
            gts.append((x, y, w, h, cat))
            ann_id += 1
        for _ in range(DETS_PER_IMAGE):
            if gts and rng.random() < 0.6:
                x, y, w, h, cat = gts[int(rng.integers(len(gts)))]
                j = rng.normal(0, 0.08, 4)
                x, y = x + j[0] * w, y + j[1] * h
                w, h = w * float(np.exp(j[2])), h * float(np.exp(j[3]))
                x, y = float(np.clip(x, 0, width - 2)), float(np.clip(y, 0, height - 2))
                w, h = float(np.clip(w, 2, width - x)), float(np.clip(h, 2, height - y))
                if rng.random() < 0.2:
                    cat = int(rng.integers(1, CLASSES + 1))
                score = float(rng.beta(4, 2))
            else:
                x, y, w, h = _box(rng, width, height)
                cat = (
                    int(rng.choice(classes))
                    if rng.random() < 0.5
                    else int(rng.integers(1, CLASSES + 1))
                )
                score = float(rng.beta(1.5, 4))
            det: dict[str, object] = {
                "image_id": img_id,
                "category_id": cat,
                "score": float(np.float32(score)) if full_precision else round(score, 5),
            }
            if full_precision:  # what a detector's float32 tensor gives after .tolist()
                box = [float(np.float32(v)) for v in (x, y, w, h)]
            else:
                box = [round(x, 2), round(y, 2), round(w, 2), round(h, 2)]
            if segm:
                rle = mask_utils.merge(mask_utils.frPyObjects([_octagon(*box)], height, width))
                det["segmentation"] = {"size": rle["size"], "counts": rle["counts"].decode()}
            else:
                det["bbox"] = box
            dets.append(det)
    cats = [
        {"id": c, "name": f"class_{c}", "supercategory": "thing"} for c in range(1, CLASSES + 1)
    ]
    gt_path.write_bytes(orjson.dumps({"images": images, "annotations": anns, "categories": cats}))
    dt_path.write_bytes(orjson.dumps(dets))
    return gt_path, dt_path


def _uncompressed_counts(m: np.ndarray) -> list[int]:
    flat = m.ravel(order="F")
    change = np.flatnonzero(np.diff(flat)) + 1
    edges = np.concatenate(([0], change, [flat.size]))
    runs = np.diff(edges).tolist()
    if flat[0] == 1:
        runs = [0, *runs]
    return [int(r) for r in runs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--segm", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    gt, dt = generate(args.out_dir, args.scale, args.segm, args.seed)
    print(gt, dt)


if __name__ == "__main__":
    main()
