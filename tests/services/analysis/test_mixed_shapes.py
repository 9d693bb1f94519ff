"""A mixed ontology (box, rotatable box, polygon) analysed through the store: each class is
measured by its shape's metric, exactly as the engine (and pycocotools) measure that class alone.

The objects are generated in pixels with two decimals, stored normalised through the SDK-level
objects, and the references are built from the same pixel values without the store.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from predscope.evaluation.coco_eval import evaluate_coco
from predscope.evaluation.errors import ERROR_KEYS, tide_errors
from predscope.evaluation.inputs import CocoDetections, CocoGroundTruth, RleMasks
from predscope.evaluation.params import CocoParams
from predscope.evaluation.results import CocoEvaluation
from predscope.evaluation.rotated import rotated_iou_pixels
from predscope.evaluation.summary import mean_valid, summarize
from predscope.objects.coordinates import (
    BoundingBoxCoordinates,
    PointCoordinate,
    PolygonCoordinates,
    RotatableBoundingBoxCoordinates,
)
from predscope.objects.ontology_object import Object
from predscope.objects.ontology_structure import OntologyStructure
from predscope.sdk.project import Project
from predscope.services.analysis.evaluate import evaluate_branch
from predscope.services.analysis.metrics import get_metrics
from predscope.services.analysis.runs import analyse
from predscope.services.projects import add_data, create_project
from predscope.services.rows import list_label_rows
from predscope.store.engine import Store, open_store
from predscope.store.records import ProjectRecord
from tests.services.analysis.analysis_fixtures import (
    assert_incremental_equals_full,
    edit_one_row,
    stored_objects,
)

W, H, IMAGES = 200, 150, 24
CLASSES = {"car": "bounding_box", "boat": "rotatable_bounding_box", "lake": "polygon"}
KINDS = {"car": "bbox", "boat": "rotated", "lake": "segm"}


@dataclass
class Side:
    """One branch's generated objects of one class, in image order then generation order."""

    image: list[int] = field(default_factory=list)
    geometry: list[Any] = field(default_factory=list)  # pixel box, rotated box or ring
    score: list[float] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)


Case = dict[str, dict[str, Side]]  # branch -> class -> objects


def _ontology() -> dict[str, Any]:
    objects = [
        {"id": str(i + 1), "name": n, "color": "#00FF00", "shape": s, "featureNodeHash": f"fh-{n}"}
        for i, (n, s) in enumerate(CLASSES.items())
    ]
    return {"objects": objects, "classifications": []}


def _r(value: float) -> float:
    return round(float(value), 2)


def _box(rng: np.random.Generator) -> list[float]:
    w, h = _r(rng.uniform(10, 60)), _r(rng.uniform(10, 60))
    return [_r(rng.uniform(45, W - 45 - w)), _r(rng.uniform(45, H - 45 - h)), w, h]


def _ring(rng: np.random.Generator) -> list[float]:
    cx, cy, radius = rng.uniform(45, W - 45), rng.uniform(45, H - 45), rng.uniform(8, 30)
    ring: list[float] = []
    for k in range(6):
        angle = 2 * math.pi * k / 6 + rng.uniform(-0.3, 0.3)
        r = radius * rng.uniform(0.7, 1.0)
        ring += [_r(cx + r * math.cos(angle)), _r(cy + r * math.sin(angle))]
    return ring


def _jitter(rng: np.random.Generator, name: str, geometry: list[float]) -> list[float]:
    if name == "lake":
        return [_r(v + rng.normal(0, 2.5)) for v in geometry]
    x, y, w, h = geometry[:4]
    out = [_r(x + rng.normal(0, 0.08) * w), _r(y + rng.normal(0, 0.08) * h)]
    out += [_r(w * (1 + rng.normal(0, 0.08))), _r(h * (1 + rng.normal(0, 0.08)))]
    if name == "boat":
        out.append(round(float(geometry[4] + rng.normal(0, 12)) % 360, 1))
    return out


