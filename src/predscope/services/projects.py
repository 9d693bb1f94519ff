"""Projects and their data units, as the SDK, CLI and server share them.

An ontology arrives in any of the forms users hold (an Encord ontology JSON dict, a path to one, an
``OntologyStructure``); it is parsed once here so that a broken ontology is refused before the
project exists, and stored as the Encord JSON it round-trips to.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from predscope.exceptions import InvalidArgumentsError, MediaError
from predscope.objects.ontology_structure import OntologyStructure
from predscope.services.progress import Advance, Progress, no_progress, progress_steps
from predscope.store import data_units as unit_repo
from predscope.store import projects as project_repo
from predscope.store.data_units import UNIT_COLUMNS
from predscope.store.engine import Store
from predscope.store.records import DATA_TYPES, DataUnitRecord, NewDataUnit, NewImage, ProjectRecord

OntologyInput = OntologyStructure | Mapping[str, Any] | str | os.PathLike[str]
DataItem = str | os.PathLike[str] | Mapping[str, Any] | NewDataUnit

_UNIT_FIELDS = (*UNIT_COLUMNS, "data_hash")  # what a dict may give besides title/type/images


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


def _probe(path: str | os.PathLike[str]) -> NewDataUnit:
    """A unit titled by the file name, linked to the absolute path, sized as stored on disk."""
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
        data_title=info.path.name,
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
    progress: Progress | None = None,
) -> list[DataUnitRecord]:
    """Register media (probed first, outside the transaction) as data units, in one transaction."""
    items = list(items) if not isinstance(items, str | bytes | os.PathLike | Mapping) else items
    total = len(items) if isinstance(items, list) else 0
    with progress_steps(progress, f"reading {total} media files", total) as advance:
        units = to_new_units(items, advance)
    with store.begin() as conn:
        return unit_repo.add_data_units(conn, project.id, units)


def add_image_group(
    store: Store, project: ProjectRecord, title: str, images: Sequence[Any]
) -> DataUnitRecord:
    unit = image_group_unit(title, images)
    with store.begin() as conn:
        return unit_repo.add_data_units(conn, project.id, [unit])[0]
