"""Chart queries on a large synthetic cache, against loading the snapshots into pandas.

    python -m bench.queries_bench                      # 10,000 videos x 365 daily snapshots
    python -m bench.queries_bench --videos 500 --days 60   # quick smoke run

Builds a cache (one big account plus a small one) in a temporary directory with the real
migrations, records its size, then times each page's set of queries (Overview, Videos,
Insights) with a fresh connection per run, as a page run opens one, and compares with the
baseline a page without SQL aggregation would use: ``pd.read_sql`` of the account's
``video_snapshots`` and grouping in pandas to the same answer (checked equal). Prints a table
and writes ``bench/results/queries.json``. Targets: each page <= 200 ms median and >= 10x
faster than its baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from services import charts, metrics, queries
from services.db import open_db

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "queries.json"
BIG = "bench_big_account"
SMALL = "bench_small_account"
DAY = 86_400
#: Fixed clock: the last sync of the synthetic history (2026-06-01 03:00 UTC).
LAST_RUN = 1_780_283_200
TARGET_MS = 200.0
TARGET_RATIO = 10.0

HASHTAGS = [
    "fyp",
    "foryou",
    "marketing",
    "tips",
    "behindthescenes",
    "tutorial",
    "café",
    "MüNCHEN",
    "日本",
    "recette",
    "skincare",
    "ootd",
    "booktok",
    "comedy",
    "dance",
]


# --------------------------------------------------------------------------------------------
# building the cache


@dataclass(frozen=True)
class Shape:
    videos: int
    days: int
    small_videos: int


def _run_times(days: int) -> np.ndarray:
    # Daily syncs at ~03:00 UTC with a few minutes of jitter, ending at LAST_RUN.
    rng = np.random.default_rng(7)
    base = LAST_RUN - (days - 1) * DAY + np.arange(days, dtype=np.int64) * DAY
    return base + rng.integers(-600, 600, size=days)


def _videos(n: int, first_run: int, last_run: int, seed: int) -> pd.DataFrame:
    """Videos: 90 % posted in the three years before history starts, 10 % during it."""
    rng = np.random.default_rng(seed)
    during = rng.random(n) < 0.10
    create = np.where(
        during,
        rng.integers(first_run, last_run - 3600, size=n),
        rng.integers(first_run - 3 * 365 * DAY, first_run, size=n),
    ).astype(np.int64)
    order = np.argsort(create, kind="stable")
    create = create[order]
    # 19-digit ids that grow with posting time, like TikTok's.
    ids = [str(7_100_000_000_000_000_000 + i * 1_000_003 + seed) for i in range(n)]
    final = np.exp(rng.normal(9.0, 1.6, size=n)).astype(np.float64)  # heavy-tailed reach
    tau = rng.uniform(0.5, 4.0, size=n) * DAY  # how fast a video reaches its audience
    tags = [
        " ".join(f"#{HASHTAGS[j]}" for j in rng.choice(len(HASHTAGS), size=3, replace=False))
        for _ in range(n)
    ]
    return pd.DataFrame(
        {
            "id": ids,
            "create_time": create,
            "final": final,
            "tau": tau,
            "like_rate": rng.uniform(0.03, 0.12, size=n),
            "title": [f"Video {i} {t}" for i, t in enumerate(tags)],
        }
    )


def _views(videos: pd.DataFrame, at: int) -> np.ndarray:
    age = np.maximum(at - videos["create_time"].to_numpy(), 0)
    grown = 1.0 - np.exp(-age / videos["tau"].to_numpy())
    tail = 1.0 + 0.02 * age / (30 * DAY)  # a slow long tail
    return np.floor(videos["final"].to_numpy() * grown * tail).astype(np.int64)


def build_cache(
    path: Path,
    shape: Shape,
    log: Callable[[str], None] = print,
    accounts: list[tuple[str, int, int]] | None = None,
) -> dict:
    """The synthetic cache; ``accounts`` = (open_id, videos, seed) overrides the default big +
    small pair (bench/report_bench.py builds ten accounts)."""
    with open_db(path, migrate=True):
        pass
    conn = sqlite3.connect(path, isolation_level=None)
    # Build speed only: this throwaway file needs no durability while it is written.
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-1000000")
    runs = _run_times(shape.days)
    accounts = accounts or [(BIG, shape.videos, 1), (SMALL, shape.small_videos, 2)]
    rows = 0
    started = time.perf_counter()
    conn.execute("BEGIN")
    for open_id, n, seed in accounts:
        conn.execute(
            "INSERT INTO accounts (open_id, display_name, connected_at, updated_at) "
            "VALUES (?, ?, ?, ?)",
            (open_id, open_id.replace("_", " ").title(), int(runs[0]), int(runs[-1])),
        )
        account_key = conn.execute(
            "SELECT account_key FROM accounts WHERE open_id = ?", (open_id,)
        ).fetchone()[0]
        vids = _videos(n, int(runs[0]), int(runs[-1]), seed)
        conn.executemany(
            "INSERT INTO videos (id, open_id, create_time, title, description, duration, "
            "cover_image_url, share_url, first_seen_at, last_seen_at) "
            "VALUES (?, ?, ?, ?, ?, 30, ?, ?, ?, ?)",
            [
                (
                    vid,
                    open_id,
                    int(ct),
                    title,
                    "",
                    f"https://p16.example/{vid}.jpg",
                    f"https://www.tiktok.com/@x/video/{vid}",
                    max(int(ct), int(runs[0])),
                    int(runs[-1]),
                )
                for vid, ct, title in zip(
                    vids["id"], vids["create_time"], vids["title"], strict=True
                )
            ],
        )
        followers = 1000 + 40 * np.arange(shape.days) ** 1.3
        for d, at in enumerate(runs):
            at = int(at)
            live = vids["create_time"].to_numpy() <= at
            v = vids.loc[live]
            views = _views(v, at)
            likes = np.floor(views * v["like_rate"].to_numpy()).astype(np.int64)
            comments = views // 500
            shares = views // 300
            # Straight into the compact table (migration 0008) as the sync does: the ids are
            # numeric, so each one is its own video_key.
            conn.executemany(
                "INSERT INTO video_snapshot_rows (video_key, captured_at, account_key, "
                "view_count, like_count, comment_count, share_count) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                zip(
                    [int(x) for x in v["id"].tolist()],
                    [at] * len(v),
                    [account_key] * len(v),
                    views.tolist(),
                    likes.tolist(),
                    comments.tolist(),
                    shares.tolist(),
                    strict=True,
                ),
            )
            rows += len(v)
            conn.execute(
                "INSERT INTO sync_runs (open_id, captured_at, started_at, finished_at, status, "
                "rows_written, videos_seen) VALUES (?, ?, ?, ?, 'succeeded', ?, ?)",
                (open_id, at, at, at + 60, len(v), len(v)),
            )
            conn.execute(
                "INSERT INTO account_snapshots VALUES (?, ?, ?, 10, ?, ?)",
                (open_id, at, int(followers[d]) * seed, int(likes.sum()), len(v)),
            )
            conn.execute(
                "INSERT INTO account_video_totals VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    open_id,
                    at,
                    len(v),
                    int(views.sum()),
                    int(likes.sum()),
                    int(comments.sum()),
                    int(shares.sum()),
                ),
            )
            if d % 30 == 29:
                conn.execute("COMMIT")
                conn.execute("BEGIN")
                log(f"  {open_id}: {d + 1}/{shape.days} days, {rows:,} snapshot rows")
    # Each video's latest counters, as the sync keeps them on `videos` (migration 0007).
    conn.execute(
        "UPDATE videos SET (view_count, like_count, comment_count, share_count, counted_at) = ("
        "SELECT s.view_count, s.like_count, s.comment_count, s.share_count, s.captured_at "
        "FROM video_snapshot_rows s WHERE s.video_key = videos.video_key "
        "ORDER BY s.captured_at DESC LIMIT 1)"
    )
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("ANALYZE")
    conn.close()
    return {
        "build_seconds": round(time.perf_counter() - started, 1),
        "video_snapshot_rows": rows,
        "db_bytes": path.stat().st_size,
        "run_times": [int(runs[0]), int(runs[-1])],
    }


# --------------------------------------------------------------------------------------------
# the pages' queries and their pandas baselines


@dataclass(frozen=True)
class Scenario:
    db_path: Path
    open_id: str
    start: int  # the period: last 28 days
    end: int
    prev_start: int
    selected_video: str
    page_size: int  # rows of the Videos table on screen (sorted by views)
    velocity_from: int  # videos posted in the last 90 days
    tz: str = "America/Los_Angeles"


# Each page: its queries (the measured part), then the metrics and figures built from them.


def overview_queries(sc: Scenario) -> dict[str, Any]:
    with open_db(sc.db_path) as db:
        return {
            "account": queries.account_series(db, [sc.open_id], sc.prev_start, sc.end),
            "totals": queries.video_totals_series(db, [sc.open_id], sc.prev_start, sc.end),
            "posts": queries.posting_times(db, [sc.open_id], sc.prev_start, sc.end),
            "last_sync": queries.last_sync(db, sc.open_id),
            "span": queries.snapshot_span(db, [sc.open_id]),
            "version": queries.data_version(db),
        }


def overview_page(sc: Scenario) -> dict[str, Any]:
    r = overview_queries(sc)
    period = metrics.Period(sc.start, sc.end)
    cards = metrics.kpis(r["account"], r["totals"], r["posts"], period, period.previous(), tz=sc.tz)
    gained = metrics.gained_per_period(
        r["totals"], freq="day", tz=sc.tz, start=sc.start, end=sc.end
    )
    trend = metrics.trend(r["account"], ["follower_count"], tz=sc.tz)
    figures = [
        charts.gained_bars(gained, "views_gained", tz=sc.tz),
        charts.follower_trend(trend, tz=sc.tz),
    ]
    return {"kpis": cards, "figures": figures}


def videos_queries(sc: Scenario) -> dict[str, Any]:
    with open_db(sc.db_path) as db:
        table = queries.latest_video_stats(
            db, [sc.open_id], order_by="view_count", limit=sc.page_size
        )
        return {
            "table": table,
            "sparklines": queries.sparkline_series(
                db, sc.open_id, list(table["video_id"]), sc.end - 90 * DAY
            ),
            "history": queries.video_history(db, sc.selected_video),
            "version": queries.data_version(db),
        }


def videos_page(sc: Scenario) -> dict[str, Any]:
    r = videos_queries(sc)
    table = metrics.video_table(r["table"], tz=sc.tz)
    table["views_trend"] = table["video_id"].map(metrics.sparkline_lists(r["sparklines"]))
    fig = charts.video_growth(metrics.growth_curves(r["history"]), tz=sc.tz)
    return {"table": table, "figure": fig}


def insights_queries(sc: Scenario) -> dict[str, Any]:
    with open_db(sc.db_path) as db:
        velocity = queries.velocity_inputs(db, [sc.open_id], sc.velocity_from, sc.end)
        top = velocity[velocity["mark_hours"] == 168].nlargest(5, "after_views")["video_id"]
        return {
            "videos": queries.posting_times(db, [sc.open_id]),
            "velocity": velocity,
            "gains": queries.period_gains(db, [sc.open_id], sc.start, sc.end, limit=10),
            "curves": queries.growth_curves(db, list(top)),
            "version": queries.data_version(db),
        }


def insights_page(sc: Scenario) -> dict[str, Any]:
    r = insights_queries(sc)
    heat = metrics.posting_heatmap(r["videos"], tz=sc.tz)
    tags = metrics.hashtag_performance(r["videos"])
    outliers = metrics.outliers(r["videos"])
    movers = metrics.top_movers(r["gains"], tz=sc.tz)
    metrics.velocity(r["velocity"])
    figures = [
        charts.posting_heatmap(heat, tz=sc.tz),
        charts.hashtag_bars(tags),
        charts.outlier_scatter(outliers),
        charts.top_movers_bar(movers, tz=sc.tz),
        charts.velocity_curves(metrics.growth_curves(r["curves"])),
    ]
    return {"figures": figures}


# The baselines: the account's snapshots (only the columns the page needs) read into pandas,
# grouped there to the same answers.


def _read(db_path: Path, sql: str, params: list[object]) -> pd.DataFrame:
    with open_db(db_path) as db:
        return pd.read_sql_query(sql, db.conn, params=params)


def _snapshots(sc: Scenario, columns: str) -> pd.DataFrame:
    return _read(
        sc.db_path, f"SELECT {columns} FROM video_snapshots WHERE open_id = ?", [sc.open_id]
    )


def _finished_runs(sc: Scenario) -> np.ndarray:
    runs = _read(
        sc.db_path,
        "SELECT captured_at FROM sync_runs WHERE open_id = ? AND status "
        "IN ('succeeded', 'partial')",
        [sc.open_id],
    )
    return np.sort(runs["captured_at"].to_numpy())


def overview_baseline(sc: Scenario) -> dict[str, Any]:
    snaps = _snapshots(sc, "captured_at, view_count, like_count, comment_count, share_count")
    runs = _finished_runs(sc)
    totals = (
        snaps[snaps["captured_at"].isin(runs)]
        .groupby("captured_at", as_index=False)[
            ["view_count", "like_count", "comment_count", "share_count"]
        ]
        .sum()
    )
    t = totals["captured_at"]
    lo = t[t <= sc.prev_start].max() if (t <= sc.prev_start).any() else sc.prev_start
    hi = t[t >= sc.end].min() if (t >= sc.end).any() else sc.end
    account = _read(sc.db_path, "SELECT * FROM account_snapshots WHERE open_id = ?", [sc.open_id])
    videos = _read(sc.db_path, "SELECT id, create_time FROM videos WHERE open_id = ?", [sc.open_id])
    posts = videos[(videos["create_time"] >= sc.prev_start) & (videos["create_time"] < sc.end)]
    return {
        "totals": totals[(t >= lo) & (t <= hi)].reset_index(drop=True),
        "account": account,
        "posts": len(posts),
    }


def _latest(snaps: pd.DataFrame) -> pd.DataFrame:
    return snaps.sort_values("captured_at").groupby("video_id", sort=False).tail(1)


def videos_baseline(sc: Scenario) -> dict[str, Any]:
    snaps = _snapshots(
        sc, "video_id, captured_at, view_count, like_count, comment_count, share_count"
    )
    # The videos' own columns (not the latest counters the sync also keeps there since
    # migration 0007: this baseline derives them from the snapshots).
    videos = _read(
        sc.db_path,
        "SELECT id, open_id, create_time, title, description, duration, cover_image_url, "
        "share_url, embed_link, first_seen_at, last_seen_at, removed_at FROM videos "
        "WHERE open_id = ?",
        [sc.open_id],
    )
    latest = videos.merge(_latest(snaps), left_on="id", right_on="video_id", how="left")
    table = latest.sort_values(
        ["view_count", "create_time", "id"], ascending=[False, False, True]
    ).head(sc.page_size)
    history = snaps[snaps["video_id"] == sc.selected_video].sort_values("captured_at")
    spark = snaps[snaps["video_id"].isin(table["id"]) & (snaps["captured_at"] >= sc.end - 90 * DAY)]
    return {"table": table, "history": history, "sparklines": spark}


def insights_baseline(sc: Scenario) -> dict[str, Any]:
    snaps = _snapshots(sc, "video_id, captured_at, view_count")
    videos = _read(
        sc.db_path,
        "SELECT id, create_time, title, description FROM videos WHERE open_id = ?",
        [sc.open_id],
    )
    latest = videos.merge(_latest(snaps), left_on="id", right_on="video_id", how="left")
    # Top movers: the complete runs nearest the start and last before the end.
    complete = _read(
        sc.db_path, "SELECT captured_at FROM account_video_totals WHERE open_id = ?", [sc.open_id]
    )["captured_at"].to_numpy()
    from_at = int(complete[np.argmin(np.abs(complete - sc.start))])
    to_at = int(complete[complete <= sc.end].max())
    start = snaps[snaps["captured_at"] == from_at][["video_id", "view_count"]]
    end = snaps[snaps["captured_at"] == to_at]
    gains = end.merge(start, on="video_id", how="left", suffixes=("", "_start"))
    gains = gains.merge(videos[["id", "create_time"]], left_on="video_id", right_on="id")
    base = gains["view_count_start"].where(
        gains["view_count_start"].notna(), np.where(gains["create_time"] > from_at, 0, np.nan)
    )
    gains["views_gained"] = gains["view_count"] - base
    movers = (
        gains.dropna(subset=["views_gained"])
        .sort_values(["views_gained", "video_id"], ascending=[False, True])
        .head(10)
    )
    # Velocity: snapshots either side of each mark.
    recent = videos[(videos["create_time"] >= sc.velocity_from) & (videos["create_time"] < sc.end)]
    marks = recent[["id", "create_time"]].merge(
        pd.DataFrame({"mark_hours": queries.VELOCITY_MARKS_HOURS}), how="cross"
    )
    marks["mark_at"] = marks["create_time"] + marks["mark_hours"] * 3600
    marks = marks.sort_values("mark_at")
    mine = snaps[snaps["video_id"].isin(recent["id"])].sort_values("captured_at")
    before = pd.merge_asof(
        marks,
        mine,
        left_on="mark_at",
        right_on="captured_at",
        left_by="id",
        right_by="video_id",
        direction="backward",
    )
    after = pd.merge_asof(
        marks,
        mine,
        left_on="mark_at",
        right_on="captured_at",
        left_by="id",
        right_by="video_id",
        direction="forward",
    )
    week = after[after["mark_hours"] == 168].nlargest(5, "view_count")["id"]
    curves = mine[mine["video_id"].isin(week)].merge(
        videos[["id", "create_time"]], left_on="video_id", right_on="id"
    )
    curves = curves[curves["captured_at"] <= curves["create_time"] + 672 * 3600]
    return {"latest": latest, "movers": movers, "before": before, "after": after, "curves": curves}


def check_same_answers(sc: Scenario) -> list[str]:
    """The baselines compute what the queries return; returns the mismatches (none expected)."""
    problems: list[str] = []
    o, ob = overview_queries(sc), overview_baseline(sc)
    if list(o["totals"]["captured_at"]) != list(ob["totals"]["captured_at"]) or list(
        o["totals"]["view_count"].astype("int64")
    ) != list(ob["totals"]["view_count"]):
        problems.append("overview: video totals differ")
    if len(o["posts"]) != ob["posts"]:
        problems.append("overview: posts differ")
    v, vb = videos_queries(sc), videos_baseline(sc)
    if list(v["table"]["video_id"]) != list(vb["table"]["id"]):
        problems.append("videos: table page differs")
    if len(v["sparklines"]) > len(vb["sparklines"]) or len(v["history"]) != len(vb["history"]):
        problems.append("videos: sparklines or history differ")
    i, ib = insights_queries(sc), insights_baseline(sc)
    a = i["videos"].set_index("video_id")["view_count"].astype("float64").sort_index()
    b = ib["latest"].set_index("id")["view_count"].astype("float64").sort_index()
    if not np.array_equal(a.to_numpy(), b.to_numpy(), equal_nan=True):
        problems.append("insights: latest views differ")
    if list(i["gains"]["video_id"]) != list(ib["movers"]["video_id"]) or list(
        i["gains"]["views_gained"].astype("float64")
    ) != list(ib["movers"]["views_gained"]):
        problems.append("insights: top movers differ")
    vel = i["velocity"].sort_values(["video_id", "mark_hours"])
    for side, frame in (("before", ib["before"]), ("after", ib["after"])):
        ref = frame.sort_values(["id", "mark_hours"])["captured_at"].astype("float64")
        ours = vel[f"{side}_at"].astype("float64")
        if not np.array_equal(ours.to_numpy(), ref.to_numpy(), equal_nan=True):
            problems.append(f"insights: velocity {side} snapshots differ")
    if len(i["curves"]) != len(ib["curves"]):
        problems.append("insights: growth curves differ")
    return problems


# --------------------------------------------------------------------------------------------
# timing


def median_ms(fn: Callable[[], object], runs: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), times


def scenario(db_path: Path) -> Scenario:
    with open_db(db_path) as db:
        end = int(
            db.execute(
                "SELECT max(captured_at) FROM sync_runs WHERE open_id = ?", [BIG]
            ).fetchone()[0]
        )
        some = queries.latest_video_stats(db, [BIG], order_by="view_count", limit=1, offset=100)
    start = end - 28 * DAY
    return Scenario(
        db_path=db_path,
        open_id=BIG,
        start=start,
        end=end,
        prev_start=start - 28 * DAY,
        selected_video=str(some["video_id"].iloc[0]),
        page_size=50,
        velocity_from=end - 90 * DAY,
    )


PAGES: dict[str, tuple[Callable[[Scenario], Any], ...]] = {
    "Overview": (overview_queries, overview_baseline, overview_page),
    "Videos": (videos_queries, videos_baseline, videos_page),
    "Insights": (insights_queries, insights_baseline, insights_page),
}


def videos_all_rows(sc: Scenario) -> object:
    """Informational: the whole Videos table (every video with its text) in one frame."""
    with open_db(sc.db_path) as db:
        return queries.latest_video_stats(db, [sc.open_id])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.queries_bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--videos", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=9, help="timed runs per page (median)")
    parser.add_argument("--baseline-runs", type=int, default=5)
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="build (or reuse) the cache at this path instead of a temp dir",
    )
    parser.add_argument("--output", type=Path, default=RESULTS_PATH)
    args = parser.parse_args(argv)
    shape = Shape(videos=args.videos, days=args.days, small_videos=max(args.videos // 100, 10))
    load_before = os.getloadavg()
    # The targets are defined for the full cache; a smoke run only checks that it all works.
    full_size = args.videos >= 10_000 and args.days >= 365

    with tempfile.TemporaryDirectory(prefix="reelboard-bench-") as tmp:
        db_path = args.keep or Path(tmp) / "cache.db"
        if args.keep and db_path.exists():
            print(f"Reusing {db_path}")
            with open_db(db_path) as db:
                rows = db.execute("SELECT count(*) FROM video_snapshot_rows").fetchone()[0]
            build = {
                "build_seconds": None,
                "video_snapshot_rows": rows,
                "db_bytes": db_path.stat().st_size,
            }
        else:
            print(
                f"Building {shape.videos:,} videos x {shape.days} daily snapshots "
                f"(+{shape.small_videos} videos on a second account) ..."
            )
            build = build_cache(db_path, shape)
        print(
            f"  {build['video_snapshot_rows']:,} snapshot rows, "
            f"{build['db_bytes'] / 2**20:,.1f} MiB, built in {build['build_seconds']} s"
        )

        sc = scenario(db_path)
        problems = check_same_answers(sc)
        if problems:
            print("Baseline and queries disagree: " + "; ".join(problems), file=sys.stderr)
        pages = {}
        for name, (ours, baseline, page) in PAGES.items():
            ours(sc)  # warm the OS page cache, as a running app has it
            ms, ours_all = median_ms(lambda o=ours: o(sc), args.runs)
            page_ms, _ = median_ms(lambda p=page: p(sc), args.runs)
            base_ms, base_all = median_ms(lambda b=baseline: b(sc), args.baseline_runs)
            pages[name] = {
                "queries_median_ms": round(ms, 1),
                "queries_runs_ms": [round(t, 1) for t in ours_all],
                "with_metrics_and_figures_median_ms": round(page_ms, 1),
                "baseline_median_ms": round(base_ms, 1),
                "baseline_runs_ms": [round(t, 1) for t in base_all],
                "speedup": round(base_ms / ms, 1),
                "meets_target": ms <= TARGET_MS and base_ms / ms >= TARGET_RATIO,
            }
        all_rows_ms, _ = median_ms(lambda: videos_all_rows(sc), args.runs)

    print()
    print(
        f"{'page':<10} {'queries ms':>11} {'+metrics+figs':>14} {'baseline ms':>12} "
        f"{'speedup':>8}  target (<= {TARGET_MS:g} ms, >= {TARGET_RATIO:g}x)"
    )
    for name, r in pages.items():
        ok = "ok" if r["meets_target"] else ("MISSED" if full_size else "n/a (smoke size)")
        print(
            f"{name:<10} {r['queries_median_ms']:>11.1f} "
            f"{r['with_metrics_and_figures_median_ms']:>14.1f} "
            f"{r['baseline_median_ms']:>12.1f} {r['speedup']:>7.1f}x  {ok}"
        )
    print(f"(Videos table with all {shape.videos:,} rows in one frame: {all_rows_ms:.1f} ms)")
    result = {
        "benchmark": "queries",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "shape": {
            "videos": shape.videos,
            "days": shape.days,
            "small_account_videos": shape.small_videos,
        },
        "build": build,
        "db_mib": round(build["db_bytes"] / 2**20, 1),
        "targets": {"median_ms": TARGET_MS, "speedup": TARGET_RATIO, "apply": full_size},
        "same_answers": not problems,
        "problems": problems,
        "pages": pages,
        "videos_all_rows_median_ms": round(all_rows_ms, 1),
        "load_average_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "pandas": pd.__version__,
        "machine": platform.machine(),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nWrote {args.output}")
    met = all(r["meets_target"] for r in pages.values()) or not full_size
    return 0 if not problems and met else 1


if __name__ == "__main__":
    raise SystemExit(main())
