"""Projects and their data units, as the SDK, CLI and server share them.

An ontology arrives in any of the forms users hold (an Encord ontology JSON dict, a path to one, an
``OntologyStructure``); it is parsed once here so that a broken ontology is refused before the
project exists, and stored as the Encord JSON it round-trips to.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Sequence as SequenceABC
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

import orjson

from predscope.exceptions import (
    InvalidArgumentsError,
    MediaError,
    ResourceExistsError,
)
from predscope.objects.ontology_structure import OntologyStructure
from predscope.services import history
from predscope.services.progress import Advance, Progress, no_progress, progress_steps
from predscope.store import data_units as unit_repo
from predscope.store import projects as project_repo
from predscope.store.data_units import UNIT_COLUMNS, UnitKey
from predscope.store.engine import Store
from predscope.store.records import DATA_TYPES, DataUnitRecord, NewDataUnit, NewImage, ProjectRecord

OntologyInput = OntologyStructure | Mapping[str, Any] | str | os.PathLike[str]
DataItem = str | os.PathLike[str] | Mapping[str, Any] | NewDataUnit

_UNIT_FIELDS = (*UNIT_COLUMNS, "data_hash")  # what a dict may give besides title/type/images


MEDIA_SUFFIXES = frozenset(
    {
        ".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp",
        ".mp4", ".mov", ".avi", ".mkv", ".webm",
        ".wav", ".mp3", ".flac", ".ogg", ".m4a",
    }
)  # fmt: skip
TITLE_FROM = ("relative", "name")


@dataclass(frozen=True, slots=True)
class MediaFile:
    """A media file to register under ``title`` (found in a folder, or given directly)."""

    path: Path
    title: str


@dataclass(frozen=True, slots=True)
class SkippedItem:
    """An item that was already registered: the unit that holds it, and the file."""

    data_title: str
    data_hash: str
    data_link: str | None


@dataclass(frozen=True)
class AddDataReport(SequenceABC[DataUnitRecord]):
    """What ``add_data`` did; iterating it (or indexing) gives the units added, in order."""

    added: list[DataUnitRecord]
    skipped: list[SkippedItem] = field(default_factory=list)

    @overload
    def __getitem__(self, index: int) -> DataUnitRecord: ...
    @overload
    def __getitem__(self, index: slice) -> list[DataUnitRecord]: ...
    def __getitem__(self, index: int | slice) -> DataUnitRecord | list[DataUnitRecord]:
        return self.added[index]

    def __len__(self) -> int:
        return len(self.added)

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": len(self.added),
            "skipped": len(self.skipped),
            "skipped_items": [
                {"data_title": s.data_title, "data_hash": s.data_hash, "data_link": s.data_link}
                for s in self.skipped
            ],
        }


def expand_items(items: Sequence[DataItem], title_from: str = "relative") -> list[Any]:
    """Folders become their media files (recursively, in path order); paths become ``MediaFile``.

    ``title_from="relative"``: a file found in a folder is titled by its path inside the folder
    (``cam1/0001.png``); ``"name"``: by its file name. A file given directly keeps its name.
    """
    if title_from not in TITLE_FROM:
        raise InvalidArgumentsError(
            f"add data: title_from={title_from!r} (--title-from) is not a title rule - use "
            "'relative' (the path inside the folder, the default) or 'name' (the file name)"
        )
    out: list[Any] = []
    for item in items:
        if isinstance(item, MediaFile) or not isinstance(item, (str, os.PathLike)):
            out.append(item)
            continue
        text = os.fspath(item)
        path = Path(text).expanduser()
        if "://" in text or not path.is_dir():
            out.append(MediaFile(path, path.name) if "://" not in text else item)
            continue
        found = sorted(
            p
            for p in path.rglob("*")
            if p.suffix.lower() in MEDIA_SUFFIXES
            and p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        if not found:
            raise InvalidArgumentsError(
                f"add data: folder {path} holds no media files (searched recursively for "
                f"{', '.join(sorted(MEDIA_SUFFIXES))}) - pass media files or a folder of them"
            )
        for p in found:
            title = p.relative_to(path).as_posix() if title_from == "relative" else p.name
            out.append(MediaFile(p, title))
    return out


def ontology_to_dict(ontology: OntologyInput) -> dict[str, Any]:
    """The Encord ontology JSON of ``ontology``, validated by parsing it."""
    if isinstance(ontology, OntologyStructure):
        return ontology.to_dict()
    if isinstance(ontology, Mapping):
        raw: Any = dict(ontology)
        where = "ontology dict"
    elif isinstance(ontology, (str, os.PathLike)):
        path = Path(ontology).expanduser()
        where = str(path)
        try:
            raw = orjson.loads(path.read_bytes())
        except OSError as exc:
            raise InvalidArgumentsError(
                f"ontology {where}: cannot read the file ({exc.strerror}) - pass an existing "
                "Encord ontology JSON file, a dict or an OntologyStructure"
            ) from exc
        except orjson.JSONDecodeError as exc:
            raise InvalidArgumentsError(
                f"ontology {where}: not valid JSON ({exc}) - export the ontology as JSON again"
            ) from exc
    else:
        raise InvalidArgumentsError(
            f"ontology: got {type(ontology).__name__} - pass an Encord ontology JSON dict, a path "
            "to one, or an OntologyStructure"
        )
    if isinstance(raw, dict) and "editor" in raw and "objects" not in raw:
        raw = raw["editor"]  # the ontology endpoint's envelope
    if not isinstance(raw, dict):
        raise InvalidArgumentsError(
            f"ontology {where}: the top level is a {type(raw).__name__}, not an object with "
            "'objects' and 'classifications'"
        )
    OntologyStructure.from_dict(raw)
    return raw


def create_project(
    store: Store, title: str, ontology: OntologyInput, description: str = ""
) -> ProjectRecord:
    ontology_dict = ontology_to_dict(ontology)
    with store.begin() as conn:
        return project_repo.create_project(conn, title, ontology_dict, description)


def get_project(store: Store, hash_or_title: str) -> ProjectRecord:
    with store.read() as conn:
        return project_repo.get_project(conn, str(hash_or_title))


def list_projects(store: Store) -> list[ProjectRecord]:
    with store.read() as conn:
        return project_repo.list_projects(conn)


def list_data_units(store: Store, project: ProjectRecord) -> list[DataUnitRecord]:
    with store.read() as conn:
        return unit_repo.list_data_units(conn, project.id)


def units_by_hash(
    store: Store, project: ProjectRecord, data_hashes: Sequence[str]
) -> dict[str, DataUnitRecord]:
    """The project's units with these hashes, in one read (unknown hashes are left out)."""
    if not data_hashes:
        return {}
    with store.read() as conn:
        units = unit_repo.list_data_units(
            conn, project.id, data_hashes=list(dict.fromkeys(data_hashes))
        )
    return {u.data_hash: u for u in units}


