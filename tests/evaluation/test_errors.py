"""TIDE error types and dAP equal a direct, slow implementation of the definition (plain Python
matching and tests, pycocotools for every AP) on generated cases with known errors."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from predscope.evaluation.errors import ErrorType, tide_errors
from predscope.evaluation.params import CocoParams
from tests.evaluation._coco_eval_helpers import coco_inputs, run_pycocotools

FG, BG = 0.5, 0.1


def _iou(d: list[float], g: list[float], crowd: bool = False) -> float:
    w = min(d[0] + d[2], g[0] + g[2]) - max(d[0], g[0])
    h = min(d[1] + d[3], g[1] + g[3]) - max(d[1], g[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = d[2] * d[3] if crowd else d[2] * d[3] + g[2] * g[3] - inter
    return inter / union


def _shift(box: list[float], target_iou: float) -> list[float]:
    """The box moved right so that its IoU with the original is about ``target_iou``."""
    x, y, w, h = box
    dx = w * (1 - target_iou) / (1 + target_iou)
    return [x + dx, y, w, h]


def make_error_case(seed: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Each GT gets a planted detection of one kind: TP, localisation, classification, duplicate,
    both, or nothing (missed); plus background boxes and a crowd region."""
    rng = np.random.default_rng(seed)
    images, anns, dets = [], [], []
    aid = 1
    for iid in range(1, 13):
        images.append({"id": iid, "width": 400, "height": 300})
        for k in range(int(rng.integers(0, 6))):
            w, h = float(rng.uniform(20, 80)), float(rng.uniform(20, 80))
            x, y = 70.0 * k + float(rng.uniform(0, 5)), float(rng.uniform(0, 200))
            box = [x, y, w, h]
            cat = int(rng.integers(1, 4))
            crowd = int(rng.random() < 0.08)
            anns.append(
                {
                    "id": aid,
                    "image_id": iid,
                    "category_id": cat,
                    "bbox": box,
                    "area": w * h,
                    "iscrowd": crowd,
                }
            )
            aid += 1
            kind = rng.choice(["tp", "loc", "cls", "dup", "both", "miss", "tp_loc", "cls_loc"])
            other = 1 + (cat % 3)

            def det(b: list[float], c: int, iid: int = iid) -> None:
                dets.append(
                    {
                        "image_id": iid,
                        "category_id": c,
                        "bbox": [round(v, 3) for v in b],
                        "score": float(rng.uniform(0.01, 0.99)),
                    }
                )

            if kind in ("tp", "dup", "tp_loc"):
                det(_shift(box, float(rng.uniform(0.6, 0.95))), cat)
            if kind == "dup":
                det(_shift(box, float(rng.uniform(0.55, 0.9))), cat)
            if kind in ("loc", "tp_loc"):
                det(_shift(box, float(rng.uniform(0.15, 0.45))), cat)
            if kind in ("cls", "cls_loc"):
                det(_shift(box, float(rng.uniform(0.6, 0.95))), other)
            if kind == "cls_loc":
                det(_shift(box, float(rng.uniform(0.15, 0.45))), cat)
            if kind == "both":
                det(_shift(box, float(rng.uniform(0.15, 0.45))), other)
        for _ in range(int(rng.integers(0, 3))):  # background: far below every GT
            det_box = [float(rng.uniform(0, 350)), 290.0 - 8.0, 30.0, 8.0]
            dets.append(
                {
                    "image_id": iid,
                    "category_id": int(rng.integers(1, 4)),
                    "bbox": det_box,
                    "score": float(rng.uniform(0.01, 0.99)),
                }
            )
    cats = [{"id": c, "name": f"c{c}"} for c in (1, 2, 3)]
    return {"images": images, "annotations": anns, "categories": cats}, dets


def _best(ious: dict[int, float], among: list[int]) -> tuple[float, int]:
    """Highest IoU among ``among`` (first on ties), (0, -1) when nothing overlaps."""
    b, who = 0.0, -1
    for g in among:
        if ious[g] > b:
            b, who = ious[g], g
    return b, who


