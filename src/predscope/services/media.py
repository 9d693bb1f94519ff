"""Media probing: the metadata a data unit needs, read without decoding pixels or samples.

Images go through Pillow (the header only), video and audio through PyAV (container and stream
headers; frames are counted by demuxing packets only when the container does not say).
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from PIL import Image, UnidentifiedImageError

from predscope.exceptions import MediaError

# EXIF orientations 5-8 rotate the picture by 90 degrees, so the displayed size is transposed.
_EXIF_ORIENTATION_TAG = 0x0112
_TRANSPOSING_ORIENTATIONS = frozenset({5, 6, 7, 8})
# FFmpeg demuxers that accept arbitrary text or bytes: a match means "not media".
_NOT_MEDIA_DEMUXERS = frozenset({"tty", "data", "txt"})


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """``width``/``height`` are the stored pixel size; ``display_size`` applies EXIF rotation."""

    path: Path
    data_type: str  # "image", "video" or "audio"
    mime_type: str
    width: int | None = None
    height: int | None = None
    mode: str | None = None
    exif_orientation: int | None = None
    number_of_frames: int | None = None
    frames_per_second: float | None = None
    duration: float | None = None  # seconds
    audio_sample_rate: int | None = None
    audio_codec: str | None = None
    audio_bit_depth: int | None = None
    audio_num_channels: int | None = None

    @property
    def display_size(self) -> tuple[int | None, int | None]:
        if self.exif_orientation in _TRANSPOSING_ORIENTATIONS:
            return self.height, self.width
        return self.width, self.height


def probe_media(path: Path | str) -> MediaInfo:
    """Metadata of an image, video or audio file; ``MediaError`` names the file if unreadable."""
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"{path}: no such file - check the path (media are read where they are)")
    try:
        return _probe_image(path)
    except (UnidentifiedImageError, Image.DecompressionBombError):
        pass
    except OSError as exc:
        raise MediaError(f"{path}: cannot read the image header ({exc})") from exc
    return _probe_av(path)


def _probe_image(path: Path) -> MediaInfo:
    with Image.open(path) as img:
        orientation = img.getexif().get(_EXIF_ORIENTATION_TAG)
        mime = Image.MIME.get(img.format or "") or _guess_mime(path, "image/octet-stream")
        return MediaInfo(
            path=path,
            data_type="image",
            mime_type=mime,
            width=img.width,
            height=img.height,
            mode=img.mode,
            exif_orientation=int(orientation) if isinstance(orientation, int) else None,
            number_of_frames=1,
        )


def _guess_mime(path: Path, fallback: str) -> str:
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or fallback


def _seconds(value: int | None, time_base: Fraction | None) -> float | None:
    if value is None or time_base is None:
        return None
    return float(value * time_base)


def _probe_av(path: Path) -> MediaInfo:
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise MediaError(
            f"{path}: not a readable image, video or audio file ({exc}) - check the file or "
            "convert it to a common format (PNG, JPEG, MP4, WAV, MP3)"
        ) from exc
    with container:
        if container.format.name in _NOT_MEDIA_DEMUXERS:
            raise MediaError(
                f"{path}: not an image, video or audio file (FFmpeg reads it as "
                f"{container.format.name!r}) - check the file"
            )
        container_duration = (
            container.duration / av.time_base if container.duration is not None else None
        )
        if container.streams.video:
            return _video_info(path, container, container_duration)
        if container.streams.audio:
            return _audio_info(path, container, container_duration)
    raise MediaError(f"{path}: the file has neither a video nor an audio stream")


def _video_info(path: Path, container: Any, container_duration: float | None) -> MediaInfo:
    stream = container.streams.video[0]
    rate = stream.average_rate or stream.guessed_rate
    fps = float(rate) if rate else None
    duration = _seconds(stream.duration, stream.time_base) or container_duration
    frames = int(stream.frames or 0)
    if frames <= 0:
        frames = sum(1 for packet in container.demux(stream) if packet.size)
    if duration is None and fps:
        duration = frames / fps
    width, height = int(stream.codec_context.width or 0), int(stream.codec_context.height or 0)
    if width <= 0 or height <= 0 or frames <= 0:
        raise MediaError(
            f"{path}: the video stream has no frames or no size ({width}x{height}, {frames} "
            "frames) - check the file"
        )
    return MediaInfo(
        path=path,
        data_type="video",
        mime_type=_guess_mime(path, "video/mp4"),
        width=width,
        height=height,
        number_of_frames=frames,
        frames_per_second=fps,
        duration=duration,
    )


def _audio_info(path: Path, container: Any, container_duration: float | None) -> MediaInfo:
    stream = container.streams.audio[0]
    ctx = stream.codec_context
    codec = str(ctx.name) if ctx.name else None
    bits: int | None = None
    # Only uncompressed/lossless codecs have a meaningful bit depth; for others it is the decoder's.
    if codec and (codec.startswith("pcm_") or codec in {"flac", "alac"}):
        raw = getattr(ctx, "bits_per_raw_sample", 0) or 0
        bits = int(raw) if raw else (int(ctx.format.bits) if ctx.format is not None else None)
    layout = getattr(ctx, "layout", None)
    channels = getattr(layout, "nb_channels", None) or getattr(ctx, "channels", None)
    return MediaInfo(
        path=path,
        data_type="audio",
        mime_type=_guess_mime(path, "audio/mpeg"),
        duration=_seconds(stream.duration, stream.time_base) or container_duration,
        audio_sample_rate=int(ctx.sample_rate) if ctx.sample_rate else None,
        audio_codec=codec,
        audio_bit_depth=bits,
        audio_num_channels=int(channels) if channels else None,
    )