def _generate(seed: int = 11) -> Case:
    rng = np.random.default_rng(seed)
    case: Case = {b: {n: Side() for n in CLASSES} for b in ("main", "model")}
    for image in range(IMAGES):
        for name in CLASSES:
            for _ in range(int(rng.integers(0, 4))):
                geometry: list[float]
                if name == "lake":
                    geometry = _ring(rng)
                else:
                    geometry = _box(rng)
                    if name == "boat":
                        geometry.append(round(float(rng.uniform(0, 180)), 1))
                gt = case["main"][name]
                gt.image.append(image)
                gt.geometry.append(geometry)
                gt.score.append(1.0)
                if rng.random() < 0.85:
                    pred = case["model"][name]
                    pred.image.append(image)
                    pred.geometry.append(_jitter(rng, name, geometry))
                    pred.score.append(float(rng.uniform(0.3, 1.0)))
            for _ in range(int(rng.integers(0, 2))):  # a false positive now and then
                pred = case["model"][name]
                fake = _ring(rng) if name == "lake" else _box(rng)
                if name == "boat":
                    fake.append(round(float(rng.uniform(0, 180)), 1))
                pred.image.append(image)
                pred.geometry.append(fake)
                pred.score.append(float(rng.uniform(0.0, 0.6)))
    return case


def _coords(name: str, g: list[float]) -> Any:
    if name == "car":
        return BoundingBoxCoordinates(g[3] / H, g[2] / W, g[0] / W, g[1] / H)
    if name == "boat":
        return RotatableBoundingBoxCoordinates(g[3] / H, g[2] / W, g[0] / W, g[1] / H, g[4])
    ring = [PointCoordinate(g[i] / W, g[i + 1] / H) for i in range(0, len(g), 2)]
    return PolygonCoordinates(polygons=[[ring]])


def _write(store: Store, project: ProjectRecord, branch: str, sides: dict[str, Side]) -> None:
    ontology = OntologyStructure.from_dict(project.ontology)
    rows = {r.data_title: r for r in list_label_rows(store, project, ontology, branch_name=branch)}
    for name, side in sides.items():
        klass = ontology.get_child_by_title(name, type_=Object)
        for image, geometry, score in zip(side.image, side.geometry, side.score, strict=True):
            row = rows[f"{image:03d}.png"]
            if not row.is_labelling_initialised:
                row.initialise_labels()
            inst = klass.create_instance()
            conf = 1.0 if branch == "main" else score
            inst.set_for_frames(_coords(name, geometry), frames=0, confidence=conf)
            row.add_object_instance(inst)
            side.hashes.append(inst.object_hash)
    for row in rows.values():
        if row.is_labelling_initialised:
            row.save()


Built = tuple[Store, ProjectRecord, Case]


@pytest.fixture
def built(store_url: str) -> Iterator[Built]:
    store = open_store(store_url)
    project = create_project(store, "mixed", _ontology())
    add_data(
        store, project, [{"title": f"{i:03d}.png", "width": W, "height": H} for i in range(IMAGES)]
    )
    case = _generate()
    for branch in ("main", "model"):
        _write(store, project, branch, case[branch])
    yield store, project, case
    store.close()


def _rle(ring: list[float]) -> dict[str, Any]:
    rle = mask_utils.merge(mask_utils.frPyObjects([ring], H, W))
    return {"size": [H, W], "counts": rle["counts"]}


def _hull(g: list[float]) -> list[float]:
    x, y, w, h, theta = g
    c, s = math.cos(math.radians(theta)), math.sin(math.radians(theta))
    cx, cy = x + w / 2, y + h / 2
    xs = [
        cx + dx * c - dy * s
        for dx, dy in ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2))
    ]
    ys = [
        cy + dx * s + dy * c
        for dx, dy in ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2))
    ]
    return [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]


def _inputs(case: Case, name: str) -> tuple[CocoGroundTruth, CocoDetections]:
    """The engine's inputs of one class alone, from the generated pixels (no store)."""

    def columns(side: Side) -> dict[str, Any]:
        n = len(side.image)
        out: dict[str, Any] = {
            "image": np.array(side.image, dtype=np.int64),
            "category": np.zeros(n, np.int64),
        }
        if name == "lake":
            rles = [_rle(g) for g in side.geometry]
            out["bbox"] = np.array([mask_utils.toBbox(r) for r in rles]).reshape(-1, 4)
            out["area"] = np.array([float(mask_utils.area(r)) for r in rles])
            out["masks"] = RleMasks(
                size=np.array([[H, W]] * n).reshape(-1, 2), counts=[r["counts"] for r in rles]
            )
        elif name == "boat":
            out["rotated"] = np.array(side.geometry, dtype=np.float64).reshape(-1, 5)
            out["bbox"] = np.array([_hull(g) for g in side.geometry]).reshape(-1, 4)
            out["area"] = np.array([g[2] * g[3] for g in side.geometry])
        else:
            out["bbox"] = np.array(side.geometry, dtype=np.float64).reshape(-1, 4)
            out["area"] = np.array([g[2] * g[3] for g in side.geometry])
        return out

    gt_cols, dt_cols = columns(case["main"][name]), columns(case["model"][name])
    gt = CocoGroundTruth(
        num_images=IMAGES,
        category_ids=(name,),
        iscrowd=np.zeros(len(case["main"][name].image), np.bool_),
        **gt_cols,
    )
    dt = CocoDetections(score=np.array(case["model"][name].score), **dt_cols)
    return gt, dt


