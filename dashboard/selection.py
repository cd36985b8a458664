"""The account and period choices made in the sidebar, read by every analytics page.

Where a session's first view comes from, in order: the URL (``?accounts=@luna,@jo&period=28d``,
so a view can be bookmarked and shared), else the person's last choice (services.view_state,
kept in SQLite per signed-in person), else the first account and the last 28 days. A newly
connected account joins the remembered choice. After every run the choice is written back to
the URL and remembered.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import streamlit as st

from dashboard import nav, runtime
from dashboard.components import PERIOD_PRESETS, Period
from dashboard.text import md_text
from services.access import Actor
from services.accounts import Account, list_accounts
from services.safe_text import plain_text
from services.view_state import (
    PeriodChoice,
    ViewPreference,
    load_preference,
    parse_accounts,
    parse_period,
    save_preference,
    usernames_param,
)

ACCOUNTS_KEY = "selected_accounts"
PERIOD_KEY = "_selected_period"
PRESET_KEY = "period_preset"
CUSTOM_KEY = "period_custom"
_RESTORED = "_view_restored"
_KNOWN = "_view_known_accounts"
_SAVED = "_view_saved"
_NOTES = "_view_notes"
DEFAULT_PRESET = "Last 28 days"
_PRESET_BY_DAYS = {days: name for name, days in PERIOD_PRESETS.items() if days}
#: While the TikTok callback is handled its one-time parameters are in the URL: leave it alone.
_CALLBACK_PARAMS = ("code", "state", "error", "scopes")


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


def _today(timezone: str) -> date:
    return datetime.now(ZoneInfo(timezone)).date()


def _apply_period(choice: PeriodChoice) -> None:
    if choice.days is not None and choice.days in _PRESET_BY_DAYS:
        st.session_state[PRESET_KEY] = _PRESET_BY_DAYS[choice.days]
    elif choice.first is not None and choice.last is not None:
        st.session_state[PRESET_KEY] = "Custom"
        st.session_state[CUSTOM_KEY] = (choice.first, choice.last)


def _in_callback() -> bool:
    return any(name in st.query_params for name in _CALLBACK_PARAMS)


def restore(accounts_: Sequence[Account], actor: Actor, timezone: str) -> None:
    """Once per session, before the pickers: the view from the URL or the person's last one."""
    active = [a.open_id for a in accounts_]
    if st.session_state.get(_RESTORED):
        # A new account connected while this session was open: select it too.
        known = st.session_state.get(_KNOWN, [])
        new = [oid for oid in active if oid not in known]
        if new and known:
            chosen = [oid for oid in st.session_state.get(ACCOUNTS_KEY, []) if oid in active]
            st.session_state[ACCOUNTS_KEY] = chosen + new
        st.session_state[_KNOWN] = active
        return
    st.session_state[_RESTORED] = True
    st.session_state[_KNOWN] = active
    notes: list[str] = []
    today = _today(timezone)
    url_accounts = st.query_params.get("accounts")
    url_period = st.query_params.get("period")
    with runtime.database() as db:
        pref = load_preference(db, actor.email)
    if url_accounts is not None and not _in_callback():
        by_username = {a.username.lower(): a.open_id for a in accounts_ if a.username}
        found, ignored = parse_accounts(url_accounts, by_username)
        if not found and url_accounts.strip():
            ignored = max(ignored, 1)
        if ignored:
            notes.append(
                f"{ignored} account{'s' if ignored != 1 else ''} in the link "
                f"{'are' if ignored != 1 else 'is'} not connected here and "
                f"{'were' if ignored != 1 else 'was'} ignored."
            )
        if found:
            st.session_state.setdefault(ACCOUNTS_KEY, found)
    elif pref is not None and ACCOUNTS_KEY not in st.session_state:
        new = [oid for oid in active if oid not in pref.known]
        chosen = [oid for oid in pref.accounts if oid in active] + new
        if chosen:
            st.session_state[ACCOUNTS_KEY] = chosen
    period_text = url_period if url_period is not None else (pref.period if pref else None)
    if period_text is not None and PRESET_KEY not in st.session_state:
        choice = parse_period(period_text, today)
        if choice is None and url_period is not None:
            notes.append(
                "The period in the link is not one Reelboard knows and was ignored "
                "(use 7d, 28d, 90d or 2026-01-01..2026-01-31)."
            )
        elif choice is not None:
            _apply_period(choice)
    st.session_state[_NOTES] = notes


