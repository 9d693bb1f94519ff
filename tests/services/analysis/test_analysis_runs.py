"""Stored analysis runs: parity with pycocotools and the engine, incremental = full, failures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select, update

from predscope.evaluation.confusion import confusion_matrix
from predscope.evaluation.errors import tide_errors
from predscope.evaluation.params import CocoParams
from predscope.exceptions import LabelRowError, ResourceNotFoundError
from predscope.objects.coordinates import BoundingBoxCoordinates
from predscope.services.analysis import carry
from predscope.services.analysis import records as records_module
from predscope.services.analysis.evaluate import evaluate_branch
from predscope.services.analysis.metrics import get_metrics, list_prediction_sets, set_review
from predscope.services.analysis.records import (
    SPLICE_MAX,
    Records,
    Reuse,
    aggregate,
    concat,
    confusion,
    splice,
    touched_classes,
)
from predscope.services.analysis.results import Rebuild, build_results
from predscope.services.analysis.rows import OUTCOME_NAMES
from predscope.services.analysis.runs import STAGES, analyse
from predscope.services.progress import ProgressUpdate
from predscope.store import analysis as repo
from predscope.store.engine import Store, open_store
from predscope.store.schema import analysis_curves, label_row_geometry, label_rows
from tests.services.analysis.analysis_fixtures import bbox_project, edit_one_row, stored_objects
from tests.services.analysis.test_evaluate_coco import BBOX, SEGM, coco_project, live


@pytest.fixture
def store(store_url: str) -> Store:
    opened = open_store(store_url)
    yield opened  # type: ignore[misc]
    opened.close()


def test_stored_metrics_equal_pycocotools_and_the_engine(store: Store) -> None:
    project = bbox_project(store)
    out = analyse(store, project.record, "model")
    assert (out.mode, out.changed_units, out.run.status) == ("full", 100, "complete")
    doc = get_metrics(store, project.record, "model")
    ref = evaluate_branch(store, project.record, "model")
    assert doc["stats"] == ref.stats  # the same engine: bit for bit
    np.testing.assert_allclose(list(doc["stats"].values()), live(BBOX, "bbox").stats, atol=1e-12)
    assert [r["AP"] for r in doc["per_class"]] == [c.ap for c in ref.evaluation.per_class]
    assert set(doc["per_class"][0]) == {"category_id", "name", "AP", "AP50", "AP75", "AR100"}
    assert (doc["images"], doc["ground_truth"], doc["predictions"]) == (100, 839, 734)
    assert doc["freshness"]["fresh"] and doc["run"]["engine_version"].startswith("predscope-")
    assert "stats" in doc["provenance"]["coco"] and doc["provenance"]["extensions"]
    # confusion matrix equals the engine's function on the same inputs
    want = confusion_matrix(ref.ground_truth, ref.detections, 0.5)
    assert doc["confusion"]["matrix"] == want.matrix.tolist()
    assert doc["calibration"] is not None and doc["calibration"]["ece"] >= 0


def test_stored_outcomes_equal_the_engine_at_every_threshold(store: Store) -> None:
    project = bbox_project(store)
    analyse(store, project.record, "model")
    ref = evaluate_branch(store, project.record, "model")
    rows = stored_objects(store)
    preds = {r["object_hash"]: r for r in rows if r["kind"] == 0}
    gts = {r["object_hash"]: r for r in rows if r["kind"] == 1}
    assert len(preds) == 734 and len(gts) == 839
    for t, thr in enumerate(CocoParams().iou_thrs.tolist()):
        for det in ref.detection_outcomes(thr):
            row = preds[det["object_hash"]]
            name = OUTCOME_NAMES[row[f"o{t}"]]
            assert name == det["outcome"], (thr, det)
            if det["matched_object_hash"] is None:
                assert row[f"p{t}"] is None and row[f"i{t}"] is None
            else:
                partner = gts[det["matched_object_hash"]]
                assert (partner["data_unit_id"], partner["seq"]) == (
                    row["data_unit_id"],
                    row[f"p{t}"],
                )
                assert row[f"i{t}"] == det["iou"]
        missed = set(ref.missed_ground_truth(thr))
        assert {h for h, r in gts.items() if r[f"o{t}"] == 4} == missed


def test_stored_error_types_and_properties_equal_the_pure_functions(store: Store) -> None:
    project = bbox_project(store)
    out = analyse(store, project.record, "model")
    ref = evaluate_branch(store, project.record, "model")
    tide = tide_errors(ref.ground_truth, ref.detections, CocoParams())
    rows = stored_objects(store)
    preds = {r["object_hash"]: r for r in rows if r["kind"] == 0}
    gts = {r["object_hash"]: r for r in rows if r["kind"] == 1}
    assert [preds[h]["error_type"] for h in ref.detection_object_hashes] == tide.dt_error.tolist()
    assert [gts[h]["error_type"] for h in ref.gt_object_hashes] == tide.gt_error.tolist()
    assert [preds[h]["best_iou_any"] for h in ref.detection_object_hashes] == pytest.approx(
        tide.best_iou_any.tolist(), abs=0
    )
    doc = get_metrics(store, project.record, "model")
    assert doc["errors"]["counts"] == tide.counts
    assert doc["errors"]["dap"] == tide.dap and doc["errors"]["dap_run"] == out.run.id
    areas = [gts[h]["area_px"] for h in ref.gt_object_hashes]
    assert areas == ref.ground_truth.area.tolist()  # COCO's area for imported ground truth
    assert all(r["objects_in_image"] >= 1 for r in rows)


def test_aggregate_of_records_equals_evaluate_coco(store: Store) -> None:
    project = coco_project(store, "coco-segm", "bitmask", SEGM)
    analyse(store, project, "model", iou_type="segm")
    ref = evaluate_branch(store, project, "model", iou_type="segm")
    state = _state(store, project.id)
    records = Records.from_blocks(state)
    ev = aggregate(
        records, CocoParams.default("segm"), ref.category_feature_hashes, ref.category_names
    ).ev
    np.testing.assert_array_equal(ev.precision, ref.evaluation.precision)
    np.testing.assert_array_equal(ev.recall, ref.evaluation.recall)
    np.testing.assert_array_equal(ev.scores, ref.evaluation.scores)
    np.testing.assert_allclose(list(ev.stats.values()), live(SEGM, "segm").stats, atol=1e-12)
    want = confusion_matrix(
        ref.ground_truth, ref.detections, 0.5, params=CocoParams.default("segm")
    )
    np.testing.assert_array_equal(confusion(records, len(ref.category_names)), want.matrix)


def test_reused_classes_equal_a_fresh_aggregation(store: Store) -> None:
    """An image's records replaced: reusing the untouched classes' figures and entries gives
    the same arrays, curves and document as aggregating everything."""
    project = coco_project(store, "coco-reuse", "bounding_box", BBOX)
    analyse(store, project, "model")
    blob = _state(store, project.id)
    before = Records.from_blocks(blob)
    num_k = int(max(before.g_cat.max(), before.d_cat.max())) + 1
    ids, names = tuple(f"c{k}" for k in range(num_k)), tuple(f"n{k}" for k in range(num_k))
    params = CocoParams()
    cats = [
        {"index": k, "feature_hash": ids[k], "name": names[k], "shape": "bbox", "metric": "bbox"}
        for k in range(num_k)
    ]
    old = aggregate(before, params, ids, names)
    old_doc = build_results(old, before, cats)
    image = int(before.d_image[np.argmax(np.bincount(before.d_image))])  # the busiest image
    mine = np.zeros(int(before.d_image.max()) + 1, dtype=np.bool_)
    mine[image] = True
    gone = before.keep_images(mine)
    # the image's new records: its detections less confident, its first one dropped
    d_keep = np.ones(gone.d_cat.size, dtype=np.bool_)
    d_keep[0] = False
    new = Records(
        **{
            name: (value[d_keep] if name.startswith("d_") else value)
            for name, value in vars(gone).items()
        }
    )
    new = Records(**{**vars(new), "d_score": new.d_score * 0.5})
    after = concat([before.keep_images(~mine), new])
    spliced, replaced = splice(before, np.array([image]), new, mine.size)
    for name, values in vars(after).items():
        np.testing.assert_array_equal(getattr(spliced, name), values, err_msg=name)
        np.testing.assert_array_equal(getattr(replaced, name), getattr(gone, name), err_msg=name)
    touched = touched_classes(num_k, gone, new)
    assert 0 < touched.sum() < num_k  # some classes are reused
    fresh = aggregate(after, params, ids, names)
    reused = aggregate(after, params, ids, names, reuse=Reuse(old.figures(), touched))
    for field in ("precision", "recall", "scores"):
        np.testing.assert_array_equal(getattr(reused.ev, field), getattr(fresh.ev, field))
    assert reused.ev.stats == fresh.ev.stats
    np.testing.assert_equal(vars(reused.calibration), vars(fresh.ev.calibration(0.5)))
    for got, want in zip(reused.curves, fresh.curves, strict=True):
        np.testing.assert_equal(vars(got), vars(want))  # NaN equals NaN here
    # the document: untouched entries taken over, counts from the last run's plus the change
    rebuild = Rebuild(old_doc, touched, replaced, new)
    assert build_results(reused, after, cats, rebuild) == build_results(fresh, after, cats)
    assert len(reused.ev.match_state.d_cat) < len(fresh.ev.match_state.d_cat)  # a subset
    assert fresh.ev.stats != old.ev.stats  # the change mattered


def test_a_new_confidence_touches_one_class(store: Store) -> None:
    """One detection's score changed: only its class is recomputed, and the figures and the
    document still equal a fresh aggregation's."""
    project = coco_project(store, "coco-one-class", "bounding_box", BBOX)
    analyse(store, project, "model")
    before = Records.from_blocks(_state(store, project.id))
    num_k = int(max(before.g_cat.max(), before.d_cat.max())) + 1
    ids, names = tuple(f"c{k}" for k in range(num_k)), tuple(f"n{k}" for k in range(num_k))
    cats = [
        {"index": k, "feature_hash": ids[k], "name": names[k], "shape": "bbox", "metric": "bbox"}
        for k in range(num_k)
    ]
    old = aggregate(before, CocoParams(), ids, names)
    old_doc = build_results(old, before, cats)
    counts = np.bincount(before.d_image)
    image = int(np.flatnonzero(counts == counts.max())[0])
    mine = np.zeros(int(before.d_image.max()) + 1, dtype=np.bool_)
    mine[image] = True
    gone = before.keep_images(mine)
    assert np.unique(gone.d_cat).size > 1  # other classes in the image stay as they were
    scores = gone.d_score.copy()
    scores[0] = scores[0] / 3
    new = Records(**{**vars(gone), "d_score": scores})
    after, replaced = splice(before, np.array([image]), new, mine.size)
    touched = touched_classes(num_k, replaced, new)
    assert np.flatnonzero(touched).tolist() == [int(gone.d_cat[0])]
    fresh = aggregate(after, CocoParams(), ids, names)
    reused = aggregate(after, CocoParams(), ids, names, reuse=Reuse(old.figures(), touched))
    for field in ("precision", "recall", "scores"):
        np.testing.assert_array_equal(getattr(reused.ev, field), getattr(fresh.ev, field))
    rebuild = Rebuild(old_doc, touched, replaced, new)
    assert build_results(reused, after, cats, rebuild) == build_results(fresh, after, cats)
    assert build_results(fresh, after, cats) != old_doc