def _engine(case: Case, name: str) -> tuple[CocoEvaluation, CocoGroundTruth, CocoDetections]:
    gt, dt = _inputs(case, name)
    return evaluate_coco(gt, dt, CocoParams(iou_type=KINDS[name])), gt, dt


def _pycocotools(case: Case, name: str) -> float:
    """pycocotools' AP of one class alone (car: bbox, lake: segm)."""
    iou_type = KINDS[name]
    images = [
        {"id": i + 1, "width": W, "height": H, "file_name": f"{i:03d}.png"} for i in range(IMAGES)
    ]
    anns, results = [], []
    for image, g in zip(case["main"][name].image, case["main"][name].geometry, strict=True):
        ann: dict[str, Any] = {
            "id": len(anns) + 1,
            "image_id": image + 1,
            "category_id": 1,
            "iscrowd": 0,
        }
        if iou_type == "bbox":
            ann.update(bbox=g, area=g[2] * g[3])
        else:
            rle = _rle(g)
            ann.update(
                segmentation=[g],
                area=float(mask_utils.area(rle)),
                bbox=mask_utils.toBbox(rle).tolist(),
            )
        anns.append(ann)
    side = case["model"][name]
    for image, g, score in zip(side.image, side.geometry, side.score, strict=True):
        res: dict[str, Any] = {"image_id": image + 1, "category_id": 1, "score": score}
        if iou_type == "bbox":
            res["bbox"] = g
        else:
            rle = _rle(g)
            res["segmentation"] = {"size": rle["size"], "counts": rle["counts"].decode()}
        results.append(res)
    coco = COCO()
    coco.dataset = {"images": images, "annotations": anns, "categories": [{"id": 1, "name": name}]}
    coco.createIndex()
    ev = COCOeval(coco, coco.loadRes(copy.deepcopy(results)), iou_type)
    ev.evaluate()
    ev.accumulate()
    return mean_valid(ev.eval["precision"][:, :, 0, 0, -1])


def test_each_class_is_measured_by_its_shape(built: Built) -> None:
    store, project, case = built
    analyse(store, project, "model")
    doc = get_metrics(store, project, "model")
    assert doc["iou_type"] == "mixed" and doc["run"]["params"]["iou_type"] == "auto"
    assert [c["metric"] for c in doc["classes"]] == ["bbox", "rotated", "segm"]
    engines = {name: _engine(case, name) for name in CLASSES}
    for k, name in enumerate(CLASSES):
        ev = engines[name][0]
        row = doc["per_class"][k]
        assert row["name"] == name
        want = ev.per_class[0]
        assert (row["AP"], row["AP50"], row["AP75"], row["AR100"]) == (
            want.ap,
            want.ap50,
            want.ap75,
            want.ar,
        ), name
        assert 0 < row["AP"] < 1
    for name in ("car", "lake"):  # pycocotools measures these kinds itself
        assert (
            abs(doc["per_class"][list(CLASSES).index(name)]["AP"] - _pycocotools(case, name))
            < 1e-12
        )
    # the summary is COCO's over all three classes as one category set
    precision = np.concatenate([engines[n][0].precision for n in CLASSES], axis=2)
    recall = np.concatenate([engines[n][0].recall for n in CLASSES], axis=1)
    assert doc["stats"] == summarize(CocoParams(), precision, recall)
    # the box-only view of the same run (the override) is not the same numbers
    boxes = evaluate_branch(store, project, "model", iou_type="bbox")
    assert boxes.per_class_rows()[0]["AP"] == doc["per_class"][0]["AP"]
    assert boxes.per_class_rows()[1]["AP"] != doc["per_class"][1]["AP"]


