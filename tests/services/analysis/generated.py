"""A generated COCO case (GT + scored detections with known overlaps) imported into a store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson

from predscope.services.imports.coco import import_coco
from predscope.services.imports.options import ImportOptions
from predscope.store.engine import Store
from predscope.store.records import ProjectRecord
from tests.services.coco_fixtures import coco_project


def write_case(folder: Path, images: int, dets_per_image: int, seed: int = 0) -> tuple[Path, Path]:
    """gt.json and dt.json: 3 classes, jittered copies of GT plus random boxes."""
    rng = np.random.default_rng(seed)
    cats = [{"id": i + 1, "name": f"c{i + 1}"} for i in range(3)]
    ims, anns, dets = [], [], []
    for img in range(1, images + 1):
        ims.append({"id": img, "file_name": f"{img:06d}.jpg", "width": 640, "height": 480})
        for _ in range(int(rng.integers(1, 8))):
            w, h = (float(v) for v in rng.uniform(8, 200, 2).round(2))
            x, y = (
                round(float(rng.uniform(0, 640 - w)), 2),
                round(float(rng.uniform(0, 480 - h)), 2),
            )
            cat = int(rng.integers(1, 4))
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": img,
                    "category_id": cat,
                    "bbox": [x, y, w, h],
                    "area": round(w * h, 2),
                    "iscrowd": int(rng.random() < 0.02),
                }
            )
            if rng.random() < 0.8:
                j = rng.normal(0, 0.1, 4)
                box = [
                    float(v)
                    for v in (x + j[0] * w, y + j[1] * h, w * (1 + j[2] / 2), h * (1 + j[3] / 2))
                ]
                c = cat if rng.random() < 0.85 else int(rng.integers(1, 4))
                dets.append(
                    {
                        "image_id": img,
                        "category_id": c,
                        "bbox": box,
                        "score": float(0.5 + rng.random() / 2),
                    }
                )
        for _ in range(dets_per_image):
            w, h = (float(v) for v in rng.uniform(8, 150, 2))
            box = [float(rng.uniform(0, 640 - w)), float(rng.uniform(0, 480 - h)), w, h]
            dets.append(
                {
                    "image_id": img,
                    "category_id": int(rng.integers(1, 4)),
                    "bbox": box,
                    "score": float(rng.random()),
                }
            )
    folder.mkdir(parents=True, exist_ok=True)
    gt_path, dt_path = folder / "gt.json", folder / "dt.json"
    gt_path.write_bytes(orjson.dumps({"images": ims, "annotations": anns, "categories": cats}))
    dt_path.write_bytes(orjson.dumps(dets))
    return gt_path, dt_path


def generated_project(
    store: Store, folder: Path, images: int, dets_per_image: int, title: str = "gen"
) -> tuple[ProjectRecord, Path, Path]:
    gt_path, dt_path = write_case(folder, images, dets_per_image)
    project = coco_project(store, gt_path, ("bounding_box",), title)
    import_coco(store, project, gt_path, ImportOptions(ground_truth=True))
    import_coco(store, project, dt_path, ImportOptions(branch="model"), gt_path=gt_path)
    return project, gt_path, dt_path
