"""The in-app sync schedule: every ``REELBOARD_SYNC_EVERY`` the real sync runs for every active
account, as the system actor (audited like any sync), by ONE process per data dir.

Which process: the one holding the lease on the single ``sync_schedule`` row, claimed in
``BEGIN IMMEDIATE`` like the per-account sync lease (services.sync_lease). The holder renews it
on every wake-up and, before a run, extends it past the sync's own deadline; a holder that dies
stops renewing and another app process (or tab's server) takes over when it expires.
Each account's own sync lease still keeps this run and a cron line or *Sync now* apart.

The scheduler is a daemon thread that sleeps between wake-ups; the app starts it from its
``cache_resource`` runtime (dashboard.runtime), never from page code, and stops it with it.
Servers that prefer cron keep ``python -m services sync --all`` (README) and may set
``REELBOARD_SYNC_EVERY=0``.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import socket
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from services.access import Actor
from services.clock import Clock, from_epoch, to_epoch, utc_now
from services.db import open_db, write_transaction

log = logging.getLogger(__name__)

DEFAULT_EVERY_S = 86_400
#: Shortest and longest interval accepted: more often than every 5 minutes would spend TikTok's
#: rate limit on nothing (counters move slowly); less often than monthly is no schedule.
MIN_EVERY_S = 5 * 60
MAX_EVERY_S = 31 * 86_400
#: A holder that stops renewing (killed, machine asleep) blocks the schedule at most this long.
LEASE_SECONDS = 180
WAKE_EVERY_S = 30.0
#: After a failed run, try again sooner than the interval (but never more often than this).
RETRY_AFTER_S = 30 * 60
#: Failed runs in a row after which every page says so.
TROUBLE_AFTER = 3
#: Extra lease time while a run goes on: the sync stops itself after 10 minutes (SyncOptions).
RUN_LEASE_SECONDS = 15 * 60

#: Who the audit trail names for automatic syncs. Editor: it may sync, nothing more.
SYSTEM_ACTOR = Actor(email="system:scheduler", name="Automatic sync (schedule)", role="editor")

_UNITS = {"m": 60, "h": 3600, "d": 86_400}
_PART = re.compile(r"(\d{1,4})\s*([mhd])", re.IGNORECASE)
_WORDS = {"off": 0, "0": 0, "never": 0, "hourly": 3600, "daily": 86_400, "weekly": 7 * 86_400}
SETTING_HELP = (
    "REELBOARD_SYNC_EVERY (or [reelboard] sync_every) must be a duration such as 30m, 6h, "
    "1d or 1h30m (between 5m and 31d), 'daily', or 0 to turn the automatic sync off "
    "(then schedule `python -m services sync --all` with cron)."
)


def parse_every(text: str | None) -> int:
    """Seconds between automatic syncs (0 = off) from ``30m`` / ``6h`` / ``1d`` / ``1h30m``.

    Empty means the default (daily). Raises ValueError with the fix for anything else.
    """
    raw = "" if text is None else str(text).strip().lower()
    if not raw:
        return DEFAULT_EVERY_S
    if raw in _WORDS:
        return _WORDS[raw]
    compact = raw.replace(" ", "")
    parts = _PART.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        raise ValueError(f"{SETTING_HELP} Got {raw[:40]!r}.")
    seconds = sum(int(n) * _UNITS[u] for n, u in parts)
    if seconds == 0:
        return 0
    if not MIN_EVERY_S <= seconds <= MAX_EVERY_S:
        raise ValueError(f"{SETTING_HELP} Got {raw[:40]!r}.")
    return seconds


def describe_every(seconds: int) -> str:
    """``86400`` → "every day", ``21600`` → "every 6 hours"."""
    if seconds <= 0:
        return "off"
    for unit, size in (("day", 86_400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            n = seconds // size
            return f"every {unit}" if n == 1 else f"every {n} {unit}s"
    return f"every {seconds // 60} minutes"


def next_run_at(last_run_at: int | None, every_s: int, now: int) -> int | None:
    """When the next automatic sync is due; None when the schedule is off.

    Counted from the last sync (automatic or not); with none yet, one interval from now
    (connecting an account runs its first sync). An overdue schedule runs once now, not once
    per missed interval.
    """
    if every_s <= 0:
        return None
    if last_run_at is None:
        return now + every_s
    return max(now, last_run_at + every_s)


@dataclass(frozen=True)
class ScheduleStatus:
    every_s: int
    next_run_at: int | None
    last_run_at: int | None
    last_outcome: str | None
    failures: int
    last_error: str | None
    #: A process holds the lease now (the schedule is being kept).
    running: bool

    @property
    def next_run(self) -> datetime | None:
        return None if self.next_run_at is None else from_epoch(self.next_run_at)


def _row(db: sqlite_utils.Database) -> dict[str, Any]:
    cur = db.execute(
        "SELECT owner, lease_until, next_run_at, last_run_at, last_outcome, "
        "failures, last_error FROM sync_schedule WHERE id = 1"
    )
    found = cur.fetchone()
    names = [d[0] for d in cur.description]
    return dict(zip(names, found, strict=True)) if found else dict.fromkeys(names)


def _last_sync_started(db: sqlite_utils.Database) -> int | None:
    found = db.execute(
        "SELECT MAX(started_at) FROM sync_runs r JOIN accounts a USING (open_id) "
        "WHERE a.status = 'active'"
    ).fetchone()
    return found[0] if found else None


def _base(db: sqlite_utils.Database, row: dict[str, Any]) -> int | None:
    times = [t for t in (row.get("last_run_at"), _last_sync_started(db)) if t is not None]
    return max(times) if times else None


def _due(db: sqlite_utils.Database, row: dict[str, Any], every_s: int, now: int) -> int | None:
    """The next run: a retry after a failure, else one interval after the last sync."""
    stored = row.get("next_run_at")
    if row.get("last_outcome") == "failed" and stored is not None:
        return stored
    base = _base(db, row)
    if base is None and stored is not None:
        return stored  # nothing synced yet: keep the time already announced
    return next_run_at(base, every_s, now)


def schedule_status(db: sqlite_utils.Database, every_s: int, now: datetime) -> ScheduleStatus:
    """What the schedule will do next, for any process to show (Overview)."""
    row = _row(db)
    stamp = to_epoch(now)
    due = row.get("next_run_at")
    if every_s <= 0:
        due = None
    elif due is None or row.get("owner") is None:
        due = _due(db, row, every_s, stamp)
    return ScheduleStatus(
        every_s=every_s,
        next_run_at=due,
        last_run_at=row.get("last_run_at"),
        last_outcome=row.get("last_outcome"),
        failures=int(row.get("failures") or 0),
        last_error=row.get("last_error"),
        running=bool(row.get("owner")) and (row.get("lease_until") or 0) >= stamp,
    )


def sync_troubles(db: sqlite_utils.Database) -> list[str]:
    """Sentences for every page: automatic syncs or an account's syncs that failed
    ``TROUBLE_AFTER`` times in a row (empty when all is well)."""
    out: list[str] = []
    row = _row(db)
    failures = int(row.get("failures") or 0)
    if failures >= TROUBLE_AFTER:
        out.append(
            f"The automatic sync failed {failures} times in a row"
            + (f" (last: {row['last_error']})" if row.get("last_error") else "")
            + ". The charts stop at the last good sync. Check the server log, then press "
            "Sync now on Overview; retrying is safe."
        )
    rows = db.execute(
        "SELECT a.open_id, COALESCE(NULLIF(a.display_name, ''), a.username, 'An account'), "
        "(SELECT group_concat(status, ',') FROM (SELECT status FROM sync_runs r "
        "  WHERE r.open_id = a.open_id AND r.status != 'running' "
        "  ORDER BY r.started_at DESC, r.id DESC LIMIT ?)), "
        "(SELECT error FROM sync_runs r WHERE r.open_id = a.open_id AND r.status = 'failed' "
        "  ORDER BY r.started_at DESC, r.id DESC LIMIT 1) "
        "FROM accounts a WHERE a.status = 'active' ORDER BY a.connected_at, a.open_id",
        [TROUBLE_AFTER],
    ).fetchall()
    for _open_id, name, statuses, error in rows:
        recent = (statuses or "").split(",")
        if len(recent) >= TROUBLE_AFTER and all(s == "failed" for s in recent):
            out.append(
                f"Syncing {name} failed {TROUBLE_AFTER} times in a row"
                + (f": {error}" if error else ".")
                + " Its numbers stop at the last good sync; retrying is safe."
            )
    return out


SyncRunner = Callable[[Any], Sequence[Any]]


def run_scheduled_sync(settings: Any) -> Sequence[Any]:
    """The real sync of every active account, as the system actor (audited per account)."""
    from services.sync import sync_accounts  # sync imports much; keep this module light

    with open_db(settings.database_path) as db:
        open_ids = [
            r[0]
            for r in db.execute(
                "SELECT open_id FROM accounts WHERE status = 'active' "
                "ORDER BY connected_at, open_id"
            ).fetchall()
        ]
    if not open_ids:
        return []
    return sync_accounts(settings, open_ids, actor=SYSTEM_ACTOR)


def _failure_of(results: Sequence[Any]) -> str | None:
    """The first account failure in a run (a sync already running elsewhere is no failure)."""
    for r in results:
        if getattr(r, "status", None) != "failed":
            continue  # partial (some scopes missing) and skipped are reported elsewhere
        label = getattr(r, "label", "an account")
        error = getattr(r, "error", None) or getattr(r, "status", "failed")
        return f"{label}: {error}"
    return None


class SyncScheduler:
    """Keeps the schedule for one data dir while this process holds its lease.

    ``tick()`` is one wake-up (tests call it directly with an injected ``clock``);
    ``start()`` runs ticks on a daemon thread every ``wake_every_s``; ``stop()`` ends the thread
    and hands the lease back so another process takes over at once.
    """

    def __init__(
        self,
        settings: Any,
        *,
        clock: Clock = utc_now,
        run_sync: SyncRunner = run_scheduled_sync,
        wake_every_s: float = WAKE_EVERY_S,
    ):
        self.settings = settings
        self.every_s = int(getattr(settings, "sync_every_s", DEFAULT_EVERY_S))
        self.clock = clock
        self.run_sync = run_sync
        self.wake_every_s = wake_every_s
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.every_s <= 0 or self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._loop, name="reelboard-sync-schedule", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
        self._thread = None
        try:
            with open_db(self.settings.database_path) as db, write_transaction(db):
                db.execute(
                    "UPDATE sync_schedule SET owner = NULL, lease_until = NULL "
                    "WHERE id = 1 AND owner = ?",
                    [self.owner],
                )
        except (sqlite3.Error, OSError):  # it expires by itself
            log.warning("sync schedule: could not hand back the lease; it expires by itself")

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # never let the thread die: the next wake-up tries again
                log.exception("sync schedule: wake-up failed")
            self._stop.wait(self.wake_every_s)

    def _claim(self, db: sqlite_utils.Database, now: int) -> dict[str, Any] | None:
        """The schedule row if this process holds (or just took) the lease, else None."""
        with write_transaction(db):
            row = _row(db)
            held = (
                row.get("owner") not in (None, self.owner) and (row.get("lease_until") or 0) >= now
            )
            if held:
                return None
            due = _due(db, row, self.every_s, now)
            db.execute(
                "INSERT INTO sync_schedule (id, owner, lease_until, next_run_at) "
                "VALUES (1, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET owner = excluded.owner, "
                "lease_until = excluded.lease_until, next_run_at = excluded.next_run_at",
                [self.owner, now + LEASE_SECONDS, due],
            )
            return _row(db)

    def tick(self) -> bool:
        """One wake-up: hold the lease and, if due, run the sync. True when this process
        keeps the schedule."""
        if self.every_s <= 0:
            return False
        now = to_epoch(self.clock())
        with open_db(self.settings.database_path) as db:
            row = self._claim(db, now)
            if row is None:
                return False
            if row["next_run_at"] is None or row["next_run_at"] > now:
                return True
            with write_transaction(db):  # the run may take up to the sync's deadline
                db.execute(
                    "UPDATE sync_schedule SET lease_until = ? WHERE id = 1 AND owner = ?",
                    [now + RUN_LEASE_SECONDS, self.owner],
                )
        self._run(now)
        return True

    def _run(self, started: int) -> None:
        error: str | None
        try:
            results = self.run_sync(self.settings)
            error = _failure_of(results)
        except Exception as exc:  # a sentence for the banner; the details go to the log
            log.exception("sync schedule: the automatic sync failed")
            error = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        now = to_epoch(self.clock())
        with open_db(self.settings.database_path) as db, write_transaction(db):
            if error is None:
                db.execute(
                    "UPDATE sync_schedule SET last_run_at = ?, last_outcome = 'ok', "
                    "failures = 0, last_error = NULL, next_run_at = ?, lease_until = ? "
                    "WHERE id = 1",
                    [started, next_run_at(started, self.every_s, now), now + LEASE_SECONDS],
                )
            else:
                retry = now + min(self.every_s, RETRY_AFTER_S)
                db.execute(
                    "UPDATE sync_schedule SET last_run_at = ?, last_outcome = 'failed', "
                    "failures = failures + 1, last_error = ?, next_run_at = ?, lease_until = ? "
                    "WHERE id = 1",
                    [started, error[:300], retry, now + LEASE_SECONDS],
                )
