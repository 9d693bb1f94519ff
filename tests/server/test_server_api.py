"""The JSON API against a real server, on SQLite and PostgreSQL: the documents equal the Python
API's, uploads import as background jobs, bad input changes nothing, writers do not collide."""

from __future__ import annotations

import io
import json
import socket
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from predscope.sdk.client import Client
from tests.server.live import DATA, PROJECT, Server, upload, wait_job

pytestmark = pytest.mark.slow

HAAR = (DATA / "pred_opencv_haar_hog.json").read_bytes()
MEDIAPIPE = (DATA / "pred_mediapipe_0.10.21.json").read_bytes()


def _state(http: httpx.Client) -> dict[str, Any]:
    """Everything an import could change: branches with counts, jobs aside."""
    branches = http.get(f"/api/projects/{PROJECT}/branches").json()["items"]
    rows = {}
    for b in branches:
        page = http.get(f"/api/projects/{PROJECT}/branches/{b['name']}/label-rows?limit=1000")
        rows[b["name"]] = page.json()["items"]
    imports = http.get(f"/api/projects/{PROJECT}/imports").json()["items"]
    return {"branches": branches, "rows": rows, "imports": imports}


def test_documents_equal_the_python_api(served: tuple[Server, str]) -> None:
    server, store = served
    with server.client() as http:
        job = upload(http, HAAR, branch="haar", name="pred_opencv_haar_hog.json")
        assert job.status_code == 202, job.text
        assert job.headers["location"] == job.json()["url"]
        done = wait_job(http, job.json())
        assert done["status"] == "succeeded", done
        assert done["result"]["objects"] == 10 and done["result"]["branch_name"] == "haar"
        assert done["result"]["source"] == "pred_opencv_haar_hog.json"  # not the staging path
        assert done["done"] == done["total"] and done["total"]  # progress fed by the service
        projects = http.get("/api/projects").json()
        project = http.get(f"/api/projects/{PROJECT}").json()
        by_hash = http.get(f"/api/projects/{project['project_hash']}").json()
        ontology = http.get(f"/api/projects/{PROJECT}/ontology").json()
        units = http.get(f"/api/projects/{PROJECT}/data-units?limit=3&offset=2").json()
        branches = http.get(f"/api/projects/{PROJECT}/branches").json()["items"]
        pages = [
            http.get(f"/api/projects/{PROJECT}/branches/haar/label-rows?offset={o}&limit=4").json()
            for o in (0, 4, 8)
        ]
        jobs = http.get(f"/api/projects/{PROJECT}/jobs").json()["items"]
    with Client(store) as client:
        sdk = client.get_project(project["project_hash"])
        assert [p["title"] for p in projects["items"]] == [p.title for p in client.list_projects()]
        assert by_hash == project and project["title"] == sdk.title
        assert ontology == sdk.ontology_structure.to_dict()
        sdk_units = sdk.list_data_units()
        assert units["total"] == len(sdk_units) == 10
        assert [u["data_hash"] for u in units["items"]] == [u.data_hash for u in sdk_units[2:5]]
        assert [b["name"] for b in branches] == sdk.list_branches()
        assert branches[0]["name"] == "main" and "haar" in sdk.list_branches()
        haar = next(b for b in branches if b["name"] == "haar")
        assert haar["objects"] == 10 and haar["last_import"]["kind"] == "coco"
        rows = sdk.list_label_rows_v2(branch_name="haar")
        labelled = [r for r in rows if r.label_hash is not None]
        for row in labelled:
            row.initialise_labels()
        items = [item for p in pages for item in p["items"]]
        assert pages[0]["total"] == len(rows) == len(items)
        assert [i["data_hash"] for i in items] == [r.data_hash for r in rows]
        want = {r.label_hash: json.loads(json.dumps(r.to_encord_dict())) for r in labelled}
        got = {i["label_hash"]: i["document"] for i in items if i["label_hash"] is not None}
        assert got == want
        assert all(i["document"] is None for i in items if i["label_hash"] is None)
    assert jobs[0]["job_id"] == done["job_id"]


