"""Pages draw rows from their stored documents: the same objects, frames and order as the rows."""

from __future__ import annotations

import pytest

from predscope.exceptions import BranchNameError
from predscope.objects.coordinates import (
    BoundingBoxCoordinates,
    PointCoordinate,
    PolygonCoordinates,
)
from predscope.sdk.client import Client
from predscope.server.pages.overlay import frame_size, to_shape, unit_frames
from predscope.services.projects import units_by_hash
from predscope.services.rows import row_documents
from tests.sdk.sdk_data import ONTOLOGY, UNITS


def test_documents_draw_what_the_rows_hold(store_url: str) -> None:
    with Client(store_url) as client:
        project = client.create_project("P", ontology=ONTOLOGY)
        project.add_data(UNITS)
        rows = {r.data_title: r for r in project.list_label_rows_v2(branch_name="model")}
        ontology = project.ontology_structure
        box = ontology.get_child_by_title("box")
        poly = ontology.get_child_by_title("poly")
        image, video = rows["a.jpg"], rows["clip.mp4"]
        for row in (image, video):
            row.initialise_labels()
        first = poly.create_instance()
        square = [PointCoordinate(0.1, 0.1), PointCoordinate(0.5, 0.1), PointCoordinate(0.5, 0.5)]
        first.set_for_frames(PolygonCoordinates(values=square), frames=0)
        image.add_object_instance(first)
        for frames, conf in (([0, 3, 4], 0.9), ([3], 0.4)):  # two objects share frame 3
            inst = box.create_instance()
            for f in frames:
                coords = BoundingBoxCoordinates(
                    height=0.2, width=0.3, top_left_x=0.1 * f, top_left_y=0.4
                )
                inst.set_for_frames(coords, frames=f, confidence=conf)
            video.add_object_instance(inst)
        image.save()
        video.save()

        store, record = client.store, project.record
        hashes = [r.data_hash for r in rows.values()]
        documents = row_documents(store, record, "model", hashes)
        assert set(documents) == {image.data_hash, video.data_hash}  # b, c: no row on "model"
        assert documents[video.data_hash]["label_hash"] == video.label_hash

        units = units_by_hash(store, record, hashes)
        drawn = unit_frames(
            store,
            record,
            list(units.values()),
            branch=None,
            against="model",
            iou=0.5,
            all_frames=True,
        )
        for row in (image, video):
            unit = units[row.data_hash]
            expected: dict[int, list[tuple[str, str, object]]] = {}
            for inst in row.get_object_instances():  # the LabelRowV2 reading of the same row
                for ann in inst.get_annotations():
                    shape = to_shape(ann.coordinates, *frame_size(unit, ann.frame))
                    expected.setdefault(ann.frame, []).append(
                        (inst.object_hash, inst.ontology_item.title, shape)
                    )
            got = {
                f.index: [(o.object_id, o.class_name, o.shape) for o in f.frame.objects]
                for f in drawn[row.data_hash]
                if f.frame.objects
            }
            assert got == expected
        assert len(expected[3]) == 2


def test_a_bad_branch_name_is_refused(store_url: str) -> None:
    with Client(store_url) as client:
        project = client.create_project("P", ontology=ONTOLOGY)
        with pytest.raises(BranchNameError):
            row_documents(client.store, project.record, "", [])
