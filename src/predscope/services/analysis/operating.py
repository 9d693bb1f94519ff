"""Operating points: TP / FP counts per class at every confidence cut, at any stored IoU.

The summary page's confidence slider and IoU selector need precision, recall and F1 for "keep
predictions scoring at least s" at threshold t. They come from the stored per-detection match
records (``analysis_state_blocks``, the same arrays the run aggregated), so they equal the
query layer's counts at the lowest cut, and nothing is re-matched. Definitions:
``docs/metrics.md`` ("Operating points").

>>> points = operating_points(store, project, "model", iou_threshold=0.75)  # doctest: +SKIP
>>> points["classes"][0]["tp"][-1]  # TP of class 0 with every prediction kept  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import numpy as np

from predscope.evaluation.results import Outcome
from predscope.services.analysis.evaluate import _project
from predscope.services.analysis.metrics import complete_set
from predscope.services.analysis.records import Records
from predscope.services.query import THRESHOLDS, threshold_index
from predscope.store import analysis as repo
from predscope.store.branches import MAIN_BRANCH
from predscope.store.engine import Store
from predscope.store.records import ProjectRecord

MAX_CUTS = 200


def _cuts(scores: np.ndarray, most: int) -> np.ndarray:
    """Descending confidence cuts: every distinct score, or ``most`` quantiles of them."""
    distinct = np.unique(scores)[::-1]
    if distinct.size <= most:
        return distinct
    pick = np.unique(np.linspace(0, distinct.size - 1, most).round().astype(np.int64))
    return distinct[pick]


def operating_points(
    store: Store,
    project: ProjectRecord | str,
    branch_name: str,
    *,
    iou_threshold: float = 0.5,
    against: str = MAIN_BRANCH,
    max_cuts: int = MAX_CUTS,
) -> dict[str, Any]:
    """Cumulative TP and FP per class at each cut (``cuts`` descending), plus GT per class.

    Counts are of evaluated predictions (COCO's top-100 per image) over all areas; index ``i``
    of ``tp``/``fp`` counts those scoring at least ``cuts[i]``. ``tp_scores``/``fp_scores`` are
    every TP / FP confidence (for the histogram).
    """
    record = _project(store, project)
    t = threshold_index(iou_threshold)
    with store.read() as conn:
        pset, run = complete_set(conn, record, branch_name, against)
        state = repo.load_state(conn, pset.id)
        results = repo.run_results(conn, run.id)
    categories = run.params.get("categories", [])
    names = [c[1] for c in categories] or [c["name"] for c in results.get("categories", [])]
    num_gt = {c["name"]: int(c.get("num_gt", 0)) for c in results.get("classes", [])}
    records = None if state is None else Records.from_blocks(state)
    empty = np.zeros(0)
    codes = records.d_codes[:, 0, t] if records is not None else np.zeros(0, np.int8)
    score = records.d_score if records is not None else empty
    cat = records.d_cat if records is not None else np.zeros(0, np.int32)
    tp_mask = codes == int(Outcome.TP)
    fp_mask = codes == int(Outcome.FP)
    counted = tp_mask | fp_mask
    cuts = _cuts(score[counted], max_cuts)
    ordered = -cuts  # ascending, for searchsorted

    def cumulative(mask: np.ndarray) -> list[int]:
        kept = np.sort(-score[mask])
        found: list[int] = np.searchsorted(kept, ordered, side="right").tolist()
        return found

    classes = [
        {
            "name": name,
            "num_gt": num_gt.get(name, 0),
            "tp": cumulative(tp_mask & (cat == k)),
            "fp": cumulative(fp_mask & (cat == k)),
        }
        for k, name in enumerate(names)
    ]
    return {
        "iou_threshold": THRESHOLDS[t],
        "cuts": cuts.tolist(),
        "classes": classes,
        "tp_scores": score[tp_mask].tolist(),
        "fp_scores": score[fp_mask].tolist(),
    }
