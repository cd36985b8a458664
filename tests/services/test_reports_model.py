"""The weekly report's numbers on hand-built snapshots with exact answers (report_cache.py).

Followers grow 1 per hour and each video's views ``rate`` per hour since posting, so a week's
gains are exact: 168 followers in an ordinary week, 167 / 169 across daylight-saving changes.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from services import analytics
from services.analytics import AccountRef
from services.db import open_db
from services.reports import (
    BadWeek,
    IsoWeek,
    build_report,
    last_complete_week,
    parse_week,
    safe_tiktok_link,
)
from tests.services.report_cache import (
    D,
    FakeAccount,
    H,
    Video,
    add_account,
    add_run,
    daily_runs,
    ts,
)

W47 = IsoWeek(2026, 47)  # Mon 16 Nov – Sun 22 Nov 2026
NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


@pytest.fixture
def db(tmp_path):
    with open_db(tmp_path / "r.db", migrate=True) as database:
        yield database


def luna(origin: int) -> FakeAccount:
    return FakeAccount(
        "-000luna",
        origin,
        username="luna",
        videos=[
            Video(
                "7300000000000000001",
                origin - 30 * D,
                10,
                "Old favourite",
                "https://www.tiktok.com/@luna/video/7300000000000000001",
            ),
            # Posted Wed 18 Nov 12:00 UTC, 50 views an hour.
            Video(
                "7300000000000000002",
                ts(2026, 11, 18, 12),
                50,
                '=HYPERLINK("x") new',
                "http://www.tiktok.com/@luna/video/7300000000000000002",
            ),
        ],
    )


@pytest.fixture
def luna_cache(db):
    origin = ts(2026, 11, 2, 6)
    acct = luna(origin)
    add_account(db, acct, origin)
    daily_runs(db, acct, origin, ts(2026, 11, 25, 6))
    return acct


def ref(acct: FakeAccount) -> AccountRef:
    return AccountRef(acct.open_id, f"@{acct.username or acct.open_id}")


def test_week_kpis_have_the_exact_answers(db, luna_cache):
    report = build_report(db, [ref(luna_cache)], W47, "UTC", now=NOW)
    (week,) = report.accounts
    k = week.kpis
    assert k["followers_gained"].current.value == 168
    assert k["followers_gained"].previous.value == 168
    # v1: 10/h x 168 h; v2 posted Wed 12:00: 50/h x 108 h to Monday 00:00.
    assert k["views_gained"].current.value == 1680 + 5400
    assert k["views_gained"].previous.value == 1680
    assert k["likes_gained"].current.value == 168 + 540
    assert k["engagement_rate"].current.value == pytest.approx(0.1)
    assert k["videos_posted"].current.value == 1
    assert k["videos_posted"].previous.value == 0
    # Followers at start: the last snapshot before Monday 00:00 (Sun 15 Nov 06:00).
    assert week.followers_start.value == 1000 + (ts(2026, 11, 15, 6) - luna_cache.origin) // H
    assert week.followers_end.value == 1000 + (ts(2026, 11, 22, 6) - luna_cache.origin) // H
    for metric in (week.followers_start, k["views_gained"].current):
        assert metric.as_of is not None and metric.provenance
    assert week.enough_history and week.note is None


def test_summary_table_and_changes(db, luna_cache):
    report = build_report(db, [ref(luna_cache)], W47, "UTC", now=NOW)
    summary = report.summary()
    row = summary.iloc[0]
    assert row["week"] == "2026-W47" and row["open_id"] == "-000luna"
    assert row["views_gained"] == 7080 and row["views_gained_prev"] == 1680
    assert row["views_gained_change"] == pytest.approx(7080 / 1680 - 1)
    assert row["engagement_rate_change"] == pytest.approx(0.0)
    changes = report.accounts[0].changes
    # Top videos rank snapshot differences between the runs nearest the week's edges.
    top = report.top_videos()
    assert list(top["video_id"]) == ["7300000000000000002", "7300000000000000001"]
    assert top["views_gained"].tolist() == [50 * 90, 10 * 144]
    # Only https tiktok.com share URLs become links.
    assert top["link"].isna().tolist() == [True, False]
    assert top["link"].iat[1] == "https://www.tiktok.com/@luna/video/7300000000000000001"
    assert any(
        line.startswith("Best video: “=HYPERLINK") and "4,500 views" in line for line in changes
    )
    assert any("Posted 1 video, more than usual (median 0 a week" in line for line in changes)
    assert any(line.startswith("Biggest mover: views gained up 321%") for line in changes)
    sources = report.sources()
    views = sources[sources["figure"] == "Views gained"].iloc[0]
    assert views["source"] == "difference between Reelboard snapshots"
    assert views["as_of"] == datetime(2026, 11, 23)


def test_report_equals_the_overview_for_the_same_period(db, luna_cache):
    refs = [ref(luna_cache)]
    report = build_report(db, refs, W47, "UTC", now=NOW)
    period = W47.bounds("UTC")
    overview = analytics.overview(db, refs, period.start, period.end, "UTC")
    page = overview.kpis[luna_cache.open_id]
    for key, kpi in report.accounts[0].kpis.items():
        assert kpi.current.value == page[key].current.value, key
        assert kpi.previous.value == page[key].previous.value, key
        assert kpi.current.as_of == page[key].current.as_of, key


def test_iso_year_boundary_week_53(db):
    # 2026 has 53 ISO weeks: 2026-W53 runs Mon 28 Dec 2026 – Sun 3 Jan 2027.
    origin = ts(2026, 12, 14, 6)
    acct = FakeAccount("-000yearend", origin)
    add_account(db, acct, origin)
    daily_runs(db, acct, origin, ts(2027, 1, 12, 6))
    now = datetime(2027, 1, 5, 9, tzinfo=UTC)
    week = parse_week("last", now=now, tz="UTC")
    assert week == IsoWeek(2026, 53) and week.key == "2026-W53"
    assert week.next() == IsoWeek(2027, 1) and IsoWeek(2027, 1).previous() == week
    assert (
        parse_week("2027-W01", now=datetime(2027, 1, 12, tzinfo=UTC)).monday.isoformat()
        == "2027-01-04"
    )
    report = build_report(db, [ref(acct)], week, "UTC", now=now)
    k = report.accounts[0].kpis
    assert k["followers_gained"].current.value == 168
    assert k["followers_gained"].previous.value == 168
    assert report.summary()["week"].tolist() == ["2026-W53"]


def test_a_week_with_a_missing_day_still_has_exact_gains(db):
    origin = ts(2026, 11, 2, 6)
    acct = luna(origin)
    add_account(db, acct, origin)
    daily_runs(db, acct, origin, ts(2026, 11, 25, 6), skip={ts(2026, 11, 19, 6)})
    report = build_report(db, [ref(acct)], W47, "UTC", now=NOW)
    k = report.accounts[0].kpis
    assert k["followers_gained"].current.value == 168
    assert k["views_gained"].current.value == 7080
    assert report.accounts[0].enough_history


def test_a_missing_day_at_the_edge_is_estimated_and_says_so(db):
    origin = ts(2026, 11, 2, 6)
    acct = FakeAccount("-000edge", origin)
    add_account(db, acct, origin)
    daily_runs(
        db, acct, origin, ts(2026, 11, 25, 6), skip={ts(2026, 11, 15, 6), ts(2026, 11, 16, 6)}
    )
    report = build_report(db, [ref(acct)], W47, "UTC", now=NOW)
    week = report.accounts[0]
    assert week.kpis["followers_gained"].current.value == 168  # linear: still exact
    assert "estimated" in (week.note or "")
    assert "estimated" in report.summary()["note"].iat[0]


def test_account_connected_mid_week(db, luna_cache):
    origin = ts(2026, 11, 18, 6)  # connected Wednesday
    late = FakeAccount("-000late", origin, username="late")
    add_account(db, late, origin)
    daily_runs(db, late, origin, ts(2026, 11, 25, 6))
    report = build_report(db, [ref(luna_cache), ref(late)], W47, "UTC", now=NOW)
    week = report.accounts[1]
    gained = week.kpis["followers_gained"]
    # Measured from the first snapshot (Wed 06:00) to Monday 00:00, and said so.
    assert gained.current.value == 4 * 24 + 18
    assert "only" in gained.current.note
    assert gained.previous.value is None and gained.previous.note
    assert week.followers_start.value is None  # no snapshot before the week began
    summary = report.summary()
    assert summary["followers_gained"].tolist()[1] == 114
    assert summary["followers_gained_prev"].isna().tolist() == [False, True]

    # The week before it was connected has no history: says so, never zeros.
    before = build_report(db, [ref(late)], W47.previous(), "UTC", now=NOW).accounts[0]
    assert not before.enough_history
    assert before.note.startswith("Not enough snapshots for 2026-W46")
    assert before.kpis["views_gained"].current.value is None
    assert before.changes[0] == before.note
    row = build_report(db, [ref(late)], W47.previous(), "UTC").summary().iloc[0]
    assert row.isna()["views_gained"] and row.isna()["followers_gained"]


@pytest.mark.parametrize(
    ("tz", "week", "hours"),
    [
        ("Europe/Berlin", IsoWeek(2026, 43), 169),  # clocks go back Sun 25 Oct 2026
        ("America/Los_Angeles", IsoWeek(2026, 10), 167),  # clocks go forward Sun 8 Mar 2026
        ("Europe/Berlin", IsoWeek(2026, 42), 168),
    ],
)
def test_dst_weeks_are_local_weeks(db, tz, week, hours):
    period = week.bounds(tz)
    assert (period.end - period.start) // H == hours
    local_start = datetime.fromtimestamp(period.start, UTC).astimezone(week_zone(tz))
    assert (local_start.weekday(), local_start.hour, local_start.minute) == (0, 0, 0)
    origin = period.start - 21 * D + 6 * H
    acct = FakeAccount("-000dst", origin)
    acct.videos.append(Video("7300000000000000009", origin - 10 * D, 10))
    add_account(db, acct, origin)
    daily_runs(db, acct, origin, period.end + 3 * D)
    report = build_report(db, [ref(acct)], week, tz)
    k = report.accounts[0].kpis
    assert k["followers_gained"].current.value == hours
    assert k["views_gained"].current.value == 10 * hours


def week_zone(tz):
    from zoneinfo import ZoneInfo

    return ZoneInfo(tz)


def test_one_snapshot_is_not_enough_history(db):
    origin = ts(2026, 11, 20, 6)
    acct = FakeAccount("-000one", origin)
    add_account(db, acct, origin)
    add_run(db, acct, origin)
    week = build_report(db, [ref(acct)], W47, "UTC").accounts[0]
    assert not week.enough_history
    assert "Needs at least 2 snapshots" in week.note
    assert week.followers_end.value == 1000  # a lifetime counter is still known


def test_never_synced_account_has_no_made_up_zeros(db):
    acct = FakeAccount("-000never", ts(2026, 11, 1))
    add_account(db, acct, ts(2026, 11, 1))
    week = build_report(db, [ref(acct)], W47, "UTC").accounts[0]
    assert week.kpis["videos_posted"].current.value is None
    assert not week.enough_history
    row = build_report(db, [ref(acct)], W47, "UTC").summary().iloc[0]
    assert all(
        math.isnan(row[c]) if isinstance(row[c], float) else row[c] is None
        for c in ("followers_gained", "views_gained", "videos_posted")
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("last", IsoWeek(2026, 47)),
        ("this", IsoWeek(2026, 48)),
        ("2026-W47", IsoWeek(2026, 47)),
        ("2026-w05", IsoWeek(2026, 5)),
        (" 2020-W53 ", IsoWeek(2020, 53)),
    ],
)
def test_parse_week(text, expected):
    assert parse_week(text, now=NOW, tz="Europe/Berlin") == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("yesterday", "is not a week"),
        ("2026-47", "is not a week"),
        ("2025-W53", "has weeks 01 to 52"),
        ("2026-W00", "does not exist"),
        ("2026-W49", "has not started yet"),
        ("1999-W01", "before any TikTok history"),
        ("", "is not a week"),
        ("'; DROP TABLE report_exports; --", "is not a week"),
    ],
)
def test_parse_week_rejects_bad_input_clearly(text, words):
    with pytest.raises(BadWeek) as info:
        parse_week(text, now=NOW, tz="UTC")
    assert words in info.value.message
    assert "2026-W47" in info.value.message or "week" in info.value.message


def test_last_complete_week_uses_the_local_date():
    # Monday 00:30 in Berlin is still Sunday 23:30 UTC: Berlin's last complete week is W47.
    now = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    assert last_complete_week(now, "Europe/Berlin") == IsoWeek(2026, 47)
    assert last_complete_week(now, "UTC") == IsoWeek(2026, 46)


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://www.tiktok.com/@a/video/1", True),
        ("https://tiktok.com/@a/video/1", True),
        ("http://www.tiktok.com/@a/video/1", False),
        ("https://evil.example/www.tiktok.com/", False),
        ("https://tiktok.com.evil.example/", False),
        ("https://user@www.tiktok.com/", False),
        ("javascript:alert(1)//tiktok.com", False),
        (None, False),
    ],
)
def test_safe_tiktok_link(url, ok):
    assert (safe_tiktok_link(url) is not None) is ok
