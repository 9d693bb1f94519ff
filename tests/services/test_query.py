"""The query layer answers from stored outcomes: every filter combination equals a Python filter
over the stored rows, at several thresholds, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from predscope.exceptions import InvalidArgumentsError, ResourceNotFoundError
from predscope.services.analysis.rows import OUTCOME_NAMES
from predscope.services.analysis.runs import analyse
from predscope.services.query import ERROR_NAMES, query_data_units, query_objects
from predscope.store.engine import Store, open_store
from tests.services.analysis.analysis_fixtures import bbox_project, stored_objects


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def analysed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Store, Any, list[dict[str, Any]]]]:
    if request.param == "sqlite":
        url = str(tmp_path_factory.mktemp("query") / "store")
    else:
        import uuid

        server = request.getfixturevalue("pg_server")
        name = f"t_{uuid.uuid4().hex[:16]}"
        server.admin_execute(f"CREATE DATABASE {name}")
        url = server.url(name)
    store = open_store(url)
    project = bbox_project(store)
    analyse(store, project.record, "model")
    yield store, project, stored_objects(store, with_id=True)
    store.close()


def _expected(
    rows: list[dict[str, Any]], names: dict[int, str], units: dict[int, str], **q: Any
) -> list[dict[str, Any]]:
    kind = 0 if q.get("kind", "prediction") == "prediction" else 1
    t = round((q.get("iou_threshold", 0.5) - 0.5) / 0.05)
    out = []
    for r in rows:
        if r["kind"] != kind:
            continue
        if "outcome" in q and OUTCOME_NAMES[r[f"o{t}"]] != q["outcome"]:
            continue
        if "object_names" in q and names[r["class_id"]] not in q["object_names"]:
            continue
        if "min_confidence" in q and r["confidence"] < q["min_confidence"]:
            continue
        if "max_iou" in q and (r[f"i{t}"] is None or r[f"i{t}"] > q["max_iou"]):
            continue
        if "min_iou" in q and (r[f"i{t}"] is None or r[f"i{t}"] < q["min_iou"]):
            continue
        if "error_type" in q and ERROR_NAMES[r["error_type"]] != q["error_type"]:
            continue
        if "max_confidence" in q and r["confidence"] > q["max_confidence"]:
            continue
        lo, hi = (q.get("properties") or {}).get("area_px", (None, None))
        if (lo is not None and r["area_px"] < lo) or (hi is not None and r["area_px"] > hi):
            continue
        if "data_hash" in q and units[r["data_unit_id"]] != q["data_hash"]:
            continue
        out.append(r)
    order = q.get("order_by", "-confidence")
    key = order.lstrip("-")
    col = f"i{t}" if key == "iou" else key
    desc = order.startswith("-")
    valued = sorted(
        (r for r in out if r[col] is not None),
        key=lambda r: (r[col], r["class_id"], r["id"]),
        reverse=desc,
    )
    empty = sorted(
        (r for r in out if r[col] is None), key=lambda r: (r["class_id"], r["id"]), reverse=desc
    )
    return valued + empty  # no IoU sorts last, on both databases


# The query layer finds a page one of three ways (store.analysis_query): few matches are sorted
# directly, many are walked in the kind's cached order by the sort column with the mask, and
# those the walk does not reach within its budget are ranked. The small case has few matches
# everywhere, so every path is forced in turn: all must give the same pages and totals.
PATHS = {
    "chosen": {},
    "sorted": {"FEW": 10**9},
    "walked": {"FEW": 0, "WALK_BUDGET": 10**9},
    "ranked": {"FEW": 0, "WALK_BUDGET": 0},
    "walked, then ranked": {"FEW": 0, "WALK_FIRST": 1, "WALK_BUDGET": 100},
}


@pytest.mark.parametrize("path", list(PATHS))
def test_every_filter_combination_equals_the_stored_rows(
    analysed: tuple[Store, Any, list[dict[str, Any]]], path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from predscope.store import analysis_query

    for name, value in PATHS[path].items():
        monkeypatch.setattr(analysis_query, name, value)
    store, project, rows = analysed
    names = {k: c[1] for k, c in enumerate(_categories(store, project))}
    units = {u.id: u.data_hash for u in project.list_data_units()}
    some_unit = units[rows[0]["data_unit_id"]]
    filters: list[dict[str, Any]] = [
        {},
        {"outcome": "TP"},
        {"outcome": "FP", "object_names": ["person"]},
        {"min_confidence": 0.7, "outcome": "FP"},
        {"min_iou": 0.6, "max_iou": 0.9, "order_by": "iou"},
        {"order_by": "-iou"},
        {"order_by": "iou", "outcome": "FP"},
        {"properties": {"area_px": (100.0, 5000.0)}, "order_by": "-area_px"},
        {"error_type": "localisation"},
        {"error_type": "background", "order_by": "confidence"},
        {"data_hash": some_unit},
        {"kind": "ground_truth", "outcome": "FN", "order_by": "-area_px"},
        {"kind": "ground_truth", "outcome": "TP", "object_names": ["person", "car"]},
        {"kind": "ground_truth", "error_type": "missed"},
        {"outcome": "TP", "order_by": "confidence"},
        {"min_confidence": 0.3, "max_confidence": 0.6},
        {"min_confidence": 0.555, "max_confidence": 0.8049, "outcome": "TP"},  # off bucket edges
        {
            "min_confidence": 0.70501,
            "max_confidence": 0.70502,
        },  # both ends in one bucket (refused: min above max)
        {"max_confidence": 0.2, "outcome": "FP", "order_by": "-area_px"},
        {"properties": {"area_px": (1000.0, None)}, "outcome": "TP"},
        {"properties": {"area_px": (None, 300.0)}, "order_by": "area_px"},
        {"error_type": "classification", "order_by": "-area_px", "object_names": ["person"]},
        {"outcome": "TP", "order_by": "iou", "min_confidence": 0.5},
        {"data_hash": some_unit, "order_by": "-iou"},
    ]
    checked = 0
    for base, thr in itertools.product(filters, (0.5, 0.75, 0.95)):
        q = {**base, "iou_threshold": thr}
        want = _expected(rows, names, units, **q)
        page = query_objects(store, project.record, "model", limit=1000, **q)
        assert page.total == len(want), q
        got = [(i["object_hash"], i["outcome"]) for i in page.items]
        t = round((thr - 0.5) / 0.05)
        assert got == [(r["object_hash"], OUTCOME_NAMES[r[f"o{t}"]]) for r in want], q
        checked += page.total
        if page.total > 10:  # paging: a later page continues the same order
            second = query_objects(store, project.record, "model", offset=5, limit=5, **q)
            assert [i["object_hash"] for i in second.items] == [
                r["object_hash"] for r in want[5:10]
            ]
            assert second.total == page.total
    assert checked > 5000


def test_pages_of_every_path_equal_the_stored_rows(
    analysed: tuple[Store, Any, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages walked in the cached order (stopping at the page or at the walk's budget) and
    pages ranked equal the stored rows, in either direction, by a column with empty values or
    without, at several offsets; and each path is really taken."""
    from predscope.store import analysis_query

    monkeypatch.setattr(analysis_query, "FEW", 0)
    monkeypatch.setattr(analysis_query, "WALK_FIRST", 1)
    monkeypatch.setattr(analysis_query, "WALK_BUDGET", 400)
    taken = {"walk": 0, "walk done": 0, "rank": 0}
    walk, rank = analysis_query._walk, analysis_query._ranked

    def walked(*args: Any) -> Any:
        found = walk(*args)
        taken["walk"] += 1
        taken["walk done"] += found is not None
        return found

    def ranked(*args: Any) -> Any:
        taken["rank"] += 1
        return rank(*args)

    monkeypatch.setattr(analysis_query, "_walk", walked)
    monkeypatch.setattr(analysis_query, "_ranked", ranked)
    store, project, rows = analysed
    names = {k: c[1] for k, c in enumerate(_categories(store, project))}
    units = {u.id: u.data_hash for u in project.list_data_units()}
    filters: list[dict[str, Any]] = [
        {"outcome": "TP"},
        {"outcome": "TP", "order_by": "confidence"},
        {"outcome": "FP", "min_confidence": 0.5},
        {"outcome": "TP", "order_by": "-iou"},
        {"outcome": "FP", "order_by": "iou"},  # FPs mostly lack an IoU: they sort last
        {"error_type": "background", "max_confidence": 0.4, "order_by": "-area_px"},
        {"error_type": "localisation", "order_by": "confidence"},
        {"object_names": ["person"], "order_by": "frame"},
        {"data_hash": units[rows[0]["data_unit_id"]], "order_by": "-iou"},  # a unit: ranked
    ]
    pages = ((0, 1), (0, 5), (0, 50), (7, 20), (40, 30))
    for base, thr, (offset, limit) in itertools.product(filters, (0.5, 0.95), pages):
        q = {**base, "iou_threshold": thr}
        want = _expected(rows, names, units, **q)
        page = query_objects(store, project.record, "model", offset=offset, limit=limit, **q)
        assert page.total == len(want), q
        got = [i["object_hash"] for i in page.items]
        assert got == [r["object_hash"] for r in want[offset : offset + limit]], (q, offset)
    given_up = taken["walk"] - taken["walk done"]  # then ranked
    assert taken["walk done"] > 20 and given_up > 0 and taken["rank"] > given_up