def test_errors_are_json_with_codes(served: tuple[Server, str]) -> None:
    server, _ = served
    with server.client() as http:
        cases = [
            (http.get("/api/projects/nope"), 404, "not_found"),
            (http.get("/api/jobs/0000"), 404, "not_found"),
            (http.get("/api/data-units/nope/media"), 404, "not_found"),
            (http.get(f"/api/projects/{PROJECT}/data-units/nope"), 404, "not_found"),
            (http.get(f"/api/projects/{PROJECT}/branches/nope/label-rows"), 404, "not_found"),
            (http.get("/api/no/such/route"), 404, "not_found"),
            (http.delete("/api/projects"), 405, "method_not_allowed"),
            (http.get(f"/api/projects/{PROJECT}/data-units?limit=abc"), 422, "invalid_arguments"),
            (upload(http, HAAR, fmt="yaml", branch="x"), 422, "invalid_arguments"),
            (upload(http, HAAR), 422, "invalid_arguments"),  # predictions need a branch
            (upload(http, HAAR, branch="bad name!"), 422, "invalid_branch_name"),
            (upload(http, b"", branch="x"), 422, "invalid_arguments"),
        ]
        for response, status, code in cases:
            assert response.status_code == status, response.text
            assert response.headers["content-type"].startswith("application/json")
            assert response.json()["error"]["code"] == code, response.text
            assert response.json()["error"]["message"]
        bad_limit = http.get(f"/api/projects/{PROJECT}/data-units?limit=0").json()["error"]
        assert bad_limit["parameter"] == "limit" and "'limit'" in bad_limit["message"]
        text = http.post(
            f"/api/projects/{PROJECT}/imports?format=coco&branch=x",
            content=HAAR,
            headers={"Content-Type": "text/plain"},
        )
        assert text.status_code == 422 and "Content-Type" in text.json()["error"]["message"]


def test_bad_uploads_change_nothing(served: tuple[Server, str]) -> None:
    server, _ = served
    with server.client() as http:
        before = _state(http)
        broken = json.loads(HAAR)
        broken[3]["bbox"] = [1, 2, "wide", 4]
        for body, params, code in [
            (b"[{not json", {"branch": "x"}, "import_format"),
            (json.dumps(broken).encode(), {"branch": "x"}, "import_format"),
            (b'{"not": "label rows"}', {"branch": "x", "fmt": "encord"}, "import_format"),
        ]:
            job = wait_job(http, upload(http, body, name="bad.json", **params).json())
            assert job["status"] == "failed" and job["error"]["code"] == code, job
            assert "bad.json" in job["error"]["message"] and "predscope-upload" not in str(job)
        assert _state(http) == before
        first = wait_job(http, upload(http, HAAR, branch="dup").json())
        again = wait_job(http, upload(http, HAAR, branch="dup").json())
        assert first["status"] == "succeeded"
        assert again["status"] == "failed" and again["error"]["code"] == "branch_has_labels"
        assert "replace=true" in again["error"]["message"]  # spelt as an HTTP client writes it
        swapped = wait_job(http, upload(http, HAAR, branch="dup", replace="true").json())
        assert swapped["status"] == "succeeded", swapped
    assert list(server.tmp.iterdir()) == []  # every staged upload was removed


def test_encord_upload_round_trips(served: tuple[Server, str]) -> None:
    server, store = served
    with server.client() as http:
        main = http.get(f"/api/projects/{PROJECT}/branches/main/label-rows?limit=1000").json()
        documents = [i["document"] for i in main["items"] if i["document"] is not None]
        job = upload(http, json.dumps(documents).encode(), fmt="encord", branch="copy")
        done = wait_job(http, job.json())
        assert done["status"] == "succeeded", done
        copy = http.get(f"/api/projects/{PROJECT}/branches/copy/label-rows?limit=1000").json()
    assert _objects(copy) == _objects(main)
    assert sum(len(v) for v in _objects(main).values()) == 11


