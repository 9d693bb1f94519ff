"""Two OS processes saving rows to one store at the same time both succeed (SQLite and
PostgreSQL), including when they race to create the same rows of a branch."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from predscope.sdk.client import Client
from tests.sdk.sdk_data import ONTOLOGY

WRITER = textwrap.dedent(
    """
    import sys, time
    from predscope.objects.coordinates import BoundingBoxCoordinates
    from predscope.sdk.client import Client

    store, branch, start_at = sys.argv[1], sys.argv[2], float(sys.argv[3])
    with Client(store) as client:
        project = client.get_project("shared")
        box = project.ontology_structure.get_child_by_title("box")
        while time.time() < start_at:
            time.sleep(0.005)
        for round_ in range(5):
            # Both processes race to create the same rows on one branch as well.
            with project.create_bundle() as bundle:
                for row in project.list_label_rows_v2(branch_name="both"):
                    row.initialise_labels(bundle=bundle)
            rows = project.list_label_rows_v2(branch_name=branch)
            with project.create_bundle() as bundle:
                for row in rows:
                    row.initialise_labels(bundle=bundle, overwrite=True)
            for row in rows:
                inst = box.create_instance()
                inst.set_for_frames(
                    BoundingBoxCoordinates(height=0.1, width=0.1, top_left_x=0.1, top_left_y=0.1),
                    frames=0, confidence=round_ / 10, manual_annotation=False,
                )
                row.add_object_instance(inst)
            with project.create_bundle() as bundle:
                for row in rows:
                    row.save(bundle=bundle)
    print("done", branch)
    """
)


@pytest.mark.slow
def test_two_processes_save_to_one_store(store_url: str, tmp_path: Path) -> None:
    store = store_url
    with Client(store) as client:
        project = client.create_project("shared", ontology=ONTOLOGY)
        project.add_data([{"title": f"{i}.jpg", "width": 50, "height": 50} for i in range(200)])
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    start_at = f"{time.time() + 1.5:.3f}"
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(store), branch, start_at],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for branch in ("proc-a", "proc-b")
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert out.startswith("done")
    with Client(store) as client:
        project = client.get_project("shared")
        assert project.list_branches() == ["both", "proc-a", "proc-b"]
        both = project.list_label_rows_v2(branch_name="both")
        assert len({r.label_hash for r in both}) == 200 and all(r.label_hash for r in both)
        for branch in ("proc-a", "proc-b"):
            rows = project.list_label_rows_v2(branch_name=branch)
            assert all(r.label_hash for r in rows)
            bundle = project.create_bundle()
            for row in rows:
                row.initialise_labels(bundle=bundle)
            bundle.execute()
            counts = {len(r.get_object_instances()) for r in rows}
            assert counts == {5}, (branch, counts)
