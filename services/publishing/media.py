"""Media pre-flight: probe the real file with PyAV and check it against TikTok's limits.

https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide — video: MP4
(recommended), WebM or MOV; H.264 (recommended), H.265, VP8 or VP9; 23–60 fps; 360–4096 px
for both width and height; at most 4 GB; duration within the creator's
``max_video_post_duration_sec`` (the API takes at most 10 minutes). Photos: JPEG or WebP, at
most 20 MB each, the shorter side at most 1080 px, at most 35 per post.

The file's name and extension are never trusted (a browser's type filter is only a usability
feature): the container is identified from its first bytes and then opened by FFmpeg, and one
frame is decoded, so a renamed PNG, an MKV or a truncated file is refused before any call.
"""

from __future__ import annotations

import math
from pathlib import Path

import av

from services.publishing.chunks import MAX_VIDEO_BYTES
from services.publishing.model import CreatorInfo, MediaInfo, Problem, PublishError

ACCEPTED_CODECS = {"h264": "H.264", "hevc": "H.265", "vp8": "VP8", "vp9": "VP9"}
MIN_FPS, MAX_FPS = 23, 60
MIN_SIDE, MAX_SIDE = 360, 4096
API_MAX_DURATION_S = 600  # the API's own ceiling when creator_info could not be asked
PHOTO_MAX_BYTES = 20 * 1024 * 1024  # "20 MB", binary like every size in that guide
PHOTO_MAX_SHORT_SIDE = 1080
_HEADER_BYTES = 64

_EXPORT_FIX = "Export it again as an MP4 with H.264 video (any editor's default export works)."
# Atom types a QuickTime file may open with instead of `ftyp` (older .mov writers).
_MOV_ATOMS = {b"moov", b"wide", b"mdat", b"free", b"skip", b"pnot"}
_NOT_VIDEO = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"RIFF": "a RIFF file (AVI/WAV/WebP)",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a ZIP archive",
    b"ID3": "an MP3 audio file",
    b"OggS": "an Ogg file",
    b"FLV": "an FLV video",
}


class MediaUnreadable(PublishError):
    """The file is not a video TikTok accepts, or it is damaged; ``problem`` says how to fix."""

    step = "media_unreadable"

    def __init__(self, problem: Problem):
        self.problem = problem
        super().__init__(str(problem))


def sniff_container(head: bytes) -> str:
    """"mp4" | "mov" | "webm" from the first bytes; MediaUnreadable for anything else."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "mov" if head[8:12] == b"qt  " else "mp4"
    if len(head) >= 8 and head[4:8] in _MOV_ATOMS:
        return "mov"
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: Matroska or WebM, told apart by DocType
        if b"webm" in head:
            return "webm"
        raise MediaUnreadable(Problem(
            "The file is a Matroska (MKV) video; TikTok accepts MP4, MOV and WebM only.",
            _EXPORT_FIX))
    for magic, kind in _NOT_VIDEO.items():
        if head.startswith(magic):
            raise MediaUnreadable(Problem(f"The file is {kind}, not a video (whatever its "
                                          "name says).", "Choose the exported video file."))
    raise MediaUnreadable(Problem(
        "The file is not an MP4, MOV or WebM video (or its start is damaged).", _EXPORT_FIX))


def probe_video(path: Path) -> MediaInfo:
    """Read container, codec, duration, fps and dimensions from the file's content.

    Raises MediaUnreadable when the file is missing, empty, not a video container TikTok takes,
    or cannot be decoded.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(_HEADER_BYTES)
    except OSError as exc:
        raise MediaUnreadable(Problem(f"The file cannot be read ({exc.strerror or exc}).",
                                      "Check the path and that Reelboard may read it.")) from exc
    if size == 0:
        raise MediaUnreadable(Problem("The file is empty.", "Choose the exported video file."))
    container = sniff_container(head)
    damaged = Problem("The video cannot be decoded (the file is damaged or incomplete).",
                      _EXPORT_FIX)
    try:
        with av.open(str(path)) as media:
            if not media.streams.video:
                raise MediaUnreadable(Problem("The file has no video track (audio only?).",
                                              _EXPORT_FIX))
            stream = media.streams.video[0]
            ctx = stream.codec_context
            codec = ctx.name
            width, height = ctx.width or None, ctx.height or None
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            fps = float(rate) if rate else None
            duration = None
            if media.duration:
                duration = media.duration / av.time_base
            elif stream.duration and stream.time_base:
                duration = float(stream.duration * stream.time_base)
            # Decode one frame: a file with a valid header but broken data fails here.
            if _first_frame(media, stream) is None:
                raise MediaUnreadable(damaged)
    except MediaUnreadable:
        raise
    except (av.FFmpegError, ValueError, OSError, IndexError) as exc:
        raise MediaUnreadable(damaged) from exc
    return MediaInfo(path=path, size=size, container=container, codec=codec,
                     duration_s=duration, fps=fps, width=width, height=height)


