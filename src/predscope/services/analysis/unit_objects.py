"""The stored outcomes of every object on some data units (what the pages draw), read at once.

The query layer pages objects across a set; a grid of tiles needs the opposite: everything on
a few units, both kinds, with each object's matched partner. One read per page, partners
resolved in memory from the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from predscope.services.analysis.evaluate import _project
from predscope.services.analysis.metrics import complete_set
from predscope.services.analysis.rows import OUTCOME_NAMES
from predscope.services.query import ERROR_NAMES, threshold_index
from predscope.store import data_units as unit_repo
from predscope.store.analysis_units import unit_objects
from predscope.store.branches import MAIN_BRANCH
from predscope.store.engine import Store
from predscope.store.records import ProjectRecord

Outcomes = dict[tuple[str, int], dict[str, Any]]


def stored_outcomes(
    store: Store,
    project: ProjectRecord | str,
    branch_name: str,
    data_hashes: Sequence[str],
    *,
    iou_threshold: float = 0.5,
    against: str = MAIN_BRANCH,
) -> dict[str, Outcomes]:
    """Per data hash: (object hash, frame) -> ``outcome`` (TP / FP / FN / ignored /
    not_evaluated), ``iou``, ``error_type`` and ``matched_object_hash``, as ``query_objects``
    names them."""
    record = _project(store, project)
    t = threshold_index(iou_threshold)
    with store.read() as conn:
        pset, _ = complete_set(conn, record, branch_name, against)
        units = unit_repo.list_data_units(
            conn, record.id, data_hashes=list(dict.fromkeys(data_hashes))
        )
        by_id = {u.id: u.data_hash for u in units}
        rows = unit_objects(conn, pset.id, list(by_id), t)
    hashes = {(r["data_unit_id"], r["frame"], r["kind"], r["seq"]): r["object_hash"] for r in rows}
    out: dict[str, Outcomes] = {h: {} for h in data_hashes}
    for r in rows:
        partner = r["partner"]
        key = (r["data_unit_id"], r["frame"], 1 - r["kind"], partner)
        iou = r["iou"]
        out[by_id[r["data_unit_id"]]][(r["object_hash"], int(r["frame"]))] = {
            "outcome": OUTCOME_NAMES[r["outcome"]],
            "iou": None if iou is None or iou != iou else float(iou),
            "error_type": ERROR_NAMES.get(r["error_type"]),
            "matched_object_hash": None if partner is None else hashes.get(key),
        }
    return out
