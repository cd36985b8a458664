"""What a person feels: each page's load in Chromium, a 50,000-video account over a 100-video one.

    python -m bench.browser_bench            # 50,000 vs 100 videos x 365 daily snapshots
    python -m bench.browser_bench --quick    # 5,000 vs 100 videos x 90 days, 3 runs

Issue 12, target 6: for every page (Overview, Videos, Insights, Reports), navigation until the
app is idle with the big account, over the same with the small one, measured in the same run:
ratio of medians <= 1.3x.

Two data dirs, one account each, built with ``bench.synthetic_cache.build_cache`` (the history
ends today, so "Last 28 days" and the Reports page's default week have data) plus what the app
needs to list the account as connected with the analytics permissions (no tokens: the
automatic sync is off, ``REELBOARD_SYNC_EVERY=0``, and nothing else calls TikTok except the
Videos page's cover renewal, which fails fast without a token, on both sides alike). The big
file (about 18 million snapshot rows, ~1.2 GB) takes minutes to build, so built data dirs are
kept between runs under ``--cache-dir`` (default: ``$TMPDIR/reelboard-bench``), keyed by their
shape, the day their history ends, and the code that builds them.

One server per data dir, both running throughout, one Chromium page per server (so the
frontend's static files are cached by the browser, as for a person coming back). Each
navigation is ``page.goto(<page>?accounts=@<account>&period=28d)``; it is timed on the browser's
clock from navigation start to the app's idle state: connected, script ``notRunning`` after a
run, no spinner or skeleton on screen, and no further run within 0.6 s (bench.app_server).

* start: the first load of each page after the server started (one sample: imports, the
  runtime and SQLite's first reads are in it).
* cold: the first load of each page after the cache's data version changed, as after every
  sync. The bench bumps the version by adding a failed ``sync_runs`` row dated before the
  history (nothing a page shows moves; every ``st.cache_data`` key does), then loads each page
  once. Rows added this way are removed at the end.
* warm: each page again, same data version (its data comes from ``st.cache_data``).

Rounds alternate which server goes first. Prints min / median / max per page and kind, the
ratios of medians, the load average, and writes ``bench/results/browser.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import synthetic_cache, targets
from bench.app_server import (
    AppServer,
    PageTiming,
    browser,
    cache_stats,
    new_page,
    open_and_time,
    running_app,
)
from bench.synthetic_cache import Shape, build_cache
from services.tiktok.scopes import ANALYTICS, format_scopes

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "browser.json"
TARGET_RATIO = 1.3
PAGES = {  # page -> heading it draws
    "overview": "Overview",
    "videos": "Videos",
    "insights": "Insights",
    "reports": "Weekly report",
}
#: The st.cache_data function holding each page's data (dashboard/data.py, dashboard/reports.py).
PAGE_DATA = {"overview": "_overview", "videos": "_videos", "insights": "_insights_section",
             "reports": "_report"}
PERIOD = "28d"
KINDS = ("start", "cold", "warm")
#: Marks the sync_runs rows this bench adds to move the data version (removed at the end).
BUMP_ERROR = "bench.browser_bench: data version bump"
#: Settings for both servers: no automatic sync (the accounts have no tokens; a sync would
#: change the data under the measurement), times in UTC.
SERVER_ENV = {"REELBOARD_SYNC_EVERY": "0", "REELBOARD_TIMEZONE": "UTC"}
#: Bumped when this file's data dir layout changes (part of the cache key).
BUILD_FORMAT = 1
DAY = 86_400


@dataclass(frozen=True)
class Side:
    name: str  # "big" / "small"
    username: str
    videos: int
    days: int
    seed: int

    @property
    def open_id(self) -> str:
        return f"-000bench-browser-{self.name}"


# -- data dirs --------------------------------------------------------------------------------


def history_end(now: datetime | None = None) -> int:
    """The last synthetic sync: today 03:00 UTC, or yesterday's if that is still ahead."""
    now = now or datetime.now(UTC)
    at = now.replace(hour=3, minute=0, second=0, microsecond=0)
    if at > now:
        at -= timedelta(days=1)
    return int(at.timestamp())


