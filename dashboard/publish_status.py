"""After the Post click: upload progress, the status panel that polls TikTok, the job history.

Status is polled from a fragment with ``run_every`` (only the panel reruns, not the form) until
the job settles or the deadline passes; TikTok guarantees no processing time and a post can sit
in processing for a long time (https://developers.tiktok.com/doc/content-posting-api-reference-get-video-status),
so past the deadline the page stops asking and says so — it never posts again by itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from dashboard import gate, runtime
from services.publishing import (
    MODE_LABELS,
    PROCESSING_NOTE,
    AlreadyQueued,
    CreatorInfo,
    PostRequest,
    PublishError,
    PublishJob,
    Quotas,
    ValidationFailed,
    describe,
    get_job,
    mark_not_posted,
    refresh_status,
    resume_upload,
    submit,
)

JOB_KEY = "publish_job"  # the id of the job this session is following
NONCE_KEY = "upload_nonce"  # a new value gives the file uploader a new key: an empty one
POLL_EVERY_S = 3
POLL_DEADLINE_S = 10 * 60
#: Our job status → TikTok's own status word (status/fetch), shown next to the outcome.
TIKTOK_STATUS = {
    "processing": "PROCESSING_UPLOAD",
    "inbox": "SEND_TO_USER_INBOX",
    "published": "PUBLISH_COMPLETE",
    "failed": "FAILED",
}
HEADLINES = {
    "published": "Posted",
    "inbox": "Sent to the creator's TikTok drafts",
    "failed": "Not posted",
    "cancelled": "Cancelled",
    "unknown": "Outcome unknown",
    "processing": "TikTok is processing the post",
    "uploading": "Upload not finished",
}
_ALERT = {"success": st.success, "info": st.info, "warning": st.warning, "error": st.error}


def quotas_line(quotas: Quotas, mode: str) -> None:
    """Caps TikTok enforces per creator, shown before posting."""
    if mode == "draft":
        st.caption(
            f":material/inbox: Pending drafts in the last 24 h: {quotas.pending_drafts} "
            f"of {quotas.drafts_limit} (TikTok refuses more until the creator posts or "
            "deletes some)."
        )
    else:
        st.caption(
            f":material/event_repeat: Posts in the last 24 h through Reelboard: "
            f"{quotas.posts_today} of about {quotas.posts_limit} a day (TikTok counts "
            "posts from every app together, so fewer may be left)."
        )
    left = quotas.drafts_left if mode == "draft" else quotas.posts_left
    if left == 0:
        st.warning(
            "TikTok's limit for the last 24 hours is reached; posting now will most "
            "likely be refused. Try again tomorrow.",
            icon=":material/hourglass:",
        )


def _shielded(work: Callable[[], PublishJob]) -> PublishJob:
    """Run ``work`` to the end even if the user clicks something meanwhile.

    Streamlit stops a running script at its next element call when a widget changes, which
    would cut an upload off between two chunks. Elements drawn from another thread (here: the
    progress bar) are not such stopping points, so the post runs on a worker thread that
    carries this run's context, and this thread only waits; a pending rerun happens after the
    job id is stored.
    """
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["job"] = work()
        except BaseException as exc:  # handed to the script thread below
            outcome["error"] = exc

    worker = threading.Thread(target=target, name="reelboard-publish", daemon=True)
    add_script_run_ctx(worker, get_script_run_ctx())
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["job"]  # type: ignore[return-value]


def _progress_bar():
    bar = st.progress(0.0, text="Starting…")

    def on_progress(done: int, total: int | None, message: str) -> None:
        bar.progress(min(1.0, done / total) if total else 0.0, text=message)

    return bar, on_progress


def _follow(job_id: int) -> None:
    st.session_state[JOB_KEY] = job_id
    st.session_state[f"{JOB_KEY}_since"] = time.time()


def post(request: PostRequest, creator: CreatorInfo) -> None:
    """Run the post (write intent → init → upload) with a progress bar; remember the job."""
    bar, on_progress = _progress_bar()
    rt = runtime.get_runtime()
    actor = gate.current_actor()
    try:
        job = _shielded(
            lambda: submit(rt, request, actor=actor, creator=creator, on_progress=on_progress)
        )
    except AlreadyQueued as exc:  # the same post from another tab, or a click racing this one
        _follow(exc.job_id)
        bar.empty()
        already_queued(exc.job_id, exc.status)
        return
    except ValidationFailed as exc:
        bar.empty()
        st.error("Nothing was sent to TikTok:", icon=":material/error:")
        for problem in exc.problems:
            st.text(f"• {problem}")
        return
    except PublishError as exc:
        bar.empty()
        st.error(f"**{exc.step.replace('_', ' ').capitalize()}**", icon=":material/error:")
        st.text(exc.message)  # may quote TikTok's own message: plain text
        return
    _follow(job.id)
    st.rerun()  # redraw with Post disabled and the status panel following the job


def already_queued(job_id: int, job_status: str) -> None:
    st.info(
        f"Already queued — job #{job_id} is on its way ({job_status.replace('_', ' ')}); it "
        "was not sent again.",
        icon=":material/schedule_send:",
    )


def sent_job(open_id: str) -> PublishJob | None:
    """The job this session sent for ``open_id``, unless it failed (then posting again, after
    fixing the form, is the way forward)."""
    job_id = st.session_state.get(JOB_KEY)
    if job_id is None:
        return None
    with runtime.database() as db:
        job = get_job(db, job_id)
    if job is None or job.open_id != open_id or job.status in ("failed", "cancelled"):
        return None
    return job


def new_post_button() -> None:
    """Clear the form (and the upload) to start another post; the history keeps the last."""
    if st.button("New post", key="publish_new", icon=":material/add:"):
        nonce = st.session_state.get(NONCE_KEY, 0) + 1
        for key in [k for k in st.session_state if str(k).startswith("publish_")]:
            if key not in ("publish_account", "publish_mode", "publish_source"):
                del st.session_state[key]
        st.session_state[NONCE_KEY] = nonce
        st.rerun()


def _resume(job_id: int) -> None:
    """Continue an upload that stopped between chunks (same upload link, never a new init)."""
    bar, on_progress = _progress_bar()
    rt = runtime.get_runtime()
    actor = gate.current_actor()
    try:
        _shielded(lambda: resume_upload(rt, job_id, actor=actor, on_progress=on_progress))
    except PublishError as exc:
        bar.empty()
        st.text(exc.message)
        return
    _follow(job_id)
    st.rerun()


def status_panel() -> None:
    job_id = st.session_state.get(JOB_KEY)
    if job_id is None:
        return
    with runtime.database() as db:
        job = get_job(db, job_id)
    if job is None:
        return
    if keep_polling(job) and not _past_deadline():
        st.session_state[f"{JOB_KEY}_drawn_status"] = job.status
        _poll(job_id)
    else:
        _outcome(job)


def keep_polling(job: PublishJob) -> bool:
    """Still processing; being uploaded by another tab or process (its progress shows here);
    or published publicly but not yet through TikTok's moderation (the link comes then)."""
    awaiting_link = (
        job.status == "published" and not job.post_ids and job.privacy_level == "PUBLIC_TO_EVERYONE"
    )
    uploading_elsewhere = job.status == "uploading" and not job.error_message
    return job.needs_polling or awaiting_link or uploading_elsewhere


