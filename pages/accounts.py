"""Accounts: connect TikTok creators, see what each grant allows, keep tokens healthy.

TikTok's redirect URI points here (fixed url_path "accounts"); the callback arrives in a brand-new
Streamlit session, so everything it needs lives server-side (services.accounts).
"""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from dashboard import accounts_flow, gate, runtime
from dashboard.oauth import begin_connect
from dashboard.text import is_web_url, md_text
from services.accounts import disconnect, list_accounts
from services.analytics.metrics import format_time
from services.tiktok.scopes import FEATURES, permission_words, scopes_for

RESULT_KEY = accounts_flow.FLASH_KEY

FEATURE_HELP = {
    "analytics": "Profile, follower and like counts, your public videos and their views, "
                 "likes, comments and shares — everything the Overview, Videos and Insights "
                 "screens need.",
    "publishing": "Post a video straight to the creator's profile from the Publish screen.",
    "drafts": "Send a video to the creator's TikTok inbox to finish and post from the app.",
}


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
            with st.expander("TikTok permissions this asks for"):
                _permission_list(scopes)
        label = "Connect a TikTok account" if not has_accounts else "Connect another account"
        if st.button(label, type="primary", disabled=not chosen, key="connect",
                     icon=":material/add_link:"):
            begin_connect(gate.current_actor(), scopes, add_another=has_accounts)


def _permission_list(scopes) -> None:
    # The one place scope codes appear: each permission once, in words, code in brackets.
    st.markdown("\n".join(f"- {permission_words(s)} (`{s}`)" for s in sorted(scopes)))


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


def _account_card(account, now: datetime, tz: str) -> None:
    with st.container(border=True):
        left, middle, right = st.columns([1, 3, 2], vertical_alignment="center")
        with left:
            # st.image opens any string that is not a URL as a file on this server and serves
            # it: TikTok's avatar_url is shown only when it is a web link.
            if account.avatar_url and is_web_url(account.avatar_url):
                st.image(account.avatar_url, width=88)
        with middle:
            verified = " :blue-badge[:material/verified: Verified]" if account.is_verified else ""
            st.markdown(f"### {md_text(account.display_name) or 'TikTok creator'}{verified}")
            handle = f"@{md_text(account.username)}" if account.username else "username not shared"
            followers = (f"{account.follower_count:,} followers"
                         if account.follower_count is not None else "follower count not shared")
            st.markdown(f"{handle} · {followers}")
            if account.follower_count is not None and account.follower_count_at is not None:
                # The same reading Overview shows for this moment (both come from that sync).
                st.caption(f"Followers as of {format_time(account.follower_count_at, tz)} "
                           f"({_relative(account.follower_count_at, now)})")
            if account.status == "needs_reconnect":
                reason = account.status_reason or "TikTok no longer accepts the stored grant."
                st.error(f"Needs reconnecting — {md_text(reason)}", icon=":material/link_off:")
            elif account.status == "disconnected":
                st.caption("Disconnected — synced history is kept.")
        # Reconnect, grant more and disconnect are admin work: others see the card only.
        actor = gate.current_actor()
        with right:
            if actor.can("disconnect") and account.status != "disconnected":
                _actions(account)
            elif actor.can("reconnect") and st.button(
                "Reconnect", key=f"reconnect_{account.open_id}", icon=":material/link:"
            ):
                begin_connect(actor, sorted(account.granted_scopes) or scopes_for(["analytics"]),
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
                _permission_list(account.granted_scopes)
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


def _grant_more(account, missing) -> None:
    """Ask only for the features the person ticks, never every missing permission."""
    oid = account.open_id
    open_key = f"grant_open_{oid}"
    if not st.session_state.get(open_key):
        if st.button("Grant more", key=f"grant_more_{oid}", icon=":material/add_moderator:"):
            st.session_state[open_key] = True
            st.rerun()
        return
    name = md_text(account.display_name or "the creator")
    with st.container(border=True):
        st.caption(f"Ask {name} for:")
        chosen = [f.feature for f in missing
                  if st.checkbox(f.label, key=f"grant_{f.feature}_{oid}", help=f.reason)]
        st.caption(f"TikTok shows the account logged in there: make sure it is {name}.")
        if st.button("Ask on TikTok", key=f"grant_{oid}", type="primary", disabled=not chosen):
            st.session_state.pop(open_key, None)
            begin_connect(gate.current_actor(),
                          sorted(account.granted_scopes | set(scopes_for(chosen))),
                          purpose="grant_more", target=oid, add_another=True)
        if st.button("Cancel", key=f"grant_cancel_{oid}"):
            st.session_state.pop(open_key, None)
            st.rerun()


def _actions(account) -> None:
    oid = account.open_id
    actor = gate.current_actor()
    if account.status == "needs_reconnect" and st.button(
        "Reconnect", key=f"reconnect_{oid}", type="primary", icon=":material/link:"
    ):
        begin_connect(actor, sorted(account.granted_scopes), purpose="reconnect", target=oid,
                      add_another=True)
    missing = [f for f in account.features.values() if not f.available]
    if missing and account.status == "active":
        _grant_more(account, missing)
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
            result = disconnect(db, runtime.client(), runtime.keyring(), oid, actor=actor)
        st.session_state[RESULT_KEY] = ("success" if result.revoked else "warning",
                                        md_text(result.message))  # it names the account
        st.rerun()
    if no.button("Cancel", key=f"disconnect_no_{oid}"):
        st.session_state.pop(confirm_key, None)
        st.rerun()


def render() -> None:
    accounts_flow.handle_callback()
    st.title("Accounts")
    st.caption("The TikTok creator accounts Reelboard can read (and post for). Tokens are "
               "encrypted on this server and never shown.")
    accounts_flow.show_flash()
    accounts_flow.other_creator_choice()
    accounts_flow.first_sync()
    with runtime.database() as db:
        accounts = list_accounts(db)
    active = [a for a in accounts if a.status != "disconnected"]
    gone = [a for a in accounts if a.status == "disconnected"]
    now = datetime.now(UTC)
    tz = runtime.settings().timezone
    may_connect = gate.current_actor().can("connect")
    if not may_connect:
        st.info("Connecting, reconnecting and disconnecting accounts needs the admin role.",
                icon=":material/lock:")
    if not active:
        if may_connect:
            _connect_panel(has_accounts=False)
        st.markdown("No accounts yet. An admin connects creators here — in sandbox mode, by "
                    "picking one of the demo creators on the consent screen.")
    for account in active:
        _account_card(account, now, tz)
    if active and may_connect:
        _connect_panel(has_accounts=True)
    if gone:
        with st.expander(f"Disconnected accounts ({len(gone)})"):
            for account in gone:
                _account_card(account, now, tz)


render()