@pytest.mark.parametrize("count", [3, SPLICE_MAX + 1], ids=["slices", "masks"])
def test_splice_equals_concat(store: Store, count: int) -> None:
    project = coco_project(store, "coco-splice", "bounding_box", BBOX)
    analyse(store, project, "model")
    blocks = _state(store, project.id)
    old = Records.from_blocks(blocks)
    num_images = int(old.g_image.max()) + 1
    images = np.random.default_rng(count).choice(num_images, count, replace=False)
    mine = np.zeros(num_images, dtype=np.bool_)
    mine[images] = True
    # new records for those images: the old ones with halved scores, every third one dropped
    part = old.keep_images(mine)
    d_keep = np.arange(part.d_cat.size) % 3 != 0
    new = Records(**{k: (v[d_keep] if k.startswith("d_") else v) for k, v in vars(part).items()})
    new = Records(**{**vars(new), "d_score": new.d_score / 2})
    got, replaced = splice(old, images, new, num_images)
    want = concat([old.keep_images(~mine), new])
    for name, values in vars(want).items():
        np.testing.assert_array_equal(getattr(got, name), values, err_msg=name)
        np.testing.assert_array_equal(getattr(replaced, name), getattr(part, name), err_msg=name)


def _state(store: Store, project_id: int) -> list[bytes]:
    with store.read() as conn:
        pset = repo.find_set(conn, project_id, "model", "main")
        assert pset is not None
        blocks = repo.load_state(conn, pset.id)
    assert blocks is not None
    return blocks


