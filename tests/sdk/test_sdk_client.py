"""Client and project lookup: locations, ontology forms, titles and hashes, closing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import predscope
from predscope.exceptions import (
    InvalidArgumentsError,
    OntologyError,
    ResourceExistsError,
    ResourceNotFoundError,
    StoreError,
)
from predscope.objects.ontology_structure import OntologyStructure
from predscope.sdk.client import Client
from tests.sdk.sdk_data import ONTOLOGY


def test_folder_location_creates_sqlite_store(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "store"
    with Client(folder) as client:
        client.create_project("p", ontology=ONTOLOGY)
    assert (folder / "predscope.db").is_file()
    with Client(folder) as again:
        assert [p.title for p in again.list_projects()] == ["p"]


def test_default_location_is_predscope_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREDSCOPE_HOME", str(tmp_path / "home"))
    with predscope.Client() as client:
        client.create_project("from-env", ontology=ONTOLOGY)
    assert (tmp_path / "home" / "predscope.db").is_file()


def test_ontology_forms_round_trip(client: Client, tmp_path: Path) -> None:
    path = tmp_path / "ontology.json"
    path.write_text(json.dumps(ONTOLOGY))
    from_dict = client.create_project("dict", ontology=ONTOLOGY)
    from_path = client.create_project("path", ontology=path)
    from_str = client.create_project("str", ontology=str(path))
    structure = OntologyStructure.from_dict(ONTOLOGY)
    from_struct = client.create_project("struct", ontology=structure)
    for p in (from_dict, from_path, from_str, from_struct):
        reopened = client.get_project(p.project_hash)
        assert reopened.ontology_structure.to_dict() == structure.to_dict()
        assert [o.title for o in reopened.ontology_structure.objects] == ["box", "mask", "poly"]


def test_get_project_by_hash_or_title(client: Client) -> None:
    created = client.create_project("Cars", ontology=ONTOLOGY, description="d")
    by_title = client.get_project("Cars")
    by_hash = client.get_project(created.project_hash)
    assert by_title.project_hash == by_hash.project_hash == created.project_hash
    assert by_hash.title == "Cars" and by_hash.description == "d"
    with pytest.raises(ResourceNotFoundError, match="'cars'.*Cars"):
        client.get_project("cars")  # titles are case-sensitive; the error lists known titles


def test_duplicate_title_is_refused(client: Client) -> None:
    client.create_project("same", ontology=ONTOLOGY)
    with pytest.raises(ResourceExistsError, match="same"):
        client.create_project("same", ontology=ONTOLOGY)
    assert len(client.list_projects()) == 1


def test_bad_ontologies_are_refused_before_the_project_exists(
    client: Client, tmp_path: Path
) -> None:
    with pytest.raises(InvalidArgumentsError, match="cannot read"):
        client.create_project("missing", ontology=tmp_path / "nope.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(InvalidArgumentsError, match="not valid JSON"):
        client.create_project("broken", ontology=broken)
    with pytest.raises(InvalidArgumentsError, match="got list"):
        client.create_project("list", ontology=[1, 2])  # type: ignore[arg-type]
    top_list = tmp_path / "list.json"
    top_list.write_text("[]")
    with pytest.raises(InvalidArgumentsError, match="not an object"):
        client.create_project("top-list", ontology=top_list)
    assert client.list_projects() == []


def test_ontology_envelope_is_unwrapped(client: Client) -> None:
    p = client.create_project("wrapped", ontology={"title": "x", "editor": ONTOLOGY})
    assert p.ontology_structure.get_child_by_title("box").feature_node_hash == "Ym94MDAx"
    with pytest.raises(OntologyError):
        p.ontology_structure.get_child_by_title("no such thing")


def test_closed_client_refuses_work(tmp_path: Path) -> None:
    client = Client(tmp_path)
    client.close()
    client.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        client.list_projects()
    assert "closed" in repr(client)
