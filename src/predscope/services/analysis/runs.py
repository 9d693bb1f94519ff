"""``analyse``: evaluate a prediction branch against ground truth and store the run's results.

A run (1) records itself as ``running`` (committed at once), (2) reads both branches in one
read snapshot, (3) re-matches only the frames of data units whose label row changed on either
branch since the set's last complete run (all frames on the first run, with ``full=True``, or
when parameters, the engine, the ontology or the frame index changed), (4) splices those
records into the stored ones and re-aggregates with the engine (``records.aggregate``), and
(5) writes objects, frame counts, row states and the results document in ONE transaction that
also marks the run complete and publishes it. Readers therefore see the previous results until
that commit; a failed run records its error, and a killed one stays ``running`` with a pid that
``run_state`` reports as interrupted. Neither touches the last good results.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import numpy as np
import orjson

from predscope.exceptions import AnalysisRunningError, InvalidArgumentsError
from predscope.services.analysis.carry import Carry, take
from predscope.services.analysis.carry import keep as keep_carry
from predscope.services.analysis.classifications import classification_metrics
from predscope.services.analysis.evaluate import _project, kind_groups
from predscope.services.analysis.fingerprints import summaries
from predscope.services.analysis.inputs import (
    CategoryTable,
    FrameTable,
    category_table,
    read_branch,
)
from predscope.services.analysis.kinds import (
    IouOption,
    check_iou_option,
    layout_params,
    summary_kind,
)
from predscope.services.analysis.listing import digest, list_inputs
from predscope.services.analysis.records import (
    Records,
    Reuse,
    aggregate,
    match_groups,
    splice,
    state_blocks,
    touched_classes,
)
from predscope.services.analysis.results import Rebuild, build_results, error_summary
from predscope.services.analysis.rows import write_objects
from predscope.services.branches import require_branch
from predscope.services.progress import Progress, ProgressUpdate
from predscope.services.rows import paused_gc
from predscope.store import analysis as repo
from predscope.store import analysis_objects as object_repo
from predscope.store.analysis import RowState, RunRecord, SetRecord
from predscope.store.branches import MAIN_BRANCH, validate_branch_name
from predscope.store.engine import Store
from predscope.store.records import ProjectRecord

# The stored state layout (``records.Records``) is part of the engine version: a run whose
# predecessor stored another layout re-matches everything instead of splicing.
ENGINE_VERSION = f"predscope-{version('predscope')}/coco-1/records-2"
STAGES = ("read ground truth", "read predictions", "match", "aggregate", "write")


@dataclass(frozen=True)
class RunOutcome:
    """What ``analyse`` did: the run record, and how much it had to recompute."""

    run: RunRecord
    set: SetRecord
    mode: str  # "full" | "incremental"
    changed_units: int
    total_units: int


def _process_alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


STALE_SECONDS = 600.0


def run_state(run: RunRecord) -> str:
    """``running`` only while its process lives; a dead one is ``interrupted``.

    On another host the pid cannot be checked, so a run whose heartbeat is older than
    ``STALE_SECONDS`` counts as interrupted there.
    """
    if run.status != "running":
        return run.status
    if run.host == socket.gethostname():
        return "running" if _process_alive(run.pid) else "interrupted"
    age = time.time() - run.heartbeat_at.timestamp()
    return "running" if age < STALE_SECONDS else "interrupted"


def _start(
    store: Store, project: ProjectRecord, branch: str, against: str, params: Mapping[str, Any]
) -> tuple[SetRecord, RunRecord]:
    with store.begin() as conn:
        require_branch(conn, project, against, allow_empty_main=False)
        require_branch(conn, project, branch, allow_empty_main=False)
        pset = repo.get_or_create_set(conn, project.id, branch, against)
        for other in repo.list_runs(conn, pset.id, status="running"):
            if run_state(other) == "running":
                raise AnalysisRunningError(
                    f"project {project.title!r}: branch {branch!r} is being analysed by run "
                    f"{other.id} (process {other.pid} on {other.host}) - wait for it to finish"
                )
            repo.update_run(
                conn,
                other.id,
                status="failed",
                error=f"interrupted: process {other.pid} on {other.host} ended before the run "
                "completed",
                heartbeat_at=other.heartbeat_at,
            )
        run = repo.create_run(
            conn, pset.id, params, ENGINE_VERSION, os.getpid(), socket.gethostname()
        )
    return pset, run


class _Reporter:
    """Progress to the caller's callback and, at stage boundaries, to the run row."""

    def __init__(self, store: Store, run_id: int, progress: Progress | None) -> None:
        self.store, self.run_id, self.progress = store, run_id, progress
        self.timings: dict[str, float] = {}
        self.done = 0
        self.current = ("", time.perf_counter())

    def so_far(self) -> dict[str, float]:
        """The timings with the current stage's time until now (the write stage's is stored in
        its own transaction, so it ends before the commit)."""
        name, start = self.current
        return {**self.timings, name: round(time.perf_counter() - start, 6)}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        update = {"stage": name, "done": self.done, "total": len(STAGES)}
        with self.store.begin() as conn:
            repo.update_run(conn, self.run_id, progress=update)
        if self.progress is not None:
            self.progress(ProgressUpdate("analyse", self.done, len(STAGES)))
        start = time.perf_counter()
        self.current = (name, start)
        yield
        self.timings[name] = round(time.perf_counter() - start, 6)
        self.done += 1
        if self.progress is not None:
            self.progress(ProgressUpdate("analyse", self.done, len(STAGES)))