def _builder_digest() -> str:
    """The code that decides a data dir's contents: build_cache, the migrations, this file's
    format number. A change to any of them builds afresh."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.blake2b(digest_size=6)
    for rel in ("bench/synthetic_cache.py", "services/migrations.py"):
        h.update((root / rel).read_bytes())
    h.update(str(BUILD_FORMAT).encode())
    return h.hexdigest()


@contextlib.contextmanager
def _history_ending(at: int) -> Iterator[None]:
    # build_cache ends its history at synthetic_cache.LAST_RUN (a fixed day, which suits query
    # timings); pages measured in a browser choose periods relative to today, so end it today.
    saved = synthetic_cache.LAST_RUN
    synthetic_cache.LAST_RUN = at
    try:
        yield
    finally:
        synthetic_cache.LAST_RUN = saved


def cached_account_dir(cache_dir: Path, kind: str, *, open_id: str, username: str, label: str,
                       videos: int, days: int, seed: int, log=print) -> tuple[Path, dict]:
    """A data dir under ``cache_dir`` whose cache holds one synthetic account
    (:func:`add_synthetic_account`), built or reused: keyed by ``kind``, the shape, the day its
    history ends and the code that builds it (older builds of the same kind and shape are
    removed: a 50,000-video one is over a gigabyte)."""
    end = history_end()
    day = datetime.fromtimestamp(end, UTC).strftime("%Y%m%d")
    prefix = f"{kind}-{videos}x{days}-"
    data_dir = cache_dir / f"{prefix}{day}-{_builder_digest()}"
    done = data_dir / "built.json"
    if done.exists():
        log(f"{username}: reusing {data_dir}")
        return data_dir, json.loads(done.read_text())
    for old in cache_dir.glob(f"{prefix}*"):
        shutil.rmtree(old, ignore_errors=True)
    data_dir.mkdir(parents=True)
    log(f"{username}: building {videos:,} videos x {days} days in {data_dir} ...")
    started = time.perf_counter()
    build = add_synthetic_account(data_dir / "reelboard.db", open_id=open_id, username=username,
                                  label=label, videos=videos, days=days, seed=seed, end=end,
                                  log=lambda m: log(f"  {m}"))
    log(f"  built in {time.perf_counter() - started:.0f} s")
    done.write_text(json.dumps(build))
    return data_dir, build


def prepare_data_dir(side: Side, cache_dir: Path, *, log=print) -> tuple[Path, dict]:
    """The data dir a server of this bench runs on, holding ``side``'s account."""
    return cached_account_dir(cache_dir, "browser", open_id=side.open_id,
                              username=side.username,
                              label=f"Bench {side.name} ({side.videos:,} videos)",
                              videos=side.videos, days=side.days, seed=side.seed, log=log)


def add_synthetic_account(db_path: Path, *, open_id: str, username: str, label: str,
                          videos: int, days: int, seed: int, end: int | None = None,
                          log=print) -> dict:
    """One account with ``videos`` videos and ``days`` daily syncs ending at ``end`` (default
    :func:`history_end`), written by ``build_cache`` into the cache at ``db_path`` (created and
    migrated if new), then shown by the app as connected with the analytics permissions. It
    has no tokens: nothing may sync it."""
    end = end or history_end()
    with _history_ending(end):
        build = build_cache(db_path, Shape(videos, days, 0), log=log,
                            accounts=[(open_id, videos, seed)])
    _as_connected(db_path, open_id, username, label)
    build["history_end"] = end
    return build


def _as_connected(db_path: Path, open_id: str, username: str, label: str) -> None:
    """What the sidebar and the pages need to list the account as connected with the
    analytics permissions (build_cache writes only open_id and display name)."""
    with contextlib.closing(sqlite3.connect(db_path, timeout=30)) as conn:
        conn.execute(
            "UPDATE accounts SET username = :username, display_name = :name, "
            "granted_scopes = :scopes, status = 'active', follower_count = ("
            "SELECT follower_count FROM account_snapshots WHERE open_id = :open_id "
            "ORDER BY captured_at DESC LIMIT 1) WHERE open_id = :open_id",
            {"username": username, "name": label, "scopes": format_scopes(ANALYTICS),
             "open_id": open_id},
        )
        conn.commit()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the file alone is a whole copy


def bump_data_version(db_path: Path, open_id: str) -> None:
    """Move ``queries.data_version`` as a sync does, changing nothing a page shows:
    a failed run dated a year before the history (last_sync orders by start, pages count only
    succeeded / partial runs)."""
    with contextlib.closing(sqlite3.connect(db_path, timeout=30)) as conn:
        first = conn.execute(
            "SELECT min(captured_at) FROM sync_runs WHERE status = 'succeeded'"
        ).fetchone()[0] or 0
        at = int(first) - 365 * DAY
        conn.execute(
            "INSERT INTO sync_runs (open_id, captured_at, started_at, finished_at, status, "
            "error) VALUES (?, ?, ?, ?, 'failed', ?)",
            [open_id, at, at, at, BUMP_ERROR],
        )
        conn.commit()