def account_picker(accounts_: Sequence[Account], *, may_connect: bool = True) -> list[str]:
    """Sidebar multiselect of connected accounts; returns the chosen open_ids."""
    if not accounts_:
        st.sidebar.caption(
            "No TikTok accounts connected yet."
            + ("" if may_connect else " An admin can connect them.")
        )
        st.sidebar.page_link(
            nav.page("accounts"),
            label="Connect an account" if may_connect else "Accounts",
            icon=":material/link:",
        )
        st.session_state.pop(ACCOUNTS_KEY, None)
        return []
    labels = {
        a.open_id: plain_text(a.label) + (" ⚠" if a.status != "active" else "") for a in accounts_
    }
    current = [oid for oid in st.session_state.get(ACCOUNTS_KEY, []) if oid in labels]
    st.session_state[ACCOUNTS_KEY] = current or [accounts_[0].open_id]
    return st.sidebar.multiselect(
        "Accounts",
        options=list(labels),
        format_func=labels.__getitem__,
        key=ACCOUNTS_KEY,
        help="Pick one account, or several to compare them side by side.",
        placeholder="Choose accounts",
    )


def period_picker(timezone: str, *, today: date | None = None) -> Period:
    """Sidebar date-range picker shared by every analytics page."""
    today = today or _today(timezone)
    if st.session_state.get(PRESET_KEY) not in PERIOD_PRESETS:
        st.session_state[PRESET_KEY] = DEFAULT_PRESET
    preset = st.sidebar.selectbox(
        "Period",
        list(PERIOD_PRESETS),
        key=PRESET_KEY,
        help=f"Days are counted in {timezone} (setting REELBOARD_TIMEZONE).",
    )
    days = PERIOD_PRESETS[preset]
    if days is not None:
        return Period(today - timedelta(days=days - 1), today, timezone)
    st.session_state.setdefault(CUSTOM_KEY, (today - timedelta(days=27), today))
    chosen = st.sidebar.date_input(
        "From – to", max_value=today, key=CUSTOM_KEY, format="YYYY-MM-DD"
    )
    if isinstance(chosen, Sequence) and len(chosen) == 2:
        return Period(chosen[0], chosen[1], timezone)
    st.sidebar.caption("Pick an end date to apply the range.")
    first = chosen[0] if isinstance(chosen, Sequence) and chosen else today
    return Period(first, first, timezone)


def _period_param(chosen: Period) -> str:
    days = PERIOD_PRESETS.get(st.session_state.get(PRESET_KEY, ""))
    if days is not None:
        return PeriodChoice(days=days).to_param()
    return PeriodChoice(first=chosen.first_day, last=chosen.last_day).to_param()


def persist(accounts_: Sequence[Account], actor: Actor, chosen: Period) -> None:
    """After the pickers: the view into the URL and into the person's remembered choice."""
    for note in st.session_state.pop(_NOTES, []):
        st.sidebar.caption(f":material/info: {md_text(note)}")
    by_id = {a.open_id: a for a in accounts_}
    selected = [oid for oid in st.session_state.get(ACCOUNTS_KEY) or [] if oid in by_id]
    period_text = _period_param(chosen)
    if not _in_callback():
        wanted = {
            "accounts": usernames_param([by_id[oid].username for oid in selected]),
            "period": period_text,
        }
        for name, value in wanted.items():
            if not value:
                st.query_params.pop(name, None)
            elif st.query_params.get(name) != value:
                st.query_params[name] = value
    pref = ViewPreference(selected, list(by_id), period_text)
    if st.session_state.get(_SAVED) != pref and selected:
        with runtime.database() as db:
            save_preference(db, actor.email, pref, int(time.time()))
        st.session_state[_SAVED] = pref
