"""The streamed listing prints exactly what the whole-branch listing printed, on the shipped data.

The reference below is the listing as it was built before streaming: every row decoded into
``LabelRowV2``, listed through its instances, turned into dicts by ``asdict`` and written by
``json.dumps(indent=2)``. ``predscope labels`` now reads documents in batches, lists plain rows
straight from their JSON and writes as it goes; its bytes must not differ.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from predscope.cli.app import main
from predscope.cli.common import to_json_text
from predscope.formats.json_text import write_json_array
from predscope.objects.coordinates import BoundingBoxCoordinates
from predscope.services.exports import listing_documents
from predscope.services.exports.coco import write_coco_export
from predscope.services.exports.listing import (
    iter_listing,
    listing_lines,
    load_stored_rows,
    row_listing,
)
from predscope.services.projects import get_project
from predscope.store.engine import Store, open_store
from predscope.store.records import ProjectRecord
from tests.services.coco_fixtures import DATA

ENCORD = DATA / "encord-label-rows"


def projects(store: Store) -> list[ProjectRecord]:
    from predscope.services.projects import list_projects

    return list(list_projects(store))


def reference_json(store: Store, project: ProjectRecord) -> str:
    rows = load_stored_rows(store, project, all_branches=True)
    return to_json_text([asdict(row_listing(r)) for r in rows]) + "\n"


def reference_text(store: Store, project: ProjectRecord) -> str:
    rows = load_stored_rows(store, project, all_branches=True)
    return "".join(line + "\n" for line in listing_lines([row_listing(r) for r in rows]))


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    try:
        main(args)
    except SystemExit as exc:
        assert not exc.code
    return capsys.readouterr().out


def test_labels_json_is_byte_for_byte_the_whole_listing(
    location: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_store(location) as store:
        titles = [p.title for p in projects(store)]
        assert len(titles) == 4
        for title in titles:
            project = get_project(store, title)
            expected = reference_json(store, project)
            got = cli(["labels", title, "--all-branches", "--json", "--store", location], capsys)
            assert got == expected, title
            assert json.loads(got)  # every project lists rows


def test_text_listing_is_line_for_line_the_whole_listing(
    location: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_store(location) as store:
        for project in projects(store):
            expected = reference_text(store, project)
            got = cli(["labels", project.title, "--all-branches", "--store", location], capsys)
            assert got == expected, project.title


def test_batches_of_any_size_list_the_same_rows(location: str) -> None:
    with open_store(location) as store:
        project = get_project(store, "coco")
        texts = []
        for batch in (1, 7, 10_000):
            parts: list[str] = []
            rows = iter_listing(store, project, all_branches=True, batch_rows=batch)
            assert write_json_array(rows, parts.append) == 298  # 100 images, 3 branches
            texts.append("".join(parts))
        assert texts[0] == texts[1] == texts[2] == reference_json(store, project)[:-1]


def test_plain_rows_are_listed_from_their_documents(
    location: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The document path really runs (boxes, masks), and rows with answers take the decoder."""
    seen: list[bool] = []
    real = listing_documents.listing_from_document

    def spy(*args: object) -> object:
        listed = real(*args)  # type: ignore[arg-type]
        seen.append(listed is not None)
        return listed

    monkeypatch.setattr(listing_documents, "listing_from_document", spy)
    with open_store(location) as store:
        for branch in ("bbox", "segm"):
            seen.clear()
            list(iter_listing(store, get_project(store, "coco"), branch_name=branch))
            assert seen and all(seen), branch
        seen.clear()
        list(iter_listing(store, get_project(store, "encord")))  # attributes, classifications
        assert seen == [False]


@pytest.mark.parametrize(
    "box", [(0.5, 0.25, 0.1, 0.2), (1, 0, 0, 1), (1e-05, 0.3333333333333333, 0.0, 1.0)]
)
def test_box_text_is_the_coordinates_repr(box: tuple[float, float, float, float]) -> None:
    coordinates, text = listing_documents._box(dict(zip("hwxy", box, strict=True)))
    expected = BoundingBoxCoordinates(*box)
    assert text == repr(expected)
    assert coordinates == {"boundingBox": dict(zip("hwxy", box, strict=True))}


def test_an_unplain_document_falls_back(tmp_path: Path) -> None:
    """Bad geometry is left to the decoder, which reports it; the document path never guesses."""
    from predscope.objects.ontology_structure import OntologyStructure

    ontology = OntologyStructure.from_dict(
        json.loads((ENCORD / "ontology_all_types_dict.json").read_text())
    )
    kinds = listing_documents.ObjectKinds(ontology)
    head = ("t", "h", "image", "main", "l")
    box = next(iter(kinds.by_hash))
    entry = {"objectHash": "o", "featureHash": box, "boundingBox": {"h": 2.0, "w": 0.1}}
    document = {"data_units": {"u": {"labels": {"objects": [entry]}}}}
    assert listing_documents.listing_from_document(head, document, kinds) is None
    entry["boundingBox"] = {"h": 0.5, "w": 0.1, "x": 0.1, "y": 0.1}
    listed = listing_documents.listing_from_document(head, document, kinds)
    assert listed is not None and listed.objects[0].annotations[0].confidence == 1.0
    assert listing_documents.listing_from_document(head, {}, kinds) == listed.__class__(
        *head, [], []
    )


def test_coco_export_from_documents_equals_the_decoded_export(
    location: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plain rows exported straight from their JSON give the bytes of the decoder's export."""
    import io

    from predscope.services.exports import coco

    def exports(store: Store) -> list[bytes]:
        out = []
        for title, branch in (("coco", "main"), ("coco", "bbox"), ("coco", "segm")):
            for results in (False, True):
                buffer = io.BytesIO()
                project = get_project(store, title)
                write_coco_export(store, project, buffer, branch_name=branch, results=results)
                out.append(buffer.getvalue())
        return out

    def decoder_only(*args: object) -> object:
        raise listing_documents.NotPlain

    with open_store(location) as store:
        fast = exports(store)
        monkeypatch.setattr(coco, "plain_objects", decoder_only)
        assert exports(store) == fast
        assert all(len(b) > 1000 for b in fast)