def _probe(path: str | os.PathLike[str], title: str | None = None) -> NewDataUnit:
    """A unit titled ``title`` (default: the file name), linked to the absolute path, sized as
    stored on disk."""
    # Imported here: probing pulls in Pillow and PyAV, which dict-only callers never need.
    from predscope.services.media import probe_media

    text = os.fspath(path)
    if "://" in str(text):
        raise MediaError(
            f"{text}: media given as a URL cannot be probed (predscope reads media metadata from "
            "local files) - register it with a dict: {'title': ..., 'data_link': '<the URL>', "
            "'width': ..., 'height': ...} (plus number_of_frames/frames_per_second for video)"
        )
    info = probe_media(Path(path))
    extra: dict[str, Any] = {}
    if info.exif_orientation is not None:
        extra["exif_orientation"] = info.exif_orientation
    return NewDataUnit(
        data_title=title or info.path.name,
        data_type=info.data_type,
        data_link=str(info.path.resolve()),
        mime_type=info.mime_type,
        width=info.width,
        height=info.height,
        number_of_frames=info.number_of_frames,
        frames_per_second=info.frames_per_second,
        duration=info.duration,
        audio_sample_rate=info.audio_sample_rate,
        audio_codec=info.audio_codec,
        audio_bit_depth=info.audio_bit_depth,
        audio_num_channels=info.audio_num_channels,
        extra=extra or None,
    )


def _image_of(item: Any, where: str) -> NewImage:
    if isinstance(item, NewImage):
        return item
    if isinstance(item, Mapping):
        title = item.get("title") or item.get("data_title")
        width, height = item.get("width"), item.get("height")
        if not isinstance(title, str) or not isinstance(width, int) or not isinstance(height, int):
            raise InvalidArgumentsError(
                f"{where}: an image dict needs 'title' (str), 'width' and 'height' (int)"
            )
        return NewImage(
            title=title,
            width=width,
            height=height,
            data_link=item.get("data_link"),
            mime_type=item.get("mime_type"),
        )
    unit = _probe(item)
    if unit.data_type != "image" or unit.width is None or unit.height is None:
        raise MediaError(
            f"{where}: {os.fspath(item)} is a {unit.data_type}, not an image - an image group "
            "holds images only"
        )
    return NewImage(
        title=unit.data_title,
        width=unit.width,
        height=unit.height,
        data_link=unit.data_link,
        mime_type=unit.mime_type,
    )


