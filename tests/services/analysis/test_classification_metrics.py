"""Frame-level radio and checklist metrics read from stored rows: a small project whose answers
give figures worked out by hand."""

from __future__ import annotations

from typing import Any

import pytest

from predscope.objects.classification import Classification
from predscope.sdk.client import Client
from predscope.sdk.project import Project
from predscope.services.analysis.classifications import classification_metrics
from predscope.services.analysis.inputs import branch_records, frame_table

ONTOLOGY: dict[str, Any] = {
    "objects": [
        {"id": "1", "name": "car", "color": "#D33115", "shape": "bounding_box",
         "featureNodeHash": "0bj3ct01"},
    ],
    "classifications": [
        {"id": "2", "featureNodeHash": "w3ath3r0", "attributes": [
            {"id": "2.1", "name": "weather", "type": "radio", "featureNodeHash": "w3ath3r1",
             "required": False, "options": [
                 {"id": "2.1.1", "label": "sunny", "value": "sunny", "featureNodeHash": "sunny001"},
                 {"id": "2.1.2", "label": "rainy", "value": "rainy", "featureNodeHash": "rainy001"},
                 {"id": "2.1.3", "label": "cloudy", "value": "cloudy",
                  "featureNodeHash": "cloudy01"}]}]},
        {"id": "3", "featureNodeHash": "tags0000", "attributes": [
            {"id": "3.1", "name": "tags", "type": "checklist", "featureNodeHash": "tags0001",
             "required": False, "options": [
                 {"id": "3.1.1", "label": "a", "value": "a", "featureNodeHash": "tag0000a"},
                 {"id": "3.1.2", "label": "b", "value": "b", "featureNodeHash": "tag0000b"},
                 {"id": "3.1.3", "label": "c", "value": "c", "featureNodeHash": "tag0000c"}]}]},
        {"id": "4", "featureNodeHash": "n0t3s000", "attributes": [
            {"id": "4.1", "name": "notes", "type": "text", "featureNodeHash": "n0t3s001",
             "required": False}]},
    ],
}  # fmt: skip

# image -> (weather, confidence) and (tags, confidence); None: not answered
GT = {
    "1.jpg": ("sunny", {"a", "b"}),
    "2.jpg": ("sunny", {"a"}),
    "3.jpg": ("rainy", None),
    "4.jpg": (None, {"c"}),
}
PRED = {
    "1.jpg": (("sunny", 0.9), ({"a"}, 0.7)),
    "2.jpg": (("rainy", 0.6), ({"a", "b"}, 0.5)),
    "3.jpg": (("rainy", 0.8), ({"c"}, 0.4)),
    "4.jpg": (("cloudy", 0.3), None),
}


def _answer(project: Project, row: Any, title: str, value: Any, confidence: float) -> None:
    question = project.ontology_structure.get_child_by_title(title, type_=Classification)
    attribute = question.attributes[0]
    wanted = value if isinstance(value, set) else {value}
    options = [o for o in attribute.options if o.value in wanted]
    instance = question.create_instance()
    instance.set_answer(options if isinstance(value, set) else options[0])
    instance.set_for_frames(frames=0, confidence=confidence)
    row.add_classification_instance(instance)


def _fill(project: Project, branch: str, answers: dict[str, Any], scored: bool) -> None:
    for row in project.list_label_rows_v2(branch_name=branch):
        row.initialise_labels()
        weather, tags = answers[row.data_title]
        if scored:
            weather, w_conf = weather if weather else (None, 1.0)
            tags, t_conf = tags if tags else (None, 1.0)
        else:
            w_conf = t_conf = 1.0
        if weather:
            _answer(project, row, "weather", weather, w_conf)
        if tags:
            _answer(project, row, "tags", tags, t_conf)
        row.save()


@pytest.fixture
def metrics(store_url: str) -> dict[str, dict[str, Any]]:
    with Client(store_url) as client:
        project = client.create_project("weather", ontology=ONTOLOGY)
        project.add_data([{"title": t, "width": 64, "height": 48} for t in GT])
        _fill(project, "main", GT, scored=False)
        _fill(project, "model", PRED, scored=True)
        store, record = client.store, project.record
        with store.read() as conn:
            gt = branch_records(conn, record, "main")
            pred = branch_records(conn, record, "model")
            docs = classification_metrics(conn, record.ontology, gt, pred, frame_table(gt))
    return {d["name"]: d for d in docs}


