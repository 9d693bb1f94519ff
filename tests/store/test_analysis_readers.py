"""The numpy readers of the object columns against the definitions, object by object: two sets'
disagreeing ground truth paired by (unit, frame, seq) although their rows differ (units only
one set holds), units' objects, and property buckets and sums, on SQLite and PostgreSQL."""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator

import numpy as np
import pytest

from predscope.store.analysis_buckets import bucket_counts, moment_sums
from predscope.store.analysis_units import changed_ground_truth, unit_objects
from predscope.store.column_writes import replace_objects
from predscope.store.engine import Store, open_store
from predscope.store.object_columns import THRESHOLDS, object_rows
from predscope.store.schema import data_units
from predscope.store.types import utcnow
from tests.store.column_fixtures import make_set, objects, union


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def _units(store: Store, ids: list[int]) -> None:
    with store.begin() as conn:
        project = conn.exec_driver_sql("SELECT id FROM projects").scalar()
        conn.execute(
            data_units.insert(),
            [
                {"id": i, "project_id": project, "data_hash": f"unit-{i}", "data_title": f"u{i}",
                 "data_type": "image", "extra": "{}", "created_at": utcnow()}
                for i in ids
            ],
        )  # fmt: skip


def _two_sets(store: Store) -> tuple[int, int]:
    """Set A on units 1-12; set B with A's objects on units 2-12 (other outcomes, other row
    order) and unit 13 that A lacks."""
    a_id, b_id = make_set(store, "a"), make_set(store, "b")
    _units(store, list(range(1, 14)))
    a = objects(11, list(range(1, 13)))
    rng = np.random.default_rng(12)
    keep = a["data_unit_id"] != 1
    b = {name: values[keep] for name, values in a.items()}
    for t in range(THRESHOLDS):
        b[f"o{t}"] = rng.choice(np.array([0, 1, 2, 4]), size=b[f"o{t}"].size)
    b = union(b, objects(13, [13]))
    shuffle = rng.permutation(b["kind"].size)
    b = {name: values[shuffle] for name, values in b.items()}
    for t in range(THRESHOLDS):  # make sure both directions have cases
        a[f"o{t}"] = rng.choice(np.array([1, 4, 2]), size=a[f"o{t}"].size)
    with store.begin() as conn:
        replace_objects(conn, a_id, a)
        replace_objects(conn, b_id, b)
    return a_id, b_id


def test_changed_ground_truth_pairs_objects_by_key(store: Store) -> None:
    a_id, b_id = _two_sets(store)
    with store.read() as conn:
        rows_a = [r for r in object_rows(conn, a_id) if r["kind"] == 1]
        rows_b = {
            (r["data_unit_id"], r["frame"], r["seq"]): r
            for r in object_rows(conn, b_id)
            if r["kind"] == 1
        }
        for t in (0, 5, 9):
            want: dict[str, list[dict[str, object]]] = {"a_not_b": [], "b_not_a": []}
            for r in rows_a:  # A's rows are in (unit, frame, seq) order
                other = rows_b.get((r["data_unit_id"], r["frame"], r["seq"]))
                if other is None:
                    continue
                pair = (r[f"o{t}"], other[f"o{t}"])
                key = {(1, 4): "a_not_b", (4, 1): "b_not_a"}.get(pair)
                if key:
                    want[key].append(
                        {"object_hash": r["object_hash"],
                         "data_hash": f"unit-{r['data_unit_id']}", "frame": r["frame"],
                         "class_id": r["class_id"]}
                    )  # fmt: skip
            assert want["a_not_b"] and want["b_not_a"]
            for offset, limit in ((0, 1000), (3, 4), (10**6, 5)):
                got = changed_ground_truth(conn, a_id, b_id, t, offset, limit)
                for key in want:
                    assert got[key] == (len(want[key]), want[key][offset : offset + limit])
        # B against A: the reverse pairs, B's order
        flipped = changed_ground_truth(conn, b_id, a_id, 0, 0, 1000)
        forward = changed_ground_truth(conn, a_id, b_id, 0, 0, 1000)
        assert flipped["a_not_b"][0] == forward["b_not_a"][0]
        assert flipped["b_not_a"][0] == forward["a_not_b"][0]
        assert changed_ground_truth(conn, a_id, 999, 0, 0, 10) == {
            "a_not_b": (0, []),
            "b_not_a": (0, []),
        }


def test_unit_objects_are_every_object_on_the_units(store: Store) -> None:
    a_id, _ = _two_sets(store)
    with store.read() as conn:
        rows = object_rows(conn, a_id)
        got = unit_objects(conn, a_id, [3, 1, 3, 77], 2)
    want = [
        {"data_unit_id": r["data_unit_id"], "frame": r["frame"], "kind": r["kind"],
         "seq": r["seq"], "object_hash": r["object_hash"], "outcome": r["o2"],
         "partner": r["p2"], "iou": r["i2"], "error_type": r["error_type"]}
        for r in rows
        if r["data_unit_id"] in (1, 3)
    ]  # fmt: skip
    key = lambda r: (r["data_unit_id"], r["kind"], r["frame"], r["seq"])  # noqa: E731
    assert sorted(got, key=key) == sorted(want, key=key) and len(got) == len(want) > 0
    assert any(r["partner"] is None for r in got) and any(r["iou"] is None for r in got)


@pytest.mark.parametrize("prop", ["area_px", "aspect_ratio", "objects_in_image"])
def test_buckets_and_sums_equal_the_definition(store: Store, prop: str) -> None:
    set_id = make_set(store)
    new = objects(21, list(range(1, 30)))
    rng = np.random.default_rng(22)
    if prop != "objects_in_image":  # finite values and some NaN (sums of infinities are NaN)
        values = rng.random(new[prop].size) * 1000
        values[rng.random(values.size) < 0.2] = np.nan
        new[prop] = values
    with store.begin() as conn:
        replace_objects(conn, set_id, new)
    with store.read() as conn:
        rows = [r for r in object_rows(conn, set_id) if r[prop] is not None]
        present = sorted(float(r[prop]) for r in rows)
        edges = [present[len(present) // 4], present[len(present) // 2], 1e9]  # values on edges
        for t in (0, 7):
            counts: dict[tuple[int, int, int], int] = {}
            sums: dict[tuple[int, int], list[float]] = {}
            for r in rows:
                b = bisect.bisect_right(edges, r[prop])
                k = (r["kind"], b, r[f"o{t}"])
                counts[k] = counts.get(k, 0) + 1
                sums.setdefault((r["kind"], r[f"o{t}"]), []).append(float(r[prop]))
            got = bucket_counts(conn, set_id, t, prop, edges)
            assert {(k, b, c): n for k, b, c, n in got} == counts
            assert len(got) == len(counts)
            moments = {(k, c): (n, s, q) for k, c, n, s, q in moment_sums(conn, set_id, t, prop)}
            assert moments.keys() == sums.keys()
            for key, xs in sums.items():
                n, s, q = moments[key]
                assert n == len(xs)
                assert s == pytest.approx(math.fsum(xs), rel=1e-13, abs=1e-9)
                assert q == pytest.approx(math.fsum(x * x for x in xs), rel=1e-13, abs=1e-9)
        assert bucket_counts(conn, 999, 0, prop, edges) == []
        assert moment_sums(conn, 999, 0, prop) == []