def _comparable(doc: dict) -> dict:
    """A metrics document without what differs by design between runs over the same data.

    dAP needs every frame, so incremental runs carry the last full run's (docs/metrics.md).
    """
    out = {k: v for k, v in doc.items() if k not in ("run", "freshness", "latest_attempt")}
    out["errors"] = {k: v for k, v in doc["errors"].items() if k not in ("dap", "dap_run")}
    return out


@pytest.mark.parametrize("in_memory", [True, False], ids=["carried", "from-store"])
def test_incremental_run_equals_a_full_run(
    store: Store, in_memory: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From the products this process kept of the last run (``carry``) or from the store."""
    monkeypatch.setattr(records_module, "STATE_BLOCK_IMAGES", 16)  # 100 images: 7 blocks
    project = bbox_project(store)
    analyse(store, project.record, "model")
    first_state = _state(store, project.record.id)
    title = project.list_label_rows_v2(branch_name="model")[3].data_title
    edit_one_row(project, "model", title)
    gt_title = project.list_label_rows_v2()[7].data_title
    edit_one_row(project, "main", gt_title)
    stale = get_metrics(store, project.record, "model")
    assert stale["freshness"] == {
        "fresh": False,
        "ground_truth_changed": True,
        "predictions_changed": True,
    }
    if not in_memory:
        carry.clear()
    inc = analyse(store, project.record, "model")
    assert (inc.mode, inc.changed_units) == ("incremental", 2)
    inc_doc = get_metrics(store, project.record, "model")
    inc_rows = stored_objects(store)
    inc_state = _state(store, project.record.id)
    rewritten = [a != b for a, b in zip(first_state, inc_state, strict=True)]
    assert 1 <= sum(rewritten) <= 2  # the blocks of the two changed images only
    assert inc_doc["freshness"]["fresh"]
    full = analyse(store, project.record, "model", full=True)
    assert (full.mode, full.changed_units) == ("full", 100)
    full_doc = get_metrics(store, project.record, "model")
    assert _comparable(inc_doc) == _comparable(full_doc)
    assert inc_rows == stored_objects(store)
    full_state = _state(store, project.record.id)
    assert len(inc_state) == len(full_state) == 7
    for name, values in vars(Records.from_blocks(inc_state)).items():
        np.testing.assert_array_equal(values, getattr(Records.from_blocks(full_state), name))
    assert inc_doc["errors"]["dap_run"] < full_doc["errors"]["dap_run"] == full.run.id
    assert full_doc["stats"] == evaluate_branch(store, project.record, "model").stats
    # nothing changed: an incremental run re-matches nothing and still agrees
    again = analyse(store, project.record, "model")
    assert (again.mode, again.changed_units) == ("incremental", 0)
    assert _comparable(get_metrics(store, project.record, "model")) == _comparable(full_doc)


def _curves_held(store: Store, run_id: int) -> tuple[int, list[object]]:
    """(PR-curve entries the run's set holds, the run's ``pr_curves`` as stored)."""
    with store.read() as conn:
        run = repo.get_run(conn, run_id)
        assert run is not None
        query = select(func.count()).where(analysis_curves.c.set_id == run.set_id)
        held = int(conn.execute(query).scalar_one())
        return held, repo.run_results(conn, run_id, curves=False)["pr_curves"]


@pytest.mark.parametrize("in_memory", [True, False], ids=["carried", "from-store"])
def test_a_run_stores_only_the_curves_it_changed(store: Store, in_memory: bool) -> None:
    """Each class's PR-curve entry is stored once per set: an incremental run adds the entries
    of the classes its changed image moved, a full run over the same data adds none, and every
    run's document reads the whole curves back."""
    project = bbox_project(store)
    first = analyse(store, project.record, "model")
    held, listed = _curves_held(store, first.run.id)
    num_k = len(get_metrics(store, project.record, "model")["per_class"])
    assert held == num_k == len(listed) and all(isinstance(e, str) for e in listed)
    edit_one_row(project, "model", project.list_label_rows_v2(branch_name="model")[3].data_title)
    if not in_memory:
        carry.clear()
    inc = analyse(store, project.record, "model")
    after, inc_listed = _curves_held(store, inc.run.id)
    moved = sum(a != b for a, b in zip(listed, inc_listed, strict=True))
    assert 1 <= moved <= 2 and after == held + moved  # the edit's one or two classes
    inc_doc = get_metrics(store, project.record, "model")
    full = analyse(store, project.record, "model", full=True)
    assert _curves_held(store, full.run.id) == (after, inc_listed)
    full_doc = get_metrics(store, project.record, "model")
    assert inc_doc["pr_curves"] == full_doc["pr_curves"]
    assert all(set(e) == {"name", "iou", "points", "interpolated"} for e in full_doc["pr_curves"])


def test_a_failed_run_keeps_the_last_good_results(store: Store) -> None:
    project = bbox_project(store)
    good = analyse(store, project.record, "model")
    before = get_metrics(store, project.record, "model")
    rows_before = stored_objects(store)
    row = project.list_label_rows_v2(branch_name="model")[5]
    damaged = (
        b'{"data_units": {"x": {"labels": {"objects": [{"featureHash": "cat00001",'
        b' "objectHash": "broken"}]}}}}'
    )
    with store.begin() as conn:
        conn.execute(
            update(label_rows)
            .where(label_rows.c.label_hash == row.label_hash)
            # a document is only ever written with its geometry copy (or NULL)
            .values(document=damaged, last_edited_at=label_rows.c.last_edited_at)
        )
        row_id = select(label_rows.c.id).where(label_rows.c.label_hash == row.label_hash)
        g = label_row_geometry.c
        conn.execute(label_row_geometry.delete().where(g.label_row_id.in_(row_id)))
    with pytest.raises(LabelRowError, match="has no bounding_box geometry"):
        analyse(store, project.record, "model", full=True)
    after = get_metrics(store, project.record, "model")
    assert after["run"]["id"] == good.run.id
    assert _comparable({**after, "latest_attempt": None}) == _comparable(before)
    assert after["latest_attempt"]["status"] == "failed"
    assert "has no bounding_box geometry" in after["latest_attempt"]["error"]
    assert stored_objects(store) == rows_before


def test_a_cancelled_incremental_run_leaves_its_successor_exact(store: Store) -> None:
    """An incremental run takes this process's products of the last run and rewrites them in
    place; cancelled after that (its progress callback raises as the write starts), the next
    run starts from the store and still equals a full run."""
    project = bbox_project(store)
    good = analyse(store, project.record, "model")
    before = get_metrics(store, project.record, "model")
    # the cancelled run sees a detection of a class the row had not: only it touches that class
    row = project.list_label_rows_v2(branch_name="model")[2]
    row.initialise_labels()
    present = {inst.ontology_item.title for inst in row.get_object_instances()}
    objects = project.ontology_structure.objects
    other = next(o for o in objects if o.title not in present and o.shape.value == "bounding_box")
    extra = other.create_instance()
    box = BoundingBoxCoordinates(height=0.3, width=0.3, top_left_x=0.2, top_left_y=0.2)
    extra.set_for_frames(box, frames=0, confidence=0.99, manual_annotation=False)
    row.add_object_instance(extra)
    row.save()

    def cancel(update: ProgressUpdate) -> None:
        if update.done == STAGES.index("write"):
            raise KeyboardInterrupt("cancelled by the user")

    with pytest.raises(KeyboardInterrupt):
        analyse(store, project.record, "model", progress=cancel)
    after = get_metrics(store, project.record, "model")
    assert after["run"]["id"] == good.run.id
    assert _comparable({**after, "latest_attempt": None}) == _comparable(before)
    assert after["latest_attempt"]["status"] == "failed"
    row.remove_object(extra)  # gone again before the next run
    row.save()
    inc = analyse(store, project.record, "model")
    assert (inc.mode, inc.changed_units) == ("incremental", 1)
    inc_doc = get_metrics(store, project.record, "model")
    inc_rows = stored_objects(store)
    analyse(store, project.record, "model", full=True)
    assert _comparable(inc_doc) == _comparable(get_metrics(store, project.record, "model"))
    assert inc_rows == stored_objects(store)


def test_sets_list_review_status_and_notes(store: Store) -> None:
    project = bbox_project(store)
    with pytest.raises(ResourceNotFoundError, match="no complete analysis"):
        get_metrics(store, project.record, "model")
    analyse(store, project.record, "model")
    [entry] = list_prediction_sets(store, project.record)
    assert entry["branch"] == "model" and entry["review_status"] == "needs_review"
    assert entry["metrics"]["AP"] == get_metrics(store, project.record, "model")["stats"]["AP"]
    assert entry["freshness"]["fresh"]
    set_review(store, project.record, "model", status="in review", notes="checking crowd")
    [entry] = list_prediction_sets(store, project.record)
    assert (entry["review_status"], entry["notes"]) == ("in_review", "checking crowd")
    with pytest.raises(Exception, match="not one of needs_review, in_review, reviewed"):
        set_review(store, project.record, "model", status="done")


def test_the_light_fingerprint_equals_the_records_fingerprint(tmp_path: Path) -> None:
    """Freshness reads (unit, hash, edit, version) straight from SQL; it must give the digest the
    run stored from full row records, or every set would read as stale."""
    from predscope.services.analysis.fingerprints import fingerprint, fingerprint_of
    from predscope.services.analysis.inputs import branch_records
    from predscope.store.branch_rows import row_markers

    store = open_store(str(tmp_path / "store"))
    try:
        project = bbox_project(store)
        analyse(store, project.record, "model")
        assert list_prediction_sets(store, project.record)[0]["freshness"]["fresh"] is True
        for branch in ("main", "model"):
            with store.read() as conn:
                records = branch_records(conn, project.record, branch)
                markers = row_markers(conn, project.record.id, branch)
            assert len(markers) == len([r for r in records if r.label_hash])
            assert fingerprint_of(markers) == fingerprint(records)
        title = next(r.unit.data_title for r in records if r.label_hash)
        edit_one_row(project, "model", title)
        fresh = list_prediction_sets(store, project.record)[0]["freshness"]
        assert fresh == {"fresh": False, "ground_truth_changed": False, "predictions_changed": True}
    finally:
        store.close()
