"""Starting a TikTok authorization from any page: store the state, send this tab to TikTok."""

from __future__ import annotations

import html
import json
from collections.abc import Iterable

import streamlit as st

from dashboard import runtime
from services.access import Actor
from services.accounts import start_connect


def go_to(url: str) -> None:
    """Same-tab redirect (keeps the whole flow in one tab), with a plain link as fallback."""
    st.html(f"<script>window.location.assign({json.dumps(url)});</script>",
            unsafe_allow_javascript=True)
    st.markdown(
        f'Opening TikTok… If nothing happens, <a href="{html.escape(url)}" target="_self">'
        "continue to TikTok</a>.",
        unsafe_allow_html=True,  # our own URL, escaped; no TikTok-supplied text here
    )


def begin_connect(actor: Actor, scopes: Iterable[str], *, purpose: str = "connect",
                  target: str | None = None, add_another: bool = False) -> None:
    """Send ``actor`` to TikTok; the services refuse (and audit) if their role may not."""
    with runtime.database() as db:
        url = start_connect(
            db, runtime.settings(), runtime.keyring(), actor=actor, scopes=scopes,
            purpose=purpose, target_open_id=target, add_another=add_another,
        )
    go_to(url)
