"""Media links through the real SDK: a unit's file is offered as a signed, expiring link on this
server (never the server's own path), which downloads without signing, and refuses alteration and
age."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from predscope.services.encord_keys import add_key
from predscope.services.projects import get_project
from predscope.store.engine import Store, open_store
from tests.server.encord.keys import KeyPair, make_key_pair
from tests.server.encord.live import serve_encord
from tests.server.live import DATA, build_project

pytestmark = pytest.mark.slow


@dataclass
class Served:
    url: str
    store: Store
    project_hash: str
    key: KeyPair
    offset: list[float]  # seconds added to the server's clock


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    import time

    folder = str(tmp_path / "store")
    project_hash = build_project(folder)
    key = make_key_pair(tmp_path / "keys")
    offset = [0.0]
    with open_store(folder) as store:
        add_key(store, key.public_line, user_email="m@example.com", projects=[project_hash])
        with serve_encord(store, clock=lambda: time.time() + offset[0]) as url:
            yield Served(url, store, project_hash, key, offset)


def _rows(s: Served) -> list[Any]:
    from encord import EncordUserClient

    client = EncordUserClient.create_with_ssh_private_key(
        s.key.private_path.read_text(encoding="ascii"), domain=s.url
    )
    project = client.get_project(s.project_hash)
    return list(project.list_label_rows_v2())


def test_links_are_signed_urls_that_download_the_registered_file(served: Served) -> None:
    rows = {r.data_title: r for r in _rows(served)}
    project = get_project(served.store, served.project_hash)
    with served.store.read() as conn:
        from predscope.store.data_units import list_data_units

        units = {u.data_title: u for u in list_data_units(conn, project.id)}
    chelsea = rows["chelsea.png"].data_link
    assert chelsea.startswith(f"{served.url}/v2/public/media/{served.project_hash}/")
    assert str(DATA) not in chelsea  # the server's own path is never shown
    got = httpx.get(chelsea)
    assert got.status_code == 200
    assert got.content == Path(str(units["chelsea.png"].data_link)).read_bytes()
    assert rows["size-only.png"].data_link is None  # registered by size: no media
    row = rows["pair"]  # an image group: each image its own link, in the row's labels
    row.initialise_labels()
    links = [e["data_link"] for e in row.to_encord_dict()["data_units"].values()]
    files = [i.data_link for i in units["pair"].images]
    assert len(links) == 2 and all("frame=" in link for link in links)
    assert {httpx.get(link).content for link in links} == {Path(f).read_bytes() for f in files}


def test_an_altered_or_expired_link_is_refused(served: Served) -> None:
    link = next(r.data_link for r in _rows(served) if r.data_title == "camera.png")
    other = next(r.data_hash for r in _rows(served) if r.data_title == "coins.png")
    camera = link.split("/v2/public/media/")[1].split("/")[1].split("?")[0]
    for changed in (
        link.replace(camera, other),  # another unit under the same signature
        link[:-4] + ("0000" if not link.endswith("0000") else "1111"),  # a forged signature
        link.replace("expires=", "expires=9"),  # a later expiry
    ):
        refused = httpx.get(changed)
        assert refused.status_code == 403, changed
        assert "media link" in refused.json()["message"]
    served.offset[0] = 2 * 3600  # two hours later
    late = httpx.get(link)
    assert late.status_code == 403 and "expired" in late.json()["message"]