def remove_bumps(db_path: Path) -> None:
    with contextlib.closing(sqlite3.connect(db_path, timeout=30)) as conn:
        conn.execute("DELETE FROM sync_runs WHERE error = ?", [BUMP_ERROR])
        conn.commit()


# -- measuring --------------------------------------------------------------------------------


def page_url(server: AppServer, page: str, side: Side) -> str:
    path = "" if page == "overview" else page  # the default page is served at /
    return f"{server.url}/{path}?accounts=@{side.username}&period={PERIOD}"


def spread(values: list[float]) -> dict[str, float]:
    return {"min": round(min(values), 3), "median": round(statistics.median(values), 3),
            "max": round(max(values), 3), "n": len(values)}


def ratio(big: list[float], small: list[float]) -> float:
    return statistics.median(big) / statistics.median(small)


def _load(tag: str, pg: Any, server: AppServer, url: str, page: str) -> tuple[PageTiming, int]:
    """Load and time a page; also how many times its cached data function missed meanwhile
    (Streamlit's own counters), which proves a "cold" load cold and a "warm" one warm."""
    function = PAGE_DATA[page]
    before = cache_stats(server).misses.get(function, 0)
    timing = open_and_time(pg, url, heading=PAGES[page])
    missed = cache_stats(server).misses.get(function, 0) - before
    print(f"  {tag:<26} {timing.seconds:7.3f} s, script {timing.run_seconds:7.3f} s"
          f" ({timing.runs} run{'s' * (timing.runs != 1)}, {function} missed {missed})",
          flush=True)
    return timing, missed


