"""Media by data-unit id: the file a data unit was registered with, and cached thumbnails.

A client names a data unit (and a frame); the file opened is the ``data_link`` the store holds,
which the CLI or SDK registered from the user's own machine. No path sent by a client is ever
opened. Links that are URLs are not fetched (the server makes no outside requests).

Thumbnails are cached in memory, in a least-recently-used map bounded in bytes: a thumbnail is a
few kilobytes of JPEG, so the default 64 MB holds thousands (many grid pages), the cache needs no
folder (a PostgreSQL store has none), no clean-up and no invalidation across processes; the key
holds the file's size and modification time, so an edited file is re-rendered. Browsers cache
the answers too (``ETag``, ``Cache-Control``).
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from predscope.exceptions import FrameError, InvalidArgumentsError, MediaError
from predscope.exceptions import ResourceNotFoundError as NotFound
from predscope.store.engine import Store
from predscope.store.records import DataUnitRecord
from predscope.store.unit_lookup import units_with_hash


@dataclass(frozen=True, slots=True)
class MediaFile:
    path: Path
    mime_type: str | None
    frame: int | None  # the frame to take from a video, else None


def find_unit(store: Store, data_hash: str) -> DataUnitRecord:
    with store.read() as conn:
        units = units_with_hash(conn, data_hash)
    if not units:
        raise NotFound(f"data unit {data_hash!r}: no such data unit in any project")
    if len(units) > 1:
        raise InvalidArgumentsError(
            f"data unit {data_hash!r}: {len(units)} projects hold a unit with this hash - use "
            "/api/projects/{project}/data-units/{data_hash}/media"
        )
    return units[0]


def media_file(unit: DataUnitRecord, frame: int | None) -> MediaFile:
    """The local file behind ``unit`` (an image group's frame ``frame``)."""
    where = f"data unit {unit.data_hash} ({unit.data_title})"
    link, mime, video_frame = unit.data_link, unit.mime_type, None
    if unit.data_type == "img_group":
        index = frame or 0
        if not 0 <= index < len(unit.images):
            raise FrameError(
                f"{where}: frame {index} is outside the image group (0 to {len(unit.images) - 1})"
            )
        image = unit.images[index]
        link, mime = image.data_link, image.mime_type
    elif frame is not None:
        frames = unit.number_of_frames or 1
        if unit.data_type != "video" and frame != 0 or not 0 <= frame < frames:
            raise FrameError(f"{where}: frame {frame} is outside the data unit (0 to {frames - 1})")
        video_frame = frame if unit.data_type == "video" else None
    if not link:
        raise NotFound(f"{where}: registered without a media file (size only)")
    if "://" in link:
        raise NotFound(
            f"{where}: its media is a URL ({link}); the server does not fetch from outside - "
            "open the URL directly"
        )
    path = Path(link)
    if not path.is_absolute() or not path.is_file():
        raise NotFound(f"{where}: the media file {link} is no longer there - register it again")
    return MediaFile(path, mime, video_frame)


class ThumbnailCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[object, ...], bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, media: MediaFile, size: int) -> tuple[bytes, str]:
        """JPEG bytes of ``media`` fitted in ``size`` x ``size``, and their ETag."""
        stat = media.path.stat()
        key = (str(media.path), stat.st_mtime_ns, stat.st_size, media.frame, size)
        etag = f'"t{abs(hash(key)):x}"'
        with self._lock:
            data = self._items.get(key)
            if data is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return data, etag
            self.misses += 1
        data = render_thumbnail(media, size)
        with self._lock:
            if key not in self._items and len(data) <= self.max_bytes:
                self._items[key] = data
                self._bytes += len(data)
                while self._bytes > self.max_bytes:
                    _, old = self._items.popitem(last=False)
                    self._bytes -= len(old)
        return data, etag


def _open_frame(media: MediaFile) -> Image.Image:
    if media.frame is None:
        try:
            image = Image.open(media.path)
            image.load()
            return image
        except UnidentifiedImageError:
            pass  # a video registered as a single frame: decode it below
        except (OSError, Image.DecompressionBombError) as exc:
            raise MediaError(f"{media.path}: cannot read the image ({exc})") from exc
    return _video_frame(media.path, media.frame or 0)


def _video_frame(path: Path, index: int) -> Image.Image:
    import av  # PyAV only for videos

    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            for i, frame in enumerate(container.decode(stream)):
                if i >= index:
                    image: Image.Image = frame.to_image()  # type: ignore[no-untyped-call]
                    return image
    except (av.FFmpegError, OSError, IndexError) as exc:
        raise MediaError(f"{path}: cannot decode a video frame ({exc})") from exc
    raise FrameError(f"{path}: the video has no frame {index}")


def render_thumbnail(media: MediaFile, size: int) -> bytes:
    # Oriented as a browser shows the original file (it applies the EXIF orientation).
    image = ImageOps.exif_transpose(_open_frame(media))
    image.thumbnail((size, size))
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()
