from __future__ import annotations

import wave
from pathlib import Path

import av
import numpy as np
import pytest

from predscope.exceptions import MediaError
from predscope.services.media import probe_media

IMAGES = Path(__file__).resolve().parents[2] / "data" / "skimage-images" / "images"

# Sizes and colour from data/skimage-images/SOURCE.md (width x height).
EXPECTED = {
    "astronaut.png": (512, 512, "RGB", "image/png"),
    "coffee.png": (600, 400, "RGB", "image/png"),
    "chelsea.png": (451, 300, "RGB", "image/png"),
    "rocket.jpg": (640, 427, "RGB", "image/jpeg"),
    "coins.png": (384, 303, "L", "image/png"),
    "page.png": (384, 191, "L", "image/png"),
    "camera.png": (512, 512, "L", "image/png"),
    "hubble_deep_field.jpg": (1000, 872, "RGB", "image/jpeg"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_images(name: str) -> None:
    info = probe_media(IMAGES / name)
    width, height, mode, mime = EXPECTED[name]
    assert (info.data_type, info.width, info.height, info.mode, info.mime_type) == (
        "image",
        width,
        height,
        mode,
        mime,
    )
    assert info.number_of_frames == 1
    assert info.display_size == (width, height)


def test_exif_rotation_is_noted(tmp_path: Path) -> None:
    from PIL import Image

    img = Image.new("RGB", (30, 20))
    exif = img.getexif()
    exif[0x0112] = 6
    img.save(tmp_path / "rot.jpg", exif=exif)
    info = probe_media(tmp_path / "rot.jpg")
    assert (info.width, info.height, info.exif_orientation) == (30, 20, 6)
    assert info.display_size == (20, 30)


def _make_video(path: Path, frames: int, fps: int) -> None:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(
                np.full((48, 64, 3), i * 10, dtype=np.uint8), format="rgb24"
            )
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def test_video(tmp_path: Path) -> None:
    _make_video(tmp_path / "clip.mp4", frames=12, fps=6)
    info = probe_media(tmp_path / "clip.mp4")
    assert (info.data_type, info.width, info.height) == ("video", 64, 48)
    assert info.number_of_frames == 12
    assert info.frames_per_second == pytest.approx(6.0)
    assert info.duration == pytest.approx(2.0, abs=0.2)
    assert info.mime_type == "video/mp4"


def test_wav_audio(tmp_path: Path) -> None:
    rate, seconds = 8000, 0.75
    samples = (np.sin(np.arange(int(rate * seconds)) / 5) * 3000).astype("<i2")
    with wave.open(str(tmp_path / "tone.wav"), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.repeat(samples, 2).tobytes())
    info = probe_media(tmp_path / "tone.wav")
    assert info.data_type == "audio" and info.mime_type in {"audio/x-wav", "audio/wav"}
    assert (info.audio_sample_rate, info.audio_num_channels, info.audio_bit_depth) == (8000, 2, 16)
    assert info.audio_codec == "pcm_s16le"
    assert info.duration == pytest.approx(seconds, abs=0.01)
    assert info.width is None and info.number_of_frames is None


def test_unreadable_files_name_the_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"this is not media at all" * 10)
    with pytest.raises(MediaError, match="junk.png"):
        probe_media(junk)
    with pytest.raises(MediaError, match="missing.jpg: no such file"):
        probe_media(tmp_path / "missing.jpg")
