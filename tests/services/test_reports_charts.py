"""The report preview's figure: built from the report, outside text escaped, empty state."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.analytics import AccountRef
from services.db import open_db
from services.reports import IsoWeek, build_report
from services.reports.charts import as_plot_text, views_gained_chart
from tests.services.report_cache import FakeAccount, add_account, add_run, daily_runs, ts
from tests.services.test_reports_model import luna

W47 = IsoWeek(2026, 47)


@pytest.fixture
def db(tmp_path):
    with open_db(tmp_path / "c.db", migrate=True) as database:
        yield database


def test_grouped_bars_this_week_and_the_week_before(db):
    origin = ts(2026, 11, 2, 6)
    acct = luna(origin)
    add_account(db, acct, origin)
    daily_runs(db, acct, origin, ts(2026, 11, 25, 6))
    report = build_report(
        db,
        [AccountRef(acct.open_id, "<b>Luna</b> *kitchen*")],
        W47,
        "UTC",
        now=datetime(2026, 11, 26, tzinfo=UTC),
    )
    fig = views_gained_chart(report)
    assert [t.name for t in fig.data] == ["2026-W46 (week before)", "2026-W47"]
    assert list(fig.data[0].y) == [1680.0] and list(fig.data[1].y) == [7080.0]
    assert list(fig.data[1].x) == ["&lt;b&gt;Luna&lt;/b&gt; *kitchen*"]  # text, not HTML
    assert "Difference between Reelboard snapshots, as of" in fig.layout.title.subtitle.text
    # On a 390 px phone the two legend entries wrap: above the plot they ran into the subtitle,
    # so the legend sits under the plot and the title is short enough not to be cut off.
    assert fig.layout.legend.y < 0 and fig.layout.legend.yanchor == "top"
    assert fig.layout.title.text == "Views gained, 2026-W47 vs 2026-W46"


def test_no_history_is_an_empty_state_with_the_reason(db):
    acct = FakeAccount("-000one", ts(2026, 11, 20, 6))
    add_account(db, acct, acct.origin)
    add_run(db, acct, acct.origin)
    fig = views_gained_chart(build_report(db, [AccountRef(acct.open_id, "One")], W47, "UTC"))
    assert len(fig.data) == 0
    assert "Not enough snapshots" in fig.layout.annotations[0].text


def test_plot_text_is_clipped_and_escaped():
    assert as_plot_text("a" * 60).endswith("…") and len(as_plot_text("a" * 60)) == 40
    assert as_plot_text("<script>x</script>") == "&lt;script&gt;x&lt;/script&gt;"
    assert as_plot_text(None) == "(unnamed)"
