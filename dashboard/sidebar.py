"""The sidebar every page shares: brand, sandbox banner, account and period pickers."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import gate, identity, layout, runtime, selection
from dashboard.components import sandbox_banner
from dashboard.oauth import begin_connect
from dashboard.text import md_text
from services.access import Actor
from services.accounts import list_accounts
from services.schedule import sync_troubles

ASSETS = Path(__file__).resolve().parent / "assets"


def signed_in_panel(actor: Actor) -> None:
    """Who is using this session, with their role, and (team mode) a way out."""
    with st.sidebar, st.container(border=True):
        if not gate.team_mode():
            st.caption("Local mode: single user, full access (no sign-in configured).")
            return
        st.text(f"Signed in as {actor.name}")  # provider-supplied text: plain text only
        st.text(f"{actor.email} · {actor.role}")
        if st.button("Sign out", key="sign_out", icon=":material/logout:"):
            identity.sign_out()


def render_sidebar(actor: Actor) -> None:
    settings = runtime.settings()
    st.logo(str(ASSETS / "logo.svg"), icon_image=str(ASSETS / "icon.svg"), size="large")
    signed_in_panel(actor)
    if settings.is_sandbox:
        with st.sidebar:
            sandbox_banner()
    layout.inject_css()
    with runtime.database() as db:
        accounts = [a for a in list_accounts(db) if a.status != "disconnected"]
        troubles = sync_troubles(db)
    selection.restore(accounts, actor, settings.timezone)
    selection.account_picker(accounts, may_connect=actor.can("connect"))
    chosen = selection.period_picker(settings.timezone)
    selection.remember_period(chosen)
    selection.persist(accounts, actor, chosen)
    # Syncs that keep failing show on every page (names and TikTok's words: text only).
    for trouble in troubles:
        st.warning(md_text(trouble), icon=":material/sync_problem:")
    needs = [a for a in accounts if a.status == "needs_reconnect"]
    if needs:
        names = ", ".join(md_text(a.display_name or a.open_id[:8]) for a in needs)
        st.warning(
            f"**{names}** must be reconnected: TikTok no longer accepts the stored "
            "authorization, so syncing is paused for that account.",
            icon=":material/link_off:",
        )
        first = needs[0]
        # Button labels are Markdown too.
        label = f"Reconnect {md_text(first.display_name) or 'account'}"
        if actor.can("reconnect") and st.button(
            label, key="reconnect_banner", type="primary", icon=":material/link:"
        ):
            begin_connect(
                actor,
                sorted(first.granted_scopes),
                purpose="reconnect",
                target=first.open_id,
                add_another=True,
            )
