"""Accounts: connect TikTok creators, see what each grant allows, keep tokens healthy.

TikTok's redirect URI points here (fixed url_path "accounts"); the callback arrives in a brand-new
Streamlit session, so everything it needs lives server-side (services.accounts).
"""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from dashboard import runtime
from dashboard.oauth import begin_connect
from dashboard.text import md_text
from services.accounts import (
    CALLBACK_KEYS,
    ConnectError,
    complete_connect,
    disconnect,
    list_accounts,
)
from services.tiktok.scopes import FEATURES, explain_scope, scopes_for

RESULT_KEY = "accounts_flash"

FEATURE_HELP = {
    "analytics": "Profile, follower and like counts, your public videos and their views, "
                 "likes, comments and shares — everything the Overview, Videos and Insights "
                 "screens need.",
    "publishing": "Post a video straight to the creator's profile from the Publish screen.",
    "drafts": "Send a video to the creator's TikTok inbox to finish and post from the app.",
}


def _handle_callback() -> None:
    """TikTok sent the browser back here: finish the connection once, then clean the URL."""
    params = {key: st.query_params.get_all(key) for key in st.query_params}
    if not set(CALLBACK_KEYS) & params.keys():
        return
    try:
        with runtime.database() as db:
            account = complete_connect(
                db, runtime.client(), runtime.keyring(), params,
                redirect_uri=runtime.settings().redirect_uri,
            )
        # Names come from TikTok: shown as text, never as Markdown (security.md §5.6 X5).
        st.session_state[RESULT_KEY] = ("success", f"Connected **{md_text(account.label)}**.")
        if account.declined_scopes:
            limited = [f.reason for f in account.features.values()
                       if set(f.missing) & account.declined_scopes]
            st.session_state[RESULT_KEY] = (
                "warning", f"Connected **{md_text(account.label)}**, but the creator did not grant "
                f"{', '.join(sorted(account.declined_scopes))}. " + " ".join(limited))
    except ConnectError as exc:
        # Session state keeps plain text only (DESIGN.md), never the exception object.
        st.session_state[RESULT_KEY] = ("error", (exc.step, exc.explanation, exc.fix))
    # Never leave the code or state in the address bar or history (security.md R10, C13).
    st.query_params.clear()
    st.rerun()


def _show_flash() -> None:
    flash = st.session_state.pop(RESULT_KEY, None)
    if not flash:
        return
    kind, payload = flash
    if kind == "error":
        step, explanation, fix = payload
        st.error(
            # The explanation can quote the callback's own `error` parameter: text, not Markdown.
            f"**Connecting failed ({step.replace('_', ' ')})** — {md_text(explanation)}\n\n"
            f"{md_text(fix)}",
            icon=":material/error:",
        )
    elif kind == "warning":
        st.warning(payload, icon=":material/warning:")  # built with md_text where it quotes TikTok
    else:
        st.success(payload, icon=":material/check_circle:")


def _connect_panel(has_accounts: bool) -> None:
    with st.container(border=True):
        st.markdown("#### Connect a TikTok account" if not has_accounts
                    else "#### Add another TikTok account")
        st.caption("Choose what Reelboard may do. TikTok asks the creator to approve exactly "
                   "these permissions — they can untick some, and you can ask for more later.")
        chosen = []
        cols = st.columns(len(FEATURES))
        for col, (name, feature) in zip(cols, FEATURES.items(), strict=True):
            with col:
                if st.checkbox(feature.label, value=name == "analytics", key=f"feature_{name}",
                               help=FEATURE_HELP[name]):
                    chosen.append(name)
                st.caption(FEATURE_HELP[name])
        if not chosen:
            st.info("Tick at least one feature to connect an account.")
        scopes = scopes_for(chosen) if chosen else ()
        if scopes:
            st.caption("TikTok permissions requested: " + ", ".join(f"`{s}`" for s in scopes))
        label = "Connect a TikTok account" if not has_accounts else "Connect another account"
        if st.button(label, type="primary", disabled=not chosen, key="connect",
                     icon=":material/add_link:"):
            begin_connect(scopes, add_another=has_accounts)


