"""Publish: post a video or photos to a connected creator, or send a video to their drafts.

The form follows TikTok's Content Sharing Guidelines in their order
(https://developers.tiktok.com/doc/content-sharing-guidelines): creator info fetched on every
render with the nickname shown → mode → media with pre-flight and preview → caption → privacy
(no default) → interactions → commercial content disclosure → declarations → Post, enabled only
when the form is valid. The rules are in dashboard.publish_form and services.publishing.
"""

from __future__ import annotations

import streamlit as st

from dashboard import publish_form as form
from dashboard import publish_media as media
from dashboard import publish_status as status
from dashboard import runtime, selection
from dashboard.components import empty_state
from dashboard.errors import show_error
from dashboard.oauth import begin_connect
from dashboard.publish_audit import render_checklist
from services.accounts import Account, list_accounts
from services.publishing import (
    MODE_LABELS,
    MODE_SCOPES,
    PROCESSING_NOTE,
    PostRequest,
    PublishError,
    fetch_creator_info,
    list_jobs,
    quotas,
)


def _account_picker(accounts: list[Account]) -> Account:
    """Only connected accounts; the sidebar's first choice is preselected."""
    ids = [a.open_id for a in accounts]
    key = "publish_account"
    if st.session_state.get(key) not in ids:
        chosen = [a.open_id for a in selection.accounts() if a.open_id in ids]
        st.session_state[key] = (chosen or ids)[0]
    by_id = {a.open_id: a for a in accounts}
    oid = st.selectbox(
        "Account",
        ids,
        key=key,
        format_func=lambda i: by_id[i].label,
        help="Only accounts connected and working are listed.",
    )
    return by_id[oid]


def _grant_more(account, missing_modes: dict[str, str]) -> None:
    """Modes this grant does not allow, and the Accounts page's "Grant more" for them."""
    with st.container(border=True):
        for why in missing_modes.values():
            st.markdown(f":orange[:material/block:] {why}")  # our own sentence
        scopes = sorted(account.granted_scopes | {MODE_SCOPES[m] for m in missing_modes})
        if st.button(
            "Grant more",
            key="publish_grant_more",
            icon=":material/add_moderator:",
            help="Ask the creator on TikTok for: "
            + ", ".join(sorted({MODE_SCOPES[m] for m in missing_modes})),
        ):
            begin_connect(scopes, purpose="grant_more", target=account.open_id, add_another=True)


def _form(account, creator) -> None:
    mode = form.mode_picker(creator)
    with runtime.database() as db:
        status.quotas_line(quotas(db, account.open_id), mode)

    st.markdown("##### 1. The content")
    chosen = media.media_section(mode, creator, runtime.settings().data_dir)
    caption, photo_title = form.caption_fields(mode)

    values: dict = {}
    if mode != "draft":
        st.markdown("##### 2. Who can see it and how people can interact")
        branded_now = bool(st.session_state.get("publish_branded")) and bool(
            st.session_state.get("publish_disclose")
        )
        values["privacy_level"] = form.privacy_select(creator, branded_now)
        values.update(form.interaction_checks(creator, mode))
        st.markdown("##### 3. Commercial content")
        values.update(form.disclosure(mode, values["privacy_level"]))
        st.markdown("##### 4. Labels and cover")
        values.update(form.extras(mode))
    else:
        st.caption(
            "Interaction settings (comments, Duet, Stitch) and who can see the post are "
            "chosen by the creator in TikTok when they post the draft."
        )

    request = PostRequest(
        open_id=account.open_id,
        mode=mode,
        source=chosen.source,  # None until chosen: validate() then asks for the media
        caption=caption,
        photo_title=photo_title,
        **values,
    )
    blockers = form.post_blockers(request, creator, [str(p) for p in chosen.problems])
    sent = status.sent_job(account.open_id)
    if sent is not None:  # a second click (or a rerun) must not post it twice
        blockers.insert(
            0, f"This post was sent (job #{sent.id}). Choose “New post” to start another."
        )

    st.divider()
    form.declaration_text(values.get("brand_organic", False), values.get("brand_content", False))
    st.caption(PROCESSING_NOTE)
    label = "Send to TikTok drafts" if mode == "draft" else "Post"
    post_col, new_col = st.columns([1, 5])
    clicked = post_col.button(
        label,
        type="primary",
        key="publish_post",
        disabled=bool(blockers),
        help=form.post_help(blockers, mode),
        icon=":material/send:",
    )
    if sent is not None:
        with new_col:
            status.new_post_button()
    if clicked and sent is not None:
        status.already_queued(sent.id, sent.status)
    elif clicked and not blockers:
        status.post(request, creator)


def render() -> None:
    form.keep_form_values()
    st.title("Publish")
    st.caption(
        "Post a video or photos to a connected creator, or send a video to their TikTok "
        "drafts. Nothing is sent to TikTok before you click Post."
    )
    with runtime.database() as db:
        accounts = [a for a in list_accounts(db) if a.status == "active"]
    if not accounts:
        empty_state(
            "No account to post to",
            "Connect a TikTok account with the **Publishing** (or **Drafts**) "
            "permission on the Accounts page.",
            icon=":material/upload:",
        )
        render_checklist()
        return
    account = _account_picker(accounts)
    missing = form.mode_problems(account.granted_scopes)
    if len(missing) == len(MODE_LABELS):
        _grant_more(account, missing)
    else:
        # Guideline 1: creator info on every render, never cached.
        try:
            creator = fetch_creator_info(runtime.get_runtime(), account.open_id)
        except PublishError as exc:
            show_error(exc)
            creator = None
        if creator is not None:
            form.creator_header(creator)
            if not creator.can_post:
                st.error(
                    "This creator cannot post right now — try again later.", icon=":material/block:"
                )
                st.text(creator.blocked_reason or "TikTok gave no reason.")
            else:
                if missing:
                    _grant_more(account, missing)
                _form(account, creator)
    status.status_panel()
    with runtime.database() as db:
        jobs = list_jobs(db, limit=50)
    status.history(jobs, {a.open_id: a.label for a in accounts}, runtime.settings().timezone)
    render_checklist()


render()