def measure(sides: list[Side], dirs: dict[str, Path], rounds: int, log_dir: Path) -> dict:
    # side -> page -> kind -> seconds: "start" / "cold" / "warm" navigation to idle, and the
    # same kinds + "_script" (the script's part: its first run's start to its last run's end)
    times: dict[str, dict[str, dict[str, list[float]]]] = {
        s.name: {p: {k: [] for k in KINDS + tuple(k + "_script" for k in KINDS)}
                 for p in PAGES} for s in sides
    }

    # side -> kind -> [loads that missed the page's data cache, loads]
    missed: dict[str, dict[str, list[int]]] = {s.name: {k: [0, 0] for k in KINDS} for s in sides}

    def note(side: Side, page: str, kind: str, measured: tuple[PageTiming, int]) -> None:
        timing, misses = measured
        times[side.name][page][kind].append(timing.seconds)
        times[side.name][page][kind + "_script"].append(timing.run_seconds)
        missed[side.name][kind][0] += misses > 0
        missed[side.name][kind][1] += 1

    loads = [os.getloadavg()]
    with contextlib.ExitStack() as stack:
        servers = {
            s.name: stack.enter_context(running_app(dirs[s.name], log_dir / f"{s.name}.log",
                                                    env_extra=SERVER_ENV))
            for s in sides
        }
        chromium = stack.enter_context(browser())
        pages = {s.name: new_page(chromium) for s in sides}
        for s in sides:
            for page in PAGES:
                note(s, page, "start", _load(f"{s.name} {page} start", pages[s.name],
                                             servers[s.name], page_url(servers[s.name], page, s),
                                             page))
        for r in range(rounds):
            order = sides if r % 2 == 0 else sides[::-1]
            for s in order:
                bump_data_version(dirs[s.name] / "reelboard.db", s.open_id)
                for kind in ("cold", "warm"):
                    for page in PAGES:
                        note(s, page, kind, _load(f"{s.name} {page} {kind} #{r + 1}",
                                                  pages[s.name], servers[s.name],
                                                  page_url(servers[s.name], page, s), page))
            loads.append(os.getloadavg())
        rss = {name: srv.rss() for name, srv in servers.items()}
    return {"times": times, "missed": missed, "loads": loads, "server_rss_mib": {
        k: round(v / 2**20, 1) for k, v in rss.items()}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.browser_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="5,000 vs 100 videos x 90 days, 3 rounds")
    parser.add_argument("--videos", type=int, help="videos of the big account (50,000)")
    parser.add_argument("--small-videos", type=int, default=100)
    parser.add_argument("--days", type=int, help="daily snapshots (365)")
    parser.add_argument("--rounds", type=int, help="cold + warm loads of every page (5)")
    parser.add_argument("--cache-dir", type=Path,
                        default=Path(tempfile.gettempdir()) / "reelboard-bench",
                        help="where built data dirs are kept between runs")
    parser.add_argument("--output", type=Path, default=RESULTS_PATH)
    args = parser.parse_args(argv)
    videos = args.videos or (5_000 if args.quick else 50_000)
    days = args.days or (90 if args.quick else 365)
    rounds = args.rounds or (3 if args.quick else 5)
    full_size = videos >= 50_000 and days >= 365
    sides = [Side("small", "bench_small", args.small_videos, days, 2),
             Side("big", "bench_big", videos, days, 1)]
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    dirs, builds = {}, {}
    for s in sides:
        dirs[s.name], builds[s.name] = prepare_data_dir(s, args.cache_dir)
    print(f"Measuring {rounds} rounds ({targets.load_average()})", flush=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="reelboard-browser-bench-") as tmp:
        try:
            result = measure(sides, dirs, rounds, Path(tmp))
        finally:
            for s in sides:
                remove_bumps(dirs[s.name] / "reelboard.db")
    elapsed = time.perf_counter() - started
    times = result["times"]
    summary: dict[str, Any] = {}
    print(f"\n{'page':<10} {'kind':<13} {'small min/med/max s':>24} "
          f"{'big min/med/max s':>26} {'big/small':>9}")
    for page in PAGES:
        summary[page] = {}
        for kind in (*KINDS, *(k + "_script" for k in KINDS)):
            big, small = times["big"][page][kind], times["small"][page][kind]
            r = ratio(big, small)
            summary[page][kind] = {"small": spread(small), "big": spread(big),
                                   "ratio_of_medians": round(r, 2)}
            sm, bg = spread(small), spread(big)
            print(f"{page:<10} {kind:<13} {sm['min']:>7.2f} {sm['median']:>7.2f} {sm['max']:>7.2f}"
                  f"    {bg['min']:>7.2f} {bg['median']:>7.2f} {bg['max']:>7.2f} {r:>8.2f}x")
    missed = result["missed"]
    counts = "; ".join(f"{side} " + ", ".join(f"{k} {m[0]}/{m[1]}" for k, m in kinds.items())
                       for side, kinds in missed.items())
    print(f"loads whose page data missed the cache (all start and cold, no warm): {counts}")
    honest = all(m[0] == m[1] for kinds in missed.values() for k, m in kinds.items()
                 if k != "warm") and all(kinds["warm"][0] == 0 for kinds in missed.values())
    if not honest:
        print("WARNING: some cold load hit the cache or some warm load missed it (see above)")
    load_after = os.getloadavg()
    print(f"({elapsed:.0f} s; load average before {load_before[0]:.2f}, during "
          f"{', '.join(f'{x[0]:.2f}' for x in result['loads'])}, after {load_after[0]:.2f})")
    ok_all = True
    for page, heading in PAGES.items():
        for kind in ("cold", "warm"):
            r = summary[page][kind]["ratio_of_medians"]
            ok = r <= TARGET_RATIO
            ok_all &= ok
            small_ms = summary[page][kind]["small"]["median"] * 1000
            big_ms = summary[page][kind]["big"]["median"] * 1000
            targets.record(
                f"6. {heading} {kind}, {videos // 1000}k / {args.small_videos} videos"
                + ("" if full_size else " (quick size)"),
                f"{r:.2f}x ({big_ms:,.0f} / {small_ms:,.0f} ms)", f"<= {TARGET_RATIO}x", ok)
    out = {
        "benchmark": "browser",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "shape": {"big_videos": videos, "small_videos": args.small_videos, "days": days,
                  "rounds": rounds, "period": PERIOD},
        "builds": builds,
        "pages": summary,
        "raw_seconds": times,
        "cache_missed_loads": missed,
        "cold_cold_and_warm_warm": honest,
        "server_rss_mib_at_end": result["server_rss_mib"],
        "target_ratio": TARGET_RATIO,
        "load_average_before_during_after": [load_before, *result["loads"], load_after],
        "elapsed_s": round(elapsed, 1),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(out, indent=2) + "\n")
    print(f"Wrote {args.output}")
    return 0 if ok_all or not full_size else 1


if __name__ == "__main__":
    raise SystemExit(main())
