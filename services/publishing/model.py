"""The nouns of publishing: creator info, a post request, a job, its outcome, quotas, errors.

Plain frozen dataclasses, no I/O, so the Publish page, the CLI and tests share them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from services.errors import ReelboardError

Mode = Literal["direct", "draft", "photo"]
MODES: tuple[Mode, ...] = ("direct", "draft", "photo")
MODE_LABELS: dict[str, str] = {
    "direct": "Post now",
    "draft": "Send to TikTok drafts",
    "photo": "Photo post",
}
#: The TikTok scope each mode needs (https://developers.tiktok.com/doc/content-posting-api-get-started).
MODE_SCOPES: dict[str, str] = {
    "direct": "video.publish",
    "draft": "video.upload",
    "photo": "video.publish",
}

PRIVACY_LABELS: dict[str, str] = {
    "PUBLIC_TO_EVERYONE": "Everyone",
    "MUTUAL_FOLLOW_FRIENDS": "Friends (followers you follow back)",
    "FOLLOWER_OF_CREATOR": "Followers",
    "SELF_ONLY": "Only me",
}

JobStatus = Literal[
    "prepared",  # intent written, nothing sent to TikTok yet
    "init_sent",  # init is (or was) on the wire: never sent again automatically
    "uploading",  # init answered; chunks going up (FILE_UPLOAD)
    "processing",  # TikTok has the media and is processing / moderating it
    "inbox",  # drafts: SEND_TO_USER_INBOX, the creator finishes in the TikTok app (success)
    "published",  # PUBLISH_COMPLETE
    "failed",  # FAILED at TikTok, refused at init, or the upload could not finish
    "unknown",  # init's answer was lost: TikTok may or may not have the post (reconcile)
    "cancelled",  # cancelled before TikTok finished (publish_cancelled)
]
#: Statuses after which nothing more happens to a job by itself.
FINAL_STATUSES: frozenset[str] = frozenset({"published", "inbox", "failed", "cancelled"})
#: Statuses that count as "this content is already on its way" for the double-submit guard.
ACTIVE_STATUSES: frozenset[str] = frozenset(
    {"prepared", "init_sent", "uploading", "processing", "unknown"}
)


class PublishError(ReelboardError):
    """Base error of services.publishing; ``message`` says what happened and what to do."""

    step = "publish"


class ValidationFailed(PublishError):
    """The form or the media breaks a rule; ``problems`` lists each one. Nothing was sent."""

    step = "invalid_post"

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("The post cannot be sent yet:\n" + "\n".join(f"- {p}" for p in problems))


class AlreadyQueued(PublishError):
    """The same content, caption and mode is already on its way for this account."""

    step = "already_queued"

    def __init__(self, job_id: int, status: str):
        self.job_id = job_id
        self.status = status
        super().__init__(
            f"This post is already queued (job #{job_id}, {status}). Follow it in the history "
            "below instead of posting it again."
        )


@dataclass(frozen=True)
class Problem:
    """One pre-flight failure: what is wrong, and how to fix it."""

    what: str
    fix: str

    def __str__(self) -> str:
        return f"{self.what} {self.fix}"


@dataclass(frozen=True)
class CreatorInfo:
    """creator_info/query (https://developers.tiktok.com/doc/content-posting-api-reference-query-creator-info),
    fetched fresh for every render of the Post form; never cached.

    ``can_post`` False means stop: ``blocked_reason`` says why in plain words (TikTok's daily
    cap, a posting ban, the app's creator cap, a missing permission, ...).
    ``allowed_modes``: the modes this account's grant allows (direct/photo need
    ``video.publish``, drafts need ``video.upload``).
    ``max_video_post_duration_sec`` is None when TikTok could not be asked (a drafts-only grant
    cannot call creator_info); the API-wide 600 s limit then applies.
    """

    open_id: str
    nickname: str
    username: str | None
    avatar_url: str | None
    privacy_level_options: tuple[str, ...]
    comment_disabled: bool
    duet_disabled: bool
    stitch_disabled: bool
    max_video_post_duration_sec: int | None
    can_post: bool
    blocked_reason: str | None
    allowed_modes: tuple[Mode, ...]
    blocked_code: str | None = None  # TikTok's code when can_post is False (for logs/tests)


@dataclass(frozen=True)
class FileSource:
    """A video file on this server's disk (a spooled upload or a server path)."""

    path: Path


@dataclass(frozen=True)
class UrlSource:
    """A video TikTok pulls itself (PULL_FROM_URL): HTTPS on a verified domain or URL prefix."""

    url: str


@dataclass(frozen=True)
class PhotoUrls:
    """Photo post images (PULL_FROM_URL only): 1–35 HTTPS URLs on a verified domain."""

    urls: tuple[str, ...]
    cover_index: int = 0


Source = FileSource | UrlSource | PhotoUrls


@dataclass(frozen=True)
class PostRequest:
    """Everything the user chose on the form (or the CLI). No defaults are picked for them:
    ``privacy_level`` None means "not chosen yet" and fails validation for direct/photo.

    ``caption``: the video's title (≤2200 UTF-16 units), or the photo post's description
    (≤4000); ``photo_title``: the photo post's title (≤90). Drafts carry no caption: TikTok's
    inbox init takes none, the creator writes it in the app.
    ``brand_organic`` = "Your brand", ``brand_content`` = "Branded content"; ``disclose`` is
    the commercial content toggle (when on, at least one of the two must be ticked).
    """

    open_id: str
    mode: Mode
    source: Source
    caption: str = ""
    privacy_level: str | None = None
    allow_comment: bool = False
    allow_duet: bool = False
    allow_stitch: bool = False
    disclose: bool = False
    brand_organic: bool = False
    brand_content: bool = False
    is_aigc: bool = False
    cover_timestamp_ms: int | None = None
    photo_title: str = ""
    auto_add_music: bool = False


@dataclass(frozen=True)
class MediaInfo:
    """What the media probe read from the file itself (not from its name)."""

    path: Path
    size: int
    container: str  # "mp4" | "mov" | "webm" | another demuxer name
    codec: str | None  # "h264" | "hevc" | "vp8" | "vp9" | …
    duration_s: float | None
    fps: float | None
    width: int | None
    height: int | None

    @property
    def content_type(self) -> str:
        """The upload's Content-Type (https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide)."""
        return {"mov": "video/quicktime", "webm": "video/webm"}.get(self.container, "video/mp4")


@dataclass(frozen=True)
class Quotas:
    """Posts started through Reelboard in the last 24 h, against TikTok's documented caps
    (about 15 posts a day per creator, shared with every other app; 5 pending drafts)."""

    posts_today: int
    posts_limit: int
    pending_drafts: int
    drafts_limit: int

    @property
    def posts_left(self) -> int:
        return max(0, self.posts_limit - self.posts_today)

    @property
    def drafts_left(self) -> int:
        return max(0, self.drafts_limit - self.pending_drafts)


@dataclass(frozen=True)
class PublishJob:
    """One row of ``publish_jobs``: a post's whole life, from intent to TikTok's verdict."""

    id: int
    open_id: str
    mode: Mode
    source_kind: Literal["file", "url", "photos"]
    source_label: str  # the file name or the URL (never a token)
    size: int | None
    sha256: str | None
    caption: str
    privacy_level: str | None
    options: dict = field(hash=False)
    status: str
    publish_id: str | None
    fail_reason: str | None
    error_code: str | None
    error_message: str | None
    log_id: str | None
    uploaded_bytes: int
    chunk_count: int | None
    chunks_acked: int
    post_ids: tuple[str, ...]
    username: str | None
    actor: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def needs_polling(self) -> bool:
        """The page keeps calling refresh_status while this is True (fragment ``run_every``):
        TikTok is processing, the upload is complete but unconfirmed, or a public post is
        waiting for moderation to give it a link."""
        if self.status == "processing":
            return True
        if self.status == "uploading":
            return self.chunk_count is not None and self.chunks_acked >= self.chunk_count
        return (self.status == "published" and not self.post_ids
                and self.privacy_level == "PUBLIC_TO_EVERYONE")


@dataclass(frozen=True)
class Outcome:
    """A job in plain words for the history table and the result box.

    ``kind``: "success" | "info" | "warning" | "error" (the page picks st.success/…);
    ``retry_safe``: posting the same thing again cannot double-post and may work;
    ``post_url``: link to the public post once TikTok made it public.
    """

    title: str
    message: str
    kind: Literal["success", "info", "warning", "error"]
    retry_safe: bool
    log_id: str | None
    post_url: str | None