def _first_frame(media, stream):
    for packet in media.demux(stream):
        for frame in packet.decode():
            return frame
    return None


def check_video(info: MediaInfo, creator: CreatorInfo | None) -> list[Problem]:
    """The limits TikTok checks after upload, checked before it (empty: fine)."""
    problems: list[Problem] = []
    if info.size > MAX_VIDEO_BYTES:
        problems.append(Problem(
            f"The video is {_size(info.size)}; TikTok takes at most {_size(MAX_VIDEO_BYTES)}.",
            "Export it at a lower bitrate or shorten it."))
    if info.codec not in ACCEPTED_CODECS:
        problems.append(Problem(
            f"The video uses the {info.codec or 'unknown'} codec; TikTok accepts H.264, H.265, "
            "VP8 and VP9.", _EXPORT_FIX))
    elif info.container == "webm" and info.codec not in ("vp8", "vp9"):
        problems.append(Problem("A WebM file must hold VP8 or VP9 video.", _EXPORT_FIX))
    if info.fps is None or not math.isfinite(info.fps):
        problems.append(Problem("The video's frame rate cannot be read.", _EXPORT_FIX))
    elif not MIN_FPS - 0.01 <= info.fps <= MAX_FPS + 0.01:  # 23.976 passes, 60.0 passes
        problems.append(Problem(
            f"The video runs at {info.fps:.2f} fps; TikTok accepts {MIN_FPS}–{MAX_FPS} fps.",
            "Re-export it at 24, 25, 30 or 60 fps."))
    for side, value in (("width", info.width), ("height", info.height)):
        if value is None:
            problems.append(Problem(f"The video's {side} cannot be read.", _EXPORT_FIX))
        elif not MIN_SIDE <= value <= MAX_SIDE:
            problems.append(Problem(
                f"The video's {side} is {value} px; TikTok needs {MIN_SIDE}–{MAX_SIDE} px for "
                "both width and height.",
                "Resize it (1080×1920 is TikTok's usual portrait size)."))
    limit = API_MAX_DURATION_S
    who = "TikTok's API"
    if creator is not None and creator.max_video_post_duration_sec:
        limit = creator.max_video_post_duration_sec
        who = f"{creator.nickname or 'This creator'}"
    if info.duration_s is None or info.duration_s <= 0:
        problems.append(Problem("The video's duration cannot be read.", _EXPORT_FIX))
    elif info.duration_s > limit:
        problems.append(Problem(
            f"The video is {_duration(info.duration_s)} long; {who} can post at most "
            f"{_duration(limit)}.",
            f"Trim it to {_duration(limit)} or less."))
    return problems


def preflight_video(path: Path, creator: CreatorInfo | None) -> list[Problem]:
    """Every reason TikTok would refuse this video file (empty: fine)."""
    try:
        info = probe_video(path)
    except MediaUnreadable as exc:
        return [exc.problem]
    return check_video(info, creator)


def preflight_photo_file(path: Path) -> list[Problem]:
    """Every reason TikTok would refuse this photo file (empty: fine)."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        size = path.stat().st_size
        with Image.open(path) as image:
            fmt, (width, height) = image.format, image.size
    except (OSError, UnidentifiedImageError, ValueError):
        return [Problem("The file is not a readable image.", "Save the photo as JPEG or WebP.")]
    problems: list[Problem] = []
    if fmt not in ("JPEG", "WEBP"):
        problems.append(Problem(f"The photo is a {fmt} image; TikTok accepts JPEG and WebP.",
                                "Save it as JPEG or WebP."))
    if size > PHOTO_MAX_BYTES:
        problems.append(Problem(f"The photo is {_size(size)}; TikTok takes at most "
                                f"{_size(PHOTO_MAX_BYTES)} per photo.",
                                "Save it at a lower quality or size."))
    if min(width, height) > PHOTO_MAX_SHORT_SIDE:
        problems.append(Problem(
            f"The photo is {width}×{height} px; its shorter side must be at most "
            f"{PHOTO_MAX_SHORT_SIDE} px (one oversized photo fails the whole post).",
            f"Resize it so the shorter side is {PHOTO_MAX_SHORT_SIDE} px or less."))
    return problems


def _size(n: int) -> str:
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= factor:
            return f"{n / factor:.1f} {unit}".replace(".0 ", " ")
    return f"{n} bytes"


def _duration(seconds: float) -> str:
    whole = math.ceil(seconds) if seconds % 1 > 0.05 else int(seconds)
    minutes, secs = divmod(whole, 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"