def _stalled(job: PublishJob) -> bool:
    """An upload that stopped (a failed chunk, or no progress until the polling deadline)."""
    return (
        job.status == "uploading"
        and not job.needs_polling
        and (bool(job.error_message) or _past_deadline())
    )


@st.fragment(run_every=POLL_EVERY_S)
def _poll(job_id: int) -> None:
    try:
        job = refresh_status(runtime.get_runtime(), job_id)
    except PublishError as exc:  # e.g. a rate limit: the next tick tries again
        st.caption(f"Could not ask TikTok just now ({exc.step.replace('_', ' ')}); retrying.")
        return
    _outcome(job)
    # A full run draws the settled panel without the timer, and the history below with the
    # new status (it showed "processing" beside a PUBLISH_COMPLETE panel while the link was
    # still awaited).
    changed = job.status != st.session_state.get(f"{JOB_KEY}_drawn_status")
    if changed or not keep_polling(job) or _past_deadline():
        st.rerun()


def _past_deadline() -> bool:
    since = st.session_state.get(f"{JOB_KEY}_since")
    return since is not None and time.time() - since > POLL_DEADLINE_S


def _outcome(job: PublishJob) -> None:
    outcome = describe(job)
    with st.container(border=True):
        # The headline is our own words; the title and message may carry the creator's
        # username or TikTok's text, so they are drawn as plain text.
        tiktok = TIKTOK_STATUS.get(job.status)
        word = f" · TikTok status: {tiktok}" if tiktok and job.publish_id else ""
        _ALERT[outcome.kind](f"**{HEADLINES.get(job.status, 'In progress')}**{word}")
        st.text(f"{outcome.title}. {outcome.message}")
        if job.status == "failed":
            st.caption(
                "Posting again is safe."
                if outcome.retry_safe
                else "Posting the same thing again will fail the same way; fix it first."
            )
        if outcome.log_id:
            st.text(f"TikTok log id: {outcome.log_id}")
        if outcome.post_url:
            st.link_button(
                "Open the post on TikTok", outcome.post_url, icon=":material/open_in_new:"
            )
        if _stalled(job) and st.button(
            "Resume upload",
            key="publish_resume",
            icon=":material/resume:",
            help="Continues from the last part TikTok confirmed, with the same upload link "
            "(valid for an hour). Nothing is posted twice.",
        ):
            _resume(job.id)
        if job.status == "unknown":
            _unknown_actions(job)
        # The outcome's message already says what the creator does with a draft, and while
        # TikTok processes it is the processing note itself: say each once.
        if not job.is_final and outcome.message != PROCESSING_NOTE:
            st.caption(PROCESSING_NOTE)
            if job.needs_polling and _past_deadline():
                st.warning(
                    "TikTok is still processing this post. Reelboard stopped asking; "
                    "nothing is sent again. Check the history later.",
                    icon=":material/hourglass:",
                )
                if st.button("Check now", key="publish_check_now"):
                    st.session_state[f"{JOB_KEY}_since"] = time.time()
                    st.rerun()


