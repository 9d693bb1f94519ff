"""Version 10: a compact copy of each label row's evaluated geometry, beside its document.

Frozen on purpose (see m0001). ``label_rows.geometry`` (nullable bytes) holds what evaluation
reads of a row's objects as fixed-width columns (``formats.row_geometry``): parsing 148 MB of
Encord JSON to read 312,500 boxes took ~3 s of a 5,000-image analysis. It is written in the
same UPDATE as the document by the one function that writes documents
(``label_rows.save_documents``), NULL where the writer gives none, so it can never describe
another document. Rows written before this version keep NULL: readers parse their JSON, as
before, until the row is written again.
"""

from __future__ import annotations

from sqlalchemy import Connection, LargeBinary, text


def upgrade(conn: Connection) -> None:
    kind = LargeBinary().compile(dialect=conn.dialect)
    conn.execute(text(f"ALTER TABLE label_rows ADD COLUMN geometry {kind}"))