def test_radio_figures_are_those_worked_out_by_hand(metrics: dict[str, dict[str, Any]]) -> None:
    assert set(metrics) == {"weather", "tags"}  # text classifications are not scored
    radio = metrics["weather"]
    assert radio["kind"] == "radio" and radio["images"] == 4
    assert radio["accuracy"] == 0.5  # 1.jpg and 3.jpg right; 2.jpg wrong; 4.jpg has no GT
    per = {c["name"]: c for c in radio["per_class"]}
    assert (per["sunny"]["tp"], per["sunny"]["fp"], per["sunny"]["fn"]) == (1, 0, 1)
    assert (per["rainy"]["tp"], per["rainy"]["fp"], per["rainy"]["fn"]) == (1, 1, 0)
    assert (per["cloudy"]["tp"], per["cloudy"]["fp"], per["cloudy"]["support"]) == (0, 1, 0)
    assert per["sunny"]["AP"] == 0.5  # the one sunny prediction (0.9) is right: recall 1/2
    assert per["rainy"]["AP"] == 1.0  # 3.jpg (0.8) ranks above the wrong 2.jpg (0.6)
    assert per["cloudy"]["AP"] is None  # no GT of it
    rows, cols = radio["confusion_rows"], radio["confusion_columns"]
    assert rows[-1] == cols[-1] == "(none)"
    cell = {
        (rows[i], cols[j]): n for i, r in enumerate(radio["confusion"]) for j, n in enumerate(r)
    }
    assert cell[("sunny", "rainy")] == 1 and cell[("(none)", "cloudy")] == 1


def test_checklist_figures_are_those_worked_out_by_hand(
    metrics: dict[str, dict[str, Any]],
) -> None:
    checklist = metrics["tags"]
    assert checklist["kind"] == "checklist" and checklist["images"] == 4
    assert checklist["accuracy"] == 0.0  # no image has exactly the GT's set
    per = {c["name"]: c for c in checklist["per_class"]}
    assert (per["a"]["tp"], per["a"]["fp"], per["a"]["fn"]) == (2, 0, 0)
    assert (per["b"]["tp"], per["b"]["fp"], per["b"]["fn"]) == (0, 1, 1)
    assert (per["c"]["tp"], per["c"]["fp"], per["c"]["fn"]) == (0, 1, 1)
    assert checklist["micro"]["precision"] == 2 / 4 and checklist["micro"]["recall"] == 2 / 4


def test_a_stored_run_keeps_them_and_the_summary_page_shows_them(tmp_path: Any) -> None:
    """Through ``predscope analyse`` and the real server: the metrics document carries the same
    figures, and the summary page draws one section per classification."""
    import re

    import httpx

    from predscope.services.analysis.metrics import get_metrics
    from predscope.services.analysis.runs import analyse
    from tests.server.live import live_server

    folder = tmp_path / "store"
    with Client(folder) as client:
        project = client.create_project("weather", ontology=ONTOLOGY)
        project.add_data([{"title": t, "width": 64, "height": 48} for t in GT])
        _fill(project, "main", GT, scored=False)
        _fill(project, "model", PRED, scored=True)
        analyse(client.store, project.record, "model")
        doc = get_metrics(client.store, project.record, "model")
        project_hash = project.project_hash
    stored = {c["name"]: c for c in doc["classifications"]}
    assert stored["weather"]["accuracy"] == 0.5 and stored["tags"]["accuracy"] == 0.0
    assert stored["weather"]["images_predicted"] == 4
    assert stored["weather"]["images_with_ground_truth"] == 3
    with live_server(str(folder), tmp_path / "server-tmp") as server:
        page = httpx.get(f"{server.url}/p/{project_hash}/summary?set=model").text
    sections = re.findall(r'data-testid="classification" data-name="([^"]+)"', page)
    assert sections == ["weather", "tags"]
    assert "accuracy 0.500" in page and "accuracy 0.000 (exact set)" in page
    weather = page[page.index('data-name="weather"') : page.index('data-name="tags"')]
    sunny = re.search(r"<tr>\s*<td[^>]*>sunny</td>(.*?)</tr>", weather, re.S)
    assert sunny is not None
    values = re.findall(r'data-value="([^"]+)"', sunny.group(1))
    assert values[4:8] == ["1", "0", "1", "2"]  # TP, FP, FN, support
    assert 'data-testid="classification-confusion"' in weather
