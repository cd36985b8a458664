"""Small, real media files made on the fly for tests (never committed: the repo holds no binaries).

``make_video(path, seconds=2, fps=30, width=640, height=360, codec="h264", container=None)``
encodes ``seconds * fps`` frames of a moving colour gradient with PyAV and returns ``path``.
``container`` defaults from the suffix (``.mp4`` → mp4, ``.mov`` → mov, ``.webm`` → webm,
``.mkv`` → matroska). ``codec`` is a codec family TikTok names — ``h264``, ``hevc``, ``vp8``,
``vp9`` — or ``mpeg4`` (a codec TikTok does not accept, for rejection tests).
``make_image(path, width=1080, height=1920, fmt=None)`` writes a JPEG/PNG/WEBP with Pillow.
``make_not_a_video(path)`` writes a PNG under whatever name ``path`` has (e.g. ``x.mp4``).

Files stay small (a 2 s 640×360 h264 clip is a few tens of KB), so tests can make many.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

# Codec family → the FFmpeg encoder PyAV opens. libx264/libx265 need even dimensions with yuv420p.
_ENCODERS = {
    "h264": "libx264",
    "hevc": "libx265",
    "vp8": "libvpx",
    "vp9": "libvpx-vp9",
    "mpeg4": "mpeg4",
}
_CONTAINERS = {".mp4": "mp4", ".mov": "mov", ".webm": "webm", ".mkv": "matroska"}


def make_video(
    path: str | Path,
    seconds: float = 2,
    fps: int = 30,
    width: int = 640,
    height: int = 360,
    codec: str = "h264",
    container: str | None = None,
) -> Path:
    """Encode a short synthetic clip; returns the path written."""
    path = Path(path)
    fmt = container or _CONTAINERS.get(path.suffix.lower(), "mp4")
    encoder = _ENCODERS[codec]
    frames = max(1, round(seconds * fps))
    with av.open(str(path), mode="w", format=fmt) as out:
        stream = out.add_stream(encoder, rate=fps)
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, fps)
        # Fastest settings: tests make many clips on a shared 2-core machine.
        if encoder == "libx264":
            stream.options = {"preset": "ultrafast"}
        elif encoder == "libx265":
            stream.options = {"preset": "ultrafast", "x265-params": "log-level=error"}
        elif encoder.startswith("libvpx"):
            stream.options = {"deadline": "realtime", "cpu-used": "8"}
        base = np.add.outer(np.arange(height), np.arange(width))
        for i in range(frames):
            rgb = (np.stack([base + i * 3, base // 2 + i, 255 - base], axis=-1) % 256).astype(
                np.uint8
            )
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def make_image(
    path: str | Path, width: int = 1080, height: int = 1920, fmt: str | None = None
) -> Path:
    """Write a gradient still (JPEG/PNG/WEBP by suffix unless ``fmt`` says)."""
    path = Path(path)
    base = np.add.outer(np.arange(height), np.arange(width)) % 256
    rgb = np.stack([base, base[::-1], 255 - base], axis=-1).astype(np.uint8)
    Image.fromarray(rgb, "RGB").save(path, format=fmt)
    return path


def make_not_a_video(path: str | Path) -> Path:
    """A valid PNG under a video name: the container check must reject it."""
    path = Path(path)
    make_image(path, 64, 64, fmt="PNG")
    return path


def probe(path: str | Path) -> dict:
    """What PyAV reads back (container, codec, seconds, fps, width, height) — for self-checks."""
    with av.open(str(path)) as media:
        stream = media.streams.video[0]
        seconds = float(media.duration / av.time_base) if media.duration else 0.0
        return {
            "container": media.format.name,
            "codec": stream.codec_context.name,
            "seconds": seconds,
            "fps": float(stream.average_rate or 0),
            "width": stream.codec_context.width,
            "height": stream.codec_context.height,
        }
