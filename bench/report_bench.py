"""The weekly report on a large synthetic cache, against the Overview's queries; Sheets calls.

    python -m bench.report_bench                        # 10 accounts, 10,000 videos, 365 days
    python -m bench.report_bench --videos 1000 --days 60   # quick smoke run

Builds the cache with :func:`bench.synthetic_cache.build_cache` (real migrations; ten accounts
sharing the videos, daily syncs for a year), then times, with a fresh connection per run as a
page run opens one:

- the report's queries for the last complete week and all ten accounts (what
  :func:`services.reports.build_report` sends to SQLite) and the whole build (queries +
  metrics + tables);
- the Overview's queries for the same accounts and week (:func:`services.analytics.overview`'s
  set), the baseline the ratio is taken against: the report adds one ranked top-videos query
  per account to the Overview's set.

Then exports the report twice to the sandbox's fake Google Sheets with the real gspread
exporter and counts the Sheets API calls from the fake's request log (first export, re-run).
Targets: report queries <= 1 s median; <= 6 Sheets calls per export. Prints min/median/max
and writes ``bench/results/report.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from bench.synthetic_cache import Shape, build_cache
from services import analytics
from services.access import LOCAL_ACTOR
from services.analytics import AccountRef, queries
from services.db import open_db
from services.reports import IsoWeek, build_report, last_complete_week
from services.reports.export import export_sheets

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "report.json"
TARGET_QUERIES_MS = 1000.0
TARGET_CALLS = 6
ACCOUNTS = 10
TZ = "America/Los_Angeles"


@dataclass(frozen=True)
class Scenario:
    db_path: Path
    refs: list[AccountRef]
    week: IsoWeek
    tz: str = TZ

    @property
    def open_ids(self) -> list[str]:
        return [r.open_id for r in self.refs]


def report_queries(sc: Scenario) -> dict[str, Any]:
    """The SQL of build_report, alone (same calls, same arguments)."""
    period = sc.week.bounds(sc.tz)
    previous = sc.week.previous().bounds(sc.tz)
    usual_start = previous.start - 7 * 7 * 86_400
    with open_db(sc.db_path) as db:
        return {
            "account": queries.account_series(db, sc.open_ids, previous.start, period.end),
            "totals": queries.video_totals_series(db, sc.open_ids, previous.start, period.end),
            "posts": queries.posting_times(db, sc.open_ids, usual_start, period.end),
            "top": [
                queries.period_gains(db, [o], period.start, period.end, limit=5)
                for o in sc.open_ids
            ],
        }


def report_build(sc: Scenario) -> object:
    with open_db(sc.db_path) as db:
        report = build_report(db, sc.refs, sc.week, sc.tz)
    return report.tables()


def overview_queries(sc: Scenario) -> dict[str, Any]:
    """The SQL of analytics.overview for the same accounts and week."""
    period = sc.week.bounds(sc.tz)
    prev_start = period.start - (period.end - period.start)
    with open_db(sc.db_path) as db:
        return {
            "account": queries.account_series(db, sc.open_ids, prev_start, period.end),
            "totals": queries.video_totals_series(db, sc.open_ids, prev_start, period.end),
            "posts": queries.posting_times(db, sc.open_ids, prev_start, period.end),
            "span": queries.snapshot_span(db, sc.open_ids),
            "last": [queries.last_sync(db, o) for o in sc.open_ids],
        }


def overview_build(sc: Scenario) -> object:
    period = sc.week.bounds(sc.tz)
    with open_db(sc.db_path) as db:
        return analytics.overview(db, sc.refs, period.start, period.end, sc.tz)


def timed(fn: Callable[[], object], runs: int) -> dict[str, Any]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return {
        "min_ms": round(min(times), 1),
        "median_ms": round(statistics.median(times), 1),
        "max_ms": round(max(times), 1),
        "runs_ms": [round(t, 1) for t in times],
    }


def sheets_calls(sc: Scenario, data_dir: Path) -> dict[str, Any]:
    """Export twice to the sandbox's fake Sheets; calls counted from the fake's request log."""
    from sandbox import DEFAULT_CLIENT_KEY, DEFAULT_CLIENT_SECRET, start_sandbox
    from services.config import Settings

    server = start_sandbox(port=0, state_path=None)
    try:
        settings = Settings(
            mode="sandbox",
            client_key=DEFAULT_CLIENT_KEY,
            client_secret=DEFAULT_CLIENT_SECRET,
            redirect_uri="http://localhost:8501/accounts",
            auth_url=server.auth_url,
            api_base_url=server.base_url,
            data_dir=data_dir,
            timezone=sc.tz,
        )
        log_url = f"{server.base_url}/_sandbox/requests"
        counts, reported, seconds = [], [], []
        with open_db(sc.db_path) as db:
            report = build_report(db, sc.refs, sc.week, sc.tz)
            for _ in range(2):
                requests.delete(log_url, timeout=10)
                t0 = time.perf_counter()
                result = export_sheets(db, settings, report, actor=LOCAL_ACTOR)
                seconds.append(round(time.perf_counter() - t0, 2))
                log = requests.get(log_url, params={"path": "/v4/spreadsheets"}, timeout=10)
                counts.append(len(log.json()))
                reported.append(result.calls_made)
        rows = sum(len(t) for t in report.tables().values())
        return {
            "first_export_calls": counts[0],
            "rerun_calls": counts[1],
            "exporter_reported_calls": reported,
            "seconds": seconds,
            "report_rows": rows,
        }
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.report_bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--videos", type=int, default=10_000, help="videos over all accounts")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--accounts", type=int, default=ACCOUNTS)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="build (or reuse) the cache at this path instead of a temp dir",
    )
    parser.add_argument("--output", type=Path, default=RESULTS_PATH)
    args = parser.parse_args(argv)
    full_size = args.videos >= 10_000 and args.days >= 365 and args.accounts >= ACCOUNTS
    load_before = os.getloadavg()
    per_account = max(args.videos // args.accounts, 1)
    accounts = [(f"-000bench{i:02d}", per_account, i + 1) for i in range(args.accounts)]
    with tempfile.TemporaryDirectory(prefix="reelboard-report-bench-") as tmp:
        db_path = args.keep or Path(tmp) / "cache.db"
        if args.keep and db_path.exists():
            print(f"Reusing {db_path}")
            build = {"build_seconds": None}
        else:
            print(
                f"Building {args.accounts} accounts x {per_account:,} videos x {args.days} "
                "daily snapshots ..."
            )
            build = build_cache(db_path, Shape(args.videos, args.days, 0), accounts=accounts)
        with open_db(db_path) as db:
            rows = db.execute("SELECT count(*) FROM video_snapshot_rows").fetchone()[0]
            last = db.execute("SELECT max(captured_at) FROM sync_runs").fetchone()[0]
        week = last_complete_week(datetime.fromtimestamp(last, UTC), TZ)
        sc = Scenario(db_path, [AccountRef(a[0], a[0]) for a in accounts], week)
        print(
            f"  {rows:,} snapshot rows, {db_path.stat().st_size / 2**20:,.1f} MiB; "
            f"report week {week.key}"
        )
        results: dict[str, Any] = {}
        for name, fn in (
            ("report_queries", report_queries),
            ("overview_queries", overview_queries),
            ("report_build", report_build),
            ("overview_build", overview_build),
        ):
            fn(sc)  # warm the OS page cache, as a running app has it
            results[name] = timed(lambda f=fn: f(sc), args.runs)
        calls = sheets_calls(sc, Path(tmp) / "data")
    ratio = results["report_queries"]["median_ms"] / results["overview_queries"]["median_ms"]
    met_time = results["report_queries"]["median_ms"] <= TARGET_QUERIES_MS
    met_calls = max(calls["first_export_calls"], calls["rerun_calls"]) <= TARGET_CALLS
    print()
    print(f"{'':<18} {'min ms':>8} {'median ms':>10} {'max ms':>8}")
    for name, r in results.items():
        print(f"{name:<18} {r['min_ms']:>8.1f} {r['median_ms']:>10.1f} {r['max_ms']:>8.1f}")
    print(f"report / overview queries (median): {ratio:.2f}x")
    print(
        f"report queries <= {TARGET_QUERIES_MS:g} ms: "
        f"{'ok' if met_time else ('MISSED' if full_size else 'n/a (smoke size)')}"
    )
    print(
        f"Sheets calls: first export {calls['first_export_calls']}, re-run "
        f"{calls['rerun_calls']} (target <= {TARGET_CALLS}): {'ok' if met_calls else 'MISSED'}"
    )
    out = {
        "benchmark": "report",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "shape": {"accounts": args.accounts, "videos": args.videos, "days": args.days},
        "video_snapshot_rows": rows,
        "build": build,
        "week": week.key,
        "timings": results,
        "report_over_overview_queries": round(ratio, 2),
        "sheets": calls,
        "targets": {
            "report_queries_ms": TARGET_QUERIES_MS,
            "sheets_calls": TARGET_CALLS,
            "apply": full_size,
        },
        "load_average_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(out, indent=2) + "\n")
    print(f"\nWrote {args.output}")
    return 0 if met_calls and (met_time or not full_size) else 1


if __name__ == "__main__":
    raise SystemExit(main())
