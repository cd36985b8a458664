"""Comparison figures and sums: pure functions, asserted on traces and values."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from services.analytics import comparison
from services.analytics.metrics import SNAPSHOT_DIFFERENCE, TIKTOK_LIFETIME, Kpi, Metric

NAMES = {"a": "Big <b>Brand</b> $x$", "b": "tiny"}
T0 = 1_780_000_000


def _followers():
    rows = []
    for i in range(5):
        rows.append(
            {"open_id": "a", "captured_at": T0 + i * 86_400, "follower_count": 318_000 + 500 * i}
        )
        rows.append({"open_id": "b", "captured_at": T0 + i * 86_400, "follower_count": 252 + i})
    return pd.DataFrame(rows)


def test_small_multiples_give_each_account_its_own_axis_and_escaped_title():
    fig = comparison.small_multiples(
        _followers(), "follower_count", names=NAMES, tz="UTC", title="Followers"
    )
    assert len(fig.data) == 2
    assert fig.data[0].yaxis != fig.data[1].yaxis
    assert fig.layout.yaxis.matches is None and fig.layout.yaxis2.matches is None
    titles = [a.text for a in fig.layout.annotations]
    assert "Big &lt;b&gt;Brand&lt;/b&gt; &#36;x&#36;" in titles
    assert fig.layout.showlegend is False  # each panel is titled instead


def test_growth_lines_start_at_zero_and_legend_sits_below():
    fig = comparison.growth_lines(
        _followers(), "follower_count", names=NAMES, tz="UTC", title="Follower growth (%)"
    )
    assert [t.y[0] for t in fig.data] == [0.0, 0.0]
    assert fig.data[1].y[-1] == pytest.approx((256 / 252 - 1) * 100)
    assert fig.layout.legend.y < 0 and fig.layout.legend.yanchor == "top"


def _kpis(followers, views, likes):
    as_of = datetime(2026, 6, 1, tzinfo=UTC)

    def kpi(key, value, prov):
        return Kpi(key, key, Metric(value, prov, as_of), Metric(value, prov, as_of))

    return {
        "followers": kpi("followers", followers, TIKTOK_LIFETIME),
        "views_gained": kpi("views_gained", views, SNAPSHOT_DIFFERENCE),
        "likes_gained": kpi("likes_gained", likes, SNAPSHOT_DIFFERENCE),
        "comments_gained": kpi("comments_gained", 0, SNAPSHOT_DIFFERENCE),
        "shares_gained": kpi("shares_gained", 0, SNAPSHOT_DIFFERENCE),
    }


def test_portfolio_sums_and_recomputes_engagement():
    total = comparison.portfolio_kpis({"a": _kpis(318_000, 1000, 50), "b": _kpis(252, 100, 40)})
    assert total["followers"].current.value == 318_252
    assert total["engagement_rate"].current.value == pytest.approx(90 / 1100)
    table = comparison.accounts_table(
        NAMES, {"a": _kpis(318_000, 1000, 50), "b": _kpis(252, 100, 40)}, total
    )
    assert list(table["Account"]) == [NAMES["a"], "tiny", "Portfolio (2 accounts)"]
    assert list(table["Followers"]) == [318_000, 252, 318_252]


def test_portfolio_is_blank_when_an_account_lacks_the_figure():
    total = comparison.portfolio_kpis({"a": _kpis(318_000, 1000, 50), "b": _kpis(None, 1, 1)})
    assert total["followers"].current.value is None
    assert "Not every account" in total["followers"].current.note