def _relative(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "—"
    seconds = (moment - now).total_seconds()
    past = seconds < 0
    seconds = abs(seconds)
    if seconds < 90:
        text = f"{int(seconds)} s"
    elif seconds < 5400:
        text = f"{round(seconds / 60)} min"
    elif seconds < 2 * 86400:
        text = f"{seconds / 3600:.1f} h"
    else:
        text = f"{round(seconds / 86400)} days"
    return f"{text} ago" if past else f"in {text}"


def _account_card(account, now: datetime) -> None:
    with st.container(border=True):
        left, middle, right = st.columns([1, 3, 2], vertical_alignment="center")
        with left:
            if account.avatar_url:
                st.image(account.avatar_url, width=88)
        with middle:
            verified = " :blue-badge[:material/verified: Verified]" if account.is_verified else ""
            st.markdown(f"### {md_text(account.display_name) or 'TikTok creator'}{verified}")
            handle = f"@{md_text(account.username)}" if account.username else "username not shared"
            followers = (f"{account.follower_count:,} followers"
                         if account.follower_count is not None else "follower count not shared")
            st.markdown(f"{handle} · {followers}")
            if account.status == "needs_reconnect":
                reason = account.status_reason or "TikTok no longer accepts the stored grant."
                st.error(f"Needs reconnecting — {md_text(reason)}", icon=":material/link_off:")
            elif account.status == "disconnected":
                st.caption("Disconnected — synced history is kept.")
        with right:
            if account.status != "disconnected":
                _actions(account)
            else:
                if st.button("Reconnect", key=f"reconnect_{account.open_id}",
                             icon=":material/link:"):
                    begin_connect(sorted(account.granted_scopes) or scopes_for(["analytics"]),
                           purpose="reconnect", target=account.open_id, add_another=True)
        if account.status == "disconnected":
            return
        features_col, health_col = st.columns(2)
        with features_col:
            st.markdown("**What this grant allows**")
            for status in account.features.values():
                if status.available:
                    st.markdown(f":green[:material/check_circle:] **{status.label}**")
                else:
                    st.markdown(f":orange[:material/block:] **{status.label}** — "
                                f"{status.reason}")
            with st.expander("Granted TikTok permissions"):
                for scope in sorted(account.granted_scopes):
                    st.markdown(f"- `{scope}` — {explain_scope(scope)}")
        with health_col:
            st.markdown("**Token health**")
            st.markdown(
                f"- Access token expires {_relative(account.access_expires_at, now)}\n"
                f"- Refresh token expires {_relative(account.refresh_expires_at, now)}\n"
                f"- Last refresh: {_relative(account.last_refresh_at, now)}\n"
                f"- Connected {_relative(account.connected_at, now)}\n"
                f"- Status: **{account.status.replace('_', ' ')}**"
            )
            st.caption("Reelboard refreshes tokens automatically before they expire.")


def _actions(account) -> None:
    oid = account.open_id
    if account.status == "needs_reconnect" and st.button(
        "Reconnect", key=f"reconnect_{oid}", type="primary", icon=":material/link:"
    ):
        begin_connect(sorted(account.granted_scopes), purpose="reconnect", target=oid,
               add_another=True)
    missing = sorted({s for f in account.features.values() for s in f.missing})
    if missing and account.status == "active" and st.button(
        "Grant more", key=f"grant_{oid}", icon=":material/add_moderator:",
        help="Ask the creator for: " + ", ".join(missing),
    ):
        begin_connect(sorted(account.granted_scopes | set(missing)), purpose="grant_more",
               target=oid, add_another=True)
    confirm_key = f"confirm_disconnect_{oid}"
    if not st.session_state.get(confirm_key):
        if st.button("Disconnect", key=f"disconnect_{oid}", icon=":material/link_off:"):
            st.session_state[confirm_key] = True
            st.rerun()
        return
    st.warning("Disconnect? Reelboard revokes its access at TikTok and deletes the tokens. "
               "Synced history stays.")
    yes, no = st.columns(2)
    if yes.button("Yes, disconnect", key=f"disconnect_yes_{oid}", type="primary"):
        st.session_state.pop(confirm_key, None)
        with runtime.database() as db:
            result = disconnect(db, runtime.client(), runtime.keyring(), oid)
        st.session_state[RESULT_KEY] = ("success" if result.revoked else "warning",
                                        md_text(result.message))  # it names the account
        st.rerun()
    if no.button("Cancel", key=f"disconnect_no_{oid}"):
        st.session_state.pop(confirm_key, None)
        st.rerun()


def render() -> None:
    _handle_callback()
    st.title("Accounts")
    st.caption("The TikTok creator accounts Reelboard can read (and post for). Tokens are "
               "encrypted on this server and never shown.")
    _show_flash()
    with runtime.database() as db:
        accounts = list_accounts(db)
    active = [a for a in accounts if a.status != "disconnected"]
    gone = [a for a in accounts if a.status == "disconnected"]
    now = datetime.now(UTC)
    if not active:
        _connect_panel(has_accounts=False)
        st.markdown("No accounts yet. Connect your first creator above — in sandbox mode, pick "
                    "one of the demo creators on the consent screen.")
    for account in active:
        _account_card(account, now)
    if active:
        _connect_panel(has_accounts=True)
    if gone:
        with st.expander(f"Disconnected accounts ({len(gone)})"):
            for account in gone:
                _account_card(account, now)


render()