def _categories(store: Store, project: Any) -> list[list[str]]:
    from predscope.services.analysis.metrics import complete_set

    with store.read() as conn:
        _, run = complete_set(conn, project.record, "model")
    return list(run.params["categories"])


def test_items_carry_partner_iou_class_and_properties(
    analysed: tuple[Store, Any, list[dict[str, Any]]],
) -> None:
    store, project, rows = analysed
    page = query_objects(store, project.record, "model", outcome="TP", iou_threshold=0.75, limit=20)
    by_key = {(r["kind"], r["data_unit_id"], r["frame"], r["seq"]): r for r in rows}
    hashes = {r["object_hash"]: r for r in rows}
    for item in page.items:
        row = hashes[item["object_hash"]]
        partner = by_key[(1, row["data_unit_id"], row["frame"], row["p5"])]
        assert item["matched_object_hash"] == partner["object_hash"]
        assert item["iou"] == row["i5"] >= 0.75
        assert set(item["properties"]) >= {"area_px", "aspect_ratio", "objects_in_image"}
        assert item["class"] and item["geometry"]["bbox"] == [
            row["x"],
            row["y"],
            row["w"],
            row["h"],
        ]


def _unit_counts(
    rows: list[dict[str, Any]], names: dict[int, str], t: int, classes: list[str] | None
) -> dict[int, list[int]]:
    """[TP, FP, FN] per data unit id at threshold index ``t``, from the stored rows."""
    want: dict[int, list[int]] = {}
    for r in rows:
        if classes and names[r["class_id"]] not in classes:
            continue
        c = want.setdefault(r["data_unit_id"], [0, 0, 0])
        code = r[f"o{t}"]
        if r["kind"] == 0 and code in (0, 1):
            c[1 - code] += 1  # TP -> 0, FP -> 1
        if r["kind"] == 1 and code == 4:
            c[2] += 1
    return want


