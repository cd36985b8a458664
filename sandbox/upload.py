"""The media upload: `PUT {upload_url}` for FILE_UPLOAD posts.

https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide: Content-Type,
Content-Length and `Content-Range: bytes {first}-{last}/{total}` are required; chunks go in
order; 206 with `Content-Range: bytes 0-{uploaded}/{total}` while parts are missing, 201 once
all arrived; 400 bad headers or a length that does not match; 403 once the URL's hour is over;
404 for an unknown upload; 416 when the range does not continue the upload.

The body is never held in memory: the server hands over the socket (`Request.stream`) and each
chunk is copied to a file under the sandbox's media directory in 1 MiB blocks. A chunk whose
connection drops mid-body is discarded (progress stays where it was), so the client retries it.
"""

from __future__ import annotations

import hmac
import re
import threading
from typing import TYPE_CHECKING

from sandbox import mediacheck
from sandbox.ids import secret_hash
from sandbox.posting import finish_media, media_path
from sandbox.web import Request, Response, api_error

if TYPE_CHECKING:
    from sandbox.core import Sandbox

UPLOAD_PATH = "/upload/video/"
VIDEO_TYPES = frozenset({"video/mp4", "video/quicktime", "video/webm"})
_RANGE_RE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
_BLOCK = 1024 * 1024

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock(publish_id: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(publish_id, threading.Lock())


def _fail(req: Request, status: int, message: str, progress: tuple[int, int] | None = None):
    # TikTok does not document PUT error bodies; the usual envelope with `invalid_file_upload`
    # (the upload code of the v2 error table) keeps them readable. Clients act on the status.
    resp = api_error(req, status, "invalid_file_upload", message)
    if progress is not None:
        resp.headers.append(_progress_header(*progress))
    return resp


def _progress_header(uploaded: int, total: int) -> tuple[str, str]:
    return ("Content-Range", f"bytes 0-{uploaded}/{total}")


def put(sb: Sandbox, req: Request) -> Response:
    if req.method != "PUT":
        return _fail(req, 405, "Upload with PUT.")
    upload_id, token = req.arg("upload_id"), req.arg("upload_token") or ""
    with sb.store.read() as tx:
        post = tx.get_post_by_upload(upload_id) if upload_id else None
    if post is None or not hmac.compare_digest(str(post["upload_token_hash"]), secret_hash(token)):
        return _fail(req, 404, "There is no upload task for this URL.")
    if req.now >= float(post["upload_expires_at"]):
        return _fail(req, 403, "The upload URL has expired (it is valid for 1 hour).")
    total = int(post["video_size"])
    if (req.content_type or "") not in VIDEO_TYPES:
        return _fail(req, 400, "Content-Type must be video/mp4, video/quicktime or video/webm.")
    raw_length = req.header("content-length") or ""
    match = _RANGE_RE.match((req.header("content-range") or "").strip())
    if not raw_length.isdigit() or req.stream is None:
        return _fail(req, 400, "Content-Length is required.")
    if match is None:
        return _fail(req, 400, "Content-Range must be 'bytes {first}-{last}/{total}'.")
    length = int(raw_length)
    first, last, declared = (int(g) for g in match.groups())
    if declared != total or last < first or last >= total:
        return _fail(req, 400, f"Content-Range must lie within the {total} bytes declared at init.")
    if last - first + 1 != length:
        return _fail(req, 400, "Content-Length does not match the Content-Range.")
    lock = _lock(str(post["publish_id"]))
    if not lock.acquire(blocking=False):  # chunks are sequential: one at a time
        return _fail(req, 416, "Another chunk of this upload is in flight.")
    try:
        return _write_chunk(sb, req, post["publish_id"], first, length, total)
    finally:
        lock.release()


def _write_chunk(
    sb: Sandbox, req: Request, publish_id: object, first: int, length: int, total: int
) -> Response:
    with sb.store.read() as tx:
        post = tx.get_post(str(publish_id))
    assert post is not None
    uploaded = int(post["uploaded_bytes"])
    if uploaded >= total or first != uploaded:
        return _fail(
            req,
            416,
            f"Content-Range starts at {first}; the upload continues at byte {uploaded}.",
            (uploaded, total),
        )
    chunk, count = int(post["chunk_size"]), int(post["chunk_count"])
    index = first // chunk
    expected = chunk if index < count - 1 else total - chunk * (count - 1)
    if length != expected:
        return _fail(
            req, 400, f"Chunk {index + 1} of {count} must be {expected} bytes, not {length}."
        )
    path = media_path(sb, str(publish_id))
    stream = req.stream
    assert stream is not None
    try:
        with path.open("r+b" if path.exists() else "wb") as out:
            out.seek(first)
            while block := stream.read(_BLOCK):
                out.write(block)
            out.truncate(first + length)
    except ConnectionError:
        with path.open("r+b") as out:
            out.truncate(first)  # a broken chunk does not count
        return Response(0, drop=True)
    uploaded = first + length
    with sb.store.transaction() as tx:
        tx.update_post(str(publish_id), {"uploaded_bytes": uploaded})
    if uploaded < total:
        return Response(206, b"", None, [_progress_header(uploaded, total)])
    creator = sb.world.creator(str(post["open_id"]))
    max_s = creator.spec.max_video_post_duration_sec if creator else 180
    try:
        result, info = mediacheck.check_video(path, max_s)
    finally:
        path.unlink(missing_ok=True)
    post["uploaded_bytes"] = uploaded
    finish_media(sb, post, result, info)
    return Response(201, b"", None, [_progress_header(uploaded, total)])
