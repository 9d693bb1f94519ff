"""What a process keeps of each set's last complete run, for that set's next incremental run.

An incremental run starts from the previous run's match records, row states, dAP and per-class
figures. Reading and decoding them from the store costs more than re-matching one changed image
(0.1-0.2 s at 5,000 images), so the process that wrote a run (the server, a notebook, a sync
loop) keeps them. An entry is keyed by the run's identity: store, set, run id and finish time,
which the set's ``latest_run_id`` names inside the next run's read snapshot. It is therefore used
only for exactly the results it was made from; any other process, or a run another process
wrote, reads them from the store as before.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from predscope.services.analysis.inputs import FrameTable
from predscope.services.analysis.records import ClassFigures, Records
from predscope.store.analysis import Curve, RowState, RunRecord
from predscope.store.branch_rows import BranchListing

CARRY_MAX = 4  # sets kept per process (about 60 MB each at 5,000 images / 312,500 predictions)

_CACHE: OrderedDict[tuple[Any, ...], Carry] = OrderedDict()
_LOCK = threading.Lock()


@dataclass(frozen=True, eq=False)
class KeptListing:
    """The run's listing of both branches and what it derived from the units (the frame table
    and its digest, unit ids by hash and position) and each branch's rows (its fingerprint)."""

    listing: BranchListing
    frames: FrameTable
    frames_digest: str
    unit_ids: dict[str, int]  # data hash -> unit id
    unit_at: dict[int, int]  # unit id -> position in the listing
    prints: dict[str, str]  # branch -> fingerprint


@dataclass(frozen=True, eq=False)
class Carry:
    """A complete run's products, for one successor (``take``), which may rewrite them."""

    records: Records
    row_states: dict[tuple[int, int], RowState]
    figures: ClassFigures
    results: dict[str, Any]  # the results document as built (per-class entries taken over)
    errors: dict[str, Any]  # its "errors" entry as a reader of the store sees it
    listing: KeptListing
    curves: tuple[Curve, ...]  # the results' PR-curve entries as stored, by class


def _key(store_url: str, set_id: int, run: RunRecord) -> tuple[Any, ...]:
    return (store_url, set_id, run.id, run.finished_at)


def take(store_url: str, set_id: int, run: RunRecord) -> Carry | None:
    """The products of ``run`` if this process wrote it (and still keeps them), handed over:
    the next run rewrites their arrays in place (``records.Reuse``), so the entry leaves the
    cache; a run that fails after this makes its successor read the store."""
    key = _key(store_url, set_id, run)
    with _LOCK:
        return _CACHE.pop(key, None)


def keep(store_url: str, set_id: int, run: RunRecord, carry: Carry) -> None:
    """Keep ``carry`` for ``run``, replacing the set's older entry."""
    with _LOCK:
        for old in [k for k in _CACHE if k[:2] == (store_url, set_id)]:
            del _CACHE[old]
        _CACHE[_key(store_url, set_id, run)] = carry
        while len(_CACHE) > CARRY_MAX:
            _CACHE.popitem(last=False)


def clear() -> None:
    """Drop every entry (the next run of each set reads its predecessor from the store)."""
    with _LOCK:
        _CACHE.clear()