def _objects(page: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    out = {}
    for item in page["items"]:
        if item["document"] is None:
            continue
        unit = item["document"]["data_units"][item["data_hash"]]
        objects = unit["labels"].get("objects", [])
        out[item["data_hash"]] = sorted((o["objectHash"], o["featureHash"]) for o in objects)
    return out


def test_two_clients_write_at_once(served: tuple[Server, str]) -> None:
    server, _ = served

    def send(args: tuple[bytes, str]) -> dict[str, Any]:
        body, branch = args
        with server.client() as http:
            return wait_job(http, upload(http, body, branch=branch).json())

    work = [(HAAR, "two-a"), (MEDIAPIPE, "two-b"), (HAAR, "two-c"), (MEDIAPIPE, "two-d")]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(send, work))
    assert [r["status"] for r in results] == ["succeeded"] * 4, results
    with server.client() as http:
        branches = {
            b["name"]: b for b in http.get(f"/api/projects/{PROJECT}/branches").json()["items"]
        }
    assert branches["two-a"]["objects"] == branches["two-c"]["objects"] == 10
    assert branches["two-b"]["objects"] == branches["two-d"]["objects"]
    assert branches["two-b"]["objects"] == results[1]["result"]["objects"] > 0


def test_disconnect_mid_upload_writes_nothing(served: tuple[Server, str]) -> None:
    server, _ = served
    with server.client() as http:
        before = _state(http)
        jobs_before = http.get(f"/api/projects/{PROJECT}/jobs").json()["total"]
    address = urlsplit(server.url)
    body = HAAR * 50
    with socket.create_connection((address.hostname, address.port)) as sock:
        head = (
            f"POST /api/projects/{PROJECT}/imports?format=coco&branch=cut HTTP/1.1\r\n"
            f"Host: {address.netloc}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        sock.sendall(head.encode() + body[: len(body) // 2])
    with server.client() as http:
        health = http.get("/api/health")  # the server lives on
        assert health.status_code == 200
        assert http.get(f"/api/projects/{PROJECT}/jobs").json()["total"] == jobs_before
        assert _state(http) == before
    deadline = time.monotonic() + 10
    while list(server.tmp.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(server.tmp.iterdir()) == []


VOC_XML = """<annotation><filename>astronaut.png</filename>
<size><width>512</width><height>512</height><depth>3</depth></size>
<object><name>face</name><difficult>0</difficult>
<bndbox><xmin>160</xmin><ymin>40</ymin><xmax>260</xmax><ymax>160</ymax></bndbox></object>
</annotation>"""


def _zip_bytes(members: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return buffer.getvalue()


def test_yolo_and_voc_zips(served: tuple[Server, str]) -> None:
    server, _ = served
    yolo = _zip_bytes(
        {
            "labels/classes.txt": "face\nperson\ntext\n",
            "labels/astronaut.txt": "0 0.41 0.2 0.2 0.24 0.9\n1 0.5 0.5 0.5 0.9 0.8\n",
            "labels/camera.txt": "1 0.5 0.5 0.6 0.9 0.7\n",
        }
    )
    voc = _zip_bytes({"astronaut.xml": VOC_XML})
    zip_type = {"Content-Type": "application/zip"}
    with server.client() as http:
        posted = http.post(
            f"/api/projects/{PROJECT}/imports",
            params={"format": "yolo", "branch": "yolo-zip", "filename": "labels.zip"},
            content=yolo,
            headers=zip_type,
        )
        done = wait_job(http, posted.json())
        assert done["status"] == "succeeded", done
        assert done["result"]["per_class"] == {"face": 1, "person": 2}
        posted = http.post(
            f"/api/projects/{PROJECT}/imports",
            params={"format": "voc", "branch": "voc-zip"},
            content=voc,
            headers=zip_type,
        )
        done = wait_job(http, posted.json())
        assert done["status"] == "succeeded", done
        rows = http.get(f"/api/projects/{PROJECT}/branches/voc-zip/label-rows").json()["items"]
        (row,) = [r for r in rows if r["document"] is not None]
        unit = row["document"]["data_units"][row["data_hash"]]
        (box,) = [o["boundingBox"] for o in unit["labels"]["objects"]]
        assert row["data_title"] == "astronaut.png"
        # VOC pixel indices are 1-based and inclusive (the importer's one_based default).
        assert box == pytest.approx({"x": 159 / 512, "y": 39 / 512, "w": 101 / 512, "h": 121 / 512})
        before = _state(http)
        evil = http.post(
            f"/api/projects/{PROJECT}/imports",
            params={"format": "yolo", "branch": "evil"},
            content=_zip_bytes({"../../escape.txt": "0 0.5 0.5 0.1 0.1"}),
            headers=zip_type,
        )
        failed = wait_job(http, evil.json())
        assert failed["status"] == "failed" and failed["error"]["code"] == "import_format"
        assert "leaves the archive" in failed["error"]["message"]
        json_as_zip = upload(http, b"[]", fmt="yolo", branch="x")
        assert json_as_zip.status_code == 422  # a zip format needs a zip body type
        assert _state(http) == before
    assert not (server.tmp.parent / "escape.txt").exists()


def test_analysis_over_http_equals_the_python_api(served: tuple[Server, str]) -> None:
    server, store = served
    with server.client() as http:
        done = wait_job(http, upload(http, MEDIAPIPE, branch="analysed").json())
        assert done["status"] == "succeeded", done
        missing = http.get(f"/api/projects/{PROJECT}/branches/analysed/metrics")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
        started = http.post(f"/api/projects/{PROJECT}/branches/analysed/analyses")
        assert started.status_code == 202, started.text
        run = wait_job(http, started.json())
        assert run["status"] == "succeeded", run
        assert run["kind"] == "analysis" and run["result"]["mode"] == "full"
        fps = http.get(
            f"/api/projects/{PROJECT}/branches/analysed/objects",
            params={"outcome": "FP", "iou_threshold": 0.75, "order_by": "-confidence"},
        ).json()
        units = http.get(f"/api/projects/{PROJECT}/branches/analysed/units?order_by=-fp").json()
        review = http.put(
            f"/api/projects/{PROJECT}/prediction-sets/analysed/review",
            json={"status": "in review", "notes": "checked faces"},
        )
        assert review.status_code == 200, review.text
        sets = http.get(f"/api/projects/{PROJECT}/prediction-sets").json()["items"]
        metrics = http.get(run["result"]["metrics_url"]).json()
        bad = http.get(
            f"/api/projects/{PROJECT}/branches/analysed/objects", params={"outcome": "maybe"}
        )
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_arguments"
        bad_iou = http.get(f"/api/projects/{PROJECT}/branches/analysed/objects?iou_threshold=2")
        assert bad_iou.json()["error"]["parameter"] == "iou_threshold"
    with Client(store) as client:
        sdk = client.get_project(client.list_projects()[0].project_hash)
        assert metrics == json.loads(httpx.Response(200, json=sdk.get_metrics("analysed")).text)
        want = sdk.query_objects("analysed", outcome="FP", iou_threshold=0.75)
        assert fps == json.loads(httpx.Response(200, json=want.to_dict()).text)
        assert fps["total"] == len(fps["items"]) > 0
        assert all(item["outcome"] == "FP" for item in fps["items"])
        want_units = sdk.query_data_units("analysed", order_by="-fp").to_dict()
        assert units == json.loads(httpx.Response(200, json=want_units).text)
        (analysed,) = [s for s in sets if s["branch"] == "analysed"]
        assert analysed["review"]["status"] == "in_review" if "review" in analysed else True
        assert sets == json.loads(httpx.Response(200, json=sdk.list_prediction_sets()).text)
