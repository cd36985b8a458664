"""Sync against the sandbox: cost over a bare HTTP loop, concurrency, and pacing.

    python -m bench.sync_bench            # the full set (about 3 minutes, mostly scenario c)
    python -m bench.sync_bench --quick    # smaller cases; c waits on simulated time (~15 s)
    python -m bench.sync_bench --only a   # one scenario (a, b, c or s; comma-separated)

Scenarios (targets from the Analytics issue):

a. One account with 10,000 public videos, zero latency. Reelboard's whole sync (token, user/info,
   500 list pages, SQLite writes, bookkeeping) against a bare ``requests`` loop making the same
   calls with the same fields and storing nothing, timed alternately in the same run.
   Targets: wall time <= 1.5x the bare loop; requests <= 1 + ceil(N/20) + 2.
b. Five accounts at 100 ms simulated latency per request: all five through ``sync_accounts``
   against the slowest of the five synced alone. Target: <= 1.3x.
c. The sandbox's limit lowered to 60/min and Reelboard's ``requests_per_minute`` set to match:
   a sync that needs 150 calls (1 user/info + 149 list pages) must see 0 x 429. At 90 % of
   60/min that takes two full windows (~2 real minutes); ``--quick`` runs the same case with
   the pacer waiting on the sandbox's simulated clock instead (the server's window runs on that
   clock too, so the limit is still really enforced).

s. Scale (issue 12, target 2): one account with 1,000, 10,000 and 50,000 videos, zero latency,
   5 rounds each, Reelboard's sync against the bare loop timed alternately. Target: median
   ratio <= 1.3x at every size. TikTok allows 600 requests a minute
   (https://developers.tiktok.com/doc/tiktok-api-v2-rate-limit), so a
   50,000-video listing (2,501 calls) takes over four minutes by design; to time the client
   rather than the limit, this scenario raises the sandbox's limit and Reelboard's
   ``requests_per_minute`` to 1,000,000 for both contenders (the shared pacing window is still
   consulted for every request).

Prints a table and writes ``bench/results/sync.json``. The sandbox runs as a separate process
on a loopback port (``python -m sandbox``), as TikTok is a separate server: its CPU time is not
charged to the client. ``--in-process`` embeds it as the app does instead; the server's Python
then shares the GIL with the client, which adds noise and penalises overlapping work.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import platform
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from bench import targets
from sandbox import DEFAULT_CLIENT_KEY, DEFAULT_CLIENT_SECRET, start_sandbox
from services.access import LOCAL_ACTOR
from services.accounts import complete_connect, get_access_token, start_connect
from services.config import Settings
from services.crypto import load_keyring
from services.db import open_db
from services.demo_history import SandboxClock
from services.ratelimit import Pacer
from services.sync import (
    PACING_FILE,
    PAGE_SIZE,
    USER_FIELDS,
    VIDEO_FIELDS,
    SyncOptions,
    sync_accounts,
)
from services.tiktok.client import TikTokClient
from services.tiktok.scopes import ANALYTICS

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "sync.json"
REDIRECT_URI = "http://localhost:8501/accounts"
TARGET_RATIO_A = 1.5
TARGET_RATIO_B = 1.3
TARGET_RATIO_S = 1.3
SCALE_LIMIT = 1_000_000  # requests a minute in scenario s (see the module docstring)


@dataclass(frozen=True)
class Sizes:
    a_videos: int
    a_rounds: int
    b_accounts: int
    b_videos: int
    b_latency_ms: int
    c_calls: int
    c_limit: int
    c_simulated: bool
    s_videos: tuple[int, ...] = (1_000, 10_000, 50_000)
    s_rounds: int = 5


FULL = Sizes(a_videos=10_000, a_rounds=5, b_accounts=5, b_videos=1_000, b_latency_ms=100,
             c_calls=150, c_limit=60, c_simulated=False)
QUICK = Sizes(a_videos=2_000, a_rounds=3, b_accounts=5, b_videos=200, b_latency_ms=100,
              c_calls=150, c_limit=60, c_simulated=True, s_videos=(1_000, 5_000), s_rounds=3)


class Bench:
    """One sandbox, one cache, and the helpers every scenario needs."""

    def __init__(self, root: Path, *, in_process: bool = False):
        self.process: subprocess.Popen[str] | None = None
        self.server = None
        if in_process:
            self.server = start_sandbox(port=0, redirect_uris=(REDIRECT_URI,))
            self.base = self.server.base_url
        else:
            # Like TikTok, the server gets its own CPU: its JSON work does not compete with
            # Reelboard's (or the bare loop's) for this process's GIL.
            self.process = subprocess.Popen(
                [sys.executable, "-m", "sandbox", "--port", "0", "--quiet",
                 "--redirect-uri", REDIRECT_URI],
                stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parent.parent,
            )
            assert self.process.stdout is not None
            first = self.process.stdout.readline()
            match = re.search(r"running at (\S+)", first)
            if not match:
                self.process.kill()
                raise RuntimeError(f"the sandbox did not start: {first!r}")
            self.base = match.group(1)
        self.http = requests.Session()
        self.settings = Settings(
            mode="sandbox", client_key=DEFAULT_CLIENT_KEY, client_secret=DEFAULT_CLIENT_SECRET,
            redirect_uri=REDIRECT_URI, auth_url=self.base + "/v2/auth/authorize/",
            api_base_url=self.base, data_dir=root,
        )
        with open_db(self.settings.database_path, migrate=True) as db:
            self.keyring = load_keyring(self.settings, db)

    def close(self) -> None:
        self.http.close()
        if self.server is not None:
            self.server.stop()
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, self.base + path, json=body, timeout=60)
        response.raise_for_status()
        return response.json()

    def creator(self, username: str, videos: int) -> str:
        """Add a synthetic creator and connect it through the real OAuth flow; its open_id."""
        self.control("POST", "/_sandbox/creators", {"username": username, "videos": videos})
        client = TikTokClient.from_settings(self.settings)
        with open_db(self.settings.database_path) as db:
            url = start_connect(db, self.settings, self.keyring, actor=LOCAL_ACTOR,
                                scopes=ANALYTICS)
            answer = self.control("POST", "/_sandbox/consent",
                                  {"authorize_url": url, "creator": username, "approve": True})
            params = parse_qs(urlsplit(answer["redirect_url"]).query, keep_blank_values=True)
            account = complete_connect(db, client, self.keyring, params,
                                       actor=LOCAL_ACTOR, redirect_uri=REDIRECT_URI)
        client.session.close()
        return account.open_id

    def token(self, open_id: str) -> str:
        client = TikTokClient.from_settings(self.settings)
        with open_db(self.settings.database_path) as db:
            return get_access_token(db, client, self.keyring, open_id)

    def fresh_windows(self) -> None:
        """Move the simulated clock past the one-minute rate windows of the previous round,
        and forget our own (wall-clock) pacing window, which every sync of the data dir shares."""
        self.control("POST", "/_sandbox/clock", {"advance": 61})
        pacing = Path(self.settings.data_dir) / PACING_FILE
        if pacing.exists():
            with contextlib.closing(sqlite3.connect(pacing)) as conn:
                conn.execute("DELETE FROM sent")
                conn.commit()

    def log(self) -> list[dict[str, Any]]:
        return [e for e in self.control("GET", "/_sandbox/requests")
                if e["path"].startswith("/v2/")]

    def sync(self, open_ids: list[str], **kwargs):
        started = time.perf_counter()
        results = sync_accounts(self.settings, open_ids, actor=LOCAL_ACTOR, keyring=self.keyring,
                                **kwargs)
        return time.perf_counter() - started, results


def bare_loop(base: str, token: str, session: requests.Session) -> tuple[float, int]:
    """The same calls as a sync, parsed as JSON and thrown away: the floor for wall time."""
    headers = {"Authorization": f"Bearer {token}"}
    started = time.perf_counter()
    calls = 1
    user = session.get(base + "/v2/user/info/", params={"fields": ",".join(USER_FIELDS)},
                       headers=headers, timeout=30).json()
    assert user["error"]["code"] == "ok", user["error"]
    cursor = None
    fields = {"fields": ",".join(VIDEO_FIELDS)}
    while True:
        body: dict[str, Any] = {"max_count": PAGE_SIZE}
        if cursor is not None:
            body["cursor"] = cursor
        page = session.post(base + "/v2/video/list/", params=fields, json=body, headers=headers,
                            timeout=30).json()
        calls += 1
        assert page["error"]["code"] == "ok", page["error"]
        if not page["data"]["has_more"]:
            break
        cursor = page["data"]["cursor"]
    return time.perf_counter() - started, calls


def scenario_a(bench: Bench, sizes: Sizes) -> dict[str, Any]:
    n = sizes.a_videos
    print(f"a. one account, {n:,} videos, zero latency ...", flush=True)
    open_id = bench.creator(f"bench_a_{n}", n)
    token = bench.token(open_id)
    ours: list[float] = []
    bare: list[float] = []
    requests_made: list[int] = []
    logged: list[int] = []
    statuses: list[str] = []
    with requests.Session() as session:
        bare_loop(bench.base, token, session)  # warm: connection, sandbox caches
        bench.fresh_windows()
        for _ in range(sizes.a_rounds):
            bench.fresh_windows()
            seconds, calls = bare_loop(bench.base, token, session)
            bare.append(seconds)
            bench.fresh_windows()
            bench.control("DELETE", "/_sandbox/requests")
            seconds, [result] = bench.sync([open_id])
            ours.append(seconds)
            requests_made.append(result.requests_made)
            logged.append(len(bench.log()))
            statuses.append(result.status)
    ratio = statistics.median(ours) / statistics.median(bare)
    bound = 1 + math.ceil(n / PAGE_SIZE) + 2
    return {
        "videos": n,
        "reelboard_s": [round(s, 3) for s in ours],
        "bare_loop_s": [round(s, 3) for s in bare],
        "reelboard_median_s": round(statistics.median(ours), 3),
        "bare_loop_median_s": round(statistics.median(bare), 3),
        "ratio": round(ratio, 2),
        "bare_loop_calls": calls,
        "requests_made": requests_made,
        "requests_logged_by_sandbox": logged,
        "requests_bound": bound,
        "statuses": statuses,
        "meets_target": ratio <= TARGET_RATIO_A and max(requests_made) <= bound
        and requests_made == logged and set(statuses) == {"succeeded"},
    }


def scenario_b(bench: Bench, sizes: Sizes) -> dict[str, Any]:
    k, n, ms = sizes.b_accounts, sizes.b_videos, sizes.b_latency_ms
    print(f"b. {k} accounts x {n:,} videos, {ms} ms latency ...", flush=True)
    ids = [bench.creator(f"bench_b{i}_{n}", n) for i in range(k)]
    bench.control("POST", "/_sandbox/faults", {"kind": "latency", "ms": ms})
    try:
        singles = []
        for open_id in ids:
            bench.fresh_windows()
            seconds, [result] = bench.sync([open_id])
            assert result.status == "succeeded", result.error
            singles.append(seconds)
        bench.fresh_windows()
        together, results = bench.sync(ids)
    finally:
        bench.control("DELETE", "/_sandbox/faults")
    ratio = together / max(singles)
    return {
        "accounts": k,
        "videos_each": n,
        "latency_ms": ms,
        "single_s": [round(s, 3) for s in singles],
        "slowest_single_s": round(max(singles), 3),
        "all_together_s": round(together, 3),
        "ratio": round(ratio, 2),
        "statuses": [r.status for r in results],
        "requests_each": [r.requests_made for r in results],
        "meets_target": ratio <= TARGET_RATIO_B and all(r.ok for r in results),
    }


def scenario_c(bench: Bench, sizes: Sizes) -> dict[str, Any]:
    calls, limit = sizes.c_calls, sizes.c_limit
    videos = (calls - 1) * PAGE_SIZE  # 1 user/info + (calls - 1) full list pages
    mode = "simulated-time waits" if sizes.c_simulated else "real time"
    print(f"c. {calls} calls against a {limit}/min limit ({mode}) ...", flush=True)
    open_id = bench.creator(f"bench_c_{videos}", videos)
    bench.fresh_windows()
    bench.control("POST", "/_sandbox/config", {"rate_limit_per_minute": limit})
    bench.control("DELETE", "/_sandbox/requests")
    kwargs: dict[str, Any] = {"options": SyncOptions(requests_per_minute=limit)}
    if sizes.c_simulated:
        sim = SandboxClock(bench.base)
        pacer = Pacer(limit, clock=sim.epoch, sleep=sim.advance)
        kwargs.update(pacer=pacer, clock=sim)
    else:
        pacer = Pacer(limit)
        kwargs.update(pacer=pacer)
    try:
        seconds, [result] = bench.sync([open_id], **kwargs)
    finally:
        bench.control("POST", "/_sandbox/config", {"rate_limit_per_minute": 600})
    log = bench.log()
    too_many = sum(1 for e in log if e["status"] == 429)
    return {
        "limit_per_minute": limit,
        "pacing_budget_per_minute": pacer.budget("/v2/video/list/"),
        "calls_needed": calls,
        "requests_made": result.requests_made,
        "requests_logged_by_sandbox": len(log),
        "responses_429": too_many,
        "status": result.status,
        "wall_s": round(seconds, 1),
        "waited_for_window_s": round(pacer.waited_seconds, 1),
        "time": mode,
        "meets_target": too_many == 0 and result.ok and result.requests_made == calls,
    }


def scenario_s(bench: Bench, sizes: Sizes) -> dict[str, Any]:
    out: dict[str, Any] = {"limit_per_minute": SCALE_LIMIT, "sizes": []}
    bench.control("POST", "/_sandbox/config", {"rate_limit_per_minute": SCALE_LIMIT})
    options = SyncOptions(requests_per_minute=SCALE_LIMIT)
    try:
        for n in sizes.s_videos:
            print(f"s. one account, {n:,} videos, {sizes.s_rounds} rounds ...", flush=True)
            open_id = bench.creator(f"bench_s_{n}", n)
            token = bench.token(open_id)
            ours: list[float] = []
            bare: list[float] = []
            statuses: list[str] = []
            requests_made: list[int] = []
            with requests.Session() as session:
                bare_loop(bench.base, token, session)  # warm: connection, sandbox caches
                bench.fresh_windows()
                bench.sync([open_id], options=options)
                for _ in range(sizes.s_rounds):
                    bench.fresh_windows()
                    bare.append(bare_loop(bench.base, token, session)[0])
                    bench.fresh_windows()
                    seconds, [result] = bench.sync([open_id], options=options)
                    ours.append(seconds)
                    statuses.append(result.status)
                    requests_made.append(result.requests_made)
            ratios = sorted(o / b for o, b in zip(ours, bare, strict=True))
            ratio = statistics.median(ours) / statistics.median(bare)
            out["sizes"].append({
                "videos": n,
                "reelboard_s": [round(x, 3) for x in ours],
                "bare_loop_s": [round(x, 3) for x in bare],
                "ratio": round(ratio, 3),
                "round_ratios_min_median_max": [round(ratios[0], 3),
                                                round(statistics.median(ratios), 3),
                                                round(ratios[-1], 3)],
                "requests_made": requests_made,
                "statuses": statuses,
                "meets_target": ratio <= TARGET_RATIO_S and set(statuses) == {"succeeded"},
            })
    finally:
        bench.control("POST", "/_sandbox/config", {"rate_limit_per_minute": 600})
    out["meets_target"] = all(x["meets_target"] for x in out["sizes"])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sync_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="smaller cases; scenario c waits on simulated time")
    parser.add_argument("--only", default="a,b,c,s", help="scenarios to run, e.g. 'a,c'")
    parser.add_argument("--in-process", action="store_true",
                        help="embed the sandbox in this process (as the app does) instead of "
                             "running it as a separate process like a remote API")
    parser.add_argument("--output", type=Path, default=RESULTS_PATH)
    parser.add_argument("--s-videos", default=None,
                        help="scenario s sizes, comma-separated (default 1000,10000,50000)")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    if args.s_videos:
        sizes = replace(sizes, s_videos=tuple(int(x) for x in args.s_videos.split(",")))
    wanted = [s.strip() for s in args.only.split(",") if s.strip()]
    runners = {"a": scenario_a, "b": scenario_b, "c": scenario_c, "s": scenario_s}
    if not wanted or any(s not in runners for s in wanted):
        parser.error("--only takes a comma-separated subset of a,b,c,s")

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="reelboard-sync-bench-") as tmp:
        bench = Bench(Path(tmp), in_process=args.in_process)
        try:
            for name in wanted:
                results[name] = runners[name](bench, sizes)
        finally:
            bench.close()

    print()
    print(f"{'scenario':<44} {'measured':>22} {'target':>12}  ok")
    if "a" in results:
        a = results["a"]
        _row(f"a. {a['videos']:,} videos: Reelboard / bare loop",
             f"{a['reelboard_median_s']:.2f}/{a['bare_loop_median_s']:.2f} s = {a['ratio']}x",
             f"<= {TARGET_RATIO_A}x", a["meets_target"])
        _row("a. requests made (sandbox log)", f"{max(a['requests_made'])} "
             f"({max(a['requests_logged_by_sandbox'])})", f"<= {a['requests_bound']}",
             max(a["requests_made"]) <= a["requests_bound"])
    if "b" in results:
        b = results["b"]
        _row(f"b. {b['accounts']} accounts, {b['latency_ms']} ms: together / slowest",
             f"{b['all_together_s']:.2f}/{b['slowest_single_s']:.2f} s = {b['ratio']}x",
             f"<= {TARGET_RATIO_B}x", b["meets_target"])
    if "c" in results:
        c = results["c"]
        _row(f"c. {c['calls_needed']} calls at {c['limit_per_minute']}/min: 429s",
             f"{c['responses_429']} in {c['wall_s']} s", "0", c["meets_target"])
    if "s" in results:
        for x in results["s"]["sizes"]:
            lo, mid, hi = x["round_ratios_min_median_max"]
            _row(f"s. {x['videos']:,} videos: Reelboard / bare loop",
                 f"{x['ratio']:.2f}x ({lo:.2f}-{hi:.2f})", f"<= {TARGET_RATIO_S}x",
                 x["meets_target"])
            targets.record(f"2. sync {x['videos']:,} videos / bare requests loop",
                           f"{x['ratio']:.2f}x (rounds {lo:.2f}/{mid:.2f}/{hi:.2f})",
                           f"<= {TARGET_RATIO_S}x", x["meets_target"])
    document = {
        "benchmark": "sync",
        "load_average": targets.load_average(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "quick": args.quick,
        "sandbox": "in process" if args.in_process else "separate process on loopback",
        "sizes": sizes.__dict__,
        "scenarios": results,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "machine": platform.machine(),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nWrote {args.output}")
    return 0 if all(r["meets_target"] for r in results.values()) else 1


def _row(label: str, measured: str, target: str, ok: bool) -> None:
    print(f"{label:<44} {measured:>22} {target:>12}  {'ok' if ok else 'MISSED'}")


if __name__ == "__main__":
    sys.exit(main())
