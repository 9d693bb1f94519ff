"""Skeletons (OKS) and polylines (polyline similarity) analysed through the store.

A skeleton-only project equals pycocotools' keypoint evaluation (with the template's sigmas);
in a mixed ontology (box, skeleton, polyline) each class equals that class measured alone by
its metric, and the summary is COCO's over the three classes as one category set.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from predscope.evaluation.coco_eval import evaluate_coco
from predscope.evaluation.inputs import CocoDetections, CocoGroundTruth, Polylines
from predscope.evaluation.oks import oks_matrix
from predscope.evaluation.params import CocoParams
from predscope.evaluation.polyline import symmetric_mean_distance
from predscope.evaluation.results import CocoEvaluation
from predscope.evaluation.summary import mean_valid, summarize
from predscope.objects.coordinates import (
    BoundingBoxCoordinates,
    PointCoordinate,
    PolylineCoordinates,
    SkeletonCoordinate,
    SkeletonCoordinates,
)
from predscope.objects.ontology_object import Object
from predscope.objects.ontology_structure import OntologyStructure
from predscope.services.analysis.kinds import group_params
from predscope.services.analysis.metrics import get_metrics
from predscope.services.analysis.runs import analyse
from predscope.services.projects import add_data, create_project
from predscope.services.rows import list_label_rows
from predscope.store.engine import Store, open_store
from predscope.store.records import ProjectRecord
from tests.services.analysis.analysis_fixtures import (
    HAND_NODES,
    HAND_SIGMAS,
    assert_incremental_equals_full,
    hand_template,
    stored_objects,
)

W, H, IMAGES = 200, 150, 20
NODES, SIGMAS = HAND_NODES, HAND_SIGMAS
VISIBILITY_V = {"visible": 2, "occluded": 1, "invisible": 0}
SHAPES = {"car": "bounding_box", "hand": "skeleton", "road": "polyline"}
KINDS = {"car": "bbox", "hand": "keypoints", "road": "polyline"}


@dataclass
class Side:
    image: list[int] = field(default_factory=list)
    geometry: list[Any] = field(default_factory=list)  # box, [(x, y, visibility)], [(x, y)]
    score: list[float] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)


Case = dict[str, dict[str, Side]]


def _ontology(names: tuple[str, ...]) -> dict[str, Any]:
    objects = [
        {
            "id": str(i + 1),
            "name": n,
            "color": "#0000FF",
            "shape": SHAPES[n],
            "featureNodeHash": f"fh-{n}",
        }
        for i, n in enumerate(names)
    ]
    out: dict[str, Any] = {"objects": objects, "classifications": []}
    if "hand" in names:
        out["skeleton_templates"] = [{"template": hand_template()}]
    return out


def _r(value: float) -> float:
    return round(float(value), 2)


def _inside(v: float, size: int) -> float:
    return _r(min(max(v, 1.0), size - 1.0))


def _make(rng: np.random.Generator, name: str) -> list[Any]:
    if name == "car":
        w, h = _r(rng.uniform(10, 60)), _r(rng.uniform(10, 60))
        return [_r(rng.uniform(1, W - 1 - w)), _r(rng.uniform(1, H - 1 - h)), w, h]
    cx, cy = rng.uniform(30, W - 30), rng.uniform(30, H - 30)
    if name == "hand":
        nodes = []
        for k in range(len(NODES)):
            vis = (
                "visible"
                if k == 0
                else str(rng.choice(["visible", "visible", "occluded", "invisible"]))
            )
            nodes.append(
                (_inside(cx + rng.uniform(-25, 25), W), _inside(cy + rng.uniform(-25, 25), H), vis)
            )
        return nodes
    line, x, y = [], cx, cy
    for _ in range(int(rng.integers(2, 6))):
        line.append((_inside(x, W), _inside(y, H)))
        x, y = x + rng.uniform(-20, 20), y + rng.uniform(-20, 20)
    return line


def _jitter(rng: np.random.Generator, name: str, g: list[Any]) -> list[Any]:
    if name == "car":
        x, y, w, h = g
        return [_r(x + rng.normal(0, 0.08) * w), _r(y + rng.normal(0, 0.08) * h), w, h]
    if name == "hand":
        return [
            (_inside(x + rng.normal(0, 3), W), _inside(y + rng.normal(0, 3), H), "visible")
            for x, y, _ in g
        ]
    return [(_inside(x + rng.normal(0, 1.5), W), _inside(y + rng.normal(0, 1.5), H)) for x, y in g]


def _generate(names: tuple[str, ...], seed: int = 5) -> Case:
    rng = np.random.default_rng(seed)
    case: Case = {b: {n: Side() for n in names} for b in ("main", "model")}
    for image in range(IMAGES):
        for name in names:
            for _ in range(int(rng.integers(0, 4))):
                g = _make(rng, name)
                case["main"][name].image.append(image)
                case["main"][name].geometry.append(g)
                case["main"][name].score.append(1.0)
                if rng.random() < 0.85:
                    case["model"][name].image.append(image)
                    case["model"][name].geometry.append(_jitter(rng, name, g))
                    case["model"][name].score.append(float(rng.uniform(0.3, 1.0)))
            if rng.random() < 0.4:
                fake = _make(rng, name)
                if name == "hand":
                    fake = [(x, y, "visible") for x, y, _ in fake]
                case["model"][name].image.append(image)
                case["model"][name].geometry.append(fake)
                case["model"][name].score.append(float(rng.uniform(0.0, 0.6)))
    return case


def _coords(name: str, g: list[Any]) -> Any:
    if name == "car":
        return BoundingBoxCoordinates(g[3] / H, g[2] / W, g[0] / W, g[1] / H)
    if name == "hand":
        return SkeletonCoordinates(
            values=[
                SkeletonCoordinate(x / W, y / H, NODES[k], feature_hash=f"kp{k}", visibility=vis)
                for k, (x, y, vis) in enumerate(g)
            ],
            name="hand",
        )
    return PolylineCoordinates(values=[PointCoordinate(x / W, y / H) for x, y in g])


def _build(location: str, names: tuple[str, ...]) -> tuple[Store, ProjectRecord, Case]:
    store = open_store(location)
    project = create_project(store, "kp", _ontology(names))
    add_data(
        store, project, [{"title": f"{i:03d}.png", "width": W, "height": H} for i in range(IMAGES)]
    )
    case = _generate(names)
    ontology = OntologyStructure.from_dict(project.ontology)
    for branch in ("main", "model"):
        rows = {
            r.data_title: r for r in list_label_rows(store, project, ontology, branch_name=branch)
        }
        for name, side in case[branch].items():
            klass = ontology.get_child_by_title(name, type_=Object)
            for image, g, score in zip(side.image, side.geometry, side.score, strict=True):
                row = rows[f"{image:03d}.png"]
                if not row.is_labelling_initialised:
                    row.initialise_labels()
                inst = klass.create_instance()
                inst.set_for_frames(_coords(name, g), frames=0, confidence=score)
                row.add_object_instance(inst)
                side.hashes.append(inst.object_hash)
        for row in rows.values():
            if row.is_labelling_initialised:
                row.save()
    return store, project, case


@pytest.fixture
def skeletons(store_url: str) -> Iterator[tuple[Store, ProjectRecord, Case]]:
    built = _build(store_url, ("hand",))
    yield built
    built[0].close()


@pytest.fixture
def mixed(store_url: str) -> Iterator[tuple[Store, ProjectRecord, Case]]:
    built = _build(store_url, ("car", "hand", "road"))
    yield built
    built[0].close()


def _extent(points: list[tuple[float, float]]) -> list[float]:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]


def _keypoints(g: list[Any]) -> list[float]:
    return [v for x, y, vis in g for v in (x, y, VISIBILITY_V[vis])]


def _pycocotools_keypoints(case: Case, params: CocoParams | None = None) -> COCOeval:
    images = [{"id": i + 1, "width": W, "height": H} for i in range(IMAGES)]
    anns = []
    for image, g in zip(case["main"]["hand"].image, case["main"]["hand"].geometry, strict=True):
        box = _extent([(x, y) for x, y, _ in g])
        anns.append(
            {
                "id": len(anns) + 1,
                "image_id": image + 1,
                "category_id": 1,
                "iscrowd": 0,
                "keypoints": _keypoints(g),
                "num_keypoints": sum(VISIBILITY_V[v] > 0 for _, _, v in g),
                "bbox": box,
                "area": box[2] * box[3],
            }
        )
    side = case["model"]["hand"]
    results = [
        {"image_id": image + 1, "category_id": 1, "score": s, "keypoints": _keypoints(g)}
        for image, g, s in zip(side.image, side.geometry, side.score, strict=True)
    ]
    coco = COCO()
    cat = {"id": 1, "name": "hand", "keypoints": list(NODES), "skeleton": []}
    coco.dataset = {"images": images, "annotations": anns, "categories": [cat]}
    coco.createIndex()
    ev = COCOeval(coco, coco.loadRes(copy.deepcopy(results)), "keypoints")
    ev.params.kpt_oks_sigmas = np.array(SIGMAS)
    if params is not None:
        ev.params.maxDets = list(params.max_dets)
        ev.params.areaRng = [list(r) for r in params.area_rng]
        ev.params.areaRngLbl = list(params.area_labels)
    ev.evaluate()
    ev.accumulate()
    return ev


def test_a_skeleton_project_equals_pycocotools_keypoints(
    skeletons: tuple[Store, ProjectRecord, Case],
) -> None:
    store, project, case = skeletons
    analyse(store, project, "model")
    doc = get_metrics(store, project, "model")
    assert doc["iou_type"] == "keypoints" and [c["metric"] for c in doc["classes"]] == ["keypoints"]
    ev = _pycocotools_keypoints(case)
    ev.summarize()
    assert list(doc["stats"]) == [
        "AP",
        "AP50",
        "AP75",
        "APm",
        "APl",
        "AR",
        "AR50",
        "AR75",
        "ARm",
        "ARl",
    ]
    np.testing.assert_allclose(list(doc["stats"].values()), ev.stats, atol=1e-12, rtol=0)
    assert 0 < doc["stats"]["AP"] < 1
    assert abs(doc["per_class"][0]["AP"] - mean_valid(ev.eval["precision"][:, :, 0, 0, -1])) < 1e-12
    assert "AR20" in doc["per_class"][0]


def _engine(
    case: Case, name: str, kinds: list[str]
) -> tuple[CocoEvaluation, CocoGroundTruth, CocoDetections]:
    """One class alone, measured by its kind with the mixed run's parameters for that kind."""
    gt_side, dt_side = case["main"][name], case["model"][name]

    def common(side: Side) -> dict[str, Any]:
        n = len(side.image)
        if name == "car":
            box = np.array(side.geometry, dtype=np.float64).reshape(-1, 4)
        elif name == "hand":
            box = np.array([_extent([(x, y) for x, y, _ in g]) for g in side.geometry]).reshape(
                -1, 4
            )
        else:
            box = np.array([_extent(g) for g in side.geometry]).reshape(-1, 4)
        out: dict[str, Any] = {
            "image": np.array(side.image, dtype=np.int64),
            "category": np.zeros(n, np.int64),
            "bbox": box,
            "area": box[:, 2] * box[:, 3],
        }
        if name == "hand":
            out["keypoints"] = np.array(
                [_keypoints(g) for g in side.geometry], dtype=np.float64
            ).reshape(n, len(NODES), 3)
        if name == "road":
            out["polylines"] = Polylines.from_lists(side.geometry)
        return out

    gt_cols = common(gt_side)
    extra: dict[str, Any] = {}
    if name == "hand":
        extra["num_keypoints"] = (gt_cols["keypoints"][:, :, 2] > 0).sum(axis=1)
    if name == "road":
        extra["image_size"] = np.tile([W, H], (IMAGES, 1)).astype(np.float64)
    gt = CocoGroundTruth(
        num_images=IMAGES,
        category_ids=(name,),
        iscrowd=np.zeros(len(gt_side.image), np.bool_),
        **gt_cols,
        **extra,
    )
    dt = CocoDetections(score=np.array(dt_side.score), **common(dt_side))
    sigmas = SIGMAS if name == "hand" else None
    return evaluate_coco(gt, dt, group_params(KINDS[name], kinds, sigmas)), gt, dt


