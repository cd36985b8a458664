"""Client-side pacing: stay under TikTok's per-endpoint limits instead of bouncing off them.

TikTok enforces each Display endpoint's limit over a one-minute **sliding** window and answers
with 429 ``rate_limit_exceeded`` past it
(https://developers.tiktok.com/doc/tiktok-api-v2-rate-limit,
https://developers.tiktok.com/doc/tiktok-api-v2-error-handling). Retrying after a 429 works, but
it wastes requests and time and, with many accounts syncing at once, invites retry storms. So we
keep our own sliding window per endpoint and per account, set *below* the published limit
(our reliability rules: "a client-side token bucket per endpoint and per user token, set below the
published limits"), and wait locally for a free slot before a request goes out.

Why a sliding-window log rather than a token bucket: it is the same shape as the limit it guards,
so a burst of up to the budget goes out at once (a 10,000-video account's 500 list pages need
no waiting at 600/min), and the window can never admit more than the budget in any 60 s span,
which a refilling bucket with the same capacity can (up to twice the budget across a boundary).

Whether TikTok counts per app or per user is not documented (observed behaviour of public TikTok
clients); the sandbox
counts per access token. We pace per (endpoint, account): the account outlives token rotation,
so a refresh mid-sync never resets our window while the server's may carry on.

The pacing happens at the transport (``paced_session``), so every HTTP attempt is counted,
including the client's own retries and token refreshes, not just the calls sync makes.

Across processes (the app's *Sync now*, a cron sync, a CLI command): with ``shared_path`` the
window's log lives in a small SQLite file next to the cache, so every process of one data
directory draws on one budget per (endpoint, account). One short ``BEGIN IMMEDIATE`` on that
file (no fsync: losing the log in a power cut only forgets who sent what in the last minute)
reserves up to ``RESERVE_MAX`` slots at once, logged at the end of a ``RESERVE_HOLD_S`` hold:
a reserved slot is used only within its hold, so every request is in the log at or after the
moment it was really sent (the log never under-counts a window), and slots left unused are
given back at the next reservation or on close. A busy sync then pays one transaction per
~16 requests instead of one per request (≈0.5 ms each); it adds no request to TikTok.
"""

from __future__ import annotations

import collections
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from services.errors import ReelboardError

# : Published per-minute limits (https://developers.tiktok.com/doc/tiktok-api-v2-rate-limit).
# Endpoints not listed (oauth/token, revoke,
#: the upload PUT) have no documented limit and are not paced.
DISPLAY_ENDPOINTS: tuple[str, ...] = ("/v2/user/info/", "/v2/video/list/", "/v2/video/query/")
# https://developers.tiktok.com/doc/tiktok-api-v2-get-user-info,
# https://developers.tiktok.com/doc/tiktok-api-v2-rate-limit
DISPLAY_LIMIT_PER_MINUTE = 600
POSTING_LIMITS_PER_MINUTE: Mapping[str, int] = {
    # https://developers.tiktok.com/doc/tiktok-api-v2-rate-limit (per user access_token)
    "/v2/post/publish/creator_info/query/": 20,
    "/v2/post/publish/video/init/": 6,
    "/v2/post/publish/inbox/video/init/": 6,
    "/v2/post/publish/content/init/": 6,
    "/v2/post/publish/status/fetch/": 30,
}
#: Fraction of the published limit we allow ourselves. 90 % leaves room for clock skew between
#: our window and the server's, and for requests the server timestamps later than we do.
DEFAULT_HEADROOM = 0.9
# https://developers.tiktok.com/doc/tiktok-api-v2-rate-limit: "one-minute sliding window".
WINDOW_SECONDS = 60.0
#: Shared window: slots reserved per transaction, and how long a reservation may be used. The
#: hold is short so that a reservation's log time stays close to the real send times (a
#: waiting process sees at most this much extra wait) and another process is never starved.
RESERVE_MAX = 16
RESERVE_HOLD_S = 0.1


class PacingCancelled(ReelboardError):
    """A wait for a free request slot was cancelled (the sync was stopped)."""

    step = "cancelled"
    retry_safe = True


def budget_for(limit_per_minute: int, headroom: float = DEFAULT_HEADROOM) -> int:
    """Requests we allow ourselves per window for a published limit (at least 1)."""
    if limit_per_minute <= 0:
        raise ValueError("limit_per_minute must be positive")
    if not 0 < headroom <= 1:
        raise ValueError("headroom must be in (0, 1]")
    return max(1, math.floor(limit_per_minute * headroom))


