"""The bulk-save benchmark runs end to end at a small size and reports its figures."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bulk_save.py"


@pytest.mark.slow
def test_bulk_save_benchmark_small(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--rows", "30", "--per-row", "4", "--store", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "annotations: 120" in done.stdout
    assert re.search(r"wall: end-to-end .* [\d,]+ annotations/s", done.stdout)
    assert re.search(r"peak memory \(max RSS\): \d+ MB", done.stdout)
    assert (tmp_path / "predscope.db").is_file()
