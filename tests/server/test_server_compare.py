"""``GET /api/projects/{p}/compare`` against a real server, on SQLite and PostgreSQL: the document
equals the Python API's, the changed objects page, bad values are 422 naming the parameter."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from predscope.sdk.client import Client
from tests.server.live import DATA, PROJECT, Server, upload, wait_job

pytestmark = pytest.mark.slow

SETS = {"haar": "pred_opencv_haar_hog.json", "mediapipe": "pred_mediapipe_0.10.21.json"}


def _as_http(doc: dict[str, Any]) -> Any:
    return json.loads(httpx.Response(200, json=doc).text)


def _analysed(http: httpx.Client) -> None:
    for branch, name in SETS.items():
        done = wait_job(http, upload(http, (DATA / name).read_bytes(), branch=branch).json())
        assert done["status"] == "succeeded", done
        run = wait_job(
            http, http.post(f"/api/projects/{PROJECT}/branches/{branch}/analyses").json()
        )
        assert run["status"] == "succeeded", run


def test_compare_over_http_equals_the_python_api(served: tuple[Server, str]) -> None:
    server, store = served
    url = f"/api/projects/{PROJECT}/compare"
    with server.client() as http:
        _analysed(http)
        params: dict[str, Any] = {"a": "mediapipe", "b": "haar", "resamples": 200, "seed": 3}
        doc = http.get(url, params=params)
        assert doc.status_code == 200, doc.text
        pages = [
            http.get(url, params={**params, "iou_threshold": 0.5, "offset": o, "limit": 1}).json()
            for o in (0, 1)
        ]
        at_75 = http.get(url, params={**params, "iou_threshold": 0.75}).json()
        errors = {
            "same": http.get(url, params={**params, "b": "mediapipe"}),
            "unknown": http.get(url, params={**params, "b": "nope"}),
            "limit": http.get(url, params={**params, "limit": 0}),
            "iou": http.get(url, params={**params, "iou_threshold": 0.3}),
            "missing": http.get(url, params={"a": "haar"}),
            "project": http.get("/api/projects/nope/compare", params=params),
        }
    with Client(store) as client:
        sdk = client.get_project(PROJECT)
        want = sdk.compare_prediction_sets("mediapipe", "haar", n_resamples=200, seed=3)
        assert doc.json() == _as_http(want)
        want_75 = sdk.compare_prediction_sets(
            "mediapipe", "haar", n_resamples=200, seed=3, iou_threshold=0.75
        )
        assert at_75 == _as_http(want_75)
        for offset, page in enumerate(pages):
            assert page == _as_http(
                sdk.compare_prediction_sets(
                    "mediapipe", "haar", n_resamples=200, seed=3, offset=offset, limit=1
                )
            )
    body = doc.json()
    assert body["a"]["branch"] == "mediapipe" and body["b"]["branch"] == "haar"
    stats = body["stats"]["AP"]
    assert stats["delta"] == pytest.approx(stats["a"] - stats["b"])
    assert body["bootstrap"]["low"] <= body["bootstrap"]["estimate"] <= body["bootstrap"]["high"]
    changed = body["changed"]
    # mediapipe finds the camera man's face, which the Haar cascade misses.
    assert changed["found_by_a_missed_by_b"] >= 1
    everything = changed["examples_a_not_b"]
    assert len(everything) == changed["found_by_a_missed_by_b"]
    paged = [item for p in pages for item in p["changed"]["examples_a_not_b"]]
    assert paged == everything[:2]
    assert all(len(p["changed"]["examples_a_not_b"]) <= 1 for p in pages)
    assert errors["same"].status_code == 422
    assert errors["same"].json()["error"]["code"] == "invalid_arguments"
    assert errors["unknown"].status_code == 404, errors["unknown"].text
    for name, parameter in (("limit", "limit"), ("iou", "iou_threshold"), ("missing", "b")):
        assert errors[name].status_code == 422, errors[name].text
        assert errors[name].json()["error"]["parameter"] == parameter
    assert errors["project"].status_code == 404
