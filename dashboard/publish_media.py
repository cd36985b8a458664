"""The Publish form's media step: where the video (or photos) comes from, its checks, a preview.

Streamlit keeps an upload in RAM (``UploadedFile`` is a BytesIO), so an upload is spooled to
``<data dir>/uploads/`` once (services.publishing.spool_upload, which removes its copy once the
post is settled) and everything after that reads the file from disk. Files too big to push
through a browser are copied to ``<data dir>/uploads/server/`` on the server (scp, rsync, a
mounted share) and picked from a list. The page never takes a typed path, so nobody with access
to Reelboard can post an arbitrary file of the server to TikTok; to use another folder, point
REELBOARD_DATA_DIR elsewhere or link the folder there. Reelboard never deletes those files.
(TikTok asks apps not to FILE_UPLOAD media the *app* hosts; these are the user's own files on
their self-hosted Reelboard, the same as an upload from their browser, only larger.)
Videos already on a verified web domain are pulled by TikTok itself (PULL_FROM_URL,
https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide); photos can only
come that way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from dashboard.text import is_web_url
from services.publishing import (
    CreatorInfo,
    FileSource,
    MediaInfo,
    PhotoUrls,
    Problem,
    UrlSource,
    preflight_video,
    probe_video,
    spool_upload,
)

KEY = "publish_"
Source = FileSource | UrlSource | PhotoUrls
VIDEO_SUFFIXES = (".mp4", ".mov", ".webm")
#: st.video reads a local file into the server's memory to serve it, so bigger files are
#: described instead of played.
PREVIEW_MAX_BYTES = 200 * 1024 * 1024
MAX_PHOTOS = 35
SOURCES = {
    "upload": "Upload from this computer",
    "server": "A file already on the server (large files)",
    "url": "A link TikTok downloads (verified domain)",
}


@dataclass
class MediaChoice:
    source: Source | None = None
    problems: list[Problem] = field(default_factory=list)


def server_dir(data_dir: Path) -> Path:
    """Where large files are placed by hand; a sub-folder, so spooled copies (which the
    service deletes when a post settles) never mix with them."""
    return data_dir / "uploads" / "server"


def server_files(folder: Path) -> list[Path]:
    """Video files directly in ``folder``, newest first; links leading outside it are skipped."""
    if not folder.is_dir():
        return []
    root = folder.resolve()
    found = []
    for path in folder.iterdir():
        try:
            real = path.resolve()
        except OSError:
            continue
        if path.suffix.lower() in VIDEO_SUFFIXES and real.is_file() and real.is_relative_to(root):
            found.append(path)
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def describe_media(info: MediaInfo) -> str:
    """One line of what the probe read, e.g. "MP4 · h264 · 1080×1920 · 30 fps · 12.3 s"."""
    parts = [info.container.upper(), info.codec or "unknown codec"]
    if info.width and info.height:
        parts.append(f"{info.width}×{info.height}")
    if info.fps:
        parts.append(f"{info.fps:.3g} fps")
    if info.duration_s:
        parts.append(f"{info.duration_s:.1f} s")
    parts.append(f"{info.size / 1024 / 1024:,.1f} MB")
    return " · ".join(parts)


def parse_photo_urls(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


# ---------------------------------------------------------------- widgets


def media_section(mode: str, creator: CreatorInfo, data_dir: Path) -> MediaChoice:
    if mode == "photo":
        return _photos()
    kind = st.radio(
        "Where is the video?",
        list(SOURCES),
        format_func=SOURCES.__getitem__,
        key=f"{KEY}source",
        horizontal=True,
    )
    if kind == "upload":
        path = _uploaded(data_dir)
    elif kind == "server":
        path = _server_file(data_dir)
    else:
        return _url()
    if path is None:
        return MediaChoice()
    problems = preflight_video(path, creator)
    _preview_file(path, problems)
    return MediaChoice(FileSource(path), problems)


def _uploaded(data_dir: Path) -> Path | None:
    upload = st.file_uploader(
        "Video file (MP4, MOV or WebM)",
        type=[s[1:] for s in VIDEO_SUFFIXES],
        key=f"{KEY}upload_{st.session_state.get('upload_nonce', 0)}",
        help=f"Up to {st.get_option('server.maxUploadSize'):,} MB through the browser (Streamlit "
        "holds an upload in memory until it is saved to disk). Larger files go on the server: "
        "choose “A file already on the server”.",
    )
    if upload is None:
        return None
    spooled: dict[str, str] = st.session_state.setdefault(f"{KEY}spooled", {})
    path = spooled.get(upload.file_id)
    if path is None or not Path(path).exists():
        with st.spinner("Saving the upload to the server's disk…"):
            upload.seek(0)
            path = str(spool_upload(upload, upload.size, data_dir))
        spooled[upload.file_id] = path  # an id → path; the bytes stay on disk only
    return Path(path)


def _server_file(data_dir: Path) -> Path | None:
    folder = server_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)  # ready for the first copy
    files = server_files(folder)
    st.caption(
        "For videos too large for the browser: copy the file into this folder on the "
        "server (scp, rsync or a shared drive), then pick it here. Only this folder is "
        "listed, so no other file of the server can be posted. Folder:"
    )
    st.text(str(folder))
    if not files:
        st.info("No MP4, MOV or WebM files in that folder yet.", icon=":material/folder_open:")
        return None
    name = st.selectbox(
        "Video on the server",
        [p.name for p in files],
        index=None,
        key=f"{KEY}server_file",
        placeholder="Choose a video",
    )
    return folder / name if name else None


def _url() -> MediaChoice:
    url = st.text_input(
        "Video URL (https://…)",
        key=f"{KEY}url",
        help="TikTok downloads the video itself. The domain or URL prefix must "
        "be verified for your app in TikTok's developer portal.",
    )
    if not url.strip():
        return MediaChoice()
    # st.video reads any string that is not a URL as a file on this server and serves it to
    # the browser: preview only a well-formed https link (the Post button says why others fail).
    if _is_https_url(url.strip()):
        st.caption("Preview (as your browser loads it):")
        st.video(url.strip(), width=320)
    else:
        st.caption("The preview appears once the link starts with https://.")
    return MediaChoice(UrlSource(url.strip()))


def _is_https_url(text: str) -> bool:
    return is_web_url(text, ("https",))


def _photos() -> MediaChoice:
    text = st.text_area(
        f"Photo URLs, one per line (up to {MAX_PHOTOS})",
        key=f"{KEY}photo_urls",
        help="TikTok pulls photos from a verified domain (JPEG or WebP, at "
        "most 20 MB each, shorter side at most 1080 px).",
    )
    urls = parse_photo_urls(text)
    if not urls:
        return MediaChoice()
    st.caption(f"{len(urls)} of {MAX_PHOTOS} photos")
    cover = st.number_input(
        "Cover photo (number in the list)",
        min_value=1,
        max_value=max(1, len(urls)),
        value=1,
        step=1,
        key=f"{KEY}cover",
    )
    # Like st.video, st.image opens a string that is not a URL as a file on this server.
    previewable = [u for u in urls[:MAX_PHOTOS] if _is_https_url(u)]
    if previewable:
        st.image(previewable, width=110)
    if len(previewable) < len(urls[:MAX_PHOTOS]):
        st.caption("Only links that start with https:// are previewed.")
    return MediaChoice(PhotoUrls(tuple(urls), int(cover) - 1))


def _preview_file(path: Path, problems: list[Problem]) -> None:
    """Guideline 5a: the preview, the probe's facts, and what is wrong with how to fix it."""
    try:
        info = probe_video(path)
    except Exception:  # unreadable: the problems below say why
        info = None
    if problems:
        with st.container(border=True):
            st.error(
                "This video cannot be posted as it is — nothing was sent to TikTok:",
                icon=":material/error:",
            )
            for problem in problems:  # may quote the creator's nickname: plain text
                st.text(f"• {problem.what}\n  How to fix: {problem.fix}")
    if info is None:
        return
    st.caption(describe_media(info))
    if info.size <= PREVIEW_MAX_BYTES:
        st.video(str(path), format=info.content_type, width=320)
    else:
        st.caption("Too large to play here; the facts above are read from the file itself.")