class Pacer:
    """Sliding-window pacing per (endpoint, account), shared by every thread of one process.

    ``requests_per_minute`` is the *server's* limit for the Display endpoints (600 on TikTok;
    lower it to match a sandbox started with a lower ``rate_limit_per_minute``); the pacer allows
    ``headroom`` of it. ``clock`` returns seconds on any monotone scale: the default is
    ``time.monotonic``; a sandbox time-travel run passes the sandbox's simulated clock, because
    that is the clock the server's window uses. ``sleep`` waits in real time by default; a test
    may pass a function that advances the simulated clock instead.
    """

    def __init__(
        self,
        requests_per_minute: int = DISPLAY_LIMIT_PER_MINUTE,
        *,
        headroom: float = DEFAULT_HEADROOM,
        window_seconds: float = WINDOW_SECONDS,
        extra_limits: Mapping[str, int] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
        shared_path: Path | str | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        """``shared_path``: a SQLite file holding the window for every process of one data dir
        (timed by ``wall_clock``, the one clock all processes share). Used instead of the
        in-memory window; ignored when ``clock`` is a simulated one (the demo's time travel)."""
        limits = dict.fromkeys(DISPLAY_ENDPOINTS, requests_per_minute)
        limits.update(POSTING_LIMITS_PER_MINUTE)
        limits.update(extra_limits or {})
        self.requests_per_minute = requests_per_minute
        self.window_seconds = window_seconds
        self._budgets = {path: budget_for(limit, headroom) for path, limit in limits.items()}
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._sent: dict[tuple[str, str], collections.deque[float]] = {}
        self.waited_seconds = 0.0  # total time spent waiting, for benchmarks and logs
        self._shared = (SharedWindow(shared_path, wall_clock)
                        if shared_path is not None and clock is time.monotonic else None)
        # Shared window: per (endpoint, account), reserved log rows not used yet, usable until.
        self._reserved: dict[tuple[str, str], tuple[list[int], float]] = {}

    def close(self) -> None:
        """Give back unused reserved slots and close the shared window's connection (the pacer
        stays usable; it reopens)."""
        if self._shared is not None:
            with self._lock:
                unused = [(row, at) for rows, at in self._reserved.values() for row in rows]
                self._reserved.clear()
                try:
                    self._shared.release(unused)
                finally:
                    self._shared.close()

    def budget(self, endpoint: str) -> int | None:
        """Our per-window budget for ``endpoint`` (a URL path), or None if it is not paced."""
        return self._budgets.get(_normalise(endpoint))

    def acquire(
        self, endpoint: str, account: str, *, cancel: threading.Event | None = None
    ) -> float:
        """Block until a request to ``endpoint`` for ``account`` fits the window; record it.

        Returns the seconds waited. Raises PacingCancelled if ``cancel`` is set while waiting.
        """
        path = _normalise(endpoint)
        budget = self._budgets.get(path)
        if budget is None:
            return 0.0
        key = (path, account)
        waited = 0.0
        while True:
            if self._shared is not None:
                with self._lock:
                    delay = self._take_shared(key, budget)
                if delay is None:
                    self.waited_seconds += waited
                    return waited
                delay += 0.01
                if cancel is not None and cancel.is_set():
                    raise PacingCancelled(
                        "The sync was stopped while waiting for TikTok's rate limit.")
                self._wait(delay, cancel)
                waited += delay
                continue
            with self._lock:
                now = self._clock()
                sent = self._sent.setdefault(key, collections.deque())
                horizon = now - self.window_seconds
                while sent and sent[0] <= horizon:
                    sent.popleft()
                if len(sent) < budget:
                    sent.append(now)
                    self.waited_seconds += waited
                    return waited
                # The oldest request leaves the window at sent[0] + window. A small margin keeps
                # us on the safe side of the boundary when our clock and the server's differ.
                delay = max(0.0, sent[0] + self.window_seconds - now) + 0.01
            if cancel is not None and cancel.is_set():
                raise PacingCancelled("The sync was stopped while waiting for TikTok's rate limit.")
            self._wait(delay, cancel)
            waited += delay

    def _take_shared(self, key: tuple[str, str], budget: int) -> float | None:
        """One slot from this pacer's reservation, or a new reservation (under ``_lock``)."""
        assert self._shared is not None
        rows, until = self._reserved.get(key, ([], 0.0))
        # A margin so the request really leaves before the instant its slot is logged at.
        if rows and self._shared.clock() + 0.01 < until:
            rows.pop()
            return None
        got, until, delay = self._shared.take(key[0], key[1], budget, self.window_seconds,
                                              want=RESERVE_MAX, hold=RESERVE_HOLD_S,
                                              give_back=[(r, until) for r in rows])
        if not got:
            self._reserved.pop(key, None)
            return delay
        got.pop()  # this request's slot
        self._reserved[key] = (got, until)
        return None

    def _wait(self, seconds: float, cancel: threading.Event | None) -> None:
        if self._sleep is not None:
            self._sleep(seconds)
        elif cancel is not None:
            cancel.wait(seconds)  # wakes early when the sync is stopped
        else:
            time.sleep(seconds)


class SharedWindow:
    """The sliding-window log in SQLite: one budget per (endpoint, account) for every process.

    One connection per window, used under the pacer's lock (so by one thread at a time).
    """

    def __init__(self, path: Path | str, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.clock = clock
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=5,
                                   check_same_thread=False)
            conn.execute("PRAGMA busy_timeout=5000")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute("CREATE TABLE IF NOT EXISTS sent (endpoint TEXT NOT NULL, "
                         "account TEXT NOT NULL, at REAL NOT NULL)")
            conn.execute("CREATE INDEX IF NOT EXISTS sent_window ON sent(endpoint, account, at)")
            self._conn = conn
        return self._conn

    def take(self, endpoint: str, account: str, budget: int, window: float, *,
             want: int = 1, hold: float = 0.0,
             give_back: list[tuple[int, float]] | None = None,
             ) -> tuple[list[int], float, float]:
        """Reserve up to ``want`` slots that fit the window, logged at now + ``hold``.

        Returns (log row ids reserved, the instant they are logged at, seconds until a slot
        frees up when none was free). ``give_back``: (row id, logged at) of an earlier
        reservation's unused slots, deleted in the same transaction (matched on both, so a row
        that already expired and whose id was reused is left alone).
        """
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            if give_back:
                conn.executemany("DELETE FROM sent WHERE rowid = ? AND at = ?", give_back)
            now = self.clock()
            conn.execute("DELETE FROM sent WHERE endpoint = ? AND account = ? AND at <= ?",
                         (endpoint, account, now - window))
            count, oldest = conn.execute(
                "SELECT count(*), min(at) FROM sent WHERE endpoint = ? AND account = ?",
                (endpoint, account)).fetchone()
            stamp = now + hold
            rows: list[int] = []
            # At most a quarter of what is free: when the window is nearly full, slots go out
            # one at a time and no process sits on slots another one needs.
            free = budget - count
            for _ in range(max(0, min(want, max(1, free // 4), free))):
                cur = conn.execute("INSERT INTO sent (endpoint, account, at) VALUES (?, ?, ?)",
                                   (endpoint, account, stamp))
                rows.append(int(cur.lastrowid or 0))
            delay = 0.0 if rows else max(0.0, oldest + window - now)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return rows, stamp, delay

    def release(self, rows: list[tuple[int, float]]) -> None:
        """Give back reserved slots that were not used: (row id, logged at) pairs."""
        if not rows:
            return
        conn = self._connection()
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("DELETE FROM sent WHERE rowid = ? AND at = ?", rows)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _normalise(endpoint: str) -> str:
    path = urlsplit(endpoint).path if "://" in endpoint else endpoint.split("?", 1)[0]
    return path if path.endswith("/") else path + "/"


class PacedAdapter(HTTPAdapter):
    """A requests transport that waits for the pacer before each attempt and counts attempts.

    Sitting below the TikTok client means the client's own retries (429/5xx/timeouts) and token
    refreshes are paced and counted as well: ``requests_made`` matches what the server saw.
    """

    def __init__(
        self, pacer: Pacer, account: str, *, cancel: threading.Event | None = None, **kwargs
    ) -> None:
        super().__init__(**kwargs)
        self.pacer = pacer
        self.account = account
        self.cancel = cancel
        self._count_lock = threading.Lock()
        self.requests_made = 0

    def send(self, request, *args, **kwargs):  # type: ignore[override]
        self.pacer.acquire(request.url or "", self.account, cancel=self.cancel)
        with self._count_lock:
            self.requests_made += 1
        return super().send(request, *args, **kwargs)


class PacedSession(requests.Session):
    """The session ``paced_session`` returns: a ``requests.Session`` that reuses preparations.

    A sync sends the same request hundreds of times with only its JSON body changing (the
    list cursor), and requests prepares each call from scratch: URL and query, headers merged
    with the session's, cookies, hooks, environment settings, about a third of a local
    request's CPU. Here each distinct request (method, URL, query, headers) is prepared once
    and copied with the new body; the result is the PreparedRequest requests would build, sent
    through the same ``send``. Whatever could make a kept preparation differ takes requests'
    own path instead: a session that reads the environment (``trust_env``), a body other than
    JSON, files, auth, cookies (passed in, or in the session's jar), hooks or per-call
    settings, and any change to the session's own headers, query, hooks or settings.
    """

    #: Distinct requests kept (a sync uses three or four).
    KEEP = 32

    def __init__(self) -> None:
        super().__init__()
        self._prepared: dict[tuple[Any, ...], tuple[Any, requests.PreparedRequest,
                                                     dict[str, Any]]] = {}

    def request(self, method, url, params=None, data=None, headers=None, cookies=None,
                files=None, auth=None, timeout=None, allow_redirects=True, proxies=None,
                hooks=None, stream=None, verify=None, cert=None, json=None):
        if (self.trust_env or data or files or cookies or auth or hooks or proxies
                or stream is not None or verify is not None or cert is not None
                or self.auth is not None or len(self.cookies)
                or not isinstance(url, str) or not isinstance(params, dict | None)
                or not isinstance(headers, dict | None)):
            return super().request(
                method, url, params=params, data=data, headers=headers, cookies=cookies,
                files=files, auth=auth, timeout=timeout, allow_redirects=allow_redirects,
                proxies=proxies, hooks=hooks, stream=stream, verify=verify, cert=cert,
                json=json)
        key = (method.upper(), url, tuple((params or {}).items()),
               tuple((headers or {}).items()))
        state = self._state()
        try:
            kept = self._prepared.get(key)
        except TypeError:  # a value that cannot be a key (a list of values for one name)
            return super().request(method, url, params=params, headers=headers,
                                   timeout=timeout, allow_redirects=allow_redirects, json=json)
        if kept is None or kept[0] != state:
            prepared = self.prepare_request(requests.Request(
                method=method.upper(), url=url, headers=headers, params=params or {}))
            settings = self.merge_environment_settings(prepared.url, {}, None, None, None)
            if len(self._prepared) >= self.KEEP:
                self._prepared.clear()
            kept = self._prepared[key] = (state, prepared, settings)
        prepared = kept[1].copy()
        if json is not None:
            prepared.prepare_body(None, None, json)
        settings = dict(kept[2], proxies=dict(kept[2]["proxies"]))
        return self.send(prepared, timeout=timeout, allow_redirects=allow_redirects, **settings)

    def _state(self) -> tuple[Any, ...]:
        """The session settings a preparation depends on."""
        return (tuple(self.headers.items()),
                tuple(self.params.items()) if isinstance(self.params, dict) else self.params,
                tuple((k, tuple(v)) for k, v in self.hooks.items()),
                tuple(self.proxies.items()), self.verify, self.cert, self.stream)


def paced_session(
    pacer: Pacer,
    account: str,
    *,
    cancel: threading.Event | None = None,
    base_url: str | None = None,
) -> tuple[requests.Session, PacedAdapter]:
    """A ``requests.Session`` whose every request is paced for ``account``; and its adapter.

    With ``base_url`` (the only host the session will talk to), the environment's proxy and CA
    bundle settings are resolved once here instead of on every request: requests re-reads
    ``*_PROXY``/``NO_PROXY`` for each call otherwise, about a third of a local request's cost.
    ``HTTPS_PROXY``, ``NO_PROXY`` and ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` still apply.
    Repeated requests then also reuse their preparation (PacedSession).
    """
    session = PacedSession()
    adapter = PacedAdapter(pacer, account, cancel=cancel)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    if base_url:
        session.proxies.update(requests.utils.get_environ_proxies(base_url))
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if bundle:
            session.verify = bundle
        session.trust_env = False
    return session, adapter