def _unknown_actions(job: PublishJob) -> None:
    """TikTok's answer was lost: Reelboard never re-sends by itself. A person checks the
    creator's profile, then either asks again or records that the post does not exist."""
    check, missing = st.columns(2)
    if check.button(
        "Check again",
        key="publish_check_unknown",
        icon=":material/refresh:",
        help="Asks TikTok (and the creator's recent videos) about this post.",
    ):
        refresh_status(runtime.get_runtime(), job.id)
        st.rerun()
    if missing.button(
        "It is not on TikTok — mark as not posted",
        key="publish_not_posted",
        help="Only after checking the creator's profile in the TikTok app. "
        "Then the form can post it again.",
    ):
        mark_not_posted(runtime.get_runtime(), job.id, actor=gate.current_actor())
        st.rerun()


def history(jobs: Sequence[PublishJob], names: dict[str, str], tz: str) -> None:
    """Every job, newest first, in plain words; captions are cells (text), never Markdown."""
    st.subheader("History")
    if not jobs:
        st.caption("Nothing posted through Reelboard yet.")
        return
    rows = []
    for job in jobs:
        outcome = describe(job)
        rows.append(
            {
                "when": pd.Timestamp(job.created_at).tz_convert(tz).tz_localize(None),
                "account": names.get(job.open_id, job.username or job.open_id),
                "mode": MODE_LABELS.get(job.mode, job.mode),
                "caption": job.caption,
                "status": job.status.replace("_", " "),
                "outcome": outcome.title,
                "link": outcome.post_url,
            }
        )
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        key="publish_history",
        column_config={
            "when": st.column_config.DatetimeColumn("When", format="D MMM YYYY, HH:mm"),
            "account": st.column_config.TextColumn("Account"),
            "mode": st.column_config.TextColumn("Mode"),
            "caption": st.column_config.TextColumn("Caption", width="large"),
            "status": st.column_config.TextColumn("Status"),
            "outcome": st.column_config.TextColumn("Outcome", width="medium"),
            "link": st.column_config.LinkColumn("Post", display_text="Open ↗"),
        },
    )
