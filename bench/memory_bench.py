"""The Streamlit server's memory over many syncs with pages open, and ``runner.postScriptGC``.

    python -m bench.memory_bench              # 100 syncs on each of two servers (GC on / off)
    python -m bench.memory_bench --only gc_off   # the shipped setting only (half the time)
    python -m bench.memory_bench --quick      # 10 syncs each

Issue 12, target 5: the server's RSS stays within 1.3x of its warmed-up size after 100 syncs
with pages open (the page caches are bounded: ``ttl`` / ``max_entries`` in dashboard/data.py and
dashboard/reports.py); ``runner.postScriptGC`` off if it saves time without growth.

Two servers run side by side, each with its own data dir and embedded sandbox, identical but
for ``--runner.postScriptGC`` (true / false), so the comparison shares the machine's load.
Each data dir holds:

* two small demo creators (``CREATORS``), connected through the real OAuth flow (consent
  through the sandbox's control API, as the page tests do) with ``--history`` days of demo
  history (``services.demo_history``: the real sync replayed over the sandbox's clock). These
  are the accounts *Sync now* syncs: small, so 100 real syncs fit in minutes;
* a brand's account (``TEAM``: ``--team-videos`` x ``--team-days`` daily snapshots, 20,000 x
  365 by default) written by ``build_cache`` (bench.browser_bench.add_synthetic_account; no
  tokens, never synced itself; built once and kept under ``--cache-dir``, copied into each data
  dir). It is what the open pages show, so their cache entries have a real size (Insights
  ~1.5 MB each at 20,000 videos): the data version is global, every sync of any account moves
  it, and each page then computes and caches its data anew.

Chromium keeps four tabs open: Overview of the demo creators (where *Sync now* is pressed) and
Overview, Videos and Insights of the brand (``?accounts=@...&period=28d``). Warm-up:
``--warmup`` rounds, then the warmed RSS. Each round: *Sync now* (the real sync inside the
server process, as the in-app schedule runs it; its rerun redraws that tab), then a rerun of
each brand tab (Streamlit's ``r`` shortcut: the sessions stay open, as tabs a person leaves
open), then the server's RSS (``/proc/<pid>/status``); every ``--metrics-every`` rounds also
Streamlit's own count of cached bytes per function (``/_stcore/metrics``). Syncs are not rate
limited here (the sandbox's limit and ``REELBOARD_SYNC_REQUESTS_PER_MINUTE`` raised): the loop
measures memory, not pacing. Servers alternate which goes first each round.

Reports warmed / final / peak RSS and the ratios final / warm and max / warm per server, and
the brand tabs' script time after each sync (cold cache) and the sync's, GC on against GC off.
Writes ``bench/results/memory.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from bench import targets
from bench.app_server import (
    AppServer,
    act_and_time,
    app_env,
    browser,
    cache_stats,
    new_page,
    open_and_time,
    running_app,
)
from bench.browser_bench import cached_account_dir

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "memory.json"
TARGET_RATIO = 1.3
#: Demo creators (sandbox/catalog.py) synced by *Sync now*: ~30 and ~150 videos.
CREATORS = ("quietpotter", "trailrunnerjo")
TEAM = "bench_team"
TEAM_OPEN_ID = "-000bench-memory-team"
BRAND_PAGES = ("overview", "videos", "insights")
PERIOD = "28d"
SERVER_ENV = {
    # Only the bench's syncs: the schedule would add its own at unpredictable moments.
    "REELBOARD_SYNC_EVERY": "0",
    "REELBOARD_TIMEZONE": "UTC",
    # Memory, not pacing: TikTok's 600/min would make back-to-back syncs wait.
    "REELBOARD_SYNC_REQUESTS_PER_MINUTE": "1000000",
}
SANDBOX_LIMIT = 1_000_000
#: How long a page must stay idle to count as done. Shorter than the browser bench's (0.6 s):
#: these pages do not rerun themselves after a sync or an ``r`` (each action is one run, as
#: the printed counts show), and 100 rounds x 4 waits add up.
QUIET_MS = 250
MIB = 2**20


@dataclass
class Variant:
    name: str  # "gc_on" / "gc_off"
    post_script_gc: bool
    server: AppServer | None = None
    tabs: dict[str, Any] = field(default_factory=dict)
    rss: list[int] = field(default_factory=list)  # after each measured round
    warm_rss: int = 0
    peak_rss: int = 0
    cache_bytes: list[tuple[int, dict[str, int]]] = field(default_factory=list)
    timings: dict[str, list[float]] = field(default_factory=lambda: {
        "sync_s": [], **{f"{p}_rerun_s": [] for p in BRAND_PAGES}, "server_cpu_s": []})


# -- setting a server up ----------------------------------------------------------------------


def connect_creators(server: AppServer, creators: tuple[str, ...], history_days: int) -> None:
    """Connect ``creators`` and load demo history into the server's data dir, from this
    process (a guest of the server's sandbox, as a CLI command would be)."""
    from services.access import LOCAL_ACTOR
    from services.accounts import complete_connect, start_connect
    from services.config import load_settings
    from services.db import open_db
    from services.demo_history import load_demo_history
    from services.runtime import start_runtime
    from services.tiktok.scopes import ANALYTICS

    settings = load_settings({}, app_env(server.data_dir, SERVER_ENV), app_url=server.url)
    rt = start_runtime(settings)
    http = requests.Session()
    try:
        base = rt.settings.api_base_url
        http.post(f"{base}/_sandbox/config", json={"rate_limit_per_minute": SANDBOX_LIMIT},
                  timeout=30).raise_for_status()
        for creator in creators:
            with open_db(rt.settings.database_path) as db:
                url = start_connect(db, rt.settings, rt.keyring, actor=LOCAL_ACTOR,
                                    scopes=ANALYTICS)
                answer = http.post(f"{base}/_sandbox/consent",
                                   json={"authorize_url": url, "creator": creator,
                                         "approve": True}, timeout=30)
                answer.raise_for_status()
                params = parse_qs(urlsplit(answer.json()["redirect_url"]).query,
                                  keep_blank_values=True)
                complete_connect(db, rt.client(), rt.keyring, params, actor=LOCAL_ACTOR,
                                 redirect_uri=rt.settings.redirect_uri)
        if history_days:
            result = load_demo_history(rt.settings, actor=LOCAL_ACTOR, days=history_days)
            if result.failures:
                raise RuntimeError(f"demo history failed: {result.summary()}")
    finally:
        http.close()
        rt.stop()  # a guest: the server's sandbox keeps running


def page_url(server: AppServer, page: str, usernames: tuple[str, ...]) -> str:
    path = "" if page == "overview" else page  # the default page is served at /
    accounts = ",".join(f"@{c}" for c in usernames)
    return f"{server.url}/{path}?accounts={accounts}&period={PERIOD}"


# -- one round --------------------------------------------------------------------------------


def sync_and_rerun(v: Variant) -> dict[str, float]:
    """Sync now on the creators' Overview, then rerun the brand's tabs; the times of each
    (the sync: click to idle; a rerun: its script run)."""
    sync_tab = v.tabs["sync"]
    sync = act_and_time(sync_tab, lambda: sync_tab.get_by_role("button", name="Sync now").click(),
                        quiet_ms=QUIET_MS)
    # One success note per account ("<name>: synced — N videos checked in s").
    synced = sync_tab.get_by_test_id("stAlertContentSuccess").count()
    if synced != len(CREATORS):
        raise RuntimeError(f"Sync now: {synced} of {len(CREATORS)} accounts synced\n"
                           + sync_tab.get_by_test_id("stMain").inner_text()[:2000])
    out = {"sync_s": sync.seconds}
    for page in BRAND_PAGES:
        pg = v.tabs[page]
        # Streamlit's keyboard shortcut for "Rerun" (nothing on these pages holds the focus).
        timing = act_and_time(pg, lambda pg=pg: pg.keyboard.press("r"), quiet_ms=QUIET_MS)
        out[f"{page}_rerun_s"] = timing.run_seconds
    return out


# -- the run ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    syncs: int
    warmup: int
    history_days: int
    team_videos: int
    team_days: int
    metrics_every: int


def start_variant(v: Variant, chromium: Any, stack: contextlib.ExitStack, plan: Plan,
                  work: Path, team_db: Path) -> None:
    data_dir = work / v.name / "data"
    data_dir.mkdir(parents=True)
    shutil.copyfile(team_db, data_dir / "reelboard.db")  # the brand's account, then the rest
    v.server = stack.enter_context(running_app(
        data_dir, work / f"{v.name}.log", env_extra=SERVER_ENV,
        extra_args=("--runner.postScriptGC", str(v.post_script_gc).lower())))
    # The first page run starts the runtime: the server owns its data dir's sandbox.
    first = new_page(chromium)
    open_and_time(first, f"{v.server.url}/accounts")
    first.context.close()
    started = time.perf_counter()
    connect_creators(v.server, CREATORS, plan.history_days)
    print(f"{v.name}: {len(CREATORS)} creators connected with {plan.history_days} days of demo "
          f"history in {time.perf_counter() - started:.0f} s", flush=True)
    v.tabs["sync"] = new_page(chromium)
    open_and_time(v.tabs["sync"], page_url(v.server, "overview", CREATORS))
    for page in BRAND_PAGES:
        v.tabs[page] = new_page(chromium)
        open_and_time(v.tabs[page], page_url(v.server, page, (TEAM,)))


def run(variants: list[Variant], plan: Plan, work: Path,
        cache_dir: Path) -> list[tuple[float, float, float]]:
    team_dir, _ = cached_account_dir(
        cache_dir, "memory-team", open_id=TEAM_OPEN_ID, username=TEAM,
        label=f"Brand ({plan.team_videos:,} videos)", videos=plan.team_videos,
        days=plan.team_days, seed=3)
    loads = [os.getloadavg()]
    with contextlib.ExitStack() as stack:
        chromium = stack.enter_context(browser())
        for v in variants:
            start_variant(v, chromium, stack, plan, work, team_dir / "reelboard.db")
        last = plan.warmup + plan.syncs - 1
        for i in range(plan.warmup + plan.syncs):
            measured = i >= plan.warmup
            n = i - plan.warmup + 1  # measured sync number
            for v in variants if i % 2 == 0 else variants[::-1]:
                assert v.server is not None
                cpu = v.server.cpu()
                times = sync_and_rerun(v)
                # The server's CPU for the round: the sync (and its sandbox), four runs, and
                # whatever garbage collection they caused (postScriptGC runs after the browser
                # is told the run ended, so the browser's times do not include it).
                times["server_cpu_s"] = v.server.cpu() - cpu
                rss = v.server.rss()
                if i == plan.warmup - 1:
                    v.warm_rss = rss
                if measured:
                    v.rss.append(rss)
                    for key, value in times.items():
                        v.timings[key].append(value)
                    if n == 1 or n % plan.metrics_every == 0 or i == last:
                        v.cache_bytes.append((n, cache_stats(v.server).bytes))
                label = f"sync {n:>3}" if measured else f"warm-up {i + 1}"
                print(f"  {label:<10} {v.name:<7} RSS {rss / MIB:7.1f} MiB  "
                      + "  ".join(f"{k.removesuffix('_s')} {x:5.2f} s" for k, x in times.items()),
                      flush=True)
            if i % 10 == 9:
                loads.append(os.getloadavg())
        for v in variants:
            assert v.server is not None
            v.peak_rss = v.server.peak_rss()
    loads.append(os.getloadavg())
    return loads


def spread(values: list[float]) -> dict[str, float]:
    return {"min": round(min(values), 3), "median": round(statistics.median(values), 3),
            "max": round(max(values), 3)}


def summarise(v: Variant) -> dict[str, Any]:
    warm, final, top = v.warm_rss / MIB, v.rss[-1] / MIB, max(v.rss) / MIB
    return {
        "post_script_gc": v.post_script_gc,
        "warm_rss_mib": round(warm, 1), "final_rss_mib": round(final, 1),
        "max_rss_mib": round(top, 1), "peak_hwm_mib": round(v.peak_rss / MIB, 1),
        "final_over_warm": round(final / warm, 3), "max_over_warm": round(top / warm, 3),
        "rss_mib_after_each_sync": [round(x / MIB, 1) for x in v.rss],
        "cache_bytes": [{"after_sync": n, **b} for n, b in v.cache_bytes],
        "timings": {k: spread(x) for k, x in v.timings.items()},
        "timings_raw": v.timings,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.memory_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10 syncs, 3 warm-up rounds")
    parser.add_argument("--syncs", type=int, help="measured syncs per server (100)")
    parser.add_argument("--warmup", type=int, help="rounds before the warmed RSS (5)")
    parser.add_argument("--history", type=int, default=30,
                        help="days of demo history of the synced creators")
    parser.add_argument("--team-videos", type=int, default=20_000,
                        help="videos of the account the pages show (its Insights entries' size)")
    parser.add_argument("--team-days", type=int, default=365)
    parser.add_argument("--metrics-every", type=int, default=10)
    parser.add_argument("--cache-dir", type=Path,
                        default=Path(tempfile.gettempdir()) / "reelboard-bench",
                        help="where the brand's built cache is kept between runs")
    parser.add_argument("--only", choices=("gc_on", "gc_off"),
                        help="one server only (no GC comparison)")
    parser.add_argument("--output", type=Path, default=RESULTS_PATH)
    args = parser.parse_args(argv)
    plan = Plan(syncs=args.syncs or (10 if args.quick else 100),
                warmup=args.warmup if args.warmup is not None else (3 if args.quick else 5),
                history_days=args.history, team_videos=args.team_videos,
                team_days=args.team_days, metrics_every=args.metrics_every)
    if plan.warmup < 1 or plan.syncs < 1:
        parser.error("--warmup and --syncs must be at least 1")
    variants = [Variant("gc_on", True), Variant("gc_off", False)]
    if args.only:
        variants = [v for v in variants if v.name == args.only]
    load_before = os.getloadavg()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="reelboard-memory-bench-") as tmp:
        loads = run(variants, plan, Path(tmp), args.cache_dir)
    elapsed = time.perf_counter() - started
    results = {v.name: summarise(v) for v in variants}
    print(f"\n{'server':<8} {'warm MiB':>9} {'final':>8} {'max':>8} {'peak HWM':>9} "
          f"{'final/warm':>10} {'max/warm':>9}  cached at the end (pickled)")
    for v in variants:
        r = results[v.name]
        cached = v.cache_bytes[-1][1] if v.cache_bytes else {}
        print(f"{v.name:<8} {r['warm_rss_mib']:>9.1f} {r['final_rss_mib']:>8.1f} "
              f"{r['max_rss_mib']:>8.1f} {r['peak_hwm_mib']:>9.1f} "
              f"{r['final_over_warm']:>10.2f} {r['max_over_warm']:>9.2f}  "
              + ", ".join(f"{k} {b / MIB:.1f} MiB" for k, b in sorted(cached.items())))
    print(f"\n{'seconds':<18} " + "  ".join(f"{v.name + ' min / median / max':>28}"
                                           for v in variants))
    for key in variants[0].timings:
        print(f"{key.removesuffix('_s'):<18} " + "  ".join(
            "{min:>8.3f} {median:>9.3f} {max:>9.3f}".format(**spread(v.timings[key]))
            for v in variants))
    print(f"({elapsed:.0f} s; load average before {load_before[0]:.2f}, during "
          f"{', '.join(f'{x[0]:.2f}' for x in loads)})")
    ok_all = True
    for v in variants:
        r = results[v.name]
        ok = r["max_over_warm"] <= TARGET_RATIO
        ok_all &= ok
        targets.record(
            f"5. server RSS after {plan.syncs} syncs / warmed, postScriptGC "
            f"{'on' if v.post_script_gc else 'off'}",
            f"{r['final_over_warm']:.2f}x final, {r['max_over_warm']:.2f}x max "
            f"({r['warm_rss_mib']:.0f} -> {r['final_rss_mib']:.0f} MiB)",
            f"<= {TARGET_RATIO}x", ok)
    out = {
        "benchmark": "memory",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "plan": plan.__dict__, "creators": CREATORS, "period": PERIOD,
        "servers": results,
        "target_ratio": TARGET_RATIO,
        "load_average_before_during": [load_before, *loads],
        "elapsed_s": round(elapsed, 1),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(out, indent=2) + "\n")
    print(f"Wrote {args.output}")
    return 0 if ok_all else 1


if __name__ == "__main__":
    raise SystemExit(main())
