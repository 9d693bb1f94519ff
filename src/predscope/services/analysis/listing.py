"""What a run lists of both branches, and which units changed since the run it builds on.

A run in the process that wrote the previous run gets that run's listing back with the rest of
its products (``carry.KeptListing``): the store's units and rows are compared with it, and what
is unchanged (the units' frame table and maps, an unchanged branch's records and fingerprint, the
row states) is taken over rather than rebuilt from 10,000 records.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection

from predscope.services.analysis.carry import Carry, KeptListing
from predscope.services.analysis.fingerprints import remember
from predscope.services.analysis.inputs import FrameTable, frame_table
from predscope.store.analysis import GT_SIDE, PRED_SIDE, RowState
from predscope.store.branch_rows import BranchListing, list_branches
from predscope.store.records import ListedRow


def digest(value: object) -> str:
    """A short, key-order independent digest of a JSON value (a run's basis entries)."""
    return hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def row_state(record: ListedRow) -> RowState:
    """The change marker of a row: label hash + version (every write adds one to it); the edit
    time stands in for rows without a version (none yet: the branch has no row there)."""
    version = record.version
    return RowState(record.label_hash, None if version else record.edited_at, version or None)


@dataclass(frozen=True, eq=False)
class Listed:
    """Both branches' records and what a run derives from them.

    ``moved``: the units whose row differs from the carried listing's on either branch, None
    when there was no carried listing over the same units to compare with.
    """

    kept: KeptListing
    states: dict[tuple[int, int], RowState]
    moved: set[int] | None

    @property
    def listing(self) -> BranchListing:
        return self.kept.listing

    @property
    def frames(self) -> FrameTable:
        return self.kept.frames

    def records(self, branch: str) -> list[ListedRow]:
        return self.kept.listing.records[branch]


def list_inputs(
    conn: Connection,
    project_id: int,
    branches: tuple[str, str],
    summaries: Sequence[tuple[Any, ...]],
    carry: Carry | None,
) -> Listed:
    """(ground truth, predictions) listed in ``conn``'s snapshot; ``summaries`` are their
    ``branch_summary``s read before (``fingerprints.summaries``)."""
    kept = None if carry is None else carry.listing
    listing = list_branches(conn, project_id, branches, kept.listing if kept else None, summaries)
    gt_records = listing.records[branches[0]]
    if kept is not None and listing.units is kept.listing.units:
        frames, frames_digest = kept.frames, kept.frames_digest
        unit_ids, unit_at = kept.unit_ids, kept.unit_at
    else:
        kept = None  # the units differ: nothing derived from them carries over
        frames = frame_table(gt_records)
        frames_digest = digest([list(k) for k in frames.keys])
        unit_ids = {r.unit.data_hash: r.unit.id for r in gt_records}
        unit_at = {r.unit.id: i for i, r in enumerate(gt_records)}
    prints = {
        b: remember(
            conn,
            project_id,
            b,
            summary,
            listing.records[b],
            kept.prints[b] if kept is not None and listing.changed[b] == set() else None,
        )
        for b, summary in zip(branches, summaries, strict=True)
    }
    sides = ((GT_SIDE, branches[0]), (PRED_SIDE, branches[1]))
    found = [listing.changed[b] for b in branches]
    if carry is not None and kept is not None and all(m is not None for m in found):
        states = dict(carry.row_states)
        changed: set[int] = set()
        for (side, branch), units in zip(sides, found, strict=True):
            rows = listing.records[branch]
            for unit_id in units or ():
                states[(side, unit_id)] = row_state(rows[unit_at[unit_id]])
            changed.update(units or ())
        moved: set[int] | None = changed
    else:
        moved = None
        states = {(side, r.unit.id): row_state(r) for side, b in sides for r in listing.records[b]}
    result = KeptListing(listing, frames, frames_digest, unit_ids, unit_at, prints)
    return Listed(result, states, moved)
