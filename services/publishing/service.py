"""The publishing service: creator info, submit (intent → init → upload), status, history.

TikTok's posting calls take no idempotency key
(https://developers.tiktok.com/doc/content-posting-api-reference-direct-post), so Reelboard
gets the same effect locally:

1. The intent row is written first. A unique index over (account, content, mode, caption) among
   jobs still on their way turns a double click or a second tab into "already queued".
2. ``init_sent`` is committed *before* init goes out. An init whose answer is lost (timeout,
   reset, 5xx after sending) makes the job ``unknown``; init is never sent again by itself.
3. Chunks go up one by one, streamed from disk. A failed chunk is re-sent as the same byte
   range a few times; the last acknowledged chunk is saved, so a restarted process resumes
   from it while the upload link is valid (1 hour).
4. Status is polled with a deadline. ``unknown`` jobs are reconciled by status or by the
   creator's recent videos, never by posting again; a person confirms before a re-post.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from services import access
from services.access import Actor
from services.accounts import AccountError, call_with_token, get_account
from services.clock import Clock, to_epoch, utc_now
from services.db import open_db
from services.errors import ReelboardError
from services.publishing import jobs
from services.publishing.chunks import ChunkPlanError, plan_chunks
from services.publishing.media import MediaUnreadable, check_video, probe_video
from services.publishing.model import (
    MODE_SCOPES,
    MODES,
    CreatorInfo,
    FileSource,
    Mode,
    Outcome,
    PhotoUrls,
    PostRequest,
    PublishError,
    PublishJob,
    Quotas,
    UrlSource,
    ValidationFailed,
)
from services.publishing.rules import DRAFT_NOTE, PROCESSING_NOTE, validate
from services.tiktok import posting
from services.tiktok.errors import (
    API_ERRORS,
    TikTokError,
    TikTokNetworkError,
    TikTokPostingError,
    TikTokProtocolError,
    TikTokScopeError,
    TikTokServerError,
    advice_for_api_code,
    advice_for_fail_reason,
)
from services.tiktok.scopes import feature_status

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int | None, str], None]

UPLOAD_URL_TTL = 3600  # upload_url is valid for 1 hour after init
SPOOL_BLOCK = 8 * 1024 * 1024
HASH_BLOCK = 1024 * 1024
SPOOL_MARGIN = 64 * 1024 * 1024  # keep this much disk free after spooling
PROGRESS_STEP = 1024 * 1024  # report upload progress at most once per MiB
#: creator_info codes TikTok answers with HTTP 200: the creator cannot post right now.
BLOCKING_CODES = ("spam_risk_too_many_posts", "spam_risk_user_banned_from_posting",
                  "reached_active_user_cap")
PRIVACY_LEVELS = ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR",
                  "SELF_ONLY")
_USERNAME = re.compile(r"^[A-Za-z0-9._]{1,64}$")
_POST_ID = re.compile(r"^\d{1,32}$")


# -- creator info ----------------------------------------------------------------------------


def _client(runtime: Any, client: Any) -> tuple[Any, bool]:
    return (client, False) if client is not None else (runtime.client(), True)


def _close(client: Any, owned: bool) -> None:
    if owned:
        client.session.close()


def _bool(value: Any) -> bool:
    return value is True


def fetch_creator_info(runtime: Any, open_id: str, *, client: Any = None,
                       clock: Clock = utc_now) -> CreatorInfo:
    """creator_info/query, fresh on every call (never cached).

    Never raises for TikTok's answers: a creator who cannot post (TikTok's 200-with-code
    answers, a missing permission, an account to reconnect, TikTok unreachable) comes back
    with ``can_post=False`` and ``blocked_reason`` in plain words. Raises PublishError only
    for an account Reelboard does not know.
    """
    tiktok, owned = _client(runtime, client)
    try:
        with open_db(runtime.settings.database_path) as db:
            account = get_account(db, open_id)
            if account is None:
                raise PublishError("This account is not connected to Reelboard. Pick a "
                                   "connected account, or connect it on the Accounts page.",
                                   step="unknown_account")
            scopes = account.granted_scopes
            allowed: tuple[Mode, ...] = tuple(m for m in MODES if MODE_SCOPES[m] in scopes)
            base = {
                "open_id": open_id, "nickname": account.display_name or account.username or "",
                "username": account.username, "avatar_url": account.avatar_url,
                "privacy_level_options": (), "comment_disabled": False,
                "duet_disabled": False, "stitch_disabled": False,
                "max_video_post_duration_sec": None, "allowed_modes": allowed,
            }
            if account.status != "active":
                return CreatorInfo(**base, can_post=False, blocked_code=account.status,
                                   blocked_reason=(account.status_reason or
                                                   "This account is disconnected.") +
                                   " Reconnect it on the Accounts page.")
            if not allowed:
                reason = feature_status(scopes)["publishing"].reason
                return CreatorInfo(**base, can_post=False, blocked_reason=reason,
                                   blocked_code="scope_not_authorized")
            if "video.publish" not in scopes:
                # creator_info needs video.publish; a drafts-only grant cannot ask it.
                return CreatorInfo(**base, can_post=True, blocked_reason=None)
            try:
                data = call_with_token(db, tiktok, runtime.keyring, open_id,
                                       lambda token: tiktok.creator_info(token), clock=clock)
            except TikTokPostingError as exc:
                return CreatorInfo(**base, can_post=False, blocked_code=exc.code,
                                   blocked_reason=f"{exc.explanation} {exc.fix}")
            except TikTokScopeError as exc:
                drafts = tuple(m for m in allowed if m == "draft")
                return CreatorInfo(**{**base, "allowed_modes": drafts}, can_post=bool(drafts),
                                   blocked_code=exc.code,
                                   blocked_reason=None if drafts else
                                   f"{exc.explanation} {exc.fix}")
            except (TikTokError, AccountError) as exc:
                return CreatorInfo(**base, can_post=False, blocked_code=exc.step,
                                   blocked_reason="Reelboard could not ask TikTok whether this "
                                   f"creator can post now: {exc.message} Try again in a "
                                   "minute.")
    finally:
        _close(tiktok, owned)
    return _creator_from_data(base, data)


def _creator_from_data(base: dict[str, Any], data: dict[str, Any]) -> CreatorInfo:
    def text(key: str) -> str | None:
        value = data.get(key)
        return value if isinstance(value, str) and value else None

    options = data.get("privacy_level_options")
    levels = tuple(o for o in options if o in PRIVACY_LEVELS) if isinstance(options, list) \
        else ()
    max_duration = data.get("max_video_post_duration_sec")
    if isinstance(max_duration, bool) or not isinstance(max_duration, int) or \
            not 1 <= max_duration <= 24 * 3600:
        max_duration = None
    info = {
        **base,
        "nickname": text("creator_nickname") or base["nickname"],
        "username": text("creator_username") or base["username"],
        "avatar_url": text("creator_avatar_url") or base["avatar_url"],
        "privacy_level_options": levels,
        "comment_disabled": _bool(data.get("comment_disabled")),
        "duet_disabled": _bool(data.get("duet_disabled")),
        "stitch_disabled": _bool(data.get("stitch_disabled")),
        "max_video_post_duration_sec": max_duration,
    }
    if not levels:
        return CreatorInfo(**info, can_post=False, blocked_code="no_privacy_options",
                           blocked_reason="TikTok offered no privacy option for this creator "
                           "right now, so nothing can be posted. Try again later.")
    return CreatorInfo(**info, can_post=True, blocked_reason=None)


# -- spooling ---------------------------------------------------------------------------------


def uploads_dir(data_dir: Path) -> Path:
    path = Path(data_dir) / "uploads"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def spool_upload(fileobj: BinaryIO, size: int | None, data_dir: Path) -> Path:
    """Copy an uploaded file-like object to ``data_dir/uploads`` in 8 MiB blocks, once
    (Streamlit keeps uploads in memory; TikTok's upload is then streamed from this file).

    Raises PublishError when the disk is too full (before writing, when ``size`` is known, or
    when the disk fills up midway); the partial file is removed and nothing else changes.
    """
    folder = uploads_dir(data_dir)
    _purge_old_spools(folder)
    free = shutil.disk_usage(folder).free
    if size is not None and size + SPOOL_MARGIN > free:
        raise PublishError(
            f"Not enough disk space to receive this file: it needs {size:,} bytes and "
            f"{free:,} are free. Free some space, or publish it from a server path with "
            "the CLI.", step="disk_full")
    fd, name = tempfile.mkstemp(dir=folder, prefix="upload-", suffix=".part")
    path = Path(name)
    written = 0
    try:
        with os.fdopen(fd, "wb") as out:
            if hasattr(fileobj, "seek"):
                fileobj.seek(0)
            while block := fileobj.read(SPOOL_BLOCK):
                out.write(block)
                written += len(block)
            out.flush()
            os.fsync(out.fileno())
        if size is not None and written != size:
            raise PublishError(f"The upload was cut short ({written:,} of {size:,} bytes). "
                               "Upload the file again.", step="upload_incomplete")
        final = path.with_suffix(".video")
        os.replace(path, final)
        return final
    except OSError as exc:
        path.unlink(missing_ok=True)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise PublishError("The disk filled up while receiving the file; the partial copy "
                               "was removed. Free some space and upload it again.",
                               step="disk_full") from exc
        raise PublishError(f"Could not save the uploaded file ({exc.strerror or exc}).",
                           step="spool_failed") from exc
    except BaseException:
        path.unlink(missing_ok=True)
        raise


SPOOL_MAX_AGE_S = 24 * 3600  # far past the 1 h an upload link lives: no job can still need it


def _purge_old_spools(folder: Path) -> None:
    """Remove spooled copies older than a day (left by posts that failed or were abandoned)."""
    cutoff = time.time() - SPOOL_MAX_AGE_S
    for path in folder.glob("upload-*"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            continue


def _discard_spool(settings: Any, source_path: str | None) -> None:
    """Remove a spooled copy once its job is final (server paths are never touched)."""
    if not source_path:
        return
    path = Path(source_path)
    try:
        if path.parent.resolve() == (Path(settings.data_dir) / "uploads").resolve():
            path.unlink(missing_ok=True)
    except OSError:
        log.warning("could not remove a spooled upload")


def file_sha256(path: Path, on_progress: ProgressCallback | None = None) -> str:
    digest = hashlib.sha256()
    total = path.stat().st_size
    done = 0
    with path.open("rb") as fh:
        while block := fh.read(HASH_BLOCK):
            digest.update(block)
            done += len(block)
            if on_progress is not None and (done % (64 * HASH_BLOCK) == 0 or done == total):
                on_progress(done, total, "Checking the file")
    return digest.hexdigest()


# -- submit ------------------------------------------------------------------------------------


def _post_info_video(r: PostRequest) -> dict[str, Any]:
    info: dict[str, Any] = {
        "privacy_level": r.privacy_level,
        "title": r.caption,
        "disable_comment": not r.allow_comment,
        "disable_duet": not r.allow_duet,
        "disable_stitch": not r.allow_stitch,
        "brand_content_toggle": bool(r.disclose and r.brand_content),
        "brand_organic_toggle": bool(r.disclose and r.brand_organic),
        "is_aigc": bool(r.is_aigc),
    }
    if r.cover_timestamp_ms is not None:
        info["video_cover_timestamp_ms"] = int(r.cover_timestamp_ms)
    return info


def _post_info_photo(r: PostRequest) -> dict[str, Any]:
    return {
        "privacy_level": r.privacy_level,
        "title": r.photo_title,
        "description": r.caption,
        "disable_comment": not r.allow_comment,
        "auto_add_music": bool(r.auto_add_music),
        "brand_content_toggle": bool(r.disclose and r.brand_content),
        "brand_organic_toggle": bool(r.disclose and r.brand_organic),
    }


def submit(runtime: Any, request: PostRequest, *, actor: Actor,
           creator: CreatorInfo | None = None, on_progress: ProgressCallback | None = None,
           client: Any = None, clock: Clock = utc_now) -> PublishJob:
    """Validate, pre-flight, write the intent, init once, upload; returns the job.

    Raises ValidationFailed (with ``.problems``; nothing was written or sent), AlreadyQueued
    (the same post is on its way) or another PublishError. Whatever TikTok answers after the
    intent is written is recorded in the returned job (see ``describe``), not raised.
    ``creator``: the CreatorInfo the form showed; fetched fresh when None. ``actor`` must be
    allowed to ``publish`` (or ``draft`` for drafts): an editor; refused and completed
    attempts both land in the audit trail.
    """
    with open_db(runtime.settings.database_path) as audit_db, access.audited(
        audit_db, actor, _action(request.mode), open_id=request.open_id,
        details={"mode": request.mode},
    ) as event:
        job = _submit(runtime, request, creator=creator, on_progress=on_progress,
                      actor=actor.email, client=client, clock=clock)
        event.details.update(job=job.id, status=job.status)
        if job.status == "failed":
            event.outcome = "failed"
    return job


def _action(mode: str) -> str:
    return "draft" if mode == "draft" else "publish"


def _authorize_job(db, actor: Actor, job: PublishJob) -> None:
    access.authorize(db, actor, _action(job.mode), job.open_id)


def _submit(runtime: Any, request: PostRequest, *, creator: CreatorInfo | None,
            on_progress: ProgressCallback | None, actor: str, client: Any,
            clock: Clock) -> PublishJob:
    tiktok, owned = _client(runtime, client)
    try:
        if creator is None:
            creator = fetch_creator_info(runtime, request.open_id, client=tiktok, clock=clock)
        if creator.open_id != request.open_id:
            raise ValidationFailed(["The creator info shown is for another account; reload."])
        problems = validate(request, creator)
        values, plan, _info = _prepare(request, creator, problems, on_progress)
        owner = jobs.lease_owner()
        with open_db(runtime.settings.database_path) as db:
            values["actor"] = actor
            values["username"] = creator.username
            job_id = jobs.insert_intent(db, values, owner=owner, clock=clock)
            try:
                _init(db, runtime, tiktok, job_id, request, plan, clock)
                row = jobs.raw(db, job_id)
                if row is not None and row["status"] == "uploading":
                    _upload(db, runtime, tiktok, job_id, owner, on_progress, clock)
                _refresh(db, runtime, tiktok, job_id, clock)
            finally:
                jobs.release(db, job_id, owner)
            job = jobs.get_job(db, job_id)
            assert job is not None
            return job
    finally:
        _close(tiktok, owned)


def _prepare(request: PostRequest, creator: CreatorInfo, problems: list[str],
             on_progress: ProgressCallback | None) -> tuple[dict[str, Any], Any, Any]:
    """Pre-flight the media and build the intent row; ValidationFailed lists every problem."""
    source = request.source
    options: dict[str, Any] = {
        "allow_comment": request.allow_comment, "allow_duet": request.allow_duet,
        "allow_stitch": request.allow_stitch, "disclose": request.disclose,
        "brand_organic": request.brand_organic, "brand_content": request.brand_content,
        "is_aigc": request.is_aigc, "cover_timestamp_ms": request.cover_timestamp_ms,
    }
    caption = "" if request.mode == "draft" else request.caption
    plan = info = None
    values: dict[str, Any] = {"open_id": request.open_id, "mode": request.mode,
                              "privacy_level": None if request.mode == "draft"
                              else request.privacy_level}
    if isinstance(source, FileSource):
        path = Path(source.path)
        try:
            info = probe_video(path)
        except MediaUnreadable as exc:
            problems.append(str(exc.problem))
        else:
            problems.extend(str(p) for p in check_video(info, creator))
            try:
                plan = plan_chunks(info.size)
            except ChunkPlanError as exc:
                if not any("TikTok takes at most" in p for p in problems):
                    problems.append(exc.message)
        if problems:
            raise ValidationFailed(problems)
        size, mtime_ns = posting.file_fingerprint(path)
        sha = file_sha256(path, on_progress)
        values.update(source_kind="file", source_label=path.name, source_path=str(path),
                      content_key=f"sha256:{sha}", size=size, sha256=sha,
                      file_mtime_ns=mtime_ns, content_type=info.content_type,
                      chunk_size=plan.chunk_size, chunk_count=plan.total_chunk_count)
    elif isinstance(source, UrlSource):
        if problems:
            raise ValidationFailed(problems)
        values.update(source_kind="url", source_label=source.url,
                      content_key="url:" + jobs.text_hash(source.url))
    elif isinstance(source, PhotoUrls):
        if problems:
            raise ValidationFailed(problems)
        options.update(photo_urls=list(source.urls), cover_index=source.cover_index,
                       photo_title=request.photo_title, auto_add_music=request.auto_add_music)
        values.update(source_kind="photos",
                      source_label=f"{len(source.urls)} photo(s): {source.urls[0]}",
                      content_key="photos:" + jobs.text_hash(json.dumps(
                          [list(source.urls), source.cover_index])))
        caption = request.caption
    else:
        raise ValidationFailed(problems or ["Choose a video file, a video URL or photo URLs."])
    title = request.photo_title if request.mode == "photo" else ""
    values.update(caption=caption, caption_hash=jobs.text_hash(title + "\x00" + caption),
                  options=options)
    return values, plan, info


def _init(db, runtime, tiktok, job_id: int, request: PostRequest, plan, clock: Clock) -> None:
    """Commit init_sent, send init once, record what came back."""
    jobs.update(db, job_id, clock=clock, status="init_sent", init_sent_at=to_epoch(clock()))
    source = request.source
    if isinstance(source, FileSource):
        source_info: dict[str, Any] = {"source": "FILE_UPLOAD", "video_size": plan.video_size,
                                       "chunk_size": plan.chunk_size,
                                       "total_chunk_count": plan.total_chunk_count}
    elif isinstance(source, UrlSource):
        source_info = {"source": "PULL_FROM_URL", "video_url": source.url}

    def send(token: str) -> posting.InitResult:
        if request.mode == "direct":
            return posting.init_direct_video(tiktok, token, post_info=_post_info_video(request),
                                             source_info=source_info)
        if request.mode == "draft":
            return posting.init_inbox_video(tiktok, token, source_info=source_info)
        assert isinstance(source, PhotoUrls)
        return posting.init_photo(tiktok, token, post_mode="DIRECT_POST",
                                  post_info=_post_info_photo(request),
                                  photo_urls=list(source.urls), cover_index=source.cover_index,
                                  is_aigc=request.is_aigc)

    try:
        result = call_with_token(db, tiktok, runtime.keyring, request.open_id, send,
                                 clock=clock)
    except (TikTokNetworkError, TikTokServerError, TikTokProtocolError) as exc:
        if isinstance(exc, TikTokNetworkError) and not exc.maybe_sent:
            _fail(db, job_id, exc, clock)  # never left this machine: nothing at TikTok
            return
        log.warning("publish job %s: init answer lost (%s); marked unknown", job_id, exc.step)
        jobs.update(db, job_id, clock=clock, status="unknown",
                    error_code=exc.code or exc.step, error_message=exc.message,
                    log_id=exc.log_id)
        return
    except (TikTokError, AccountError) as exc:
        # TikTok refused (4xx, 429): no post was created.
        _fail(db, job_id, exc, clock)
        return
    except BaseException:
        # A bug or an interrupt after init may have gone out: never re-send it.
        jobs.update(db, job_id, clock=clock, status="unknown", error_code="interrupted",
                    error_message="Reelboard stopped while TikTok was receiving this post.")
        raise
    fields: dict[str, Any] = {"publish_id": result.publish_id, "error_code": None,
                              "error_message": None}
    if isinstance(source, FileSource):
        if not result.upload_url:
            jobs.update(db, job_id, clock=clock, status="failed", publish_id=result.publish_id,
                        error_code="no_upload_url",
                        error_message="TikTok started the post but sent no upload link.")
            return
        fields.update(status="uploading",
                      upload_url_enc=runtime.keyring.encrypt(
                          result.upload_url, table="publish_jobs", column="upload_url_enc",
                          row_key=_uid(db, job_id)),
                      upload_expires_at=to_epoch(clock()) + UPLOAD_URL_TTL)
    else:
        fields["status"] = "processing"
    jobs.update(db, job_id, clock=clock, **fields)


def _uid(db, job_id: int) -> str:
    return db.execute("SELECT uid FROM publish_jobs WHERE id = ?", [job_id]).fetchone()[0]


def _fail(db, job_id: int, exc: ReelboardError, clock: Clock) -> None:
    jobs.update(db, job_id, clock=clock, status="failed",
                error_code=getattr(exc, "code", None) or exc.step, error_message=exc.message,
                log_id=getattr(exc, "log_id", None))


# -- upload ------------------------------------------------------------------------------------


def _upload(db, runtime, tiktok, job_id: int, owner: str,
            on_progress: ProgressCallback | None, clock: Clock) -> None:
    """Send the chunks from the last acknowledged one on; each chunk is acknowledged in the
    database before the next goes out. Stopped from outside (the page was left, Ctrl-C), the
    job says so and stays resumable."""
    try:
        _upload_chunks(db, runtime, tiktok, job_id, owner, on_progress, clock)
    except BaseException:
        if db.conn.in_transaction:  # pragma: no cover - interrupted inside a write
            db.conn.execute("ROLLBACK")
        jobs.update(db, job_id, clock=clock, only_if_status=("uploading",),
                    error_code="interrupted",
                    error_message="The upload was stopped before it finished (the page was "
                    "left or the process interrupted).")
        raise


def _upload_chunks(db, runtime, tiktok, job_id: int, owner: str,
                   on_progress: ProgressCallback | None, clock: Clock) -> None:
    row = jobs.raw(db, job_id)
    assert row is not None
    if row["upload_expires_at"] is not None and to_epoch(clock()) >= row["upload_expires_at"]:
        jobs.update(db, job_id, clock=clock, status="failed", error_code="upload_url_expired",
                    error_message="The upload link expired (TikTok keeps it for one hour); the "
                    "old attempt cannot continue. Post it again.")
        return
    path = Path(row["source_path"])
    plan = plan_chunks(row["size"], row["chunk_size"])
    chunks = plan.chunks()
    upload_url = runtime.keyring.decrypt(row["upload_url_enc"], table="publish_jobs",
                                         column="upload_url_enc", row_key=row["uid"])
    index = row["chunks_acked"]
    total = plan.video_size
    reported = [0]

    def report(done: int, message: str) -> None:
        if on_progress is not None:
            on_progress(done, total, message)

    while index < len(chunks):
        chunk = chunks[index]
        try:
            fingerprint = posting.file_fingerprint(path)
        except OSError:
            fingerprint = None
        if fingerprint != (row["size"], row["file_mtime_ns"]):
            jobs.update(db, job_id, clock=clock, status="failed", error_code="file_changed",
                        error_message="The file changed or disappeared during the upload; "
                        "nothing more was sent. Post it again.")
            return
        message = f"Uploading part {index + 1} of {len(chunks)}"
        rng = posting.UploadRange(chunk.start, chunk.end, chunk.total)
        last_error: TikTokError | None = None
        acked_to: int | None = None
        for attempt in range(1, posting.UPLOAD_ATTEMPTS + 1):
            sent = [chunk.start]

            def on_bytes(n: int, sent=sent, end=chunk.end, message=message) -> None:
                sent[0] += n
                if sent[0] - reported[0] >= PROGRESS_STEP or sent[0] == end + 1:
                    reported[0] = sent[0]
                    report(sent[0], message)

            try:
                posting.put_chunk(tiktok, upload_url, path, rng,
                                  content_type=row["content_type"] or "video/mp4",
                                  on_bytes=on_bytes)
                acked_to = chunk.end + 1
                break
            except posting.UploadRangeMismatch as exc:
                acked_to = _resync(exc.uploaded, chunks)
                if acked_to is None:
                    last_error = exc
                break
            except (TikTokServerError, TikTokNetworkError) as exc:
                last_error = exc
                reported[0] = chunk.start
                if attempt < posting.UPLOAD_ATTEMPTS:
                    log.info("upload chunk %d failed (%s); re-sending the same range",
                             index, exc.step)
                    tiktok._sleep(tiktok._backoff(attempt))
            except TikTokError as exc:  # 400 / 403 expired / 404: this attempt cannot go on
                jobs.update(db, job_id, clock=clock, status="failed",
                            error_code=exc.code or f"upload_http_{exc.http_status}",
                            error_message=exc.message, log_id=exc.log_id)
                return
        if acked_to is None:
            assert last_error is not None
            # Still resumable from the last acknowledged chunk while the link is valid.
            jobs.update(db, job_id, clock=clock, error_code=last_error.code or last_error.step,
                        error_message=last_error.message, log_id=last_error.log_id)
            return
        index = next((c.index + 1 for c in chunks if c.end + 1 == acked_to), index + 1)
        jobs.update(db, job_id, clock=clock, chunks_acked=index, uploaded_bytes=acked_to,
                    lease_until=to_epoch(clock()) + jobs.LEASE_SECONDS, error_code=None,
                    error_message=None)
        report(acked_to, f"Uploaded part {index} of {len(chunks)}")
    jobs.update(db, job_id, clock=clock, status="processing", upload_url_enc=None)


def _resync(uploaded: int | None, chunks) -> int | None:
    """TikTok's byte count after a 416 (N or N+1, see posting.uploaded_from_header), if it
    falls on a chunk boundary."""
    if uploaded is None:
        return None
    boundaries = {c.end + 1 for c in chunks}
    for candidate in (uploaded, uploaded + 1):
        if candidate in boundaries:
            return candidate
    return None


def resume_upload(runtime: Any, job_id: int, *, actor: Actor,
                  on_progress: ProgressCallback | None = None, client: Any = None,
                  clock: Clock = utc_now) -> PublishJob:
    """Continue an interrupted upload from its last acknowledged chunk (same upload link,
    never a new init). Raises PublishError if another process is uploading it."""
    tiktok, owned = _client(runtime, client)
    owner = jobs.lease_owner()
    try:
        with open_db(runtime.settings.database_path) as db:
            job = _require(db, job_id)
            _authorize_job(db, actor, job)
            if job.status != "uploading":
                return job
            if not jobs.claim(db, job_id, owner, clock=clock):
                raise PublishError("Another Reelboard process is uploading this post right "
                                   "now; follow its progress instead.", step="busy",
                                   retry_safe=True)
            try:
                _upload(db, runtime, tiktok, job_id, owner, on_progress, clock)
                _refresh(db, runtime, tiktok, job_id, clock)
            finally:
                jobs.release(db, job_id, owner)
            return _require(db, job_id)
    finally:
        _close(tiktok, owned)


def _require(db, job_id: int) -> PublishJob:
    job = jobs.get_job(db, job_id)
    if job is None:
        raise PublishError(f"There is no post #{job_id} in the history.", step="unknown_job")
    return job


# -- status ------------------------------------------------------------------------------------


def refresh_status(runtime: Any, job_id: int, *, client: Any = None,
                   clock: Clock = utc_now) -> PublishJob:
    """Ask TikTok once how the job is doing and store the answer (also reconciles ``unknown``
    jobs). TikTok errors are stored on the job, not raised."""
    tiktok, owned = _client(runtime, client)
    try:
        with open_db(runtime.settings.database_path) as db:
            jobs.sweep(db, clock=clock)
            _require(db, job_id)
            _refresh(db, runtime, tiktok, job_id, clock)
            return _require(db, job_id)
    finally:
        _close(tiktok, owned)


def _refresh(db, runtime, tiktok, job_id: int, clock: Clock) -> None:
    row = jobs.raw(db, job_id)
    assert row is not None
    status = row["status"]
    if status in ("prepared", "init_sent", "failed", "cancelled"):
        return
    if status == "published" and (json.loads(row["post_ids"]) or
                                  row["privacy_level"] != "PUBLIC_TO_EVERYONE"):
        return
    if row["publish_id"] is None:
        if status == "unknown":
            _reconcile(db, runtime, tiktok, row, clock)
        return
    try:
        data = call_with_token(
            db, tiktok, runtime.keyring, row["open_id"],
            lambda token: posting.fetch_status(tiktok, token, row["publish_id"]), clock=clock)
    except (TikTokError, AccountError) as exc:
        jobs.update(db, job_id, clock=clock, error_message=exc.message,
                    log_id=getattr(exc, "log_id", None) or row["log_id"])
        return
    _apply_status(db, runtime, row, data, clock)


def _apply_status(db, runtime, row: dict[str, Any], data: dict[str, Any], clock: Clock) -> None:
    job_id = row["id"]
    state = data.get("status")
    fields: dict[str, Any] = {"tiktok_status": state if isinstance(state, str) else None}
    uploaded = data.get("uploaded_bytes")
    if isinstance(uploaded, int) and not isinstance(uploaded, bool) and uploaded >= 0:
        fields["uploaded_bytes"] = max(uploaded, row["uploaded_bytes"] or 0)
    if state in ("PROCESSING_UPLOAD", "PROCESSING_DOWNLOAD"):
        all_sent = row["chunk_count"] is None or row["chunks_acked"] >= row["chunk_count"]
        if row["status"] == "unknown" or (row["status"] == "uploading" and all_sent):
            fields.update(status="processing", error_message=None)
    elif state == "SEND_TO_USER_INBOX":
        fields.update(status="inbox", error_message=None)
    elif state == "PUBLISH_COMPLETE":
        ids = data.get("publicaly_available_post_id")  # TikTok's spelling
        post_ids = [str(i) for i in ids if isinstance(i, int | str) and not isinstance(i, bool)
                    and _POST_ID.match(str(i))] if isinstance(ids, list) else []
        fields.update(status="published", post_ids=post_ids, error_message=None)
    elif state == "FAILED":
        reason = data.get("fail_reason")
        reason = reason if isinstance(reason, str) and reason else "unknown"
        advice = advice_for_fail_reason(reason)
        fields.update(status="cancelled" if reason == "publish_cancelled" else "failed",
                      fail_reason=reason, error_message=f"{advice.explanation} {advice.fix}")
    else:
        fields["error_message"] = f"TikTok reported a status Reelboard does not know ({state})."
    jobs.update(db, job_id, clock=clock, **fields)
    if fields.get("status") in ("published", "inbox", "failed", "cancelled"):
        _discard_spool(runtime.settings, row["source_path"])


def _reconcile(db, runtime, tiktok, row: dict[str, Any], clock: Clock) -> None:
    """An ``unknown`` job without a publish id: look for the post among the creator's recent
    videos (same caption, created after init was sent). Found → published; else it stays
    unknown for a person to check."""
    if row["mode"] != "direct" or not row["caption"]:
        return
    account = get_account(db, row["open_id"])
    if account is None or "video.list" not in account.granted_scopes:
        return
    since = (row["init_sent_at"] or row["created_at"]) - 60
    try:
        page = call_with_token(
            db, tiktok, runtime.keyring, row["open_id"],
            lambda token: tiktok.list_videos(token, ["id", "title", "create_time"]),
            clock=clock)
    except (TikTokError, AccountError) as exc:
        log.info("reconcile job %s: video list failed (%s)", row["id"], exc.step)
        return
    caption = row["caption"]
    for video in page.videos:
        created, title = video.get("create_time"), video.get("title")
        # The Display API may shorten long titles: a long enough prefix of the caption counts.
        same_text = isinstance(title, str) and len(title) >= min(len(caption), 100) and \
            caption.startswith(title)
        if (same_text and isinstance(created, int) and created >= since
                and _POST_ID.match(str(video.get("id", "")))):
            jobs.update(db, row["id"], clock=clock, status="published",
                        post_ids=[str(video["id"])], error_code=None,
                        error_message="Found among the creator's videos after TikTok's answer "
                        "was lost.")
            _discard_spool(runtime.settings, row["source_path"])
            return


def poll_until_settled(runtime: Any, job_id: int, *, deadline_s: float = 300,
                       on_progress: ProgressCallback | None = None, interval_s: float = 5,
                       client: Any = None, clock: Clock = utc_now,
                       sleep: Callable[[float], None] = time.sleep) -> PublishJob:
    """refresh_status every ``interval_s`` until the job is final (or unknown with nothing to
    ask) or ``deadline_s`` of waiting has passed; the job then simply stays ``processing``
    (TikTok gives no time limit) and can be checked later. Never re-posts."""
    tiktok, owned = _client(runtime, client)
    waited = 0.0
    try:
        while True:
            job = refresh_status(runtime, job_id, client=tiktok, clock=clock)
            if on_progress is not None:
                on_progress(int(waited), int(deadline_s), describe(job).title)
            if job.is_final or job.status in ("unknown", "failed") or (
                    job.status == "uploading" and not job.needs_polling):
                return job
            if waited >= deadline_s:
                return job
            step = min(interval_s, deadline_s - waited)
            sleep(step)
            waited += step
    finally:
        _close(tiktok, owned)


def cancel(runtime: Any, job_id: int, *, actor: Actor, client: Any = None,
           clock: Clock = utc_now) -> PublishJob:
    """Ask TikTok to cancel (best effort: only URL downloads still in progress can be)."""
    tiktok, owned = _client(runtime, client)
    try:
        with open_db(runtime.settings.database_path) as db:
            job = _require(db, job_id)
            _authorize_job(db, actor, job)
            if job.publish_id is None or job.is_final:
                raise PublishError("Only a post TikTok is still downloading can be cancelled.",
                                   step="not_cancellable")
            try:
                call_with_token(db, tiktok, runtime.keyring, job.open_id,
                                lambda token: posting.cancel(tiktok, token, job.publish_id),
                                clock=clock)
            except (TikTokError, AccountError) as exc:
                raise PublishError(exc.message, step="cancel_failed") from exc
            _refresh(db, runtime, tiktok, job_id, clock)
            return _require(db, job_id)
    finally:
        _close(tiktok, owned)


def mark_not_posted(runtime: Any, job_id: int, *, actor: Actor,
                    clock: Clock = utc_now) -> PublishJob:
    """A person checked the creator's TikTok and the ``unknown`` post is not there: record
    it as failed, which allows posting it again (an explicit action, never automatic)."""
    with open_db(runtime.settings.database_path) as db:
        job = _require(db, job_id)
        _authorize_job(db, actor, job)
        if job.status != "unknown":
            raise PublishError("Only a post whose outcome is unknown can be marked as not "
                               "posted.", step="not_unknown")
        who = f" by {actor.email}"
        jobs.update(db, job_id, clock=clock, only_if_status=("unknown",), status="failed",
                    error_code="confirmed_not_posted",
                    error_message=f"Checked on TikTok{who}: the post does not exist.")
        return _require(db, job_id)


# -- history -----------------------------------------------------------------------------------


def list_jobs(db: Any, open_id: str | None = None, limit: int = 50) -> list[PublishJob]:
    """Newest first (abandoned jobs settled first: see jobs.sweep)."""
    jobs.sweep(db)
    return jobs.list_jobs(db, open_id, limit)


def get_job(db: Any, job_id: int) -> PublishJob | None:
    return jobs.get_job(db, job_id)


def quotas(db: Any, open_id: str, *, clock: Clock = utc_now) -> Quotas:
    """Posts and pending drafts started through Reelboard in the last 24 h (TikTok's caps are
    shared with other apps, so TikTok may still refuse earlier)."""
    return jobs.quotas(db, open_id, clock=clock)


# -- plain words -------------------------------------------------------------------------------


def post_url(username: str | None, post_id: str) -> str | None:
    """https://www.tiktok.com/@username/video/<id>, only for values that are safe in a URL."""
    if not username or not _USERNAME.match(username) or not _POST_ID.match(post_id):
        return None
    return f"https://www.tiktok.com/@{username}/video/{post_id}"


def _mb(n: int | None) -> str:
    return f"{(n or 0) / 1024 / 1024:,.1f} MB"


def describe(job: PublishJob) -> Outcome:
    """The job in plain words: what happened, what to do, whether posting again is safe."""
    status = job.status
    where = f"@{job.username}" if job.username else "the creator"
    if status == "prepared":
        return Outcome("Starting", "Checking the post before sending it to TikTok.", "info",
                       False, None, None)
    if status == "init_sent":
        return Outcome("Sending to TikTok", "TikTok is receiving the post.", "info", False,
                       None, None)
    if status == "uploading":
        if job.chunk_count is not None and job.chunks_acked >= job.chunk_count:
            return Outcome("Upload finished", "TikTok has the whole file. " + PROCESSING_NOTE,
                           "info", False, job.log_id, None)
        progress = f"{_mb(job.uploaded_bytes)} of {_mb(job.size)} uploaded"
        if job.error_message:
            return Outcome("Upload interrupted",
                           f"{progress}. {job.error_message} Resume the upload within an hour "
                           "of starting it; it continues where it stopped.", "warning", True,
                           job.log_id, None)
        return Outcome("Uploading", progress + ".", "info", False, None, None)
    if status == "processing":
        return Outcome("TikTok is processing the post", PROCESSING_NOTE, "info", False,
                       job.log_id, None)
    if status == "inbox":
        return Outcome(f"Sent to {where}'s TikTok drafts", DRAFT_NOTE, "success", False,
                       job.log_id, None)
    if status == "published":
        url = post_url(job.username, job.post_ids[0]) if job.post_ids else None
        if url:
            message = "The post is live."
        elif job.privacy_level == "PUBLIC_TO_EVERYONE":
            message = ("TikTok accepted the post. The link appears once TikTok's moderation "
                       "makes it public (usually within a minute, sometimes hours).")
        else:
            message = ("TikTok accepted the post. It is not public, so TikTok gives no public "
                       "link; find it on the creator's profile in the TikTok app.")
        return Outcome(f"Posted to {where}", message, "success", False, job.log_id, url)
    if status == "cancelled":
        advice = advice_for_fail_reason("publish_cancelled")
        # Nothing exists at TikTok after a cancel, so posting it again cannot double-post.
        return Outcome("Cancelled", f"{advice.explanation} {advice.fix}", "info", True,
                       job.log_id, None)
    if status == "unknown":
        return Outcome(
            "Outcome unknown",
            "TikTok's answer to this post was lost, so it may or may not exist. Reelboard will "
            f"not send it again by itself. Check {where}'s profile in the TikTok app; if the "
            "post is not there, mark it as not posted and post it again.",
            "warning", False, job.log_id, None)
    # failed
    if job.fail_reason:
        advice = advice_for_fail_reason(job.fail_reason)
        message, retry_safe = f"{advice.explanation} {advice.fix}", advice.retry_safe
    elif job.error_code in API_ERRORS:
        advice = advice_for_api_code(job.error_code)
        message, retry_safe = f"{advice.explanation} {advice.fix}", advice.retry_safe
    else:
        message = job.error_message or "The post failed."
        retry_safe = job.publish_id is None or job.error_code in (
            "upload_url_expired", "file_changed", "confirmed_not_posted")
    return Outcome("Not posted", message, "error", retry_safe, job.log_id, None)


__all__ = [
    "cancel",
    "describe",
    "fetch_creator_info",
    "file_sha256",
    "get_job",
    "list_jobs",
    "mark_not_posted",
    "poll_until_settled",
    "post_url",
    "quotas",
    "refresh_status",
    "resume_upload",
    "spool_upload",
    "submit",
]
