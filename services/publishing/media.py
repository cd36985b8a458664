"""Media pre-flight: probe the real file with PyAV and check it against TikTok's limits.

https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide — video: MP4
(recommended), WebM or MOV; H.264 (recommended), H.265, VP8 or VP9; 23–60 fps; 360–4096 px
for both width and height; at most 4 GB; duration within the creator's
``max_video_post_duration_sec``. Photos: JPEG or WebP, at most 20 MB each, the shorter side at
most 1080 px, at most 35 per post.
"""

from __future__ import annotations

from pathlib import Path

from services.publishing.model import CreatorInfo, MediaInfo, Problem


def probe_video(path: Path) -> MediaInfo:
    """Read container, codec, duration, fps and dimensions from the file's content."""
    raise NotImplementedError


def preflight_video(path: Path, creator: CreatorInfo | None) -> list[Problem]:
    """Every reason TikTok would refuse this video file (empty: fine)."""
    raise NotImplementedError


def preflight_photo_file(path: Path) -> list[Problem]:
    """Every reason TikTok would refuse this photo file (empty: fine)."""
    raise NotImplementedError
