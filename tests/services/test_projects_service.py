"""Project service: ontology inputs, data items turned into units, listing."""

from __future__ import annotations

from pathlib import Path

import pytest

from predscope.exceptions import InvalidArgumentsError, OntologyError
from predscope.objects.ontology_structure import OntologyStructure
from predscope.services import projects as project_service
from predscope.store.engine import open_store
from predscope.store.records import NewDataUnit

DATA = Path(__file__).resolve().parents[2] / "data"
ALL_TYPES = DATA / "encord-label-rows" / "ontology_all_types_dict.json"


def test_ontology_file_round_trips_through_a_project(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s")
    try:
        record = project_service.create_project(store, "all types", ALL_TYPES, "desc")
        expected = OntologyStructure.from_dict(project_service.ontology_to_dict(ALL_TYPES))
        assert OntologyStructure.from_dict(record.ontology).to_dict() == expected.to_dict()
        assert project_service.get_project(store, "all types").project_hash == record.project_hash
        assert [p.title for p in project_service.list_projects(store)] == ["all types"]
    finally:
        store.close()


def test_a_broken_ontology_is_refused() -> None:
    broken = {
        "objects": [{"id": "1", "name": "x", "shape": "no-such-shape", "featureNodeHash": "h"}]
    }
    with pytest.raises((OntologyError, InvalidArgumentsError, ValueError)):
        project_service.ontology_to_dict(broken)
    with pytest.raises(InvalidArgumentsError, match="got int"):
        project_service.ontology_to_dict(5)  # type: ignore[arg-type]


def test_items_become_units() -> None:
    units = project_service.to_new_units(
        [
            {
                "title": "v.mp4",
                "data_type": "VIDEO",
                "width": 8,
                "height": 4,
                "number_of_frames": 3,
            },
            {"data_title": "a.jpg", "width": 1, "height": 2, "data_link": "s3://b/a.jpg"},
            NewDataUnit(data_title="raw", data_type="image", width=3, height=3),
            {"title": "g", "images": [{"title": "f0", "width": 2, "height": 2}]},
        ]
    )
    assert [(u.data_title, u.data_type) for u in units] == [
        ("v.mp4", "video"),
        ("a.jpg", "image"),
        ("raw", "image"),
        ("g", "img_group"),
    ]
    assert units[0].number_of_frames == 3 and units[1].data_link == "s3://b/a.jpg"
    with pytest.raises(InvalidArgumentsError, match="#1"):
        project_service.to_new_units([{"title": "ok", "width": 1, "height": 1}, 42])  # type: ignore[list-item]
    with pytest.raises(InvalidArgumentsError, match="non-empty 'title'"):
        project_service.to_new_units([{"width": 1, "height": 1}])
    with pytest.raises(InvalidArgumentsError, match="image dict needs"):
        project_service.to_new_units([{"title": "g", "images": [{"title": "f0"}]}])
