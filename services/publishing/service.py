"""The publishing service: creator info, submit (intent → init → upload), status, history.

Double posts are avoided the way security.md-style publishing protocols do it, since TikTok's
posting calls take no idempotency key
(https://developers.tiktok.com/doc/content-posting-api-reference-direct-post):

1. the intent row is written first; a unique index over (account, content, mode, caption) among
   jobs still on their way turns a double click or a second tab into "already queued";
2. ``init_sent`` is committed *before* init goes out; an init whose answer is lost (timeout,
   reset, 5xx after sending) makes the job ``unknown``; init is never sent again by itself;
3. chunks go up one by one from disk; a failed chunk is re-sent as the same byte range a few
   times, and the last acknowledged chunk is saved so a restarted process resumes from it;
4. status is polled with a deadline; ``unknown`` jobs are reconciled by status or by the
   creator's recent videos, never by posting again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from services.clock import Clock, utc_now
from services.publishing.model import (
    CreatorInfo,
    Outcome,
    PostRequest,
    PublishJob,
    Quotas,
)

ProgressCallback = Callable[[int, int | None, str], None]


def fetch_creator_info(
    runtime: Any, open_id: str, *, client: Any = None, clock: Clock = utc_now
) -> CreatorInfo:
    """creator_info/query, fresh on every call (never cached)."""
    raise NotImplementedError


def spool_upload(fileobj: BinaryIO, size: int | None, data_dir: Path) -> Path:
    """Copy an uploaded file-like object to ``data_dir/uploads`` in chunks, once."""
    raise NotImplementedError


def submit(
    runtime: Any,
    request: PostRequest,
    *,
    creator: CreatorInfo | None = None,
    on_progress: ProgressCallback | None = None,
    actor: str | None = None,
    client: Any = None,
    clock: Clock = utc_now,
) -> PublishJob:
    """Validate, pre-flight, write the intent, init once, upload; returns the job."""
    raise NotImplementedError


def resume_upload(
    runtime: Any,
    job_id: int,
    *,
    on_progress: ProgressCallback | None = None,
    client: Any = None,
    clock: Clock = utc_now,
) -> PublishJob:
    """Continue an interrupted upload from its last acknowledged chunk."""
    raise NotImplementedError


def refresh_status(
    runtime: Any, job_id: int, *, client: Any = None, clock: Clock = utc_now
) -> PublishJob:
    """Ask TikTok once how the job is doing and store the answer."""
    raise NotImplementedError


def poll_until_settled(
    runtime: Any,
    job_id: int,
    *,
    deadline_s: float = 300,
    on_progress: ProgressCallback | None = None,
    interval_s: float = 5,
    client: Any = None,
    clock: Clock = utc_now,
    sleep: Callable[[float], None] | None = None,
) -> PublishJob:
    """refresh_status until the job is final or ``deadline_s`` passes."""
    raise NotImplementedError


def cancel(runtime: Any, job_id: int, *, client: Any = None, clock: Clock = utc_now) -> PublishJob:
    """Ask TikTok to cancel (best effort, PULL_FROM_URL only)."""
    raise NotImplementedError


def list_jobs(db: Any, open_id: str | None = None, limit: int = 50) -> list[PublishJob]:
    """Newest first."""
    raise NotImplementedError


def get_job(db: Any, job_id: int) -> PublishJob | None:
    raise NotImplementedError


def quotas(db: Any, open_id: str, *, clock: Clock = utc_now) -> Quotas:
    """Posts and pending drafts started through Reelboard in the last 24 h."""
    raise NotImplementedError


def describe(job: PublishJob) -> Outcome:
    """The job in plain words."""
    raise NotImplementedError
