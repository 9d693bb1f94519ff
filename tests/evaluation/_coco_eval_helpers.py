"""Shared helpers of the COCO evaluation tests: case generator and live pycocotools runs."""

from __future__ import annotations

import contextlib
import copy
import io
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from predscope.evaluation.coco_eval import evaluate_coco
from predscope.evaluation.inputs import CocoDetections, CocoGroundTruth
from predscope.evaluation.params import COCO_KEYPOINT_SIGMAS, CocoParams
from predscope.evaluation.results import CocoEvaluation
from predscope.formats.coco import detection_inputs, ground_truth_inputs, image_sizes
from predscope.formats.coco_reader import read_coco

DATA = Path(__file__).resolve().parents[2] / "data"


def run_pycocotools(
    gt: dict[str, Any],
    dt: list[dict[str, Any]],
    iou_type: str = "bbox",
    tweak: dict[str, Any] | None = None,
    summarize: bool = True,
) -> COCOeval:
    """COCOeval on deep copies (pycocotools mutates its inputs), output silenced."""
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = copy.deepcopy(gt)
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(copy.deepcopy(dt))
        ev = COCOeval(coco_gt, coco_dt, iou_type)
        for key, value in (tweak or {}).items():
            setattr(ev.params, key, value)
        ev.evaluate()
        ev.accumulate()
        if summarize:
            ev.summarize()
    return ev


def run_ours(
    gt: dict[str, Any],
    dt: list[dict[str, Any]],
    iou_type: str = "bbox",
    params: CocoParams | None = None,
    compat: bool = False,
) -> CocoEvaluation:
    gt_file = read_coco(orjson.dumps(gt), "gt.json", iou_type)  # type: ignore[arg-type]
    gti = ground_truth_inputs(gt_file, iou_type)  # type: ignore[arg-type]
    dt_file = read_coco(orjson.dumps(dt), "dt.json", iou_type)  # type: ignore[arg-type]
    dti = detection_inputs(dt_file, gti, image_sizes(gt_file), iou_type)  # type: ignore[arg-type]
    return evaluate_coco(
        gti,
        dti,
        params or CocoParams.default(iou_type),  # type: ignore[arg-type]
        pycocotools_compat=compat,
    )


def coco_inputs(
    gt: dict[str, Any], dt: list[dict[str, Any]], iou_type: str = "bbox"
) -> tuple[CocoGroundTruth, CocoDetections]:
    """The engine's inputs read from in-memory COCO dicts, as ``predscope eval`` reads files."""
    gt_file = read_coco(orjson.dumps(gt), "gt.json", iou_type)  # type: ignore[arg-type]
    gti = ground_truth_inputs(gt_file, iou_type)  # type: ignore[arg-type]
    dt_file = read_coco(orjson.dumps(dt), "dt.json", iou_type)  # type: ignore[arg-type]
    return gti, detection_inputs(dt_file, gti, image_sizes(gt_file), iou_type)  # type: ignore[arg-type]


def assert_parity(ref: COCOeval, ours: CocoEvaluation, stats: bool = True) -> None:
    for name in ("precision", "recall", "scores"):
        a = np.asarray(ref.eval[name])
        b = getattr(ours, name)
        assert a.shape == b.shape, name
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-12, err_msg=name)
    if stats:
        np.testing.assert_allclose(ours.stats_list, ref.stats, rtol=0, atol=1e-12)


def _polygon(x: float, y: float, w: float, h: float) -> list[float]:
    return [x, y, x + w, y, x + w, y + h * 0.7, x + w * 0.5, y + h, x, y + h]


