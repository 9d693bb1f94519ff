"""An import report says what happened, and a dry run says what would happen."""

from __future__ import annotations

import pytest

from predscope.services.imports.report import ImportReport


@pytest.mark.parametrize(
    ("dry_run", "replaced", "expected", "absent"),
    [
        (False, False, "wrote 4 objects in 2 rows", "replace"),
        (False, True, "wrote 4 objects in 2 rows (replaced the branch's labels)", "would"),
        (True, False, "would write 4 objects in 2 rows", "replace"),
        (
            True,
            True,
            "would write 4 objects in 2 rows (would replace the branch's labels)",
            "(replaced",
        ),
    ],
)
def test_first_summary_line(dry_run: bool, replaced: bool, expected: str, absent: str) -> None:
    report = ImportReport(
        source="preds.json",
        branch_name="model-a",
        dry_run=dry_run,
        replaced=replaced,
        annotations=4,
        objects=4,
        rows=2,
    )
    first = report.summary_lines()[0]
    assert first.startswith("preds.json: 4 annotations")
    assert expected in first
    assert absent not in first
