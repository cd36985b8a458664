"""What TikTok checks in posted media, and the loopback-only fetch behind PULL_FROM_URL.

The checks and their `fail_reason` values follow TikTok's media transfer guide
(https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide) and the status
reference (https://developers.tiktok.com/doc/content-posting-api-reference-get-video-status):

- video: MP4 / MOV / WebM container, H.264 / H.265 / VP8 / VP9, 23-60 fps, 360-4096 px on both
  sides, no longer than the creator's `max_video_post_duration_sec`;
- photo: JPEG or WebP, at most 20 MB, the shorter side at most 1080 px (one bad image fails the
  whole carousel with `picture_size_check_failed`, as integrators report).

PyAV reads the real file (container and stream headers only, so a 4 GB upload is not decoded).
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import ssl
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import av
from PIL import Image, UnidentifiedImageError

MIN_FPS, MAX_FPS = 23.0, 60.0
MIN_SIDE, MAX_SIDE = 360, 4096
VIDEO_CODECS = frozenset({"h264", "hevc", "vp8", "vp9"})
# FFmpeg demuxer names: mp4 and mov share one demuxer, WebM shares one with Matroska.
_MP4_DEMUXER = "mov,mp4,m4a,3gp,3g2,mj2"
_WEBM_DEMUXER = "matroska,webm"
_WEBM_CODECS = frozenset({"vp8", "vp9"})  # WebM itself only carries VP8/VP9 (and AV1)
PHOTO_FORMATS = frozenset({"JPEG", "WEBP"})
MAX_PHOTO_BYTES = 20 * 1024 * 1024
MAX_PHOTO_SHORT_SIDE = 1080
MAX_PULL_BYTES = 4 * 1024**3
PULL_TIMEOUT_S = 30.0


def check_video(path: str | Path, max_duration_s: int) -> tuple[str, dict[str, int]]:
    """('' or a fail_reason, {'duration', 'width', 'height'}) for an uploaded or pulled video."""
    info = {"duration": 0, "width": 0, "height": 0}
    try:
        media = av.open(str(path))
    except (av.FFmpegError, OSError, ValueError):
        return "file_format_check_failed", info
    with media:
        if media.format.name not in (_MP4_DEMUXER, _WEBM_DEMUXER) or not media.streams.video:
            return "file_format_check_failed", info
        stream = media.streams.video[0]
        codec = stream.codec_context.name
        if codec not in VIDEO_CODECS or (
            media.format.name == _WEBM_DEMUXER and codec not in _WEBM_CODECS
        ):
            return "file_format_check_failed", info
        seconds = _seconds(media, stream)
        width, height = stream.codec_context.width, stream.codec_context.height
        info = {"duration": max(1, round(seconds)), "width": width, "height": height}
        if seconds <= 0 or seconds > max_duration_s:
            return "duration_check_failed", info
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        if not MIN_FPS <= fps <= MAX_FPS:
            return "frame_rate_check_failed", info
        if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
            return "picture_size_check_failed", info
    return "", info


def _seconds(media: av.container.InputContainer, stream: av.VideoStream) -> float:
    if media.duration:
        return media.duration / av.time_base
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return 0.0


def check_photo(path: str | Path) -> str:
    """'' or a fail_reason for one image of a photo post."""
    path = Path(path)
    if path.stat().st_size > MAX_PHOTO_BYTES:
        return "picture_size_check_failed"
    try:
        with Image.open(path) as img:
            fmt = img.format
            width, height = img.size
    except (UnidentifiedImageError, OSError):
        return "file_format_check_failed"
    if fmt not in PHOTO_FORMATS:
        return "file_format_check_failed"
    if min(width, height) > MAX_PHOTO_SHORT_SIDE:
        return "picture_size_check_failed"
    return ""


# --- PULL_FROM_URL --------------------------------------------------------------------------


def is_loopback_host(host: str | None) -> bool:
    host = (host or "").lower().strip("[]")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class PullError(Exception):
    """The media could not be fetched (a `video_pull_failed` / `photo_pull_failed`)."""


def fetch(
    url: str, dest: Path, on_progress: Callable[[int], None], limit: int = MAX_PULL_BYTES
) -> int:
    """Download `url` to `dest` in 1 MiB blocks; returns the byte count.

    The sandbox never contacts the internet: only loopback hosts are fetched (anything else is a
    pull failure, as an unreachable host would be for TikTok). TLS is required (the URL must be
    https) but the certificate is not verified: loopback test servers use self-signed ones.
    A redirect is a failure: TikTok refuses 3xx answers for PULL_FROM_URL.
    """
    parts = urlsplit(url)
    if parts.scheme != "https" or not is_loopback_host(parts.hostname):
        raise PullError("only https URLs on loopback hosts are fetched by the sandbox")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection(
        parts.hostname or "localhost", parts.port or 443, timeout=PULL_TIMEOUT_S, context=context
    )
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    total = 0
    try:
        conn.request("GET", target, headers={"User-Agent": "TikTok-Sandbox-Puller"})
        resp = conn.getresponse()
        if resp.status != 200:
            raise PullError(f"HTTP {resp.status} (redirects are not followed)")
        with dest.open("wb") as out:
            while block := resp.read(1024 * 1024):
                total += len(block)
                if total > limit:
                    raise PullError("the media is larger than TikTok accepts")
                out.write(block)
                on_progress(total)
    except (OSError, http.client.HTTPException) as exc:
        raise PullError(str(exc)) from exc
    finally:
        with contextlib.suppress(OSError):
            conn.close()
    return total