def test_mixed_box_skeleton_polyline(mixed: tuple[Store, ProjectRecord, Case]) -> None:
    store, project, case = mixed
    analyse(store, project, "model")
    doc = get_metrics(store, project, "model")
    kinds = [KINDS[n] for n in SHAPES]
    assert doc["iou_type"] == "mixed" and [c["metric"] for c in doc["classes"]] == kinds
    engines = {n: _engine(case, n, kinds) for n in SHAPES}
    for k, name in enumerate(SHAPES):
        want = engines[name][0].per_class[0]
        row = doc["per_class"][k]
        assert (row["AP"], row["AP50"], row["AP75"], row["AR100"]) == (
            want.ap,
            want.ap50,
            want.ap75,
            want.ar,
        ), name
        assert 0 < row["AP"] < 1, name
    # the skeleton class alone is pycocotools' keypoint evaluation with the run's parameters
    params = group_params("keypoints", kinds, SIGMAS)
    ev = _pycocotools_keypoints(case, params)
    assert abs(doc["per_class"][1]["AP"] - mean_valid(ev.eval["precision"][:, :, 0, 0, -1])) < 1e-12
    precision = np.concatenate([engines[n][0].precision for n in SHAPES], axis=2)
    recall = np.concatenate([engines[n][0].recall for n in SHAPES], axis=1)
    assert doc["stats"] == summarize(CocoParams(), precision, recall)
    assert (precision[:, :, 1, 1] == -1).all()  # skeletons have no "small" range, as in COCO

    rows = {r["object_hash"]: r for r in stored_objects(store)}
    tau = 0.02 * math.hypot(W, H)
    checked = {"hand": 0, "road": 0}
    for name in SHAPES:
        ev_k, gt, dt = engines[name]
        out = ev_k.outcomes
        for d, object_hash in enumerate(case["model"][name].hashes):
            row = rows[object_hash]
            for t in range(10):
                assert row[f"o{t}"] == int(out.outcome[t, d]), (name, d, t)
                iou = out.iou[t, d]
                assert row[f"i{t}"] == (None if np.isnan(iou) else float(iou)), (name, d, t)
            g = int(out.matched_gt[0, d])
            if g < 0 or name == "car":
                continue
            if name == "hand":
                assert gt.keypoints is not None and dt.keypoints is not None
                want_iou = oks_matrix(
                    dt.keypoints[d : d + 1],
                    gt.keypoints[g : g + 1],
                    gt.bbox[g : g + 1],
                    gt.area[g : g + 1],
                    np.array(SIGMAS),
                )[0, 0]
            else:
                dist = symmetric_mean_distance(
                    case["model"][name].geometry[d], case["main"][name].geometry[g]
                )
                want_iou = max(0.0, 1.0 - dist / (2 * tau))
            assert row["i0"] == pytest.approx(want_iou, abs=1e-12)
            checked[name] += 1
    assert min(checked.values()) > 5


def test_incremental_run_with_skeletons_and_polylines(
    mixed: tuple[Store, ProjectRecord, Case],
) -> None:
    from predscope.sdk.project import Project
    from tests.services.analysis.analysis_fixtures import edit_one_row

    store, project, case = mixed
    analyse(store, project, "model")
    sdk = Project(store, project)
    edit_one_row(sdk, "model", f"{case['model']['hand'].image[2]:03d}.png")
    edit_one_row(sdk, "main", f"{case['main']['road'].image[-1]:03d}.png")
    inc = analyse(store, project, "model")
    assert (inc.mode, inc.changed_units) == ("incremental", 2)
    assert_incremental_equals_full(store, project, "model")
