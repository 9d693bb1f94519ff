"""A branch fingerprint's value is stored with every run and compared for freshness, so its
definition must not drift: sha256 of one line per row, in unit order."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from predscope.services.analysis.fingerprints import fingerprint_of


def test_fingerprint_is_the_digest_of_one_line_per_row_in_unit_order() -> None:
    edited = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    markers = [
        (12, "hash-b", edited, 3),  # a version: the edit time does not count
        (5, "hash-a", edited, 0),  # no version: the edit time counts
        (7, "hash-c", None, 0),
    ]
    lines = "5|hash-a|2026-01-02T03:04:05.678901+00:00|None\n7|hash-c||None\n12|hash-b||3\n"
    assert fingerprint_of(markers) == hashlib.sha256(lines.encode()).hexdigest()
    assert fingerprint_of([]) == hashlib.sha256(b"").hexdigest()