def _direct(gt: dict[str, Any], dts: list[dict[str, Any]]) -> dict[str, Any]:
    """TIDE by the definition, one detection at a time (no engine code)."""
    anns = gt["annotations"]
    n_d = len(dts)
    outcome = ["fp"] * n_d
    matched = [-1] * n_d
    used = [False] * len(anns)
    groups: dict[tuple[int, int], list[int]] = {}
    for i, d in enumerate(dts):
        groups.setdefault((d["image_id"], d["category_id"]), []).append(i)
    for (img, cat), rows in groups.items():
        rows = sorted(rows, key=lambda i: -dts[i]["score"])
        regular = [
            g
            for g, a in enumerate(anns)
            if a["image_id"] == img and a["category_id"] == cat and not a["iscrowd"]
        ]
        crowd = [
            g
            for g, a in enumerate(anns)
            if a["image_id"] == img and a["category_id"] == cat and a["iscrowd"]
        ]
        for i in rows:
            best, pick = FG, -1
            for g in regular:
                v = _iou(dts[i]["bbox"], anns[g]["bbox"])
                if not used[g] and v >= best:
                    best, pick = v, g
            if pick >= 0:
                used[pick] = True
                outcome[i], matched[i] = "tp", pick
                continue
            if any(_iou(dts[i]["bbox"], anns[g]["bbox"], True) >= FG for g in crowd):
                outcome[i] = "ignored"
    err: list[str] = []
    partner: list[int] = []
    for i, d in enumerate(dts):
        if outcome[i] != "fp":
            err.append("none" if outcome[i] == "tp" else "ignored")
            partner.append(matched[i])
            continue
        cand = [
            g for g, a in enumerate(anns) if a["image_id"] == d["image_id"] and not a["iscrowd"]
        ]

        ious = {g: _iou(d["bbox"], anns[g]["bbox"]) for g in cand}
        same = {g: anns[g]["category_id"] == d["category_id"] for g in cand}
        s, sg = _best(ious, [g for g in cand if same[g]])
        o, og = _best(ious, [g for g in cand if not same[g]])
        u, ug = _best(ious, [g for g in cand if same[g] and used[g]])
        a, ag = _best(ious, cand)
        if BG <= s < FG:
            err.append("localisation"), partner.append(sg)
        elif o >= FG:
            err.append("classification"), partner.append(og)
        elif u >= FG:
            err.append("duplicate"), partner.append(ug)
        elif a <= BG:
            err.append("background"), partner.append(-1)
        else:
            err.append("both"), partner.append(ag)
    explained = {partner[i] for i in range(n_d) if err[i] in ("localisation", "classification")}
    missed = [
        g for g, a in enumerate(anns) if not a["iscrowd"] and not used[g] and g not in explained
    ]

    def ap50(gt_: dict[str, Any], dts_: list[dict[str, Any]]) -> float:
        return float(run_pycocotools(gt_, dts_, "bbox").stats[1])

    base = ap50(gt, dts)
    dap: dict[str, float] = {}
    for kind in ("localisation", "classification"):
        fixed = copy.deepcopy(dts)
        drop = set()
        order = sorted(
            (i for i in range(n_d) if err[i] == kind), key=lambda i: (-dts[i]["score"], i)
        )
        taken: set[int] = set()
        for i in order:
            g = partner[i]
            if used[g] or g in taken:
                drop.add(i)
                continue
            taken.add(g)
            if kind == "localisation":
                fixed[i]["bbox"] = list(anns[g]["bbox"])
            else:
                fixed[i]["category_id"] = anns[g]["category_id"]
        dap[kind] = max(ap50(gt, [d for i, d in enumerate(fixed) if i not in drop]) - base, 0.0)
    for kind in ("duplicate", "background", "both"):
        dap[kind] = max(ap50(gt, [d for i, d in enumerate(dts) if err[i] != kind]) - base, 0.0)
    gt_fixed = copy.deepcopy(gt)
    gt_fixed["annotations"] = [a for g, a in enumerate(anns) if g not in set(missed)]
    dap["missed"] = max(ap50(gt_fixed, dts) - base, 0.0)
    return {"err": err, "partner": partner, "missed": missed, "ap": base, "dap": dap}


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_tide_equals_the_direct_definition(seed: int) -> None:
    gt, dts = make_error_case(seed)
    ref = _direct(gt, dts)
    gti, dti = coco_inputs(gt, dts)
    res = tide_errors(gti, dti, CocoParams())
    names = {int(k): k.name.lower() for k in ErrorType}
    got = [names[int(e)] for e in res.dt_error]
    assert got == ref["err"]
    assert res.dt_partner.tolist() == ref["partner"]
    assert np.flatnonzero(res.gt_error == ErrorType.MISSED).tolist() == ref["missed"]
    for key in ("localisation", "classification", "duplicate", "background", "both"):
        assert res.counts[key] == ref["err"].count(key)
    assert res.counts["missed"] == len(ref["missed"])
    assert res.ap == pytest.approx(ref["ap"], abs=1e-12)
    for key, value in ref["dap"].items():
        assert res.dap[key] == pytest.approx(value, abs=1e-12), key
    # every planted kind occurs, so the test exercises each branch
    assert all(
        res.counts[k] > 0 for k in ("localisation", "classification", "duplicate", "background")
    )
    assert res.dap["localisation"] > 0 and res.dap["missed"] > 0


