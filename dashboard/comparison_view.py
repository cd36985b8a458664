"""Overview's KPI card rows and the comparison of several accounts (pages stay thin).

Several accounts: portfolio cards, a table of accounts side by side (fewer columns on phones),
and charts that each read — one panel per account on its own scale, or growth in % from the
start of the period (figures from services.analytics.comparison).
"""

from __future__ import annotations

import streamlit as st

from dashboard import data, layout, runtime
from dashboard.components import chart, kpi_card
from dashboard.text import md_text
from services.analytics import charts, comparison
from services.analytics.metrics import KPI_LABELS

#: The cards' order: the KPIs' own (services.analytics.metrics.KPI_LABELS).
KPI_ORDER = list(KPI_LABELS)
#: The phone table: the numbers a marketer compares first.
NARROW_COLUMNS = ["Account", "Followers", "Followers gained", "Views gained"]


def kpi_rows(kpis, key: str, notes: bool = True) -> None:
    # Two rows of four; two cards per line on phones (dashboard.layout).
    with layout.card_grid(key):
        for row in (KPI_ORDER[:4], KPI_ORDER[4:]):
            for col, name in zip(st.columns(4), row, strict=True):
                with col:
                    if name in kpis:
                        kpi_card(kpis[name], tz=runtime.settings().timezone)
    # An account that never allowed stats has its notice instead of "run a sync" notes.
    lines = dict.fromkeys(k.current.note for k in kpis.values() if k.current.note and notes)
    for note in lines:  # one line per distinct caveat, not the same sentence under every card
        st.caption(f":material/info: {note}")


def _short_name(ref) -> str:
    """ "@username" from a label like "Luna's Kitchen (@lunakitchen)" (already cell text)."""
    label = str(ref.label)
    start = label.rfind("(@")
    return label[start + 1 : -1] if start >= 0 and label.endswith(")") else label


def compare_accounts(overview, tz: str, blocked: frozenset[str] = frozenset(), *,
                     version: int) -> None:
    """Several accounts: portfolio cards, a table side by side, charts that each read.
    ``version``: the data version ``overview`` was read at (its figures are cached under it)."""
    names = {a.open_id: a.label for a in overview.accounts}
    portfolio = comparison.portfolio_kpis(overview.kpis)
    st.markdown(f"##### Portfolio · {len(names)} accounts")
    kpi_rows(portfolio, "portfolio")
    table = comparison.accounts_table(names, overview.kpis, portfolio)
    helps = comparison.provenance_help(portfolio)
    config = {
        "Account": st.column_config.TextColumn("Account", pinned=True),
        **{
            t: st.column_config.NumberColumn(t, format="localized", help=h)
            for t, h in helps.items()
            if t != "Engagement rate"
        },
        "Engagement rate": st.column_config.NumberColumn(
            "Engagement rate", format="%.2f %%", help=helps.get("Engagement rate")
        ),
        "As of": st.column_config.DatetimeColumn("As of", format="D MMM YYYY, HH:mm", timezone=tz),
    }
    wide, narrow = layout.by_width("compare-table")
    wide.dataframe(table, hide_index=True, use_container_width=True, column_config=config)
    # Phones: the first numbers, named by username, without sideways scrolling.
    short = table[NARROW_COLUMNS].copy()
    short["Account"] = [_short_name(ref) for ref in overview.accounts] + ["Portfolio"]
    narrow.dataframe(
        short,
        hide_index=True,
        use_container_width=True,
        column_config={
            "Account": st.column_config.TextColumn("Account", pinned=True),
            # Short headings: the four columns fit 390 px without scrolling sideways.
            "Followers": st.column_config.NumberColumn(
                "Followers", format="compact", help=helps.get("Followers")
            ),
            "Followers gained": st.column_config.NumberColumn(
                "+Followers", format="localized", help=helps.get("Followers gained")
            ),
            "Views gained": st.column_config.NumberColumn(
                "+Views", format="compact", help=helps.get("Views gained")
            ),
        },
    )
    view = st.segmented_control(
        "Compare as",
        ["Side by side", "Growth %"],
        default="Side by side",
        key="compare_view",
        help="Side by side: each account on its own scale. Growth %: "
        "every account from 0 % at the start of the period.",
    )
    followers = overview.followers.frame
    source = charts.source_line(overview.followers, tz)
    # Figures are built once per data version (dashboard.data.figure): the key says all they
    # depend on.
    key = (tuple(names.items()), overview.period.start, overview.period.end, tz)
    gained = overview.gained.frame
    gained = gained[gained["status"] != "missing"]
    if view == "Growth %":
        followers_name, build_followers = "compare_growth", lambda: comparison.growth_lines(
            followers, "follower_count", names=names, tz=tz, title="Follower growth (%)",
            subtitle=source)
    else:
        followers_name, build_followers = "compare_followers", lambda: comparison.small_multiples(
            followers, "follower_count", names=names, tz=tz, title="Followers", subtitle=source)
    left, right = st.columns(2)
    with left:
        chart(data.figure(followers_name, key, build_followers, version=version),
              key="followers_chart")
    with right:
        chart(data.figure("compare_gained", key, lambda: comparison.small_multiples(
            gained, "views_gained", names=names, tz=tz, kind="bar", x="period_start",
            title=f"Views gained per {overview.freq}",
            subtitle=charts.source_line(overview.gained, tz),
        ), version=version), key="views_chart")
    for i, ref in enumerate(overview.accounts):
        with st.expander(md_text(ref.label)):
            kpi_rows(overview.kpis[ref.open_id], f"account-{i}", notes=ref.open_id not in blocked)
