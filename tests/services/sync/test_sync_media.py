"""``--download-media``: a synced project's http(s) media links fetched into a folder, from a real
HTTP server, with the files probed before anything is written."""

from __future__ import annotations

import functools
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from predscope.exceptions import SyncSourceError
from predscope.sdk.client import Client
from predscope.services.encord_keys import add_key
from predscope.services.imports.coco import import_coco
from predscope.services.imports.options import ImportOptions
from predscope.services.projects import add_data, add_image_group, create_project, list_projects
from predscope.services.sync.encord import sync_encord
from predscope.store.engine import open_store
from tests.server.encord.keys import make_key_pair
from tests.server.live import DATA, live_server
from tests.services.sync.test_sync_encord import Source

pytestmark = pytest.mark.slow

IMAGES = DATA / "images"


@pytest.fixture
def media_host(tmp_path: Path) -> Iterator[str]:
    """A plain HTTP server on loopback serving a copy of the photos, as a bucket would."""
    folder = tmp_path / "bucket"
    folder.mkdir()
    for path in IMAGES.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))

    class Quiet(http.server.ThreadingHTTPServer):
        def handle_error(self, request: object, client_address: object) -> None:
            pass

    server = Quiet(("127.0.0.1", 0), handler)
    server.RequestHandlerClass.log_message = lambda *a, **k: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _unit(name: str, base: str) -> dict[str, object]:
    with Image.open(IMAGES / name) as image:
        width, height = image.size
    return {"title": name, "data_link": f"{base}/{name}", "width": width, "height": height}


@pytest.fixture
def source(tmp_path: Path, media_host: str) -> Iterator[Source]:
    """A project whose media live behind URLs (as Encord's do), with ground truth on main."""
    store = str(tmp_path / "source")
    names = sorted(p.name for p in IMAGES.iterdir())
    with open_store(store) as opened:
        ontology = json.loads((DATA / "demo_ontology.json").read_text(encoding="utf-8"))
        project = create_project(opened, "bucket", ontology)
        add_data(opened, project, [_unit(n, media_host) for n in names])
        add_image_group(opened, project, "pair", [_unit("coins.png", media_host)])
        add_data(opened, project, [{"title": "local.png", "data_link": str(IMAGES / "page.png"),
                                    "width": 10, "height": 10}])  # fmt: skip
        import_coco(
            opened, project, DATA / "demo_ground_truth.json", ImportOptions(ground_truth=True)
        )
        key = make_key_pair(tmp_path / "keys")
        add_key(
            opened, key.public_line, user_email="m@example.com", projects=[project.project_hash]
        )
    with live_server(store, tmp_path / "server-tmp") as server:
        yield Source(server.url, store, project.project_hash, key)


def test_media_are_downloaded_only_when_asked(source: Source, tmp_path: Path) -> None:
    plain = str(tmp_path / "plain")
    with open_store(plain) as store:
        report = sync_encord(store, source.project_hash, source.key_text, domain=source.url)
    assert report.media_folder is None
    units = Client(plain).get_project(source.project_hash).list_data_units()
    assert all(u.data_link is None or "://" in u.data_link for u in units)
    assert not (tmp_path / "plain" / "media").exists()

    target, media = str(tmp_path / "target"), tmp_path / "media"
    with open_store(target) as store:
        report = sync_encord(
            store, source.project_hash, source.key_text, domain=source.url, media_dir=media
        )
    names = sorted(p.name for p in IMAGES.iterdir())
    assert report.media_downloaded == len(names) + 1  # local.png: its file, by a signed link
    [group] = [u for u in Client(target).get_project(source.project_hash).list_data_units()
               if u.data_type == "img_group"]  # fmt: skip
    assert report.media_not_downloaded == [
        f"data unit 'pair' ({group.data_hash}), image 0: the source gave no link (an image "
        "group's links come with its labels)",
    ]
    for unit in Client(target).get_project(source.project_hash).list_data_units():
        if unit.data_type == "img_group":  # unlabelled: the listing gives no links
            assert [i.data_link for i in unit.images] == [None]
            continue
        original = IMAGES / ("page.png" if unit.data_title == "local.png" else unit.data_title)
        link = unit.data_link
        assert link is not None and Path(link).parent == media.resolve()
        assert Path(link).read_bytes() == original.read_bytes()
    assert not list(media.glob(".part-*"))


def test_a_link_that_does_not_answer_stops_the_sync(
    source: Source, tmp_path: Path, media_host: str
) -> None:
    (tmp_path / "bucket" / "rocket.jpg").unlink()  # the bucket lost a file: HTTP 404
    target = str(tmp_path / "target")
    with open_store(target) as store:
        with pytest.raises(SyncSourceError) as caught:
            sync_encord(
                store,
                source.project_hash,
                source.key_text,
                domain=source.url,
                media_dir=tmp_path / "media",
            )
        assert f"{media_host}/rocket.jpg" in str(caught.value)
        assert "rocket.jpg" in str(caught.value)
        assert list_projects(store) == []


def test_the_command_downloads_beside_a_folder_store(source: Source, tmp_path: Path) -> None:
    from tests.services.sync.test_sync_encord import _cli

    folder = tmp_path / "store"
    base = ["sync", "encord", source.project_hash, "--domain", source.url, "--store", str(folder)]
    key = ["--key", str(source.key.private_path)]
    lone = _cli(*base, *key, "--media-dir", str(tmp_path / "m"))
    assert lone.returncode == 1 and "--media-dir is for --download-media" in lone.stderr
    done = _cli(*base, *key, "--download-media", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    media = folder / "media" / source.project_hash
    assert report["media_folder"] == str(media.resolve())
    assert sorted(p.name for p in media.iterdir()) == sorted(
        f"{u.data_hash}{Path(u.data_title).suffix}"
        for u in Client(str(folder)).get_project(source.project_hash).list_data_units()
        if u.data_type == "image"
    )