def image_group_unit(title: str, images: Sequence[Any], where: str = "image group") -> NewDataUnit:
    """An ``img_group`` unit whose frames are ``images`` (paths or image dicts) in order."""
    if not isinstance(title, str) or not title:
        raise InvalidArgumentsError(f"{where}: the title must be a non-empty string")
    if isinstance(images, (str, bytes)) or not images:
        raise InvalidArgumentsError(
            f"{where} {title!r}: 'images' must be a non-empty list of image paths or dicts"
        )
    frames = [_image_of(image, f"{where} {title!r} image #{i}") for i, image in enumerate(images)]
    return NewDataUnit(data_title=title, data_type="img_group", images=frames)


def _unit_from_dict(item: Mapping[str, Any], index: int) -> NewDataUnit:
    where = f"data item #{index}"
    title = item.get("title", item.get("data_title"))
    if "images" in item:
        return image_group_unit(str(title) if title else "", item["images"], where)
    if not isinstance(title, str) or not title:
        raise InvalidArgumentsError(f"{where}: a dict needs a non-empty 'title'")
    data_type = str(item.get("data_type", "image")).lower()
    if data_type not in DATA_TYPES:
        raise InvalidArgumentsError(
            f"{where} ({title!r}): data_type {data_type!r} is not one of "
            f"{', '.join(sorted(DATA_TYPES))}"
        )
    if data_type == "image" and not (
        isinstance(item.get("width"), int) and isinstance(item.get("height"), int)
    ):
        raise InvalidArgumentsError(
            f"{where} ({title!r}): an image needs integer 'width' and 'height' - give its size "
            "or pass the file path to have it read"
        )
    known = {"title", "data_title", "data_type", "images", *_UNIT_FIELDS}
    extra = {k: v for k, v in item.items() if k not in known}
    fields: dict[str, Any] = {name: item.get(name) for name in _UNIT_FIELDS}
    return NewDataUnit(data_title=title, data_type=data_type, extra=extra or None, **fields)


def to_new_units(items: Iterable[DataItem], advance: Advance = no_progress) -> list[NewDataUnit]:
    if isinstance(items, (str, bytes, os.PathLike, Mapping)):
        raise InvalidArgumentsError(
            "add_data: pass a list of items (paths or dicts), not a single item"
        )
    units: list[NewDataUnit] = []
    for index, item in enumerate(items):
        if isinstance(item, NewDataUnit):
            units.append(item)
        elif isinstance(item, Mapping):
            units.append(_unit_from_dict(item, index))
        elif isinstance(item, MediaFile):
            units.append(_probe(item.path, item.title))
        elif isinstance(item, (str, os.PathLike)):
            units.append(_probe(item))
        else:
            raise InvalidArgumentsError(
                f"data item #{index}: {type(item).__name__} is not a path or a dict - pass media "
                "paths, or dicts with title/width/height"
            )
        advance()
    return units


def add_data(
    store: Store,
    project: ProjectRecord,
    items: Iterable[DataItem],
    *,
    title_from: str = "relative",
    progress: Progress | None = None,
    origin: str = history.PYTHON,
) -> AddDataReport:
    """Register media as data units, in one transaction; returns what was added and skipped.

    Folders are walked recursively; with ``title_from="relative"`` (the default) a file found in a
    folder is titled by its path inside it (``cam1/0001.png``), with ``"name"`` by its file name.
    A file already registered in the project is skipped (counted in the report); a new unit whose
    title another unit has is refused, naming both, and nothing is added.

    >>> report = add_data(store, project, ["images/"])  # doctest: +SKIP
    >>> len(report.added), len(report.skipped)  # doctest: +SKIP
    (120, 0)
    """
    if isinstance(items, (str, bytes, os.PathLike, Mapping)):
        raise InvalidArgumentsError(
            "add_data: pass a list of items (paths, folders or dicts), not a single item"
        )
    expanded = expand_items(list(items), title_from)
    with store.read() as conn:
        known = unit_repo.unit_keys(conn, project.id)
    by_link = {k.data_link: k for k in known if k.data_link}
    # Files already registered are skipped before they are probed (re-adding a folder is cheap).
    skipped: list[SkippedItem] = []
    fresh: list[Any] = []
    seen_links: dict[str, str] = {}
    for item in expanded:
        link = _link_of(item)
        if link is not None:
            earlier = by_link.get(link)
            if earlier is not None:
                skipped.append(SkippedItem(earlier.data_title, earlier.data_hash, link))
                continue
            if link in seen_links:
                skipped.append(SkippedItem(seen_links[link], "", link))
                continue
            seen_links[link] = _title_hint(item)
        fresh.append(item)
    with progress_steps(progress, f"reading {len(fresh)} media files", len(fresh)) as advance:
        units = to_new_units(fresh, advance)
    with store.begin() as conn:
        project_repo.lock_project(conn, project.id)
        known = unit_repo.unit_keys(conn, project.id)  # again, under the lock
        units, more = _drop_registered(units, known)
        skipped.extend(more)
        added = unit_repo.add_data_units(conn, project.id, units)
        if added:
            details = {"added": len(added), "skipped": len(skipped)}
            history.record(
                conn, project, "add data", f"{len(added)} data units", details, origin=origin
            )
    return AddDataReport(added, skipped)