def _check_units(store: Store, project: Any, thr: float, classes: list[str] | None) -> None:
    names = {k: c[1] for k, c in enumerate(_categories(store, project))}
    want = _unit_counts(stored_objects(store), names, round((thr - 0.5) / 0.05), classes)
    page = query_data_units(
        store, project.record, "model", iou_threshold=thr, object_names=classes, limit=1000
    )
    assert page.total == 100
    units = {u.data_hash: u.id for u in project.list_data_units()}
    for item in page.items:
        got = [item["tp"], item["fp"], item["fn"]]
        assert got == want.get(units[item["data_hash"]], [0, 0, 0])
    fps = [i["fp"] for i in page.items]
    assert fps == sorted(fps, reverse=True)


def test_data_units_equal_counts_of_stored_rows(
    analysed: tuple[Store, Any, list[dict[str, Any]]],
) -> None:
    store, project, rows = analysed
    for thr, classes in ((0.5, None), (0.75, ["person"])):
        _check_units(store, project, thr, classes)
    names = {k: c[1] for k, c in enumerate(_categories(store, project))}
    many_fn = sum(1 for c in _unit_counts(rows, names, 0, None).values() if c[2] >= 5)
    worst = query_data_units(store, project.record, "model", min_fn=5, order_by="-fn", limit=1000)
    assert worst.total == many_fn > 0
    assert all(i["fn"] >= 5 for i in worst.items)


