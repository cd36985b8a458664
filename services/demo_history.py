"""Demo history (sandbox mode only): replay the real sync over the sandbox's simulated clock.

A fresh demo has one snapshot per account, so every "growth per day" chart is empty. Here we
move the sandbox's clock through its control API (``POST /_sandbox/clock``) to one point per day
from ``days`` ago up to now, run the **real** sync at each point with ``captured_at`` read from
that clock, then put the clock back. Every row comes from a sync against the sandbox's API;
nothing is fabricated here, and charts built on the result exercise exactly the code paths live
data takes.

This module is the only place in services/ that knows about ``/_sandbox/`` (the TikTok client
never special-cases the sandbox). In live mode it refuses: Reelboard never back-dates real data.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import requests

from services.access import Actor, audited
from services.clock import from_epoch
from services.db import open_db
from services.errors import ReelboardError
from services.ratelimit import Pacer
from services.sync import ProgressCallback, SyncOptions, SyncResult, _sync_accounts

log = logging.getLogger(__name__)

CLOCK_PATH = "/_sandbox/clock"
MAX_DAYS = 730  # the sandbox's demo creators have ~20 months of history (sandbox/catalog.py)


class DemoHistoryError(ReelboardError):
    step = "demo_history"


class SandboxClock:
    """The sandbox's simulated clock, as a Reelboard ``Clock`` (aware UTC datetimes).

    The sandbox's time is real time plus an offset (or a frozen instant), so after each control
    call we keep the offset and compute "now" locally: one HTTP call per jump, none per reading.
    ``epoch()`` is the same instant in seconds, for a Pacer that must share the server's rate
    window clock (the sandbox's windows run on simulated time). ``advance`` can serve as a
    Pacer's ``sleep`` in tests: waiting then costs no real time, and the server agrees it passed.
    """

    def __init__(self, base_url: str, *, session: requests.Session | None = None,
                 timeout: float = 10.0) -> None:
        self.url = base_url.rstrip("/") + CLOCK_PATH
        self._session = session or requests.Session()
        self._timeout = timeout
        self._lock = threading.Lock()
        self._offset = 0.0
        self._frozen_at: float | None = None
        self.refresh()

    def __call__(self) -> datetime:
        return from_epoch(self.epoch())

    def epoch(self) -> float:
        with self._lock:
            return self._frozen_at if self._frozen_at is not None else time.time() + self._offset

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def refresh(self) -> dict[str, Any]:
        return self._remember(self._request("GET"))

    def set(self, moment: datetime | float) -> datetime:
        target = moment.timestamp() if isinstance(moment, datetime) else float(moment)
        self._remember(self._request("POST", {"set": target}))
        return self()

    def advance(self, seconds: float) -> None:
        self._remember(self._request("POST", {"advance": seconds}))

    def reset(self) -> None:
        self._remember(self._request("POST", {"reset": True}))

    def freeze(self, frozen: bool, at: datetime | float | None = None) -> None:
        """Stop (or restart) simulated time, optionally at ``at`` (the sandbox's extension)."""
        body: dict[str, Any] = {"freeze": frozen}
        if at is not None:
            body["set"] = at.timestamp() if isinstance(at, datetime) else float(at)
        self._remember(self._request("POST", body))

    def _request(self, method: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            response = self._session.request(method, self.url, json=body, timeout=self._timeout)
        except requests.RequestException as exc:
            raise DemoHistoryError(
                f"Could not reach the sandbox's clock ({type(exc).__name__}). Is the sandbox "
                "running? Restart Reelboard and try again.", retry_safe=True) from exc
        if response.status_code != 200:
            raise DemoHistoryError(
                f"The sandbox refused the clock change (HTTP {response.status_code}).")
        payload = response.json()
        if not isinstance(payload, dict):
            raise DemoHistoryError("The sandbox's clock answered with something unexpected.")
        return payload

    def _remember(self, payload: dict[str, Any]) -> dict[str, Any]:
        # A POST may answer with the new state or just {"ok": true}; read it back if needed.
        if "now" not in payload:
            payload = self._request("GET")
        now = float(payload["now"])
        with self._lock:
            if payload.get("frozen"):
                self._frozen_at = now
            else:
                self._frozen_at = None
                self._offset = now - time.time()
        return payload


@dataclass
class DemoHistoryResult:
    accounts: int = 0  # active accounts considered
    points: int = 0  # clock positions synced
    runs: list[SyncResult] = field(default_factory=list)
    days_skipped: int = 0  # (account, day) pairs that already had a run

    @property
    def failures(self) -> list[SyncResult]:
        return [r for r in self.runs if r.status in ("failed", "skipped")]

    def summary(self) -> str:
        if not self.accounts:
            return ("Demo history: no active account to replay. Connect one on the Accounts "
                    "page first.")
        saved = sum(1 for r in self.runs if r.status in ("succeeded", "partial"))
        days = _plural(self.points, "day")
        text = f"Demo history: {days} of history added"
        verb = "was" if self.days_skipped == 1 else "were"
        text += (f" ({_plural(self.days_skipped, 'day')} {verb} already there)."
                 if self.days_skipped else ".")
        if not saved and not self.failures:
            text = f"Demo history: all {days} were already there."
        if self.failures:
            text += (f" {_plural(len(self.failures), 'daily snapshot')} could not be taken: "
                     + "; ".join(f"{r.label}: {r.error}" for r in self.failures[:3]))
        return text


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def load_demo_history(
    settings: Any,
    *,
    actor: Actor,
    days: int = 90,
    **kwargs: Any,
) -> DemoHistoryResult:
    """Replay the sync over past days on behalf of ``actor`` — a sync, so editors and admins
    only; audited as one ``sync`` row (kind demo_history). Arguments as ``_load_demo_history``.
    """
    with open_db(settings.database_path) as db, \
            audited(db, actor, "sync", details={"kind": "demo_history", "days": days}) as event:
        result = _load_demo_history(settings, days=days, **kwargs)
        event.details.update(runs=len(result.runs), failures=len(result.failures),
                             days_skipped=result.days_skipped)
        if result.failures:
            event.outcome = "failed"
    return result


def _load_demo_history(
    settings: Any,
    *,
    days: int = 90,
    on_progress: ProgressCallback | None = None,
    open_ids: Sequence[str] | None = None,
    options: SyncOptions | None = None,
    client_factory: Callable[[Any, Any], Any] | None = None,
    keyring: Any = None,
    sandbox_clock: SandboxClock | None = None,
) -> DemoHistoryResult:
    """Sync every active account (or ``open_ids``) once per day: ``days + 1`` clock points,
    from ``days`` days ago to now, each at the current time of day.

    Idempotent: an (account, day) that already has a succeeded or partial run — in the
    configured time zone — is skipped, so re-running fills gaps only. The sandbox clock is put
    back (reset, or to the offset it had) even if a sync fails or the caller cancels.
    ``on_progress(done, total, message)`` counts day points.
    """
    if not getattr(settings, "is_sandbox", False):
        raise DemoHistoryError(
            "Demo history is only available in sandbox mode. With a real TikTok app Reelboard "
            "never back-dates or invents data: history builds up from real syncs (schedule "
            "`python -m services sync --all` daily).")
    if not 1 <= days <= MAX_DAYS:
        raise DemoHistoryError(f"days must be between 1 and {MAX_DAYS}, got {days}.")
    if not settings.api_base_url:
        raise DemoHistoryError(
            "The embedded sandbox is not running (no API URL). Start Reelboard through "
            "services.runtime.start_runtime, then try again.", retry_safe=True)

    tz = ZoneInfo(settings.timezone)
    clock = sandbox_clock or SandboxClock(settings.api_base_url)
    before = clock.refresh()
    result = DemoHistoryResult()
    try:
        if clock.frozen:
            # Time must flow during each day's sync: the pacer waits on this clock.
            clock.freeze(False)
        options = options or SyncOptions.from_settings(settings)
        # The sandbox's rate windows run on its simulated clock: pace on the same clock, so a
        # jump of a day empties our windows exactly when it empties the server's.
        pacer = Pacer(options.requests_per_minute, clock=clock.epoch)

        with open_db(settings.database_path) as db:
            rows = db.execute(
                "SELECT open_id FROM accounts WHERE status = 'active' "
                "ORDER BY connected_at, open_id"
            ).fetchall()
            active = [r[0] for r in rows]
            wanted = active if open_ids is None else [o for o in open_ids if o in active]
            done_days = _days_with_runs(db, wanted, tz)
        result.accounts = len(wanted)

        now = clock()
        plan: list[tuple[datetime, list[str]]] = []
        for d in range(days, -1, -1):
            moment = now - timedelta(days=d)
            day = moment.astimezone(tz).date()
            todo = [o for o in wanted if (o, day) not in done_days]
            result.days_skipped += len(wanted) - len(todo)
            if todo:
                plan.append((moment, todo))

        total = len(plan)
        for index, (moment, todo) in enumerate(plan):
            label = moment.astimezone(tz).date().isoformat()
            if on_progress is not None:
                on_progress(index, total, f"History: {label} ({index + 1} of {total})")
            clock.set(moment)

            def forward(done: int, total_videos: int | None, message: str,
                        _i: int = index, _label: str = label) -> None:
                if on_progress is not None:
                    on_progress(_i, total, f"History {_label}: {message}")

            runs = _sync_accounts(
                settings, todo, clock=clock, options=options, pacer=pacer,
                on_progress=forward, client_factory=client_factory, keyring=keyring,
            )
            result.runs.extend(runs)
            result.points += 1
        if on_progress is not None:
            on_progress(total, total, "History loaded")
    finally:
        _restore(clock, before)
    log.info("%s", result.summary())
    return result


def demo_history_from_cli(rt: Any, *, actor: Actor, days: int = 90,
                          on_progress: ProgressCallback | None = None) -> int:
    """``python -m services demo-history --days N``: 0 if every run saved, 1 otherwise."""
    result = load_demo_history(rt.settings, actor=actor, days=days, on_progress=on_progress)
    print(result.summary())
    return 0 if not result.failures else 1


def _restore(clock: SandboxClock, before: dict[str, Any]) -> None:
    """Put the clock back: a plain reset when it was running at real time (the normal case),
    otherwise the same offset (or frozen instant) it had before."""
    try:
        offset = float(before.get("offset_seconds") or 0.0)
        if before.get("frozen"):
            clock.freeze(True, at=float(before["now"]))
        elif abs(offset) < 1.0:
            clock.reset()
        else:
            clock.set(time.time() + offset)
    except ReelboardError:
        log.exception("could not put the sandbox clock back; POST /_sandbox/clock {reset:true}")


def _days_with_runs(db, open_ids: Sequence[str], tz: ZoneInfo) -> set[tuple[str, date]]:
    if not open_ids:
        return set()
    marks = ",".join("?" * len(open_ids))
    rows = db.execute(
        f"SELECT open_id, captured_at FROM sync_runs WHERE open_id IN ({marks}) "
        "AND status IN ('succeeded', 'partial')", list(open_ids),
    ).fetchall()
    return {(oid, from_epoch(ts).astimezone(tz).date()) for oid, ts in rows}