def _link_of(item: Any) -> str | None:
    if isinstance(item, MediaFile):
        return str(item.path.resolve())
    if isinstance(item, (str, os.PathLike)) and "://" not in os.fspath(item):
        return str(Path(item).expanduser().resolve())
    if isinstance(item, Mapping) and isinstance(item.get("data_link"), str):
        return str(item["data_link"])
    if isinstance(item, NewDataUnit):
        return item.data_link
    return None


def _title_hint(item: Any) -> str:
    if isinstance(item, MediaFile):
        return item.title
    if isinstance(item, Mapping):
        return str(item.get("title") or item.get("data_title") or "")
    if isinstance(item, NewDataUnit):
        return item.data_title
    return Path(item).name


def _same_unit(unit: NewDataUnit, key: UnitKey) -> bool:
    """A dict-registered unit given again exactly (title, type, link, size): a no-op."""
    return (unit.data_type, unit.data_link, unit.width, unit.height) == (
        key.data_type,
        key.data_link,
        key.width,
        key.height,
    )


def _drop_registered(
    units: list[NewDataUnit], known: Sequence[UnitKey]
) -> tuple[list[NewDataUnit], list[SkippedItem]]:
    """Split off units already in the project; refuse a title two different units would share."""
    by_title: dict[str, UnitKey] = {}
    for key in known:
        by_title.setdefault(key.data_title, key)
    by_link = {k.data_link: k for k in known if k.data_link}
    keep: list[NewDataUnit] = []
    skipped: list[SkippedItem] = []
    new_titles: dict[str, NewDataUnit] = {}
    for unit in units:
        if unit.data_link and unit.data_link in by_link:
            earlier = by_link[unit.data_link]
            skipped.append(SkippedItem(earlier.data_title, earlier.data_hash, unit.data_link))
            continue
        clash = by_title.get(unit.data_title)
        if clash is not None:
            if unit.data_type != "img_group" and _same_unit(unit, clash):
                skipped.append(SkippedItem(clash.data_title, clash.data_hash, unit.data_link))
                continue
            raise ResourceExistsError(
                f"add data: title {unit.data_title!r} ({unit.data_link or 'no file'}) is already "
                f"the title of data unit {clash.data_hash} ({clash.data_link or 'no file'}); two "
                "units with one title would make imports by file name ambiguous - nothing was "
                "added: add the folder that holds the files (titles keep their relative path, "
                "e.g. cam1/0001.png) or give the unit another title"
            )
        twin = new_titles.get(unit.data_title)
        if twin is not None:
            raise ResourceExistsError(
                f"add data: {twin.data_link or 'an item'} and {unit.data_link or 'another item'} "
                f"would both be titled {unit.data_title!r} - nothing was added: add the folder "
                "that holds them (titles keep their relative path, e.g. cam1/0001.png) or give "
                "them distinct titles"
            )
        new_titles[unit.data_title] = unit
        keep.append(unit)
    return keep, skipped


def add_image_group(
    store: Store, project: ProjectRecord, title: str, images: Sequence[Any]
) -> DataUnitRecord:
    unit = image_group_unit(title, images)
    with store.begin() as conn:
        project_repo.lock_project(conn, project.id)
        _drop_registered([unit], unit_repo.unit_keys(conn, project.id))  # refuses a taken title
        return unit_repo.add_data_units(conn, project.id, [unit])[0]