def _subset(frames: FrameTable, keep: Callable[[str], bool]) -> tuple[FrameTable, np.ndarray]:
    picks = [i for i, key in enumerate(frames.keys) if keep(key[0])]
    keys = tuple(frames.keys[i] for i in picks)
    table = FrameTable(
        keys=keys,
        titles=tuple(frames.titles[i] for i in picks),
        width=tuple(frames.width[i] for i in picks),
        height=tuple(frames.height[i] for i in picks),
        index={k: j for j, k in enumerate(keys)},
    )
    return table, np.array(picks, dtype=np.int32)


def analyse(
    store: Store,
    project: ProjectRecord | str,
    branch_name: str,
    *,
    against: str = MAIN_BRANCH,
    full: bool = False,
    iou_type: str = "auto",
    progress: Progress | None = None,
) -> RunOutcome:
    """Analyse ``branch_name`` against ``against`` and store the run (see the module doc).

    ``iou_type`` ``auto`` measures each class by its shape (``kinds.metric_kind``); ``bbox`` or
    ``segm`` measures every box, rotated box, polygon and bitmask class that way.
    """
    record = _project(store, project)
    validate_branch_name(branch_name)
    validate_branch_name(against)
    kind = check_iou_option(iou_type)
    if branch_name == against:
        raise InvalidArgumentsError(
            f"analyse: branch {branch_name!r} is also the ground-truth branch - pick a "
            "prediction branch"
        )
    cats = category_table(record, kind)
    params = {"iou_type": kind, "against": against, "full": bool(full)}
    pset, run = _start(store, record, branch_name, against, params)
    reporter = _Reporter(store, run.id, progress)
    try:
        # a run allocates millions of containers and makes no cycles: the collector's full
        # passes cost 15% of an incremental run (``paused_gc`` collects after a long pause)
        with paused_gc():
            return _execute(store, record, pset, run, cats, kind, full, reporter)
    except BaseException as exc:
        with store.begin() as conn:
            repo.update_run(
                conn,
                run.id,
                status="failed",
                error=f"{type(exc).__name__}: {exc}",
                finished_at=_now(),
                timings=reporter.timings,
            )
        raise


def _curves(
    entries: list[dict[str, Any]], carry: Carry | None, reuse: Reuse | None
) -> tuple[repo.Curve, ...]:
    """The results' PR-curve entries as stored: an untouched class's is the carried run's (its
    entry is that run's too, ``Rebuild``), the others are encoded anew."""
    if carry is None or reuse is None or len(carry.curves) != len(entries):
        return tuple(repo.Curve.of(entry) for entry in entries)
    touched = reuse.touched.tolist()
    return tuple(
        repo.Curve.of(entry) if touched[k] else carry.curves[k] for k, entry in enumerate(entries)
    )


def _now() -> Any:
    from predscope.store.types import utcnow

    return utcnow()