def test_stored_outcomes_and_ious_come_from_each_class_metric(built: Built) -> None:
    store, project, case = built
    analyse(store, project, "model")
    rows = {r["object_hash"]: r for r in stored_objects(store)}
    differs = 0
    for name in CLASSES:
        ev, gt, dt = _engine(case, name)
        outcomes = ev.outcomes
        side = case["model"][name]
        for d, object_hash in enumerate(side.hashes):
            row = rows[object_hash]
            assert row["kind"] == 0
            for t in range(10):
                assert row[f"o{t}"] == int(outcomes.outcome[t, d]), (name, d, t)
                iou = outcomes.iou[t, d]
                assert row[f"i{t}"] == (None if np.isnan(iou) else float(iou)), (name, d, t)
            g = int(outcomes.matched_gt[0, d])
            if g < 0:
                continue
            partner = rows[case["main"][name].hashes[g]]
            assert (partner["data_unit_id"], partner["seq"]) == (row["data_unit_id"], row["p0"])
            box_iou = float(mask_utils.iou([dt.bbox[d].tolist()], [gt.bbox[g].tolist()], [0])[0, 0])
            if name == "boat":
                assert (
                    row["i0"]
                    == rotated_iou_pixels(dt.rotated[d : d + 1], gt.rotated[g : g + 1])[0, 0]
                )
            elif name == "lake":
                masks = [dt.masks.as_dicts([d])[0], gt.masks.as_dicts([g])[0]]
                assert row["i0"] == float(mask_utils.iou([masks[0]], [masks[1]], [0])[0, 0])
            else:
                assert row["i0"] == box_iou
            differs += name != "car" and abs(row["i0"] - box_iou) > 1e-6
        for g, object_hash in enumerate(case["main"][name].hashes):
            row = rows[object_hash]
            assert row["kind"] == 1
            for t in range(10):
                missed = bool(outcomes.gt_missed[t, g])
                assert (row[f"o{t}"] == 4) == missed, (name, g, t)
    assert differs > 10  # rotated and mask IoUs are not the boxes' IoUs


def test_error_types_and_dap_per_metric(built: Built) -> None:
    store, project, case = built
    analyse(store, project, "model")
    doc = get_metrics(store, project, "model")
    rows = {r["object_hash"]: r for r in stored_objects(store)}
    counts: dict[str, int] = {}
    base, fixed = [], {key: [] for key in ERROR_KEYS.values()}
    for name in CLASSES:
        gt, dt = _inputs(case, name)
        tide = tide_errors(gt, dt, CocoParams(iou_type=KINDS[name]))
        stored = [rows[h]["error_type"] for h in case["model"][name].hashes]
        assert stored == tide.dt_error.tolist(), name
        assert [rows[h]["error_type"] for h in case["main"][name].hashes] == tide.gt_error.tolist()
        best = [rows[h]["best_iou_any"] for h in case["model"][name].hashes]
        assert best == tide.best_iou_any.tolist()
        for key, value in tide.counts.items():
            counts[key] = counts.get(key, 0) + value
        assert tide.precision is not None and tide.fixed_precision is not None
        base.append(tide.precision)
        for key in fixed:
            fixed[key].append(tide.fixed_precision[key])
    assert doc["errors"]["counts"] == counts
    ap = mean_valid(np.concatenate(base, axis=1))
    for key, parts in fixed.items():
        after = mean_valid(np.concatenate(parts, axis=1))
        assert doc["errors"]["dap"][key] == max(after - ap, 0.0), key


def test_incremental_mixed_run_equals_a_full_run(built: Built) -> None:
    store, project, case = built
    sdk = Project(store, project)
    analyse(store, project, "model")
    edit_one_row(sdk, "model", f"{case['model']['boat'].image[3]:03d}.png")
    edit_one_row(sdk, "main", f"{case['main']['lake'].image[-1]:03d}.png")
    inc = analyse(store, project, "model")
    assert (inc.mode, inc.changed_units) == ("incremental", 2)
    full = assert_incremental_equals_full(store, project, "model")
    assert full.mode == "full"


def test_the_override_measures_every_class_by_boxes(built: Built) -> None:
    store, project, _ = built
    analyse(store, project, "model", iou_type="bbox")
    doc = get_metrics(store, project, "model")
    ref = evaluate_branch(store, project, "model", iou_type="bbox")
    assert doc["iou_type"] == "bbox" and doc["stats"] == ref.stats
    assert [c["metric"] for c in doc["classes"]] == ["bbox"] * 3
    analyse(store, project, "model", iou_type="segm")
    doc = get_metrics(store, project, "model")
    assert doc["stats"] == evaluate_branch(store, project, "model", iou_type="segm").stats
