"""Synthetic object columns for the store tests: objects whose every column holds the values its
dtype must keep, and the set they belong to."""

from __future__ import annotations

import numpy as np

from predscope.store import object_columns as oc
from predscope.store.analysis import get_or_create_set
from predscope.store.engine import Store
from predscope.store.object_columns import DTYPES, THRESHOLDS, storage_order
from predscope.store.projects import create_project


def make_set(store: Store, branch: str = "model") -> int:
    with store.begin() as conn:
        project = conn.exec_driver_sql("SELECT id FROM projects").scalar()
        if project is None:
            project = create_project(conn, "p", {"objects": []}).id
        return get_or_create_set(conn, int(project), branch, "main").id


def objects(seed: int, units: list[int]) -> dict[str, np.ndarray]:
    """Objects on ``units`` (0-5 per kind and frame, two frames), every column filled with the
    values its dtype must keep: NaN, infinities, -0.0, subnormals, -1 partners, non-ASCII
    hashes, the integer types' extremes."""
    rng = np.random.default_rng(seed)
    keys = [
        (k, u, f, s)
        for k in (0, 1)
        for u in units
        for f in (0, 3)
        for s in range(int(rng.integers(0, 6)))
    ]
    n = len(keys)
    kind, unit, frame, seq = (np.array(c, dtype=np.int64) for c in zip(*keys, strict=True))
    out: dict[str, np.ndarray] = {"kind": kind, "data_unit_id": unit, "frame": frame, "seq": seq}
    specials = np.array([np.nan, np.inf, -np.inf, -0.0, 5e-324, 1e308, 0.1])
    for name, spec in DTYPES.items():
        if name in out:
            continue
        if name == "object_hash":
            out[name] = np.array([f"h{seed}-{i}" + ("é" if i % 7 == 0 else "") for i in range(n)])
        elif spec == "<f8":
            values = rng.random(n) * 10.0 ** rng.integers(-5, 6, n)
            values[: min(n, len(specials))] = specials[: min(n, len(specials))]
            out[name] = rng.permutation(values)
        else:
            info = np.iinfo(np.dtype(spec))
            values = rng.integers(0, 5, n).astype(np.int64)
            values[:2] = [info.min, info.max][: min(n, 2)]
            out[name] = rng.permutation(values)
    for t in range(THRESHOLDS):  # outcome codes 0..4; partners and IoUs empty together
        out[f"o{t}"] = rng.integers(0, 5, n)
        empty = rng.random(n) < 0.6
        out[f"p{t}"] = np.where(empty, -1, rng.integers(0, 6, n))
        out[f"i{t}"] = np.where(empty, np.nan, rng.random(n))
    shuffle = rng.permutation(n)  # not in storage order: the write sorts
    return {name: values[shuffle] for name, values in out.items()}


def sorted_columns(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The columns as the store must give them back: typed, in storage order."""
    order = storage_order(*(columns[k] for k in ("kind", "data_unit_id", "frame", "seq")))
    typed = {name: oc._typed(name, values) for name, values in columns.items()}
    return typed if order is None else {name: v[order] for name, v in typed.items()}


def union(*parts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