def make_case(
    seed: int,
    *,
    n_img: int = 12,
    n_cat: int = 5,
    gt_per_img: float = 4.0,
    dets_per_img: int = 30,
    crowd_rate: float = 0.1,
    tie_scores: bool = True,
    string_ids: bool = False,
    segm: bool = False,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A small case with crowd GT, an empty image, an image without detections, a category
    without GT, tied scores and (optionally) more detections than maxDets per image."""
    rng = np.random.default_rng(seed)
    W, H = 120, 90
    images, anns, dets = [], [], []
    cat_ids = [c * 3 + 1 for c in range(n_cat)]  # ids not contiguous; the last has no GT
    aid = 1
    img_ids = [int(i) for i in rng.permutation(np.arange(1, n_img + 1) * 7)]
    for n, iid in enumerate(img_ids):
        img_key: Any = f"img-{iid}" if string_ids else iid
        images.append({"id": img_key, "width": W, "height": H})
        n_gt = 0 if n == 0 else int(rng.poisson(gt_per_img))
        boxes = []
        for _ in range(n_gt):
            w, h = float(rng.uniform(3, 60)), float(rng.uniform(3, 50))
            x, y = float(rng.uniform(0, W - w)), float(rng.uniform(0, H - h))
            x, y, w, h = (round(v, 1) for v in (x, y, w, h))
            cat = cat_ids[int(rng.integers(0, n_cat - 1))]
            crowd = int(rng.random() < crowd_rate)
            ann: dict[str, Any] = {
                "id": aid,
                "image_id": img_key,
                "category_id": cat,
                "bbox": [x, y, w, h],
                "iscrowd": crowd,
                "area": round(w * h * float(rng.uniform(0.5, 1.0)), 2),
            }
            if crowd:
                m = np.zeros((H, W), dtype=np.uint8, order="F")
                m[int(y) : int(y + h) + 1, int(x) : int(x + w) + 1] = 1
                flat = m.ravel(order="F")
                edges = np.concatenate(([0], np.flatnonzero(np.diff(flat)) + 1, [flat.size]))
                runs = np.diff(edges).tolist()
                ann["segmentation"] = {"size": [H, W], "counts": ([0] if flat[0] else []) + runs}
            else:
                ann["segmentation"] = [_polygon(x, y, w, h)]
            anns.append(ann)
            boxes.append((x, y, w, h, cat))
            aid += 1
        n_det = 0 if n == 1 else int(dets_per_img if n % 3 else rng.integers(0, dets_per_img))
        for _ in range(n_det):
            if boxes and rng.random() < 0.6:
                x, y, w, h, cat = boxes[int(rng.integers(len(boxes)))]
                j = rng.normal(0, 0.15, 4)
                x, y, w, h = x + j[0] * w, y + j[1] * h, w * np.exp(j[2]), h * np.exp(j[3])
                if rng.random() < 0.2:
                    cat = cat_ids[int(rng.integers(0, n_cat))]
            else:
                w, h = float(rng.uniform(3, 60)), float(rng.uniform(3, 50))
                x, y = float(rng.uniform(0, W - w)), float(rng.uniform(0, H - h))
                cat = cat_ids[int(rng.integers(0, n_cat))]
            x = float(np.clip(x, 0, W - 3))
            y = float(np.clip(y, 0, H - 3))
            w = float(np.clip(w, 1, W - x))
            h = float(np.clip(h, 1, H - y))
            score = round(float(rng.random()), 1 if tie_scores else 6)
            det: dict[str, Any] = {"image_id": img_key, "category_id": cat, "score": score}
            box = [round(x, 2), round(y, 2), round(w, 2), round(h, 2)]
            if segm:
                rle = mask_utils.merge(mask_utils.frPyObjects([_polygon(*box)], H, W))
                det["segmentation"] = {"size": rle["size"], "counts": rle["counts"].decode()}
            else:
                det["bbox"] = box
            dets.append(det)
    cats = [{"id": c, "name": f"c{c}"} for c in cat_ids]
    return {"images": images, "annotations": anns, "categories": cats}, dets


def make_keypoint_case(seed: int, n_img: int = 10) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Person keypoints: some GT without labelled keypoints, a crowd, detections near GT."""
    rng = np.random.default_rng(seed)
    k = len(COCO_KEYPOINT_SIGMAS)
    images, anns, dets = [], [], []
    aid = 1
    for iid in range(1, n_img + 1):
        images.append({"id": iid, "width": 200, "height": 200})
        people = []
        for _ in range(int(rng.integers(0, 4))):
            w, h = float(rng.uniform(20, 120)), float(rng.uniform(20, 150))
            x, y = float(rng.uniform(0, 200 - w)), float(rng.uniform(0, 200 - h))
            pts = np.stack(
                [
                    rng.uniform(x, x + w, k),
                    rng.uniform(y, y + h, k),
                    rng.choice([0, 1, 2], k, p=[0.3, 0.2, 0.5]),
                ],
                axis=1,
            )
            if rng.random() < 0.15:
                pts[:, 2] = 0
            pts[pts[:, 2] == 0, :2] = 0
            kp = [round(float(v), 2) for v in pts.ravel()]
            anns.append(
                {
                    "id": aid,
                    "image_id": iid,
                    "category_id": 1,
                    "bbox": [x, y, w, h],
                    "area": round(w * h * 0.6, 2),
                    "iscrowd": int(rng.random() < 0.05),
                    "keypoints": kp,
                    "num_keypoints": int((pts[:, 2] > 0).sum()),
                }
            )
            people.append((x, y, w, h, pts))
            aid += 1
        for _ in range(int(rng.integers(0, 25))):
            if people and rng.random() < 0.7:
                x, y, w, h, pts = people[int(rng.integers(len(people)))]
                xy = pts[:, :2] + rng.normal(0, 4, (k, 2))
                xy[pts[:, 2] == 0] = rng.uniform(0, 200, (int((pts[:, 2] == 0).sum()), 2))
            else:
                xy = rng.uniform(0, 200, (k, 2))
            kp = np.concatenate([xy, np.ones((k, 1))], axis=1)
            dets.append(
                {
                    "image_id": iid,
                    "category_id": 1,
                    "score": round(float(rng.random()), 3),
                    "keypoints": [round(float(v), 2) for v in kp.ravel()],
                }
            )
    return {
        "images": images,
        "annotations": anns,
        "categories": [{"id": 1, "name": "person"}],
    }, dets
