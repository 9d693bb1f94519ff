"""Media by data-unit id from a real server: the registered file's bytes, image-group frames by
index, thumbnails that fit their size and are cached; never a path a client names."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.server.live import DATA, PAIR, PROJECT, Server

pytestmark = pytest.mark.slow


def _units(server: Server) -> dict[str, dict[str, object]]:
    with server.client() as http:
        page = http.get(f"/api/projects/{PROJECT}/data-units?limit=100").json()
    return {u["data_title"]: u for u in page["items"]}


def test_media_is_the_registered_file(served: tuple[Server, str]) -> None:
    server, _ = served
    units = _units(server)
    with server.client() as http:
        for title in ("astronaut.png", "rocket.jpg"):
            unit = units[title]
            response = http.get(str(unit["media_url"]))
            assert response.status_code == 200
            assert response.content == (DATA / "images" / title).read_bytes()
            assert response.headers["content-type"] == unit["mime_type"]
        for index, name in enumerate(PAIR):
            frame = http.get(f"{units['pair']['media_url']}?frame={index}")
            assert frame.content == (DATA / "images" / name).read_bytes()
        outside = http.get(f"{units['pair']['media_url']}?frame=2").json()["error"]
        assert outside["code"] == "invalid_frame" and "0 to 1" in outside["message"]
        size_only = http.get(str(units["size-only.png"]["media_url"]))
        assert size_only.status_code == 404 and "size only" in size_only.json()["error"]["message"]
        negative = http.get(f"{units['pair']['media_url']}?frame=-1")
        assert negative.status_code == 422 and negative.json()["error"]["parameter"] == "frame"


def test_client_paths_are_never_opened(served: tuple[Server, str]) -> None:
    server, _ = served
    with server.client() as http:
        for attempt in (
            "/api/data-units/..%2F..%2Fetc%2Fpasswd/media",
            "/api/data-units/%2Fetc%2Fpasswd/media",
            "/api/data-units/astronaut.png/media",
            f"/api/data-units/{DATA / 'images' / 'astronaut.png'}/media",
        ):
            response = http.get(attempt)
            assert response.status_code == 404, attempt
            assert response.headers["content-type"].startswith("application/json"), attempt


def test_thumbnails_fit_and_are_cached(served: tuple[Server, str]) -> None:
    server, _ = served
    units = _units(server)
    with server.client() as http:
        url = str(units["chelsea.png"]["thumbnail_url"])
        first = http.get(f"{url}?size=64")
        assert first.status_code == 200 and first.headers["content-type"] == "image/jpeg"
        with Image.open(io.BytesIO(first.content)) as image:
            assert max(image.size) == 64 and image.format == "JPEG"
        with Image.open(DATA / "images" / "chelsea.png") as original:
            ratio = original.width / original.height
        assert abs(image.size[0] / image.size[1] - ratio) < 0.05
        again = http.get(f"{url}?size=64")
        assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
        cached = http.get(f"{url}?size=64", headers={"If-None-Match": first.headers["etag"]})
        assert cached.status_code == 304
        group = http.get(f"{units['pair']['thumbnail_url']}?frame=1&size=100")
        with Image.open(io.BytesIO(group.content)) as image:
            assert max(image.size) == 100
        too_big = http.get(f"{url}?size=5000").json()["error"]
        assert too_big["code"] == "invalid_arguments" and too_big["parameter"] == "size"
