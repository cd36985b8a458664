"""The URL's view parameters: a fixed grammar, usernames only, hostile values ignored."""

from __future__ import annotations

from datetime import date

import pytest

from services.view_state import PeriodChoice, parse_accounts, parse_period, usernames_param

TODAY = date(2026, 6, 15)
KNOWN = {"luna": "oid-1", "jo.runs": "oid-2"}


def test_presets_days_and_ranges():
    assert parse_period("28d", TODAY) == PeriodChoice(days=28)
    assert parse_period("30d", TODAY) == PeriodChoice(first=date(2026, 5, 17), last=TODAY)
    assert parse_period("2026-01-05..2026-01-20", TODAY).to_param() == "2026-01-05..2026-01-20"
    assert PeriodChoice(days=7).to_param() == "7d"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "0d",
        "999d",
        "367d",
        "-7d",
        "7 d",
        "2026-02-30..2026-03-01",
        "2026-03-01..2026-02-01",
        "2026-01-01..2027-01-01",
        "<b>7d",
        "7d;",
        None,
    ],
)
def test_bad_periods_are_refused(text):
    assert parse_period(text, TODAY) is None


def test_accounts_by_username_case_insensitive_repeats_and_unknowns():
    found, ignored = parse_accounts("@Luna, jo.runs,@luna,@nobody,**x**", KNOWN)
    assert found == ["oid-1", "oid-2"]
    assert ignored == 2  # @nobody and **x**; the repeat is simply dropped
    assert usernames_param(["luna", None, "jo.runs"]) == "@luna,@jo.runs"


def test_open_ids_and_oversized_values_are_not_accepted():
    assert parse_accounts("oid-1", KNOWN) == ([], 1)  # open_ids never select from a URL
    found, ignored = parse_accounts("@luna," * 400, KNOWN)
    assert found == ["oid-1"] and ignored >= 1
