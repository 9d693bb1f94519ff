"""Projects for the stored-analysis tests: coco-val2014-100 with GT on main, results on 'model'."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from predscope.sdk.project import Project
from predscope.services.analysis.metrics import get_metrics
from predscope.services.analysis.runs import analyse
from predscope.store.engine import Store
from predscope.store.object_columns import object_rows
from predscope.store.schema import analysis_column_sets, analysis_runs
from tests.services.analysis.test_evaluate_coco import BBOX, coco_project


def bbox_project(store: Store, title: str = "coco-bbox") -> Project:
    return Project(store, coco_project(store, title, "bounding_box", BBOX))


def stored_objects(
    store: Store, set_id: int | None = None, *, with_id: bool = False
) -> list[dict[str, Any]]:
    """Every stored object (its position as ``id`` only if asked; None where a value is
    empty), in storage order (kind, data unit, frame, seq); of every set when ``set_id`` is None."""
    with store.read() as conn:
        if set_id is None:
            ids = [r[0] for r in conn.execute(select(analysis_column_sets.c.set_id))]
        else:
            ids = [set_id]
        rows = [r for i in sorted(ids) for r in object_rows(conn, i)]
    if not with_id:
        for r in rows:
            del r["id"]
    return sorted(rows, key=lambda r: (r["kind"], r["data_unit_id"], r["frame"], r["seq"]))


def edit_one_row(project: Project, branch: str, title: str) -> None:
    """Remove the first object of one row and lower another's confidence, then save."""
    row = project.list_label_rows_v2(branch_name=branch, data_title_eq=title)[0]
    row.initialise_labels()
    objects = row.get_object_instances()
    row.remove_object(objects[0])
    if len(objects) > 1:
        inst = objects[1]
        for annotation in inst.get_annotations():
            annotation.confidence = 0.01
    row.save()


ROOT = Path(__file__).resolve().parents[3]
# A full analysis of the generated project's 'model' branch, in a process of its own (to kill).
_CHILD = (
    "import sys\n"
    "from predscope.store.engine import open_store\n"
    "from predscope.services.analysis.runs import analyse\n"
    "analyse(open_store(sys.argv[1]), 'gen', 'model', full=True)\n"
)


def analysis_child(
    store: Store, url: str, stage: str, poll: float = 0.02
) -> tuple[subprocess.Popen[bytes], str | None]:
    """Start ``_CHILD`` on ``url`` and wait (up to 120 s) until its run reports ``stage``;
    returns the child and the progress seen then (None if it never got there)."""
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, url],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and child.poll() is None:
        with store.read() as conn:
            row = conn.execute(
                select(analysis_runs.c.progress).where(analysis_runs.c.pid == child.pid)
            ).scalar()
        if row and f'"{stage}"' in row:
            return child, row
        time.sleep(poll)
    return child, None


def assert_incremental_equals_full(store: Store, project: Any, branch: str) -> Any:
    """The stored results of the run just made (incremental) equal a full run's, row for row;
    returns the full run's outcome."""
    inc_doc, inc_rows = get_metrics(store, project, branch), stored_objects(store)
    full = analyse(store, project, branch, full=True)
    full_doc = get_metrics(store, project, branch)
    skip = ("run", "freshness", "latest_attempt", "errors")
    assert {k: v for k, v in inc_doc.items() if k not in skip} == {
        k: v for k, v in full_doc.items() if k not in skip
    }
    assert inc_doc["errors"]["counts"] == full_doc["errors"]["counts"]
    assert inc_rows == stored_objects(store)
    return full


HAND_NODES = ("wrist", "thumb", "index", "little")
HAND_SIGMAS = (0.05, 0.06, 0.07, 0.08)


def hand_template() -> dict[str, Any]:
    """The ontology's skeleton template of the shape tests: a four-node "hand" with OKS sigmas,
    its nodes on a horizontal line (feature hashes ``kp0``..``kp3``)."""
    points = {
        str(k): {"x": 0.1 * k, "y": 0.5, "name": n, "color": "#000000", "featureHash": f"kp{k}"}
        for k, n in enumerate(HAND_NODES)
    }
    return {
        "name": "hand",
        "width": 1,
        "height": 1,
        "shape": "skeleton",
        "feature_node_hash": "fh-hand",
        "skeleton": points,
        "skeletonEdges": {},
        "sigmas": list(HAND_SIGMAS),
    }
