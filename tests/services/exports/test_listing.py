"""The verify listing as plain data: rows on one or all branches, placeholders skipped."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from predscope.exceptions import InvalidArgumentsError
from predscope.objects.label_row import LabelRowV2
from predscope.objects.ontology_structure import OntologyStructure
from predscope.services.exports.listing import (
    listing_lines,
    listing_to_json,
    row_listing,
    verify_listing,
)
from predscope.services.imports.encord import import_encord
from predscope.services.imports.options import ImportOptions
from predscope.services.projects import add_data, create_project
from predscope.store.engine import Store, open_store

DATA = Path(__file__).resolve().parents[3] / "data" / "encord-label-rows"
GROUP = DATA / "label_row_image_group.json"


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    st = open_store(store_url)
    yield st
    st.close()


def group_row() -> LabelRowV2:
    ontology = OntologyStructure.from_dict(
        json.loads((DATA / "ontology_image_group.json").read_text())
    )
    return LabelRowV2.from_labels_dict(json.loads(GROUP.read_text()), ontology)


def test_row_listing_of_the_image_group_fixture() -> None:
    listing = row_listing(group_row())
    cars = next(o for o in listing.objects if o.object_hash == "ApGxvBOz")
    assert [a.frame for a in cars.annotations] == [0, 1, 2]
    assert cars.annotations[0].coordinates == {
        "boundingBox": {"h": 0.1277, "w": 0.0819, "x": 0.4421, "y": 0.2994}
    }
    assert cars.shape == "bounding_box"
    seg = next(o for o in listing.objects if o.object_hash == "85cl/EVa")
    assert seg.shape == "polygon" and [a.frame for a in seg.annotations] == [0]
    frames = {c.classification_hash: c.frames for c in listing.classifications}
    assert frames == {"LzoUFePR": [0], "mBR5wa0v": [1], "TyZQ6kOO": [2, 3, 4]}
    answers = {
        c.classification_hash: (c.answer_text, c.answer_hash) for c in listing.classifications
    }
    assert answers["LzoUFePR"] == ("true", "F/rpk4Fo")
    lines = listing_lines([listing])
    assert lines[0] == "Title: image-group-8375e, branch: main"
    assert lines.count("Classification appears on frame: 4") == 1
    (as_json,) = listing_to_json([listing])
    assert json.loads(json.dumps(as_json)) == as_json  # plain JSON data all the way down


def test_store_listing_branches_and_placeholders(store: Store) -> None:
    project = create_project(store, "g", DATA / "ontology_image_group.json")
    group = json.loads(GROUP.read_text())
    units = sorted(group["data_units"].values(), key=lambda u: int(u["data_sequence"]))
    images = [{"title": u["data_title"], "width": 952, "height": 678} for u in units]
    add_data(store, project, [{"title": "image-group-8375e", "images": images}])
    add_data(store, project, [{"title": "unlabelled.png", "width": 10, "height": 10}])
    assert verify_listing(store, project) == []
    import_encord(store, project, [GROUP], ImportOptions(branch="preds", branch_in_rows=True))
    assert verify_listing(store, project) == []
    (only,) = verify_listing(store, project, branch_name="preds")
    assert (only.data_title, only.branch_name, len(only.objects)) == (
        "image-group-8375e",
        "preds",
        2,
    )
    import_encord(store, project, [GROUP], ImportOptions(branch_in_rows=True))
    every = verify_listing(store, project, all_branches=True)
    assert [(r.data_title, r.branch_name) for r in every] == [
        ("image-group-8375e", "main"),
        ("image-group-8375e", "preds"),
    ]
    with pytest.raises(InvalidArgumentsError, match="not both"):
        verify_listing(store, project, branch_name="preds", all_branches=True)
