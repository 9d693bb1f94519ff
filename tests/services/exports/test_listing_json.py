"""``listing_json`` writes the bytes the encoder wrote, on the shipped data and on generated rows.

``predscope labels --json`` writes plain rows from templates (``iter_listing_json``); the reference
is ``json_text.write_json_array`` over ``iter_listing`` (itself compared with the whole-branch
``json.dumps`` listing in test_listing_stream.py). Generated documents mix boxes, polygons,
objects with attributes, multi-frame objects, odd types (int coordinates and confidences, bools,
NaN), bad geometry and unicode, so both the template and every fall-back are exercised.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from predscope.formats.json_text import Raw, encode_indented, write_json_array
from predscope.objects.ontology_structure import OntologyStructure
from predscope.services.exports import listing_json
from predscope.services.exports.listing import iter_listing
from predscope.services.exports.listing_documents import ObjectKinds, listing_from_document
from predscope.services.exports.listing_json import iter_listing_json, row_json
from predscope.services.projects import get_project, list_projects
from predscope.store.engine import open_store
from tests.services.coco_fixtures import DATA

ENCORD = DATA / "encord-label-rows"
ONTOLOGY = OntologyStructure.from_dict(
    json.loads((ENCORD / "ontology_all_types_dict.json").read_text())
)
KINDS = ObjectKinds(ONTOLOGY)
BOX, POLYGON, WITH_ATTRIBUTES = "MjI2NzEy", "ODkxMzAx", "MTA2MjAx"


def text(items: Any) -> str:
    parts: list[str] = []
    write_json_array(items, parts.append)
    return "".join(parts)


def test_shipped_rows_list_as_the_encoder_wrote_them(location: str) -> None:
    with open_store(location) as store:
        projects = list(list_projects(store))
        assert len(projects) == 4
        for project in projects:
            expected = text(iter_listing(store, project, all_branches=True))
            for batch in (1, 7, 10_000):
                got = text(iter_listing_json(store, project, all_branches=True, batch_rows=batch))
                assert got == expected, (project.title, batch)


def test_plain_rows_take_the_templates(location: str) -> None:
    """COCO boxes and masks come as text; the Encord rows (attributes, classifications) are
    decoded as before."""
    with open_store(location) as store:
        coco = list(iter_listing_json(store, get_project(store, "coco"), branch_name="bbox"))
        assert coco and all(type(item) is Raw for item in coco)
        encord = list(iter_listing_json(store, get_project(store, "encord")))
        assert encord and not any(type(item) is Raw for item in encord)


def test_the_template_is_the_encoders_text() -> None:
    """One plain box row by hand: the template path and the encoder agree, and the box really
    came from the template (not the fall-back)."""
    entry = {
        "objectHash": 'o"1\u00e9',
        "featureHash": BOX,
        "boundingBox": {"h": 0.25, "w": 1e-05, "x": 0.0, "y": 0.3333333333333333},
        "confidence": 0.5,
        "manualAnnotation": False,
    }
    document = {"data_units": {"u": {"labels": {"objects": [entry]}}}}
    head = ('t\u00fctle "q"', "h", "image", "main", "l")
    listing = listing_from_document(head, document, KINDS)
    assert listing is not None
    raw = row_json(head, document, KINDS, {})
    assert raw is not None and raw.text == encode_indented(listing, 1)
    kind = KINDS.by_hash[BOX]
    middle = listing_json._kind_text(kind)
    assert listing_json._object_text('o"1\u00e9', kind, middle, {0: entry}) in raw.text


NUMBER = st.one_of(
    st.floats(0.0, 1.0),
    st.floats(0.0, 1.0).map(lambda v: round(v, 3)),
    st.sampled_from([0, 1, 0.0, 1.0, 1e-05, 5e-324, 1 + 5e-10, -5e-10, 1 + 2e-9, -0.0]),
)
NUMBER = st.one_of(*[NUMBER] * 12, st.floats(-0.5, 1.5))  # out of range: the decoder says so
MISSING = object()


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.just(MISSING), strategy)


@st.composite
def entries(draw: st.DrawFn, hashes: list[str]) -> dict[str, Any]:
    feature = draw(st.sampled_from([BOX] * 12 + [POLYGON, POLYGON, WITH_ATTRIBUTES, "unknown"]))
    e: dict[str, Any] = {"objectHash": draw(st.sampled_from(hashes)), "featureHash": feature}
    shape = draw(st.sampled_from(["box"] * 12 + ["polygon", "polygon", "bad box", "none"]))
    if shape == "box":
        e["boundingBox"] = {k: draw(NUMBER) for k in ("h", "w", "x", "y")}
    elif shape == "polygon":
        points = draw(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=3, max_size=5))
        e["polygon"] = {str(i): {"x": x, "y": y} for i, (x, y) in enumerate(points)}
    elif shape == "bad box":
        e["boundingBox"] = draw(st.sampled_from([[0.1, 0.2], {"h": 0.5}, "box"]))
    confidence = draw(
        optional(st.one_of(*[st.floats(0, 1)] * 6, st.sampled_from([0, 1, True, float("nan")])))
    )
    if confidence is not MISSING:
        e["confidence"] = confidence
    manual = draw(optional(st.sampled_from([True, False] * 4 + [1, None])))
    if manual is not MISSING:
        e["manualAnnotation"] = manual
    return e


@st.composite
def documents(draw: st.DrawFn) -> tuple[tuple[str, str, str, str, str], dict[str, Any]]:
    data_type = draw(st.sampled_from(["image", "image", "img_group", "img_group", "video"]))
    hashes = draw(st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=4, unique=True))
    units = {}
    for i in range(draw(st.integers(1, 3)) if data_type == "img_group" else 1):
        objects = draw(st.lists(entries(hashes), max_size=4))
        units[f"u{i}"] = {"data_sequence": i, "labels": {"objects": objects}}
    document: dict[str, Any] = {"data_units": units}
    if draw(st.booleans()):
        document["object_answers"] = {h: {"classifications": []} for h in hashes}
    title = draw(st.text(max_size=5))
    return (title, "hash", data_type, "branch", "label"), document


@settings(max_examples=400, deadline=None)
@given(documents())
def test_generated_rows_list_as_the_encoder_writes_them(
    case: tuple[tuple[str, str, str, str, str], dict[str, Any]],
) -> None:
    head, document = case
    expected = listing_from_document(head, document, KINDS)
    got = row_json(head, document, KINDS, {})
    if expected is None:
        assert got is None  # the row needs the decoder, as before
    else:
        assert got is not None and got.text == encode_indented(expected, 1)


@pytest.mark.parametrize("batch", [1, 3])
def test_a_bad_project_or_branch_fails_before_the_first_write(location: str, batch: int) -> None:
    from predscope.exceptions import PredscopeError

    with open_store(location) as store:
        project = get_project(store, "coco")
        with pytest.raises(PredscopeError):
            iter_listing_json(store, project, branch_name="no-such-branch", batch_rows=batch)
