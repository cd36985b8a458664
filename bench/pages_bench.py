"""What each analytics page pays on the server, end to end, against pandas over the same tables.

    python -m bench.pages_bench                          # 10,000 and 50,000 videos x 365 days
    python -m bench.pages_bench --videos 1000,5000 --days 60 --runs 3   # smoke run

For each cache size (one big account of N videos with 365 daily snapshots, built once with the
real migrations and kept under ``--cache-dir``), each page's work is timed as the app pays it
after a sync, when its caches are cold: a fresh SQLite connection, the ``services.analytics``
function the dashboard caches (queries + metrics) and the figure builders the page calls
(``services.analytics.charts``). Insights is timed per tab (lazy tabs: a view runs one section). The
default period (the last 28 days) is the one timed; the Insights payload is also measured for
the last 365 days (the widest choice).

The baseline is the best simple alternative: ``pd.read_sql`` of the same tables the app reads
(pre-aggregated account rows, the ``videos`` table with its latest counters, one run's snapshot
rows), filtered to the account and period in SQL's WHERE, the rest in pandas, and the same
metrics and figure builders. Answers are checked equal.

Targets (issue 12, recorded in bench.targets): each page <= 300 ms at 50,000 videos (Overview
<= 100 ms); cost from 10,000 to 50,000 videos growing no worse than linearly (<= 5x); an
Insights view sends <= 150 KiB; and no page slower than its pandas baseline beyond run-to-run
noise (ratio of medians <= 1.2: pages under ~50 ms move by 10-20 % between runs).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench import targets
from bench.synthetic_cache import BIG, Shape, build_cache
from services import analytics
from services.analytics import charts, metrics, queries, views
from services.db import open_db

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "pages.json"
CACHE_DIR = Path(__file__).resolve().parent / "results" / "caches"
DAY = 86_400
TZ = "America/Los_Angeles"
NAMES = {BIG: "Big account"}
PAGE_MS, OVERVIEW_MS, PAYLOAD_KIB, BASELINE_RATIO = 300.0, 100.0, 150.0, 1.2


@dataclass(frozen=True)
class Case:
    db_path: Path
    start: int
    end: int
    video_id: str  # the Videos row a person selects


def case(db_path: Path, days: int = 28) -> Case:
    with open_db(db_path) as db:
        end = int(db.execute("SELECT max(captured_at) FROM sync_runs WHERE open_id = ?",
                             [BIG]).fetchone()[0])
        some = queries.latest_video_stats(db, [BIG], order_by="view_count", limit=1, offset=100)
    return Case(db_path, end - days * DAY, end, str(some["video_id"].iloc[0]))


# --------------------------------------------------------------------------------------------
# Reelboard: what the page does (pages/*.py through dashboard/data.py)


def overview(c: Case) -> list:
    with open_db(c.db_path) as db:
        o = analytics.overview(db, [analytics.AccountRef(BIG, NAMES[BIG])], c.start, c.end, TZ)
    return [o.kpis, *_build(charts.overview_figures(o, tz=TZ, names=NAMES))]


def videos(c: Case) -> list:
    with open_db(c.db_path) as db:  # the page's default: newest first, the first 50
        v = analytics.videos(db, [BIG], tz=TZ)
    return [v.table, v.sparklines]


def video_selected(c: Case) -> list:
    with open_db(c.db_path) as db:
        d = analytics.video_detail(db, c.video_id)
    return [charts.video_growth(d.curve, tz=TZ)]


def _build(figures: charts.Builders) -> list:
    # The page's own table of figures (pages/overview.py, pages/insights.py draw the same).
    return [build() for build in figures.values()]


def insights(section: str) -> Callable[[Case], list]:
    def run(c: Case) -> list:
        with open_db(c.db_path) as db:
            v = analytics.insights_section(db, [BIG], c.start, c.end, TZ, section)
        table = [v.velocity.frame] if section == "velocity" else []  # the tab's table, sent too
        return [v, *_build(charts.insight_figures(v, tz=TZ)), *table]
    return run


# --------------------------------------------------------------------------------------------
# Baselines: pandas over the same tables, filtered to the account and period


def _read(db, sql: str, params: list) -> pd.DataFrame:
    return pd.read_sql_query(sql, db.conn, params=params)


def overview_baseline(c: Case) -> list:
    period = metrics.Period(c.start, c.end)
    prev = period.previous()
    with open_db(c.db_path) as db:
        runs = _read(db, "SELECT captured_at FROM sync_runs WHERE open_id = ? AND status IN "
                     "('succeeded', 'partial')", [BIG])["captured_at"]
        account = _read(db, "SELECT * FROM account_snapshots WHERE open_id = ?", [BIG])
        totals = _read(db, "SELECT * FROM account_video_totals WHERE open_id = ?", [BIG])
        posts = _read(db, "SELECT id AS video_id, open_id, create_time, title, description, "
                      "counted_at AS captured_at, view_count FROM videos "
                      "WHERE open_id = ? AND create_time >= ? AND create_time < ?",
                      [BIG, prev.start, c.end])

    def window(frame: pd.DataFrame) -> pd.DataFrame:
        # Finished runs in the window plus the nearest one either side (what a gain needs).
        t = frame[frame["captured_at"].isin(runs)]["captured_at"]
        lo = t[t <= prev.start].max() if (t <= prev.start).any() else prev.start
        hi = t[t >= c.end].min() if (t >= c.end).any() else c.end
        rows = frame[frame["captured_at"].isin(runs) & frame["captured_at"].between(lo, hi)]
        return rows.sort_values("captured_at", ignore_index=True)

    account, totals = window(account), window(totals)
    kpis = metrics.kpis(account, totals, posts, period, prev, tz=TZ)
    followers = metrics.trend(account[account["captured_at"] >= c.start], ["follower_count"],
                              tz=TZ)
    gained = metrics.gained_per_period(totals, freq="day", tz=TZ, start=c.start, end=c.end,
                                       columns=["view_count"])
    return [kpis, charts.follower_trend(followers, tz=TZ, names=NAMES),
            charts.gained_bars(gained, tz=TZ, freq="day", names=NAMES)]


def videos_baseline(c: Case) -> list:
    with open_db(c.db_path) as db:
        table = _read(db, "SELECT * FROM videos WHERE open_id = ?", [BIG])
        table = table.sort_values(["create_time", "id"], ascending=[False, True]).head(
            analytics.VIDEO_PAGE_SIZE)
        keys = json.dumps([int(k) for k in table["video_key"]])
        since = int(table["create_time"].min())
        snaps = _read(db, "SELECT video_key, captured_at, view_count FROM video_snapshot_rows "
                      "WHERE video_key IN (SELECT value FROM json_each(?)) AND captured_at >= ?",
                      [keys, since])
    snaps = snaps.sort_values(["video_key", "captured_at"])
    sparks = {k: np.diff(g["view_count"].to_numpy()).tolist()
              for k, g in snaps.groupby("video_key", sort=False)}
    return [table, sparks]


def _cuts(db, c: Case) -> tuple[int, int]:
    complete = _read(db, "SELECT t.captured_at FROM account_video_totals t JOIN sync_runs r "
                     "ON r.open_id = t.open_id AND r.captured_at = t.captured_at "
                     "WHERE t.open_id = ? AND r.status IN ('succeeded', 'partial')",
                     [BIG])["captured_at"].to_numpy()
    from_at = int(complete[np.lexsort((-complete, np.abs(complete - c.start)))[0]])
    return from_at, int(complete[complete <= c.end].max())


def movers_baseline(c: Case) -> list:
    with open_db(c.db_path) as db:
        from_at, to_at = _cuts(db, c)
        key = db.execute("SELECT account_key FROM accounts WHERE open_id = ?", [BIG]).fetchone()[0]
        cuts = _read(db, "SELECT video_key, captured_at, view_count FROM video_snapshot_rows "
                     "WHERE account_key = ? AND captured_at IN (?, ?)", [key, from_at, to_at])
        videos = _read(db, "SELECT video_key, id AS video_id, open_id, create_time, title, "
                       "share_url, cover_image_url FROM videos WHERE open_id = ?", [BIG])
        end = cuts[cuts["captured_at"] == to_at].rename(columns={"view_count": "views_end"})
        start = cuts[cuts["captured_at"] == from_at][["video_key", "view_count"]]
        pairs = end.merge(start.rename(columns={"view_count": "views_start"}), how="left",
                          on="video_key").merge(videos, on="video_key")
        base = pairs["views_start"].where(pairs["views_start"].notna(),
                                          np.where(pairs["create_time"] > from_at, 0, np.nan))
        pairs["views_gained"] = pairs["views_end"] - base
        pairs["from_at"], pairs["to_at"] = from_at, to_at
        pairs["baseline"] = np.where(pairs["views_start"].notna(), "snapshot", "posted_in_period")
        pairs["unmeasured"] = int(pairs["views_gained"].isna().sum())
        top = pairs.dropna(subset=["views_gained"]).nlargest(10, "views_gained")
        movers = metrics.top_movers(top, n=10, tz=TZ)
        labels = analytics.video_labels(
            videos[videos["video_key"].isin(top["video_key"])].assign(description=""), TZ)
    return [movers, charts.top_movers_bar(movers, tz=TZ, labels=labels)]


def _reach_baseline(db) -> pd.DataFrame:
    return _read(db, "SELECT video_key, open_id, create_time, counted_at AS captured_at, "
                 "view_count FROM videos WHERE open_id = ?", [BIG]).sort_values(
        "create_time", kind="stable", ignore_index=True)


def outliers_baseline(c: Case) -> list:
    with open_db(c.db_path) as db:
        found = metrics.outliers(_reach_baseline(db), posted_from=c.start, posted_to=c.end)
        frame, _ = views._outlier_points(found.frame)
        titles = _read(db, "SELECT video_key, id AS video_id, title FROM videos "
                       "WHERE open_id = ? AND create_time >= ? AND create_time < ?",
                       [BIG, c.start, c.end])
    frame = frame.merge(titles, on="video_key", how="left")
    return [charts.outlier_scatter(metrics.Insight(frame, found.provenance, found.as_of), tz=TZ)]


def timing_baseline(c: Case) -> list:
    with open_db(c.db_path) as db:
        reach = _reach_baseline(db)
    heat = metrics.posting_heatmap(reach, tz=TZ)
    posted = reach[(reach["create_time"] >= c.start) & (reach["create_time"] < c.end)]
    cadence = metrics.posting_cadence(posted, metrics.Period(c.start, c.end), tz=TZ,
                                      as_of_time=int(reach["captured_at"].max()))
    return [charts.posting_heatmap(heat, tz=TZ), charts.cadence_bars(cadence.weekly, tz=TZ)]


def hashtags_baseline(c: Case) -> list:
    with open_db(c.db_path) as db:  # no parsed tags: the captions, parsed here
        posted = _read(db, "SELECT id AS video_id, open_id, create_time, title, description, "
                       "counted_at AS captured_at, view_count FROM videos WHERE open_id = ? "
                       "AND create_time >= ? AND create_time < ?", [BIG, c.start, c.end])
    return [charts.hashtag_bars(metrics.hashtag_performance(posted, top=20), tz=TZ)]


def velocity_baseline(c: Case) -> list:
    with open_db(c.db_path) as db:
        posted = _read(db, "SELECT video_key, id AS video_id, open_id, create_time, title, "
                       "description FROM videos WHERE open_id = ? AND create_time >= ? "
                       "AND create_time < ?", [BIG, c.start, c.end])
        snaps = _read(db, "SELECT video_key, captured_at, view_count FROM video_snapshot_rows "
                      "WHERE video_key IN (SELECT value FROM json_each(?))",
                      [json.dumps([int(k) for k in posted["video_key"]])])
    marks = posted[["video_key", "video_id", "open_id", "create_time"]].merge(
        pd.DataFrame({"mark_hours": queries.VELOCITY_MARKS_HOURS}), how="cross")
    marks["mark_at"] = marks["create_time"] + marks["mark_hours"] * 3600
    marks = marks.sort_values("mark_at", ignore_index=True)
    snaps = snaps.sort_values("captured_at", ignore_index=True)
    near = {}
    for direction in ("backward", "forward"):
        near[direction] = pd.merge_asof(marks, snaps, left_on="mark_at", right_on="captured_at",
                                        by="video_key", direction=direction)
    inputs = marks.assign(
        before_at=near["backward"]["captured_at"], before_views=near["backward"]["view_count"],
        after_at=near["forward"]["captured_at"], after_views=near["forward"]["view_count"])
    velocity = metrics.velocity(inputs.drop(columns="video_key"))
    rows = velocity.frame.sort_values(velocity.frame.columns[3], ascending=False).head(15)
    top = set(rows["video_id"].head(6))
    curves = snaps.merge(posted[posted["video_id"].isin(top)], on="video_key")
    curves = curves[curves["captured_at"] <= curves["create_time"] + 672 * 3600]
    labels = analytics.video_labels(posted[posted["video_id"].isin(set(rows["video_id"]))], TZ)
    growth = metrics.growth_curves(curves.assign(like_count=0, comment_count=0, share_count=0))
    return [rows, charts.velocity_curves(growth, titles=labels, tz=TZ)]


def check_answers(c: Case) -> dict[str, str]:
    """Page -> what differs between Reelboard's answer and its baseline's (empty: the same)."""
    problems = {}
    ours, base = overview(c)[0][BIG], overview_baseline(c)[0]
    diff = [k for k in ours if ours[k].current.value != base[k].current.value]
    if diff:
        problems["Overview"] = f"KPIs differ: {diff}"
    ours_ids = videos(c)[0]["video_id"].astype(str).tolist()
    base_ids = videos_baseline(c)[0]["id"].astype(str).tolist()
    if ours_ids != base_ids:
        problems["Videos"] = "the first page lists other videos"
    ours_m = insights("movers")(c)[0].movers.frame
    base_m = movers_baseline(c)[0].frame
    gains = [m["views_gained"].astype(float).tolist() for m in (ours_m, base_m)]
    if gains[0] != gains[1]:
        problems["Insights: Top movers"] = "other gains"
    return problems


PAGES: dict[str, tuple[Callable[[Case], list], Callable[[Case], list] | None]] = {
    "Overview": (overview, overview_baseline),
    "Videos": (videos, videos_baseline),
    "Videos, a row selected": (video_selected, None),
    **{f"Insights: {label}": (insights(section), baseline) for label, section, baseline in [
        ("Top movers", "movers", movers_baseline),
        ("Velocity", "velocity", velocity_baseline),
        ("Outliers", "outliers", outliers_baseline),
        ("When to post", "timing", timing_baseline),
        ("Hashtags", "hashtags", hashtags_baseline),
    ]},
}


# --------------------------------------------------------------------------------------------
# running


def timed(fn: Callable[[], Any], runs: int) -> list[float]:
    fn()  # the OS page cache warm, as on a running server; each run opens its own connection
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def payload_kib(parts: list) -> float:
    """What the browser gets for these results: figures as plotly JSON, tables as JSON."""
    size = 0
    for part in parts:
        if hasattr(part, "to_plotly_json"):
            size += len(part.to_json())
        elif isinstance(part, pd.DataFrame):
            size += len(part.to_json(orient="split"))
    return size / 1024


def cache_for(videos: int, days: int, cache_dir: Path) -> Path:
    path = cache_dir / f"pages-{videos}x{days}.db"
    if not path.exists():
        print(f"Building {videos:,} videos x {days} days at {path} (kept for later runs) ...",
              flush=True)
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        build_cache(partial, Shape(videos, days, 100), log=lambda _m: None)
        partial.rename(path)
    with open_db(path, migrate=True):  # a cache kept from an older schema is brought up to date
        pass
    return path


def stats(values: list[float]) -> dict[str, float]:
    return {"min": round(min(values), 1), "median": round(statistics.median(values), 1),
            "max": round(max(values), 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pages_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", default="10000,50000",
                        help="comma-separated sizes; the last is the target size")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--cache-dir", type=Path, default=CACHE_DIR)
    parser.add_argument("--output", type=Path, default=RESULTS_PATH)
    args = parser.parse_args(argv)
    sizes = [int(v) for v in args.videos.split(",")]
    full = sizes[-1] >= 50_000 and args.days >= 365
    results: dict[str, Any] = {"load_before": targets.load_average(), "sizes": {}}
    for n in sizes:
        path = cache_for(n, args.days, args.cache_dir)
        c, year = case(path), case(path, days=365)
        rows: dict[str, Any] = {}
        differ = check_answers(c)
        for name, problem in differ.items():
            print(f"  {name}: Reelboard and its baseline disagree ({problem})", file=sys.stderr)
        for name, (ours, baseline) in PAGES.items():
            row = {"reelboard_ms": stats(timed(lambda o=ours, c=c: o(c), args.runs))}
            if baseline is not None:
                row["baseline_ms"] = stats(timed(lambda b=baseline, c=c: b(c), args.runs))
                row["ratio"] = round(row["reelboard_ms"]["median"]
                                     / row["baseline_ms"]["median"], 2)
                row["same_answer"] = name not in differ
            if name.startswith("Insights"):
                row["payload_kib_28d"] = round(payload_kib(ours(c)), 1)
                row["payload_kib_365d"] = round(payload_kib(ours(year)), 1)
            rows[name] = row
            print(f"{n:>6,} videos  {name:<24} {row['reelboard_ms']['median']:7.1f} ms"
                  + (f"  pandas {row['baseline_ms']['median']:7.1f} ms  {row['ratio']:.2f}x"
                     if "ratio" in row else "")
                  + (f"  {row['payload_kib_365d']:.0f} KiB (365 d)"
                     if "payload_kib_365d" in row else ""), flush=True)
        results["sizes"][n] = rows
    results["load_after"] = targets.load_average()
    results["machine"] = f"{platform.platform()}, Python {platform.python_version()}"
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2))
    print(f"Wrote {args.output}")
    _record(results, sizes, full)
    return 0


def _record(results: dict[str, Any], sizes: list[int], full: bool) -> None:
    big, small = sizes[-1], sizes[0]
    label = f"{big // 1000}k" if big >= 1000 else str(big)
    note = "" if full else " (smoke size)"
    worst_kib = 0.0
    for name, row in results["sizes"][big].items():
        ms = row["reelboard_ms"]
        limit = OVERVIEW_MS if name == "Overview" else PAGE_MS
        targets.record(f"3. {name}, {label} videos{note}",
                       f"{ms['median']:.0f} ms ({ms['min']:.0f}-{ms['max']:.0f})",
                       f"<= {limit:.0f} ms", ms["median"] <= limit)
        if len(sizes) > 1:
            growth = ms["median"] / results["sizes"][small][name]["reelboard_ms"]["median"]
            bound = big / small
            targets.record(f"3. {name}, growth {small:,} -> {big:,}", f"{growth:.2f}x",
                           f"<= {bound:.1f}x", growth <= bound)
        if "ratio" in row:
            same = row.get("same_answer", True)
            targets.record(f"1. {name}, Reelboard / pandas",
                           f"{row['ratio']:.2f}x" + ("" if same else " (answers differ)"),
                           f"<= {BASELINE_RATIO}x", same and row["ratio"] <= BASELINE_RATIO)
        worst_kib = max(worst_kib, row.get("payload_kib_28d", 0), row.get("payload_kib_365d", 0))
    targets.record(f"3. Insights view payload, {label} videos (largest tab, 28 or 365 d)",
                   f"{worst_kib:.0f} KiB", f"<= {PAYLOAD_KIB:.0f} KiB", worst_kib <= PAYLOAD_KIB)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
