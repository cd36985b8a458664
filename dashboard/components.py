"""Shared UI pieces. Each component that keeps state takes a ``key`` and owns that entry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import streamlit as st

from dashboard import nav
from services.analytics.metrics import ESTIMATED_SHARE_LIMIT, NOT_ENOUGH_SNAPSHOTS
from services.safe_text import plain_text

PERIOD_PRESETS = {"Last 7 days": 7, "Last 28 days": 28, "Last 90 days": 90, "Custom": None}


@dataclass(frozen=True)
class Period:
    """An inclusive range of calendar days in the viewer's time zone."""

    first_day: date
    last_day: date
    timezone: str

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def start(self) -> int:
        """Epoch seconds of the first day's midnight in the viewer's zone."""
        tz = ZoneInfo(self.timezone)
        return int(datetime.combine(self.first_day, datetime.min.time(), tz).timestamp())

    @property
    def end(self) -> int:
        """Epoch seconds of the midnight after the last day (exclusive)."""
        tz = ZoneInfo(self.timezone)
        nxt = self.last_day + timedelta(days=1)
        return int(datetime.combine(nxt, datetime.min.time(), tz).timestamp())

    def label(self) -> str:
        return f"{self.first_day:%d %b %Y} – {self.last_day:%d %b %Y}"


def sandbox_banner() -> None:
    st.info(
        "**Sandbox mode** — demo creators from Reelboard's built-in TikTok emulator. "
        "Nothing reaches real TikTok. To go live, configure your TikTok app (README, "
        "*Live mode*).",
        icon=":material/science:",
    )


def account_picker(accounts: Sequence, *, key: str = "selected_accounts",
                   may_connect: bool = True) -> list[str]:
    """Sidebar multiselect of connected accounts; returns the chosen open_ids."""
    if not accounts:
        st.sidebar.caption("No TikTok accounts connected yet."
                           + ("" if may_connect else " An admin can connect them."))
        st.sidebar.page_link(nav.page("accounts"),
                             label="Connect an account" if may_connect else "Accounts",
                             icon=":material/link:")
        st.session_state.pop(key, None)
        return []
    labels = {a.open_id: _account_label(a) for a in accounts}
    current = [oid for oid in st.session_state.get(key, []) if oid in labels]
    if not current:
        current = [accounts[0].open_id]
    st.session_state[key] = current
    return st.sidebar.multiselect(
        "Accounts",
        options=list(labels),
        format_func=labels.__getitem__,
        key=key,
        help="Pick one account, or several to compare them side by side.",
        placeholder="Choose accounts",
    )


def _account_label(account) -> str:
    # Select options are plain text (not Markdown): one clean line is enough.
    return plain_text(account.label) + (" ⚠" if account.status != "active" else "")


def period_picker(timezone: str, *, key: str = "period", today: date | None = None) -> Period:
    """Sidebar date-range picker shared by every analytics page."""
    today = today or datetime.now(ZoneInfo(timezone)).date()
    preset = st.sidebar.selectbox(
        "Period", list(PERIOD_PRESETS), index=1, key=f"{key}_preset",
        help=f"Days are counted in {timezone} (setting REELBOARD_TIMEZONE).",
    )
    days = PERIOD_PRESETS[preset]
    if days is not None:
        return Period(today - timedelta(days=days - 1), today, timezone)
    chosen = st.sidebar.date_input(
        "From – to", value=(today - timedelta(days=27), today), max_value=today,
        key=f"{key}_custom", format="YYYY-MM-DD",
    )
    if isinstance(chosen, Sequence) and len(chosen) == 2:
        return Period(chosen[0], chosen[1], timezone)
    st.sidebar.caption("Pick an end date to apply the range.")
    first = chosen[0] if isinstance(chosen, Sequence) and chosen else today
    return Period(first, first, timezone)


def empty_state(title: str, body: str, *, icon: str = ":material/insights:",
                link_accounts: bool = True) -> None:
    with st.container(border=True):
        st.markdown(f"#### {title}")
        st.markdown(body)
        if link_accounts:
            st.page_link(nav.page("accounts"), label="Go to Accounts", icon=":material/link:")


# The analytics permissions whose absence leaves Overview, Videos and Insights empty however
# often the account syncs, in the words the marketer sees (codes stay on the Accounts card).
_ANALYTICS_PERMISSIONS = {
    "user.info.stats": "follower, like and video counts",
    "video.list": "videos and their views",
}


def missing_permission_notice(account) -> bool:
    """If ``account`` never allowed reading its stats or videos, say which permission is
    missing and offer Grant more (instead of "No snapshots yet: run a sync", which no sync can
    fix). Returns whether a notice was shown."""
    missing = [words for scope, words in _ANALYTICS_PERMISSIONS.items()
               if scope not in account.granted_scopes]
    if not missing:
        return False
    from dashboard.text import md_text  # the account name comes from TikTok: text only

    st.warning(
        f"**{md_text(account.label)}** has not allowed Reelboard to read its "
        f"{' or its '.join(missing)}, so syncing cannot fill this in. An admin can ask the "
        "creator for it with **Grant more** on the Accounts page.",
        icon=":material/lock:",
    )
    st.page_link(nav.page("accounts"), label="Grant more on Accounts",
                 icon=":material/add_moderator:")
    return True


def format_value(value: float | int | None, unit: str = "count") -> str:
    if value is None:
        return "—"
    if unit == "ratio":
        return f"{value:.2%}"
    if unit in ("per_week", "hours", "days"):
        return f"{value:,.1f}"
    return f"{value:,.0f}"


def kpi_card(kpi, tz: str, *, estimated: bool | None = None) -> None:
    """A KPI with its period-over-period change and, on hover, where the number comes from.

    ``estimated`` (default: from ``kpi.current.estimated_share``) marks a figure partly spread
    across a gap in snapshots: "≈" before it and "estimated" where the change would be (a
    change between estimates is not news). A figure withheld because it would be mostly an
    estimate shows "—" with "Not enough snapshots" under it.
    """
    current, previous = kpi.current, kpi.previous
    if estimated is None:
        estimated = current.estimated
    source = current.source(tz)
    help_text = f"{source}. Previous period: {format_value(previous.value, previous.unit)}."
    if current.note:
        help_text += f" {current.note}"
    if current.value is None and current.estimated_share > ESTIMATED_SHARE_LIMIT:
        # The words go where the change would be: a card's value slot fits a number only.
        st.metric(kpi.label, "—", delta=NOT_ENOUGH_SNAPSHOTS, delta_color="off",
                  delta_arrow="off", help=help_text, border=True)
        return
    value = format_value(current.value, current.unit)
    if estimated and current.value is not None:
        st.metric(kpi.label, f"≈{value}", delta="estimated", delta_color="off",
                  delta_arrow="off", help=help_text, border=True)
        return
    delta = None
    if kpi.change is not None and not previous.estimated:
        if current.unit == "ratio":
            delta = f"{kpi.change * 100:+.2f} pp"
        elif kpi.change_pct is not None:
            delta = f"{kpi.change_pct:+.1%}"
        else:
            delta = f"{kpi.change:+,.0f}"
    st.metric(kpi.label, value, delta=delta, help=help_text, border=True)


def chart(fig, *, key: str) -> None:
    """Draw a services.analytics.charts figure as built (theme=None keeps its palette and
    template)."""
    st.plotly_chart(fig, theme=None, key=key, config={"displaylogo": False})
