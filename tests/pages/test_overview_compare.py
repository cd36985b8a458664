"""Overview with several accounts: comparison that reads, view state in the URL and per person,
the automatic sync's next run and the banner when syncs keep failing (issue 10: 10, 12, 15)."""

from __future__ import annotations

import json
import time

import pytest

from services.access import LOCAL_ACTOR
from services.db import open_db
from services.demo_history import load_demo_history
from tests.pages.conftest import connect_demo, current_runtime, open_page, texts


def _figures(at):
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


@pytest.fixture
def two_accounts():
    rt = current_runtime()
    big = connect_demo(rt, "lunakitchen")
    small = connect_demo(rt, "quietpotter")
    result = load_demo_history(rt.settings, actor=LOCAL_ACTOR, days=10)
    assert not result.failures
    return rt, big, small


# -- 10. comparing accounts ----------------------------------------------------------------


def test_several_accounts_get_portfolio_table_and_independent_axes(two_accounts):
    _rt, big, small = two_accounts
    at = open_page("overview", query={"accounts": f"@{big.username},@{small.username}"})
    assert not at.exception
    # A table of accounts side by side, with a portfolio total row.
    table = at.dataframe[0].value
    assert list(table["Account"])[-1] == "Portfolio (2 accounts)"
    assert set(table["Account"][:2]) == {big.label, small.label}
    followers = table.set_index("Account")["Followers"]
    assert followers["Portfolio (2 accounts)"] == followers[big.label] + followers[small.label]
    # Portfolio KPI cards come first.
    assert at.metric[0].label == "Followers"
    assert int(at.metric[0].value.replace(",", "")) == followers["Portfolio (2 accounts)"]
    # Followers compared as small multiples: one y axis per account, not one shared axis.
    figs = _figures(at)
    follower_fig = next(f for f in figs if "Followers" in f["layout"]["title"]["text"])
    axes = [k for k in follower_fig["layout"] if k.startswith("yaxis")]
    assert len(axes) == 2
    assert all("matches" not in follower_fig["layout"][a] for a in axes)
    # Legends never sit on the titles: below the plot, or none.
    for fig in figs:
        layout = fig["layout"]
        if layout.get("showlegend", True) and len(fig["data"]) > 1:
            assert layout["legend"]["y"] < 0, layout["title"]


def test_growth_view_indexes_each_account_from_zero(two_accounts):
    _rt, big, small = two_accounts
    at = open_page("overview", query={"accounts": f"@{big.username},@{small.username}"})
    at.segmented_control(key="compare_view").set_value("Growth %").run()
    assert not at.exception
    fig = next(f for f in _figures(at) if "growth" in f["layout"]["title"]["text"].lower())
    assert "%" in fig["layout"]["yaxis"]["title"]["text"]
    assert len(fig["data"]) == 2
    for trace in fig["data"]:
        assert trace["y"][0] == pytest.approx(0.0)


# -- 12. state in the URL and per person ---------------------------------------------------


def test_url_selects_accounts_by_username_and_period(two_accounts):
    _rt, _big, small = two_accounts
    at = open_page("overview", query={"accounts": f"@{small.username}", "period": "7d"})
    assert not at.exception
    assert at.session_state["selected_accounts"] == [small.open_id]
    assert at.session_state["period_preset"] == "Last 7 days"
    assert at.query_params["accounts"] == f"@{small.username}"
    assert at.query_params["period"] == "7d"


def test_choice_is_written_to_the_url_and_remembered(two_accounts):
    _rt, big, small = two_accounts
    at = open_page("overview")
    at.multiselect(key="selected_accounts").set_value([small.open_id, big.open_id]).run()
    at.selectbox(key="period_preset").set_value("Last 90 days").run()
    assert not at.exception
    assert at.query_params["accounts"] == f"@{small.username},@{big.username}"
    assert at.query_params["period"] == "90d"
    # A new tab (new session, no query string) opens the same view.
    again = open_page("videos")
    assert again.session_state["selected_accounts"] == [small.open_id, big.open_id]
    assert again.session_state["period_preset"] == "Last 90 days"


@pytest.mark.parametrize(
    "hostile",
    [
        "@nobody",
        "**bold**,@x",
        "<script>alert(1)</script>",
        "\u202e@evil",
        "a" * 5000,
        ",,,",
        "@" + ",@".join(str(i) for i in range(500)),
    ],
)
def test_unknown_or_hostile_url_values_are_ignored_with_a_note(two_accounts, hostile):
    _rt, big, _small = two_accounts
    at = open_page("overview", query={"accounts": hostile, "period": "<b>99999d"})
    assert not at.exception
    page = texts(at)
    assert "not connected here" in page or "ignored" in page
    assert "<script>" not in page and "<b>" not in page
    assert at.session_state["selected_accounts"] == [big.open_id]  # the default view
    assert at.session_state["period_preset"] == "Last 28 days"


def test_custom_period_round_trips_through_the_url(two_accounts):
    _rt, big, _small = two_accounts
    at = open_page(
        "overview", query={"accounts": f"@{big.username}", "period": "2026-01-05..2026-01-20"}
    )
    assert not at.exception
    assert at.session_state["period_preset"] == "Custom"
    assert at.query_params["period"] == "2026-01-05..2026-01-20"
    assert "05 Jan 2026 – 20 Jan 2026" in texts(at)


def test_newly_connected_account_is_selected():
    rt = current_runtime()
    first = connect_demo(rt, "lunakitchen")
    at = open_page("overview")
    assert at.session_state["selected_accounts"] == [first.open_id]
    second = connect_demo(rt, "trailrunnerjo")
    again = open_page("overview")  # the TikTok callback lands in a new session
    assert again.session_state["selected_accounts"] == [first.open_id, second.open_id]


# -- 15. automatic sync ------------------------------------------------------------------------


def test_overview_shows_the_next_automatic_sync(two_accounts):
    at = open_page("overview")
    assert "Next automatic sync:" in texts(at)


def test_three_failed_syncs_show_on_every_page(two_accounts):
    rt, big, _small = two_accounts
    now = int(time.time())
    with open_db(rt.settings.database_path) as db:
        for i in range(3):
            db.execute(
                "INSERT INTO sync_runs (open_id, captured_at, started_at, finished_at, status, "
                "error) VALUES (?, ?, ?, ?, 'failed', ?)",
                [big.open_id, now + i, now + i, now + i, "TikTok answered 503 three times."],
            )
    for name in ("overview", "videos", "accounts"):
        at = open_page(name)
        assert not at.exception
        banner = [w.value for w in at.warning if "3 times in a row" in w.value]
        assert banner and "Luna" in banner[0], name
    # One good sync clears it.
    with open_db(rt.settings.database_path) as db:
        db.execute(
            "INSERT INTO sync_runs (open_id, captured_at, started_at, finished_at, "
            "status) VALUES (?, ?, ?, ?, 'succeeded')",
            [big.open_id, now + 9, now + 9, now + 9],
        )
    assert not [w for w in open_page("overview").warning if "in a row" in w.value]
