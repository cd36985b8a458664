"""The pure parts of the server benchmarks (bench/app_server.py, bench/browser_bench.py): what
they parse and the data they write. No server, no browser, no timing."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from bench.app_server import cpu_seconds, parse_cache_metrics, peak_rss_bytes, rss_bytes
from bench.browser_bench import (
    BUMP_ERROR,
    add_synthetic_account,
    bump_data_version,
    history_end,
    remove_bumps,
)
from services.accounts import list_accounts
from services.analytics import queries
from services.db import open_db
from services.tiktok.scopes import ANALYTICS

METRICS = """\
# TYPE cache_memory_bytes gauge
cache_memory_bytes{cache_type="st_cache_data",cache="dashboard.data._insights"} 101695
cache_memory_bytes{cache_type="st_cache_data",cache="dashboard.reports._report"} 7
cache_memory_bytes{cache_type="st_cache_resource",cache="dashboard.runtime._runtime"} 1
cache_memory_bytes{cache_type="st_session_state",cache=""} 41
cache_lookups_total{cache="dashboard.data._insights",cache_type="st_cache_data",result="hit"} 3
cache_lookups_total{cache="dashboard.data._insights",cache_type="st_cache_data",result="miss"} 2
cache_lookups_total{cache="dashboard.runtime._rt",cache_type="st_cache_resource",result="miss"} 1
cache_compute_duration_seconds_count{cache="dashboard.data._insights",cache_type="st_cache_data"} 2
"""


def test_cache_metrics_are_read_per_cached_data_function():
    stats = parse_cache_metrics(METRICS)
    assert stats.bytes == {"_insights": 101695, "_report": 7}
    assert stats.hits == {"_insights": 3}
    assert stats.misses == {"_insights": 2}


def test_memory_and_cpu_of_this_process_are_read_from_proc():
    rss = rss_bytes(os.getpid())
    assert rss > 1_000_000
    assert peak_rss_bytes(os.getpid()) >= rss
    used = os.times()
    assert abs(cpu_seconds(os.getpid()) - (used.user + used.system)) < 0.5


def test_history_ends_at_the_last_0300_utc():
    assert history_end(datetime(2026, 12, 6, 16, 0, tzinfo=UTC)) == int(
        datetime(2026, 12, 6, 3, 0, tzinfo=UTC).timestamp())
    assert history_end(datetime(2026, 12, 6, 2, 59, tzinfo=UTC)) == int(
        datetime(2026, 12, 5, 3, 0, tzinfo=UTC).timestamp())


def test_synthetic_account_is_listed_as_connected_and_a_bump_moves_only_the_version(tmp_path):
    db_path = tmp_path / "reelboard.db"
    add_synthetic_account(db_path, open_id="-000test", username="bench_test", label="Bench",
                          videos=5, days=3, seed=1, log=lambda m: None)
    with open_db(db_path) as db:
        (account,) = list_accounts(db)
        assert (account.username, account.status) == ("bench_test", "active")
        assert set(ANALYTICS) <= account.granted_scopes
        before = queries.data_version(db)
        last = queries.last_sync(db, "-000test")
    bump_data_version(db_path, "-000test")
    with open_db(db_path) as db:
        assert queries.data_version(db) != before
        assert queries.last_sync(db, "-000test") == last  # what the pages show is unchanged
        assert db.execute("SELECT count(*) FROM sync_runs WHERE error = ?",
                          [BUMP_ERROR]).fetchone()[0] == 1
    remove_bumps(db_path)
    with open_db(db_path) as db:
        assert db.execute("SELECT count(*) FROM sync_runs WHERE error = ?",
                          [BUMP_ERROR]).fetchone()[0] == 0
