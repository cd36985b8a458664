"""The Reports page with AppTest: empty state, preview on real synced history, downloads,
a bad week typed in, the export history."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests

from services.access import LOCAL_ACTOR
from services.demo_history import load_demo_history
from services.reports import last_complete_week
from tests.pages.conftest import connect_demo, current_runtime, open_page, texts


def test_empty_state_without_accounts():
    at = open_page("reports")
    assert not at.exception
    assert "No account selected" in texts(at)


@pytest.fixture
def history_runtime():
    rt = current_runtime()
    account = connect_demo(rt, "trailrunnerjo")
    result = load_demo_history(rt.settings, days=16, actor=LOCAL_ACTOR)
    assert not result.failures
    return rt, account


def test_preview_downloads_and_chart_for_the_last_complete_week(history_runtime):
    at = open_page("reports")
    assert not at.exception, at.exception
    week = at.selectbox(key="report_week")
    assert week.value == last_complete_week(datetime.now(UTC), "UTC").key
    page = texts(at)
    assert "Weekly report" in page and "Monday to Sunday in UTC" in page
    frames = at.dataframe
    summary = frames[0].value
    assert summary["week"].iat[0] == week.value
    assert int(summary["views_gained"].iat[0]) > 0
    assert len(at.get("plotly_chart")) == 1
    buttons = at.get("download_button")
    assert len(buttons) == 3


def test_a_bad_week_says_why_and_shows_no_report(history_runtime):
    at = open_page("reports")
    at.selectbox(key="report_week").select("Another week…").run()
    at.text_input(key="report_week_other").input("2026-W99").run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("2026" in e and "does not exist" in e for e in errors)
    assert len(at.dataframe) == 0  # no report for a week that does not exist
    assert len(at.get("download_button")) == 0
    at.text_input(key="report_week_other").input("2026-W47").run()
    assert not at.exception
    assert at.dataframe[0].value["week"].iat[0] == "2026-W47"


def test_export_to_the_sandbox_sheets_links_to_the_result_and_is_recorded(history_runtime):
    rt, account = history_runtime
    at = open_page("reports")
    at.button(key="export_sheets").click().run()
    assert not at.exception, at.exception
    week = at.selectbox(key="report_week").value
    assert any(f"Exported {week} to Google Sheets" in s.value for s in at.success)
    (link,) = at.get("link_button")
    url = link.proto.url
    assert url.startswith(rt.settings.api_base_url) and url.endswith(f"#gid={week[:4]}{week[-2:]}")
    history = at.dataframe[-1].value
    assert history["Week"].tolist() == [week]
    assert history["Where"].tolist() == ["Google Sheets"]
    assert history["Outcome"].tolist() == ["succeeded"]
    assert 1 <= int(history["Calls made"].iat[0]) <= 6
    assert account.label in history["Accounts"].iat[0]
    # The fake spreadsheet now has the week's tab; its read-only view is what the link opens.
    page = requests.get(url.split("#")[0], timeout=10)
    assert page.status_code == 200 and week in page.text


def test_one_sync_says_not_enough_snapshots_instead_of_zeros():
    from services.sync import sync_accounts

    rt = current_runtime()
    account = connect_demo(rt, "trailrunnerjo")
    (result,) = sync_accounts(rt.settings, [account.open_id], actor=LOCAL_ACTOR)
    assert result.ok
    at = open_page("reports")
    assert not at.exception, at.exception
    assert any("Not enough snapshots for" in w.value for w in at.warning)
    summary = at.dataframe[0].value
    assert summary["views_gained"].isna().all()  # unknown, never 0
    assert summary["note"].iat[0].startswith("Not enough snapshots")
