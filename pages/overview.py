"""Overview: KPI cards with period-over-period change, follower and views trends, sync."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from dashboard import comparison_view, data, gate, runtime, selection
from dashboard.components import chart, empty_state, missing_permission_notice
from dashboard.text import md_text
from services.analytics import charts
from services.analytics.metrics import format_time
from services.demo_history import load_demo_history
from services.schedule import describe_every, schedule_status
from services.sync import sync_accounts


def _progress_callback(bar):
    def on_progress(done: int, total: int | None, message: str) -> None:
        fraction = min(done / total, 1.0) if total else 0.0
        # Progress text is Markdown and names the account: text only.
        bar.progress(fraction, text=md_text(message) if message else "Syncing…")

    return on_progress


def _sync_now(open_ids: list[str]) -> None:
    bar = st.progress(0.0, text="Starting sync…")
    results = sync_accounts(
        runtime.settings(),
        open_ids,
        actor=gate.current_actor(),
        on_progress=_progress_callback(bar),
    )
    bar.empty()
    # ok → success, a sync already running elsewhere → a neutral note (None), else a warning.
    st.session_state["overview_flash"] = [
        (None if r.already_running else r.ok, r.summary()) for r in results
    ]
    st.rerun()


def _load_demo_history(days: int) -> None:
    bar = st.progress(0.0, text="Replaying the sync over the sandbox's clock…")
    result = load_demo_history(
        runtime.settings(),
        actor=gate.current_actor(),
        days=days,
        on_progress=_progress_callback(bar),
    )
    bar.empty()
    st.session_state["overview_flash"] = [(not result.failures, result.summary())]
    st.rerun()


def _sync_bar(overview, tz: str) -> None:
    now = datetime.now(UTC)
    lines = []
    for ref in overview.accounts:
        last = overview.last_syncs.get(ref.open_id)
        if last is None:
            lines.append(f"**{md_text(ref.label)}**: never synced")
            continue
        ago = now.timestamp() - last.captured_at
        when = (
            f"{int(ago // 60)} min ago"
            if ago < 3600
            else f"{ago / 3600:.0f} h ago"
            if ago < 172800
            else format_time(last.captured_at, tz)
        )
        status = "" if last.status == "succeeded" else f" ({last.status})"
        lines.append(f"**{md_text(ref.label)}**: last synced {when}{status}")
    info, sync_col, demo_col = st.columns([4, 1.2, 1.6], vertical_alignment="center")
    info.caption(" · ".join(lines) + "  \n" + _next_sync_line(tz))
    if not gate.current_actor().can("sync"):
        sync_col.caption("Syncing needs the editor role.")
        return
    if sync_col.button(
        "Sync now",
        icon=":material/sync:",
        key="sync_now",
        help="Snapshot followers, videos and their counters now.",
    ):
        _sync_now([a.open_id for a in overview.accounts])
    if runtime.settings().is_sandbox:
        with demo_col.popover("Load demo history", icon=":material/history:"):
            st.caption(
                "Sandbox only: moves the sandbox's simulated clock back and runs the "
                "real sync once per day, so the charts have history to show."
            )
            days = st.number_input(
                "Days", min_value=2, max_value=365, value=90, step=1, key="demo_days"
            )
            if st.button("Load history", type="primary", key="demo_history"):
                _load_demo_history(int(days))


def _next_sync_line(tz: str) -> str:
    every = runtime.settings().sync_every_s
    if every <= 0:
        return (
            "Automatic sync is off (REELBOARD_SYNC_EVERY=0): schedule "
            "`python -m services sync --all` with cron, or press Sync now."
        )
    with runtime.database() as db:
        status = schedule_status(db, every, datetime.now(UTC))
    when = format_time(status.next_run, tz) if status.next_run else "soon"
    return f"Next automatic sync: {when} ({describe_every(every)})"


def _flash() -> None:
    for ok, text in st.session_state.pop("overview_flash", []):
        # Summaries quote account names and TikTok's messages: shown as text.
        (st.info if ok is None else st.success if ok else st.warning)(md_text(text))


def render() -> None:
    st.title("Overview")
    accounts = selection.accounts()
    period = selection.period()
    tz = runtime.settings().timezone
    if not accounts:
        empty_state(
            "No account selected",
            "Connect a TikTok account (or pick one in the sidebar) to see followers, "
            "views and engagement over time.",
        )
        return
    st.caption(f"{period.label()} · compared with the {period.days} days before · times in {tz}")
    _flash()
    version = data.data_version()  # one read: the data and its figures share it
    overview = data.overview(accounts, period.start, period.end, tz, version=version)
    _sync_bar(overview, tz)
    blocked = {a.open_id for a in accounts if missing_permission_notice(a)}
    if not overview.history.enough and len(blocked) < len(accounts):
        st.info(
            "**Not enough history yet.** TikTok only reports lifetime totals, so Reelboard "
            "builds history by snapshotting them at every sync; growth needs at least two "
            f"syncs a while apart (you have {overview.history.runs}). "
            + (
                f"Reelboard syncs by itself {describe_every(runtime.settings().sync_every_s)}"
                " while it runs; press **Sync now** for one more now."
                if runtime.settings().sync_every_s > 0
                else "Schedule `python -m services sync --all` daily, or press **Sync now** later."
            )
            + (
                " In sandbox mode, **Load demo history** fills the charts right away."
                if runtime.settings().is_sandbox
                else ""
            ),
            icon=":material/hourglass_top:",
        )
    if len(overview.accounts) > 1:
        comparison_view.compare_accounts(overview, tz, frozenset(blocked), version=version)
        return
    comparison_view.kpi_rows(
        overview.kpis[overview.accounts[0].open_id],
        "single",
        notes=overview.accounts[0].open_id not in blocked,
    )
    names = {a.open_id: a.label for a in overview.accounts}
    key = (tuple(names.items()), period.start, period.end, tz)  # all a chart depends on
    figures = charts.overview_figures(overview, tz=tz, names=names)
    left, right = st.columns(2)
    with left:
        chart(data.figure("followers", key, figures["followers"], version=version),
              key="followers_chart")
    with right:
        chart(data.figure("views_gained", key, figures["views_gained"], version=version),
              key="views_chart")


render()