def test_best_ious_and_partners() -> None:
    gt, dts = make_error_case(5)
    gti, dti = coco_inputs(gt, dts)
    res = tide_errors(gti, dti, with_dap=False)
    anns = gt["annotations"]
    for i, d in enumerate(dts):
        regular = [
            g for g, a in enumerate(anns) if a["image_id"] == d["image_id"] and not a["iscrowd"]
        ]
        ious = [_iou(d["bbox"], anns[g]["bbox"]) for g in regular]
        same = [
            v if anns[g]["category_id"] == d["category_id"] else 0.0
            for g, v in zip(regular, ious, strict=True)
        ]
        assert res.best_iou_any[i] == pytest.approx(max(ious, default=0.0), abs=1e-12)
        assert res.best_iou_same[i] == pytest.approx(max(same, default=0.0), abs=1e-12)
        if max(ious, default=0.0) > 0:
            assert res.best_gt_any[i] == regular[int(np.argmax(ious))]
        else:
            assert res.best_gt_any[i] == -1
    assert res.dap == {}
    for g, a in enumerate(anns):
        if a["iscrowd"]:
            assert res.gt_best_dt_any[g] == -1
            continue
        ious = [_iou(d["bbox"], a["bbox"]) if d["image_id"] == a["image_id"] else 0.0 for d in dts]
        top = max(ious, default=0.0)
        assert res.gt_best_iou_any[g] == pytest.approx(top, abs=1e-12)
        assert res.gt_best_dt_any[g] == (int(np.argmax(ious)) if top > 0 else -1)


def test_segm_tide_runs_through_the_same_engine() -> None:
    from tests.evaluation._coco_eval_helpers import make_case

    gt, dts = make_case(2, n_img=8, segm=True)
    gti, dti = coco_inputs(gt, dts, "segm")
    res = tide_errors(gti, dti, CocoParams(iou_type="segm"))
    assert res.ap == pytest.approx(run_pycocotools(gt, dts, "segm").stats[1], abs=1e-12)
    assert sum(res.counts.values()) > 0 and all(v >= 0 for v in res.dap.values())
    assert res.dap["localisation"] > 0


def test_keypoint_tide_fixes_localisation_with_the_gt_keypoints() -> None:
    from tests.evaluation._coco_eval_helpers import make_keypoint_case

    gt, dts = make_keypoint_case(1, n_img=30)
    gti, dti = coco_inputs(gt, dts, "keypoints")
    p = CocoParams.for_keypoints()
    res = tide_errors(gti, dti, p)
    assert res.ap == pytest.approx(run_pycocotools(gt, dts, "keypoints").stats[1], abs=1e-12)
    assert res.counts["localisation"] > 0 and res.dap["localisation"] > 0
    ignored = gti.iscrowd | (gti.num_keypoints == 0)
    assert np.all(res.gt_error[ignored] == ErrorType.IGNORED)


def test_rotated_tide_equals_bbox_tide_at_zero_degrees() -> None:
    from dataclasses import replace

    gt, dts = make_error_case(6)
    gti, dti = coco_inputs(gt, dts)
    box = tide_errors(gti, dti)
    zero = np.zeros((gti.num_annotations, 1)), np.zeros((dti.num_detections, 1))
    gtr = replace(gti, rotated=np.hstack([gti.bbox, zero[0]]))
    dtr = replace(dti, rotated=np.hstack([dti.bbox, zero[1]]))
    rot = tide_errors(gtr, dtr, CocoParams(iou_type="rotated"))
    assert np.array_equal(rot.dt_error, box.dt_error)
    assert np.array_equal(rot.gt_error, box.gt_error)
    for key, value in box.dap.items():
        assert rot.dap[key] == pytest.approx(value, abs=1e-12)
