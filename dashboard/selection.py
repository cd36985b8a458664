"""The account and period choices made in the sidebar, read by every analytics page."""

from __future__ import annotations

import streamlit as st

from dashboard import runtime
from dashboard.components import Period
from services.accounts import Account, list_accounts

ACCOUNTS_KEY = "selected_accounts"
PERIOD_KEY = "_selected_period"


def remember_period(period: Period) -> None:
    st.session_state[PERIOD_KEY] = period


def period() -> Period:
    return st.session_state[PERIOD_KEY]


def accounts() -> list[Account]:
    """The connected accounts chosen in the sidebar, in the order they were picked."""
    chosen = st.session_state.get(ACCOUNTS_KEY) or []
    with runtime.database() as db:
        by_id = {a.open_id: a for a in list_accounts(db) if a.status != "disconnected"}
    return [by_id[oid] for oid in chosen if oid in by_id]
