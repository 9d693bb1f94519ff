"""``--download-media``: the files behind a synced project's media links, fetched into a folder.

Only http(s) links are fetched (Encord's are signed URLs that expire); a link that is a path on
the source's machine cannot be, and stays as it is, named in the report. A file is written under a
temporary name and renamed when complete, named by the data unit's (or image's) hash, so a later
sync finds it and an interrupted one leaves no half file under the real name. Every file is
probed before the sync writes anything: a download that is not media stops the sync.
"""

from __future__ import annotations

import mimetypes
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from predscope.exceptions import InvalidArgumentsError, MediaError, SyncSourceError
from predscope.store.records import NewDataUnit, NewImage

TIMEOUT_S = 60.0
_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,8}$")


def is_url(link: str | None) -> bool:
    return bool(link) and urlsplit(str(link)).scheme in ("http", "https")


def _suffix(link: str, mime: str | None) -> str:
    """The file's extension from its link, else its MIME type; "" when neither tells."""
    suffix = PurePosixPath(urlsplit(link).path).suffix
    if _SUFFIX.match(suffix):
        return suffix.lower()
    return (mimetypes.guess_extension(mime) or "") if mime else ""


def _fetch(link: str, folder: Path, name: str, suffix: str, what: str) -> Path:
    """Download ``link`` to ``folder/name+suffix`` (the suffix from the file itself when not
    known); a file an earlier sync fetched under that name is kept."""
    earlier = sorted(folder.glob(f"{name}.*")) if folder.is_dir() else []
    if earlier:
        return earlier[0]  # named by hash, which never changes
    folder.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=".part-", dir=folder)
    try:
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(link, timeout=TIMEOUT_S) as got:
            shutil.copyfileobj(got, out, 1 << 20)
        from predscope.services.media import probe_media

        info = probe_media(partial)
        target = folder / f"{name}{suffix or mimetypes.guess_extension(info.mime_type) or '.bin'}"
        os.replace(partial, target)
        return target
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise SyncSourceError(
            f"{what}: downloading {link} failed ({exc}) - check that the link is reachable from "
            "here (signed links expire: sync again), or sync without --download-media"
        ) from None
    except MediaError as exc:
        raise SyncSourceError(
            f"{what}: {link} is not an image, video or audio file ({exc})"
        ) from None
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


def download_media(
    units: Sequence[NewDataUnit],
    folder: Path,
    advance: Callable[[int], None] = lambda n: None,
    skipped: list[str] | None = None,
) -> list[NewDataUnit]:
    """``units`` with every http(s) link replaced by the downloaded file's absolute path; links
    that are not URLs are kept and named in ``skipped``."""
    out: list[NewDataUnit] = []
    for unit in units:
        where = f"data unit {unit.data_title!r} ({unit.data_hash})"
        if unit.images:
            images: list[NewImage] = []
            for frame, image in enumerate(unit.images):
                images.append(_image(image, folder, f"{where}, image {frame}", skipped))
                advance(1)
            out.append(replace(unit, images=tuple(images)))
            continue
        link = unit.data_link
        if is_url(link):
            assert link is not None
            suffix = _suffix(link, unit.mime_type)
            target = _fetch(link, folder, str(unit.data_hash), suffix, where)
            unit = replace(unit, data_link=str(target.resolve()))
        elif link and skipped is not None:
            skipped.append(f"{unit.data_title}: its link is not a URL ({link}); kept as given")
        out.append(unit)
        advance(1)
    return out


def _image(image: NewImage, folder: Path, where: str, skipped: list[str] | None) -> NewImage:
    link = image.data_link
    if not is_url(link):
        if skipped is not None:
            skipped.append(
                f"{image.title}: its link is not a URL ({link}); kept as given"
                if link
                else f"{where}: the source gave no link (an image group's links come with its "
                "labels)"
            )
        return image
    assert link is not None
    suffix = _suffix(link, image.mime_type)
    target = _fetch(link, folder, str(image.image_hash), suffix, where)
    return replace(image, data_link=str(target.resolve()))


def media_count(units: Sequence[NewDataUnit]) -> int:
    return sum(len(u.images) or 1 for u in units)


def default_media_dir(store_url: str, project_hash: str) -> Path:
    """``media/<project hash>`` beside a SQLite store's database; a server database has no
    folder of its own, so the caller must name one."""
    from sqlalchemy.engine import make_url

    url = make_url(store_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise InvalidArgumentsError(
            "sync encord --download-media: this store is not a folder - name one with --media-dir"
        )
    return Path(url.database).resolve().parent / "media" / project_hash
