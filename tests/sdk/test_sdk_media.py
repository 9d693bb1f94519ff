"""add_data: real images probed with Pillow, video and audio with PyAV, dicts, image groups."""

from __future__ import annotations

import wave
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from predscope.exceptions import InvalidArgumentsError, MediaError
from predscope.objects.coordinates import BoundingBoxCoordinates
from predscope.sdk.client import Client
from predscope.sdk.project import Project
from tests.sdk.sdk_data import IMAGES, ONTOLOGY


@pytest.fixture
def empty(tmp_path: Path) -> Project:
    client = Client(tmp_path / "store")
    return client.create_project("media", ontology=ONTOLOGY)


def _video(path: Path, frames: int = 7, size: tuple[int, int] = (48, 32)) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=5)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(frames):
            img = np.full((size[1], size[0], 3), i * 30, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _wav(path: Path, seconds: float = 0.5, rate: int = 8000) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.zeros(int(seconds * rate), dtype=np.int16).tobytes())
    return path


def test_images_are_probed_for_their_size(empty: Project) -> None:
    paths = sorted(IMAGES.iterdir())
    units = empty.add_data(paths)
    assert [u.data_title for u in units] == [p.name for p in paths]
    for unit, path in zip(units, paths, strict=True):
        with Image.open(path) as img:
            assert (unit.width, unit.height) == img.size
        assert unit.data_type == "image" and unit.data_link == str(path.resolve())
    sizes = {u.data_title: (u.width, u.height) for u in empty.list_data_units()}
    assert sizes["rocket.jpg"] == (640, 427) and sizes["page.png"] == (384, 191)
    rows = empty.list_label_rows_v2()
    assert [(r.width, r.height, r.data_type) for r in rows][:1] == [(512, 512, "image")]


def test_video_and_audio_are_probed(empty: Project, tmp_path: Path) -> None:
    video = _video(tmp_path / "clip.mp4")
    audio = _wav(tmp_path / "tone.wav")
    v, a = empty.add_data([video, str(audio)])
    assert (v.data_type, v.width, v.height, v.number_of_frames) == ("video", 48, 32, 7)
    assert v.frames_per_second == pytest.approx(5.0)
    assert a.data_type == "audio" and a.audio_sample_rate == 8000
    assert a.duration == pytest.approx(0.5, abs=0.01)
    [row] = empty.list_label_rows_v2(data_title_eq="clip.mp4")
    assert row.number_of_frames == 7


def test_dicts_register_units_by_size_alone(empty: Project) -> None:
    [unit] = empty.add_data([{"title": "remote.jpg", "width": 10, "height": 20, "camera": "c1"}])
    assert (unit.width, unit.height, unit.data_link) == (10, 20, None)
    assert unit.extra == {"camera": "c1"}
    with pytest.raises(InvalidArgumentsError, match="integer 'width' and 'height'"):
        empty.add_data([{"title": "sizeless.jpg"}])
    with pytest.raises(InvalidArgumentsError, match="data_type"):
        empty.add_data([{"title": "x", "data_type": "hologram"}])
    with pytest.raises(InvalidArgumentsError, match="list of items"):
        empty.add_data("one/path.jpg")  # type: ignore[arg-type]
    with pytest.raises(MediaError, match="no such file"):
        empty.add_data(["/nonexistent/x.png"])
    assert len(empty.list_data_units()) == 1  # failed calls added nothing


def test_image_groups_from_dict_and_method(empty: Project, tmp_path: Path) -> None:
    paths = [IMAGES / "coins.png", IMAGES / "page.png", IMAGES / "camera.png"]
    [group] = empty.add_data([{"title": "scan", "images": paths}])
    other = empty.add_image_group(
        "sized",
        [{"title": "f0", "width": 8, "height": 6}, {"title": "f1", "width": 8, "height": 6}],
    )
    assert group.data_type == "img_group" and group.number_of_frames == 3
    assert [(i.title, i.width, i.height) for i in group.images] == [
        ("coins.png", 384, 303),
        ("page.png", 384, 191),
        ("camera.png", 512, 512),
    ]
    assert other.number_of_frames == 2
    [row] = empty.list_label_rows_v2(branch_name="preds", data_title_eq="scan")
    row.initialise_labels()
    assert row.data_type == "img_group" and row.number_of_frames == 3
    inst = row.ontology_structure.get_child_by_title("box").create_instance()
    inst.set_for_frames(
        BoundingBoxCoordinates(height=0.1, width=0.1, top_left_x=0.2, top_left_y=0.3),
        frames=2,
        confidence=0.42,
        manual_annotation=False,
    )
    row.add_object_instance(inst)
    row.save()
    [back] = empty.list_label_rows_v2(branch_name="preds", data_title_eq="scan")
    back.initialise_labels()
    [obj] = back.get_object_instances()
    assert [(a.frame, a.confidence) for a in obj.get_annotations()] == [(2, 0.42)]
    with pytest.raises(InvalidArgumentsError, match="non-empty list"):
        empty.add_image_group("empty", [])
    with pytest.raises(MediaError, match="not an image"):
        empty.add_image_group("mixed", [IMAGES / "coins.png", _wav(tmp_path / "x.wav")])
