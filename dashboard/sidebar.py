"""The sidebar every page shares: brand, sandbox banner, account and period pickers."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import runtime, selection
from dashboard.components import account_picker, period_picker, sandbox_banner
from dashboard.oauth import begin_connect
from dashboard.text import md_text
from services.accounts import list_accounts

ASSETS = Path(__file__).resolve().parent / "assets"


def render_sidebar() -> None:
    settings = runtime.settings()
    st.logo(str(ASSETS / "logo.svg"), icon_image=str(ASSETS / "icon.svg"), size="large")
    if settings.is_sandbox:
        with st.sidebar:
            sandbox_banner()
    with runtime.database() as db:
        accounts = [a for a in list_accounts(db) if a.status != "disconnected"]
    account_picker(accounts)
    selection.remember_period(period_picker(settings.timezone))
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
        if st.button(label, key="reconnect_banner", type="primary", icon=":material/link:"):
            begin_connect(sorted(first.granted_scopes), purpose="reconnect",
                          target=first.open_id, add_another=True)
