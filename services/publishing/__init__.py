"""Publishing to TikTok: direct posts, drafts and photo posts, following TikTok's Content
Sharing Guidelines (https://developers.tiktok.com/doc/content-sharing-guidelines).

What the Publish page (and the CLI) call, in the order of the form:

1. ``fetch_creator_info(runtime, open_id) -> CreatorInfo`` on every render (never cached).
   Show ``creator.nickname``; if ``not creator.can_post`` stop with ``creator.blocked_reason``.
   Offer only ``creator.allowed_modes`` (labels in ``MODE_LABELS``).
2. Caption counter: ``caption_units(text)`` against ``CAPTION_LIMITS["video"]`` (2200), or
   ``["photo_title"]`` (90) / ``["photo_description"]`` (4000); ``has_bidi_controls(text)``
   to flag right-to-left overrides.
3. Privacy: ``privacy_choices(creator, brand_content)`` → {level: None | why disabled}, labels
   in ``PRIVACY_LABELS``; no default. Interactions unticked by default, disabled where
   ``creator.comment_disabled`` / ``duet_disabled`` / ``stitch_disabled`` (photos: comment only).
4. Disclosure: ``disclosure_label(mode, brand_organic, brand_content)`` (None → show no label);
   ``declaration(brand_organic, brand_content) -> (sentence, [(link text, url)])`` above Post;
   ``DISCLOSURE_NEEDS_CHOICE`` / ``BRANDED_NOT_PRIVATE`` hover texts.
5. Media: ``spool_upload(uploaded_file, uploaded_file.size, settings.data_dir) -> Path`` once
   per upload, then ``FileSource(path)``; ``probe_video(path) -> MediaInfo`` for the preview
   facts; ``preflight_video(path, creator) -> list[Problem]`` (each has ``what`` and ``fix``).
6. ``validate(PostRequest(...), creator) -> list[str]``: empty means Post may be enabled; the
   first reason is the button's hover text. ``quotas(db, open_id) -> Quotas`` before posting.
7. On the Post click: ``submit(runtime, request, creator=creator, on_progress=cb, actor=who)``
   → ``PublishJob`` (raises ``ValidationFailed`` with ``.problems``, ``AlreadyQueued`` with
   ``.job_id``, or another ``PublishError``; all have ``.message``). ``on_progress(done,
   total, message)`` counts uploaded bytes.
8. While ``job.needs_polling``: ``refresh_status(runtime, job.id)`` from a fragment with
   ``run_every`` (the CLI uses ``poll_until_settled``). Show ``describe(job) -> Outcome``
   (title, message, kind, retry_safe, log_id, post_url). ``PROCESSING_NOTE`` / ``DRAFT_NOTE``
   say what happens next.
9. Recovery, each only on an explicit click: ``resume_upload(runtime, job.id, on_progress=cb)``
   for an "Upload interrupted" job (same upload link, never a new init);
   ``mark_not_posted(runtime, job.id, actor=who)`` once a person checked that an "Outcome
   unknown" post is not on TikTok (this is what allows posting it again);
   ``cancel(runtime, job.id)`` for a URL post TikTok is still downloading.
10. History: ``list_jobs(db, open_id, limit=50)``, each row through ``describe``;
    ``post_url(username, post_id)`` builds a safe link.

Errors: every exception is a ``PublishError`` (a ``services.errors.ReelboardError``) with a
``message`` fit for the UI; nothing here imports streamlit.
"""

from services.publishing.captions import (
    CAPTION_LIMITS,
    caption_problems,
    caption_units,
    has_bidi_controls,
)
from services.publishing.chunks import (
    MAX_VIDEO_BYTES,
    Chunk,
    ChunkPlan,
    ChunkPlanError,
    plan_chunks,
)
from services.publishing.media import preflight_photo_file, preflight_video, probe_video
from services.publishing.model import (
    FINAL_STATUSES,
    MODE_LABELS,
    MODE_SCOPES,
    MODES,
    PRIVACY_LABELS,
    AlreadyQueued,
    CreatorInfo,
    FileSource,
    MediaInfo,
    Mode,
    Outcome,
    PhotoUrls,
    PostRequest,
    Problem,
    PublishError,
    PublishJob,
    Quotas,
    UrlSource,
    ValidationFailed,
)
from services.publishing.rules import (
    BRANDED_CONTENT_POLICY_URL,
    BRANDED_NOT_PRIVATE,
    DISCLOSURE_NEEDS_CHOICE,
    DRAFT_NOTE,
    MUSIC_USAGE_URL,
    PROCESSING_NOTE,
    declaration,
    disclosure_label,
    privacy_choices,
    validate,
)
from services.publishing.service import (
    cancel,
    describe,
    fetch_creator_info,
    get_job,
    list_jobs,
    mark_not_posted,
    poll_until_settled,
    post_url,
    quotas,
    refresh_status,
    resume_upload,
    spool_upload,
    submit,
)

__all__ = [
    "BRANDED_CONTENT_POLICY_URL",
    "BRANDED_NOT_PRIVATE",
    "CAPTION_LIMITS",
    "DISCLOSURE_NEEDS_CHOICE",
    "DRAFT_NOTE",
    "FINAL_STATUSES",
    "MAX_VIDEO_BYTES",
    "MODES",
    "MODE_LABELS",
    "MODE_SCOPES",
    "MUSIC_USAGE_URL",
    "PRIVACY_LABELS",
    "PROCESSING_NOTE",
    "AlreadyQueued",
    "Chunk",
    "ChunkPlan",
    "ChunkPlanError",
    "CreatorInfo",
    "FileSource",
    "MediaInfo",
    "Mode",
    "Outcome",
    "PhotoUrls",
    "PostRequest",
    "Problem",
    "PublishError",
    "PublishJob",
    "Quotas",
    "UrlSource",
    "ValidationFailed",
    "cancel",
    "caption_problems",
    "caption_units",
    "declaration",
    "describe",
    "disclosure_label",
    "fetch_creator_info",
    "get_job",
    "has_bidi_controls",
    "list_jobs",
    "mark_not_posted",
    "plan_chunks",
    "poll_until_settled",
    "post_url",
    "preflight_photo_file",
    "preflight_video",
    "privacy_choices",
    "probe_video",
    "quotas",
    "refresh_status",
    "resume_upload",
    "spool_upload",
    "submit",
    "validate",
]
