"""Content Posting API calls: init (direct, drafts, photos), the upload PUT, status, cancel.

Built on TikTokClient's request machinery (envelope, error table, request counting); the
upload PUT goes to the opaque ``upload_url`` init returned, so it has its own small sender.

Retry rules (https://developers.tiktok.com/doc/content-posting-api-reference-direct-post and
https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide):

* init is sent at most once per call: retried only when the connection provably never opened.
  A timeout, reset or 5xx after sending raises and the caller records the post as unknown.
* Each upload chunk covers a fixed byte range, so the *same* range may be re-sent a bounded
  number of times after a 5xx or a dropped connection. A 416 (range does not match TikTok's
  progress) is answered by skipping to where TikTok says it is, read from the response's
  ``Content-Range: bytes 0-{uploaded}/{total}``.
* The body is streamed from disk in small blocks: the file is never held in memory.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from services.tiktok import urls
from services.tiktok.client import RequestInfo, TikTokClient, _maybe_sent
from services.tiktok.errors import (
    TikTokError,
    TikTokNetworkError,
    TikTokPostingError,
    TikTokRequestError,
    TikTokServerError,
)

log = logging.getLogger(__name__)

UPLOAD_ATTEMPTS = 4  # per chunk: the first try and three re-sends of the same range
UPLOAD_TIMEOUT = (10, 120)  # a 64 MiB chunk over a slow uplink needs a long read timeout
_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+)")


@dataclass(frozen=True)
class InitResult:
    publish_id: str
    upload_url: str | None = None  # FILE_UPLOAD only; valid for 1 hour

    def __repr__(self) -> str:  # the upload URL carries an upload token: never printed
        hidden = "…" if self.upload_url else None
        return f"InitResult(publish_id={self.publish_id!r}, upload_url={hidden})"


@dataclass(frozen=True)
class UploadRange:
    """One chunk to send: bytes ``start``..``end`` (inclusive) of ``total``."""

    start: int
    end: int
    total: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1


class UploadError(TikTokError):
    """The upload PUT was refused; ``http_status`` says how (403 expired, 404 unknown, …)."""

    step = "upload_failed"


class UploadRangeMismatch(UploadError):
    """416: TikTok's progress differs from the range sent; ``uploaded`` is TikTok's count of
    bytes received (None if it did not say)."""

    def __init__(self, *args, uploaded: int | None = None, **kwargs):
        self.uploaded = uploaded
        super().__init__(*args, **kwargs)


_UPLOAD_STATUS_ADVICE: dict[int, tuple[str, str, bool]] = {
    400: (
        "TikTok rejected an upload chunk as malformed (its headers or length).",
        "This is a Reelboard bug or the file changed while uploading; post it again.",
        False,
    ),
    403: (
        "The upload link expired (TikTok keeps it for one hour after the post starts).",
        "Start the post again; the old attempt cannot continue.",
        False,
    ),
    404: (
        "TikTok no longer knows this upload (the link is wrong or the post was dropped).",
        "Start the post again.",
        False,
    ),
    416: (
        "TikTok expected a different part of the file than the one sent.",
        "Reelboard resumes from where TikTok says it is; if it keeps happening, post again.",
        True,
    ),
}


def _init(client: TikTokClient, path: str, access_token: str, body: dict[str, Any]) -> InitResult:
    # retry=False: only a connection that never opened is retried (security: no double post).
    data = client.request_api("POST", path, access_token, json=body, retry=False)
    publish_id = data.get("publish_id")
    if not isinstance(publish_id, str) or not publish_id:
        raise TikTokPostingError(
            explanation="TikTok accepted the post but sent no publish id.",
            fix="Check the TikTok app before posting again: the post may exist.",
            retry_safe=False,
        )
    upload_url = data.get("upload_url")
    return InitResult(
        publish_id, upload_url if isinstance(upload_url, str) and upload_url else None
    )


def init_direct_video(
    client: TikTokClient,
    access_token: str,
    *,
    post_info: dict[str, Any],
    source_info: dict[str, Any],
) -> InitResult:
    """POST /v2/post/publish/video/init/ (scope video.publish)."""
    return _init(
        client, urls.VIDEO_INIT, access_token, {"post_info": post_info, "source_info": source_info}
    )


def init_inbox_video(
    client: TikTokClient, access_token: str, *, source_info: dict[str, Any]
) -> InitResult:
    """POST /v2/post/publish/inbox/video/init/ (scope video.upload): ``source_info`` only
    (https://developers.tiktok.com/doc/content-posting-api-reference-upload-video)."""
    return _init(client, urls.INBOX_VIDEO_INIT, access_token, {"source_info": source_info})


def init_photo(
    client: TikTokClient,
    access_token: str,
    *,
    post_mode: str,
    post_info: dict[str, Any],
    photo_urls: list[str],
    cover_index: int,
    is_aigc: bool = False,
) -> InitResult:
    """POST /v2/post/publish/content/init/ (https://developers.tiktok.com/doc/content-posting-api-reference-photo-post)."""
    body: dict[str, Any] = {
        "media_type": "PHOTO",
        "post_mode": post_mode,
        "post_info": post_info,
        "source_info": {
            "source": "PULL_FROM_URL",
            "photo_images": photo_urls,
            "photo_cover_index": cover_index,
        },
    }
    if is_aigc:
        body["is_aigc"] = True  # top level in the 2026 photo reference
    return _init(client, urls.CONTENT_INIT, access_token, body)


def fetch_status(client: TikTokClient, access_token: str, publish_id: str) -> dict[str, Any]:
    """POST status/fetch; read-only, so the client retries it on 429/5xx/timeouts."""
    return client.publish_status(access_token, publish_id)


def cancel(client: TikTokClient, access_token: str, publish_id: str) -> None:
    """POST /v2/post/publish/cancel/ (best effort; PULL_FROM_URL downloads only)."""
    client.request_api(
        "POST", urls.PUBLISH_CANCEL, access_token, json={"publish_id": publish_id}, retry=False
    )


class _RangeBody:
    """``length`` bytes of an open file from ``start``, as an iterable of 4 MiB blocks with a
    ``len()``: requests then sets Content-Length (a bare generator would switch to chunked
    encoding, which the upload refuses) and urllib3 sends each block whole, so only one block
    is ever in memory and large blocks keep loopback throughput near a plain ``bytes`` PUT."""

    BLOCK = 4 * 1024 * 1024

    def __init__(self, fh, start: int, length: int, on_read: Callable[[int], None] | None):
        self._fh = fh
        self._start = start
        self._length = length
        self._on_read = on_read

    def __len__(self) -> int:
        return self._length

    def __iter__(self):
        self._fh.seek(self._start)
        left = self._length
        while left > 0:
            data = self._fh.read(min(self.BLOCK, left))
            if not data:
                raise OSError("the file got shorter while uploading")
            left -= len(data)
            if self._on_read is not None:
                self._on_read(len(data))
            yield data


def uploaded_from_header(value: str | None) -> int | None:
    """N from ``Content-Range: bytes 0-{N}/{total}``: the guide names N "UPLOADED_BYTES" (a
    count); HTTP's own convention would make it the last byte's index. Callers accept either
    reading where it lands on a chunk boundary (boundaries are ≥5 MiB apart, so at most one
    does). None if the header is absent or unreadable."""
    if not value:
        return None
    match = _RANGE.search(value)
    if not match:
        return None
    return int(match.group(2))


def put_chunk(
    client: TikTokClient,
    upload_url: str,
    path: Path,
    rng: UploadRange,
    *,
    content_type: str,
    on_bytes: Callable[[int], None] | None = None,
) -> int:
    """Send one chunk once. Returns the HTTP status (201: all received, 206: more expected).

    Raises UploadRangeMismatch (416), UploadError (400/403/404, other 4xx),
    TikTokServerError (5xx) or TikTokNetworkError.
    """
    headers = {
        "Content-Type": content_type,
        "Content-Range": f"bytes {rng.start}-{rng.end}/{rng.total}",
    }
    started = time.monotonic()
    status: int | None = None
    try:
        with path.open("rb") as fh:
            body = _RangeBody(fh, rng.start, rng.length, on_bytes)
            response = client.session.put(
                upload_url, data=body, headers=headers, timeout=UPLOAD_TIMEOUT
            )
        status = response.status_code
    except requests.RequestException as exc:
        log.warning("upload PUT %s: %s", headers["Content-Range"], type(exc).__name__)
        raise TikTokNetworkError(
            explanation=f"The connection dropped while uploading ({type(exc).__name__}).",
            fix="Reelboard re-sends the same part of the file a few times; check this "
            "server's connection if it keeps failing.",
            maybe_sent=_maybe_sent(exc),
            retry_safe=True,
        ) from exc
    finally:
        with client._count_lock:
            client._requests_made += 1
        if client.on_request is not None:
            client.on_request(RequestInfo("PUT", "upload", status, 1, time.monotonic() - started))
    log_id = response.headers.get("x-tt-logid")
    if status in (200, 201, 206):
        return 206 if status == 206 else 201
    if status >= 500:
        raise TikTokServerError(
            explanation=f"TikTok's upload service failed (HTTP {status}).",
            fix="Reelboard re-sends the same part a few times.",
            http_status=status,
            log_id=log_id,
            retry_safe=True,
        )
    explanation, fix, retry_safe = _UPLOAD_STATUS_ADVICE.get(
        status, (f"TikTok refused an upload chunk (HTTP {status}).", "Post it again.", False)
    )
    if status == 416:
        raise UploadRangeMismatch(
            explanation=explanation,
            fix=fix,
            http_status=status,
            log_id=log_id,
            retry_safe=retry_safe,
            uploaded=uploaded_from_header(response.headers.get("Content-Range")),
        )
    cls = UploadError if status in _UPLOAD_STATUS_ADVICE else TikTokRequestError
    raise cls(
        explanation=explanation,
        fix=fix,
        http_status=status,
        log_id=log_id,
        retry_safe=retry_safe,
        code="invalid_file_upload" if status == 400 else None,
    )


def file_fingerprint(path: Path) -> tuple[int, int]:
    """(size, mtime_ns): checked before every chunk, so a file that is replaced, truncated or
    grows during the upload is caught before bad bytes are sent."""
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns
