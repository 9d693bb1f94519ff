"""Version 12: a set's match records as blocks of whole images, not one archive.

Frozen on purpose (see m0001). ``analysis_states`` held one npz of the set's match records
(``records.Records``: 20 MB at 5,000 images), rewritten whole by every run, so an incremental run
that re-matched one image still encoded and wrote 20 MB. ``analysis_state_blocks`` holds one npz
per block of 256 images (by global image index); an incremental run rewrites the blocks of its
images only. Existing archives are split here, so no re-analysis is needed.
"""

from __future__ import annotations

import io

import numpy as np
from sqlalchemy import (
    Column,
    Connection,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    select,
    text,
)

BLOCK_IMAGES = 256


def _blocks(data: bytes) -> list[bytes]:
    with np.load(io.BytesIO(data)) as npz:
        fields = {name: npz[name] for name in npz.files}
    num_images = 1 + max(
        int(fields["d_image"].max(initial=-1)), int(fields["g_image"].max(initial=-1))
    )
    count = max(1, -(-num_images // BLOCK_IMAGES))
    edges = np.arange(count + 1, dtype=np.int64) * BLOCK_IMAGES
    d_at = np.searchsorted(fields["d_image"], edges, side="left")
    g_at = np.searchsorted(fields["g_image"], edges, side="left")
    out = []
    for b in range(count):
        buf = io.BytesIO()
        parts = {}
        for name, values in fields.items():
            at = d_at if name.startswith("d_") else g_at
            parts[name] = values[at[b] : (at[b + 1] if b < count - 1 else None)]
        np.savez(buf, **parts)
        out.append(buf.getvalue())
    return out


def upgrade(conn: Connection) -> None:
    md = MetaData()
    Table("analysis_sets", md, Column("id", Integer, primary_key=True))
    blocks = Table(
        "analysis_state_blocks",
        md,
        Column(
            "set_id",
            Integer,
            ForeignKey("analysis_sets.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        Column("part", Integer, primary_key=True, autoincrement=False),
        Column("state", LargeBinary, nullable=False),
    )
    blocks.create(conn)
    old = Table(
        "analysis_states",
        MetaData(),
        Column("set_id", Integer, primary_key=True),
        Column("state", LargeBinary),
    )
    for set_id, data in conn.execute(select(old.c.set_id, old.c.state)).all():
        rows = [
            {"set_id": set_id, "part": part, "state": block}
            for part, block in enumerate(_blocks(bytes(data)))
        ]
        conn.execute(blocks.insert(), rows)
    conn.execute(text("DROP TABLE analysis_states"))