def _execute(
    store: Store,
    record: ProjectRecord,
    pset: SetRecord,
    run: RunRecord,
    cats: CategoryTable,
    kind: IouOption,
    full: bool,
    reporter: _Reporter,
) -> RunOutcome:
    coco_params = layout_params(cats.kinds)
    branches = (pset.against, pset.branch_name)
    with store.read() as conn:
        gt_summary, pred_summary = summaries(conn, record.id, branches)
        previous = repo.get_run(conn, pset.latest_run_id) if pset.latest_run_id else None
        # this process's products of the last run, handed over (dropped below unless the last
        # run is this one's basis): its listing spares rebuilding what the store still holds
        carry = take(store.url, pset.id, previous) if not full and previous else None
        with reporter.stage(STAGES[0]):
            listed = list_inputs(conn, record.id, branches, (gt_summary, pred_summary), carry)
        gt_records, pr_records = listed.records(pset.against), listed.records(pset.branch_name)
        frames, unit_at, states = listed.frames, listed.kept.unit_at, listed.states
        classifications = classification_metrics(
            conn, record.ontology, gt_records, pr_records, frames
        )
        basis = {
            "iou_type": kind,
            "kinds": list(cats.kinds),
            "engine": ENGINE_VERSION,
            "ontology": digest(record.ontology),
            "frames": listed.kept.frames_digest,
        }
        old_records: Records | None = None
        before: Mapping[tuple[int, int], RowState] = {}
        previous_errors: dict[str, Any] = {}
        if previous is None or full or previous.params.get("basis") != basis:
            carry = None
        elif carry is not None:
            old_records, before, previous_errors = carry.records, carry.row_states, carry.errors
        else:
            stored = repo.load_state(conn, pset.id)
            if stored is not None:
                old_records = Records.from_blocks(stored)
                before = repo.load_row_states(conn, pset.id)
                stored_results = repo.run_results(conn, previous.id, curves=False)
                previous_errors = stored_results.get("errors") or {}
        if old_records is None:
            changed = {r.unit.id for r in gt_records}
        elif carry is not None and listed.moved is not None:
            changed = listed.moved  # rows rewritten since the last run, on either side
        else:
            # a unit changed where a side's state differs, appeared or went
            get = before.get
            changed = {key[1] for key, state in states.items() if get(key) != state}
            changed.update(key[1] for key in before.keys() - states.keys())
        changed_hashes = {gt_records[unit_at[u]].unit.data_hash for u in changed if u in unit_at}
        sub_frames, image_map = _subset(frames, lambda h: h in changed_hashes)
        positions = sorted(unit_at[u] for u in changed if u in unit_at)
        gt_sub = [gt_records[i] for i in positions]
        pr_sub = [pr_records[i] for i in positions]
        gt_cols = read_branch(conn, record, gt_sub, sub_frames, cats, ground_truth=True)
        with reporter.stage(STAGES[1]):
            dt_cols = read_branch(conn, record, pr_sub, sub_frames, cats, ground_truth=False)
    with reporter.stage(STAGES[2]):
        groups = kind_groups(gt_cols, dt_cols, sub_frames, cats)
        fm = match_groups(
            groups,
            gt_cols.image.size,
            dt_cols.image.size,
            len(cats.kinds),
            image_map,
            with_dap=old_records is None,
        )
    with reporter.stage(STAGES[3]):
        reuse = None
        if old_records is None:
            all_records = fm.records
        else:
            all_records, gone = splice(old_records, image_map, fm.records, len(frames.keys))
            if carry is not None:
                reuse = Reuse(carry.figures, touched_classes(len(cats.kinds), gone, fm.records))
        aggregated = aggregate(
            all_records, coco_params, cats.feature_hashes, cats.names, reuse=reuse
        )
        categories = [
            {"index": k, "feature_hash": h, "name": n, "shape": s, "metric": m}
            for k, (h, n, s, m) in enumerate(
                zip(cats.feature_hashes, cats.names, cats.shapes, cats.kinds, strict=True)
            )
        ]
        rebuild = None
        if reuse is not None and carry is not None:
            rebuild = Rebuild(carry.results, reuse.touched, gone, fm.records)
        results = build_results(aggregated, all_records, categories, rebuild)
        figures = aggregated.figures()
        # the match state and outcomes (75 MB at 5,000 images) are not needed further
        del aggregated
        results["iou_type"] = summary_kind(cats.kinds)
        results["classifications"] = classifications
        results["errors"] = error_summary(all_records, fm, run.id, previous_errors)
        results.update(
            images=len(frames.keys),
            ground_truth=int(all_records.g_cat.size),
            predictions=int(all_records.d_cat.size),
        )
        curves = _curves(results["pr_curves"], carry, reuse)
    mode = "full" if old_records is None else "incremental"
    with reporter.stage(STAGES[4]):
        with store.begin() as conn:
            scope = None if old_records is None else changed
            unit_ids = listed.kept.unit_ids
            write_objects(conn, pset.id, fm, gt_cols, dt_cols, sub_frames, unit_ids, scope)
            repo.replace_row_states(conn, pset.id, states, scope)
            only = None if scope is None else state_blocks(image_map)
            blocks = all_records.to_blocks(len(frames.keys), only)
            repo.publish(conn, pset.id, run.id, blocks, replace_all=scope is None)
            repo.keep_curves(conn, pset.id, curves)
            repo.update_run(
                conn,
                run.id,
                status="complete",
                mode=mode,
                changed_units=len(changed),
                gt_fingerprint=listed.kept.prints[pset.against],
                pred_fingerprint=listed.kept.prints[pset.branch_name],
                params={
                    **run.params,
                    "basis": basis,
                    "categories": [[c["feature_hash"], c["name"], c["metric"]] for c in categories],
                },
                results={**results, "pr_curves": [curve.digest for curve in curves]},
                finished_at=_now(),
                # in this transaction: a later update of the row rewrites its results
                timings=reporter.so_far(),
                progress={"stage": "done", "done": len(STAGES), "total": len(STAGES)},
            )
        if old_records is None:  # a full run rewrote every row (incremental: autovacuum's job)
            object_repo.refresh_statistics(store)
    with store.read() as conn:
        done = repo.get_run(conn, run.id)
        final_set = repo.find_set(conn, record.id, pset.branch_name, pset.against)
    assert done is not None and final_set is not None
    errors = orjson.loads(orjson.dumps(results["errors"]))  # as a reader of the store sees it
    carried = Carry(all_records, states, figures, results, errors, listed.kept, curves)
    keep_carry(store.url, pset.id, done, carried)
    return RunOutcome(done, final_set, mode, len(changed), len(gt_records))