def test_class_counts_follow_a_new_run(tmp_path: Any) -> None:
    """Class-filtered counts are kept between requests; a new run of the set replaces them."""
    with open_store(str(tmp_path / "store")) as store:
        project = bbox_project(store)
        analyse(store, project.record, "model")
        _check_units(store, project, 0.5, ["person"])  # kept from here on
        rows = [r for r in project.list_label_rows_v2(branch_name="model") if r.label_hash]
        row = next(r for r in rows if r.initialise_labels() or r.get_object_instances())
        for instance in row.get_object_instances():
            row.remove_object(instance)
        row.save()
        analyse(store, project.record, "model")
        _check_units(store, project, 0.5, ["person"])


def test_bad_queries_name_the_parameter(analysed: tuple[Store, Any, list[dict[str, Any]]]) -> None:
    store, project, _ = analysed
    with pytest.raises(InvalidArgumentsError, match="iou_threshold 0.52"):
        query_objects(store, project.record, "model", iou_threshold=0.52)
    with pytest.raises(InvalidArgumentsError, match="outcome \\['FN'\\]"):
        query_objects(store, project.record, "model", outcome="FN")
    with pytest.raises(InvalidArgumentsError, match="object_names \\['zebra-x'\\]"):
        query_objects(store, project.record, "model", object_names=["zebra-x"])
    with pytest.raises(InvalidArgumentsError, match="order_by 'size'"):
        query_objects(store, project.record, "model", order_by="size")
    with pytest.raises(InvalidArgumentsError, match="limit 0"):
        query_data_units(store, project.record, "model", limit=0)
    with pytest.raises(ResourceNotFoundError, match="no complete analysis"):
        query_objects(store, project.record, "nope")
    with pytest.raises(InvalidArgumentsError, match="'main' is the ground truth.*analysed: model"):
        query_objects(store, project.record, "main")


@pytest.mark.parametrize(
    ("which", "options", "message"),
    [
        ("objects", {"min_iou": 1.5}, "min_iou 1.5 is outside 0..1"),
        ("objects", {"min_iou": 0.8, "max_iou": 0.6}, "min_iou 0.8 is above max_iou 0.6"),
        ("objects", {"max_confidence": float("nan")}, "max_confidence nan is not a finite"),
        ("objects", {"min_confidence": 0.9, "max_confidence": 0.1}, "min_confidence 0.9 is above"),
        ("objects", {"properties": {"area_px": (500.0, 10.0)}}, "min_area_px 500.0 is above"),
        ("units", {"min_fp": -1}, "min_fp -1 is outside 0..inf"),
        ("units", {"min_tp": 5, "max_tp": 2}, "min_tp 5 is above max_tp 2"),
    ],
)
def test_impossible_ranges_are_refused_by_name(
    analysed: tuple[Store, Any, list[dict[str, Any]]],
    which: str,
    options: dict[str, Any],
    message: str,
) -> None:
    store, project, _ = analysed
    query = query_objects if which == "objects" else query_data_units
    with pytest.raises(InvalidArgumentsError, match=message):
        query(store, project.record, "model", **options)
