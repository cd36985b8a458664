"""Sync: snapshot each connected account's stats and every public video's counters into the cache.

One run per account, with the fewest Display API requests the API allows:

* one ``user/info`` for the profile and (if granted) follower/like/video counts (tiktok-api.md
  §3.1), which also sizes the progress bar;
* one pass of ``video/list`` with ``max_count=20`` asking for metadata *and* the four counters in
  the same ``fields`` list (§3.2, §3.4: every Video Object field needs only ``video.list``), so a
  second pass through ``video/query`` is never needed: ≈ 1 + ceil(N/20) requests.

Writes are short ``BEGIN IMMEDIATE`` transactions with no network call inside (security.md §4.6):
one per page of 20 videos (upsert the video rows, insert the snapshots with ON CONFLICT DO
NOTHING), and one final transaction for the account snapshot, the run's totals, removals and
the run's bookkeeping. Every snapshot of one run carries the run's ``captured_at``, taken once at
the start. A run killed at any point leaves only whole pages behind; the next run of the account
within ``resume_within_s`` adopts that run and its ``captured_at`` and continues after the last
saved video (§3.2: the cursor may be "any timestamp to get videos posted before it"), so the
cache ends exactly as one clean run would leave it (security.md §4.2, §5.3 N8–N9).

Pacing happens below the TikTok client (services.ratelimit.paced_session): every HTTP attempt
waits for a slot in our own per-endpoint, per-account window set below TikTok's limit.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import sqlite_utils

from services.access import Actor, authorize, record
from services.accounts import AccountNeedsReconnect, call_with_token
from services.clock import Clock, to_epoch, utc_now
from services.db import open_db, write_transaction
from services.errors import ReelboardError
from services.ratelimit import DISPLAY_LIMIT_PER_MINUTE, Pacer, PacingCancelled, paced_session
from services.tiktok.errors import OAuthError, TikTokAuthError, TikTokError, TikTokScopeError
from services.tiktok.scopes import parse_scopes, user_fields_for

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int | None, str], None]
Status = Literal["succeeded", "partial", "failed", "skipped"]

PAGE_SIZE = 20  # tiktok-api.md §3.2: max_count ≤ 20

SCOPE_STATS = "user.info.stats"
SCOPE_PROFILE = "user.info.profile"
SCOPE_VIDEO_LIST = "video.list"

# tiktok-api.md §3.1: request only fields the grant covers (services.tiktok.scopes picks them),
# or user/info answers `scope_permission_missed` for the whole call (§5).
USER_FIELDS_BASIC = ("open_id", "union_id", "avatar_url", "display_name")
USER_FIELDS_PROFILE = ("username", "bio_description", "profile_deep_link", "is_verified")
USER_FIELDS_STATS = ("follower_count", "following_count", "likes_count", "video_count")
USER_FIELDS = USER_FIELDS_BASIC + USER_FIELDS_PROFILE + USER_FIELDS_STATS
# tiktok-api.md §3.4: metadata and counters in one list pass (no video/query round).
VIDEO_FIELDS = (
    "id", "create_time", "title", "video_description", "duration", "width", "height",
    "cover_image_url", "share_url", "embed_link",
    "view_count", "like_count", "comment_count", "share_count",
)

_METADATA_COLUMNS = (
    "create_time", "title", "description", "duration", "width", "height",
    "cover_image_url", "share_url", "embed_link",
)


@dataclass(frozen=True)
class SyncOptions:
    """Knobs for a sync; the defaults follow TikTok's published limits."""

    #: The server's per-endpoint limit (tiktok-api.md §6: 600/min). Lower it to match a sandbox
    #: started with a lower ``rate_limit_per_minute``; the pacer keeps 90 % of it.
    requests_per_minute: int = DISPLAY_LIMIT_PER_MINUTE
    #: Pagination safety (security.md §4.2): never more pages than this in one run
    #: (2,500 pages = 50,000 videos, far above any creator we serve).
    max_pages: int = 2_500
    #: A run interrupted less than this long ago (by the sync clock) is continued, not restarted,
    #: so its snapshots stay "as of" one moment. Older ones are left as they are.
    resume_within_s: int = 3_600
    #: security.md §4.1: at most ~10 minutes per job; the rest waits for the next run.
    max_duration_s: float = 600.0
    #: Accounts synced at once (each with its own thread and SQLite connection).
    max_workers: int = 8

    @classmethod
    def from_settings(cls, settings: Any) -> SyncOptions:
        """Options from Settings; ``sync_requests_per_minute`` is used when Settings has it."""
        rpm = getattr(settings, "sync_requests_per_minute", None)
        return cls(requests_per_minute=int(rpm)) if rpm else cls()


@dataclass
class SyncResult:
    """What one account's sync did; ``error`` is a sentence a marketer can act on."""

    open_id: str
    label: str
    status: Status
    run_id: int | None = None
    captured_at: int | None = None
    requests_made: int = 0
    rows_written: int = 0
    videos_seen: int = 0
    duration_ms: int = 0
    missing_scopes: tuple[str, ...] = ()
    error: str | None = None
    resumed: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    def summary(self) -> str:
        head = f"{self.label}: {self.status}"
        if self.run_id is not None:
            head += (f" — {self.videos_seen} videos, {self.requests_made} requests, "
                     f"{self.rows_written} rows, {self.duration_ms / 1000:.1f} s")
            if self.resumed:
                head += " (continued an interrupted run)"
        return head + (f". {self.error}" if self.error else "")


@dataclass
class _Account:
    open_id: str
    label: str
    status: str
    status_reason: str | None
    scopes: frozenset[str]


@dataclass
class _Run:
    id: int
    captured_at: int
    resumed: bool
    requests_before: int = 0
    rows_before: int = 0
    duration_before_ms: int = 0
    saved_videos: int = 0  # snapshots already written at captured_at (a resumed run)
    resume_cursor: int | None = None  # video/list cursor to continue from (epoch ms)


@dataclass
class _Progress:
    total: int | None = None
    done: int = 0
    bad_records: int = 0


# One sync per account and cache at a time in this process: a second click in another browser
# tab gets "already running" instead of a second, interleaved run. (Across processes, the resume
# rule keeps the rows consistent; see _start_run.)
_ACCOUNT_LOCKS: dict[tuple[str, str], threading.Lock] = {}
_ACCOUNT_LOCKS_GUARD = threading.Lock()


def _account_lock(db: sqlite_utils.Database, open_id: str) -> threading.Lock:
    path = db.execute("PRAGMA database_list").fetchone()[2] or f"memory:{id(db.conn)}"
    with _ACCOUNT_LOCKS_GUARD:
        return _ACCOUNT_LOCKS.setdefault((path, open_id), threading.Lock())


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def sync_accounts(
    settings: Any,
    open_ids: Sequence[str] | None = None,
    *,
    actor: Actor,
    **kwargs: Any,
) -> list[SyncResult]:
    """Sync several accounts on behalf of ``actor`` (editors and admins; audited, one row per
    account). The keyword arguments are those of the run itself, documented below."""
    with open_db(settings.database_path) as db:
        authorize(db, actor, "sync")
    try:
        results = _sync_accounts(settings, open_ids, **kwargs)
    except BaseException as exc:  # cancelled, or the progress callback failed: say so
        with open_db(settings.database_path) as db:
            record(db, actor, "sync", outcome="failed",
                   details={"error": getattr(exc, "step", type(exc).__name__)})
        raise
    audit_sync(settings, actor, results)
    return results


def audit_sync(settings: Any, actor: Actor, results: Sequence[SyncResult],
               kind: str = "sync") -> None:
    """One audit row per account run (``ok`` only when it synced fully)."""
    with open_db(settings.database_path) as db:
        for r in results:
            record(db, actor, "sync", open_id=r.open_id,
                   outcome="ok" if r.ok else "failed",
                   details={"kind": kind, "status": r.status, "requests": r.requests_made,
                            "rows": r.rows_written, "error": r.error})


def _sync_accounts(
    settings: Any,
    open_ids: Sequence[str] | None = None,
    *,
    clock: Clock = utc_now,
    options: SyncOptions | None = None,
    on_progress: ProgressCallback | None = None,
    pacer: Pacer | None = None,
    cancel: threading.Event | None = None,
    client_factory: Callable[[Any, Any], Any] | None = None,
    keyring: Any = None,
) -> list[SyncResult]:
    """Sync several accounts concurrently; results in the order of ``open_ids``.

    ``open_ids=None`` means every account that is not disconnected (accounts that need
    reconnecting come back as ``skipped`` with the reason). One thread and one SQLite connection
    per account; ``on_progress(done, total, message)`` is always called on *this* thread (so a
    Streamlit page can draw from it), aggregated over all accounts in videos. If the callback
    raises, the other accounts stop at their next page and the exception propagates.
    ``clock`` gives each run's ``captured_at``; ``pacer`` is shared by all accounts (pass one
    whose clock is the server's when the server's clock is simulated).
    """
    options = options or SyncOptions.from_settings(settings)
    pacer = pacer or Pacer(options.requests_per_minute)
    cancel = cancel or threading.Event()
    factory = client_factory or _default_client_factory
    db_path = settings.database_path

    with open_db(db_path) as db:
        if open_ids is None:
            rows = db.execute(
                "SELECT open_id FROM accounts WHERE status != 'disconnected' "
                "ORDER BY connected_at, open_id"
            ).fetchall()
            open_ids = [r[0] for r in rows]
        if keyring is None and open_ids:
            from services.crypto import load_keyring

            keyring = load_keyring(settings, db)
    open_ids = list(dict.fromkeys(open_ids))  # drop repeats, keep order
    if not open_ids:
        return []

    # Workers report through this queue; None marks a finished worker, so the loop below
    # wakes the moment the last account is done instead of on a polling tick.
    events: queue.Queue[tuple[str, int, int | None, str] | None] = queue.Queue()

    def work(open_id: str) -> SyncResult:
        def report(done: int, total: int | None, message: str) -> None:
            events.put((open_id, done, total, message))

        session, adapter = paced_session(pacer, open_id, cancel=cancel,
                                         base_url=settings.api_base_url)
        try:
            client = factory(settings, session)
            with open_db(db_path) as db:
                return sync_account(
                    db, client, keyring, open_id, clock=clock, options=options,
                    on_progress=report, cancel=cancel,
                    requests_counter=lambda: adapter.requests_made,
                )
        finally:
            session.close()
            events.put(None)

    progress: dict[str, tuple[int, int | None]] = {}
    workers = max(1, min(options.max_workers, len(open_ids)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="reelboard-sync") as pool:
        futures = [pool.submit(work, oid) for oid in open_ids]
        running = len(futures)
        try:
            while running:
                event = events.get()
                if event is None:
                    running -= 1
                    continue
                open_id, done, total, message = event
                progress[open_id] = (done, total)
                if on_progress is not None:
                    all_done = sum(d for d, _ in progress.values())
                    totals = [t for _, t in progress.values()]
                    all_total = None if None in totals else sum(t or 0 for t in totals)
                    on_progress(all_done, all_total, message)
        except BaseException:
            cancel.set()  # the caller gave up: stop every account at its next checkpoint
            raise
        results = [f.result() for f in futures]
    return results


def sync_account(
    db: sqlite_utils.Database,
    client: Any,
    keyring: Any,
    open_id: str,
    *,
    clock: Clock = utc_now,
    options: SyncOptions | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    requests_counter: Callable[[], int] | None = None,
) -> SyncResult:
    """Sync one account on this thread's connection ``db``.

    ``client`` is a services.tiktok TikTokClient used only by this run (its ``requests_made`` is
    read as this run's request count unless ``requests_counter`` is given); build it on a
    ``paced_session`` to stay under the rate limit. Returns a SyncResult; TikTok and network
    errors end the run ``failed``/``partial`` with the reason rather than raising. An exception
    from ``on_progress`` (or anything else that is not a TikTok error) marks the run failed and
    propagates; the next sync continues where it stopped.
    """
    options = options or SyncOptions()
    lock = _account_lock(db, open_id)
    if not lock.acquire(blocking=False):
        return SyncResult(open_id, open_id, "skipped",
                          error="A sync of this account is already running; wait for it to "
                                "finish.")
    try:
        return _SyncRun(db, client, keyring, open_id, clock, options, on_progress, cancel,
                        requests_counter).run()
    finally:
        lock.release()


def sync_from_cli(
    rt: Any,
    *,
    actor: Actor,
    account: str | None = None,
    all_accounts: bool = False,
    on_progress: ProgressCallback | None = None,
) -> int:
    """``python -m services sync --account OPEN_ID | --all``: prints one line per account.

    Exit code 0 when every account synced fully, 1 otherwise (failed, partial or skipped: each
    needs someone's attention), so cron mails you.
    """
    settings = rt.settings
    open_ids = None if all_accounts or account is None else [account]
    results = sync_accounts(settings, open_ids, actor=actor, on_progress=on_progress)
    if not results:
        print("No accounts to sync. Connect one on the app's Accounts page.")
        return 0
    for result in results:
        print(result.summary())
    return 0 if all(r.ok for r in results) else 1


def _default_client_factory(settings: Any, session: Any) -> Any:
    from services.tiktok.client import TikTokClient

    return TikTokClient(
        client_key=settings.client_key,
        client_secret=settings.client_secret,
        auth_url=settings.auth_url,
        api_base_url=settings.api_base_url,
        session=session,
    )


# ---------------------------------------------------------------------------------------------
# One run
# ---------------------------------------------------------------------------------------------


class _Stop(Exception):
    """Internal: pagination ended early for a reason that is not a TikTok error."""

    def __init__(self, message: str, *, resumable: bool):
        super().__init__(message)
        self.message = message
        self.resumable = resumable


class _SyncRun:
    def __init__(self, db, client, keyring, open_id, clock, options, on_progress, cancel,
                 requests_counter):
        self.db = db
        self.client = client
        self.keyring = keyring
        self.open_id = open_id
        self.clock = clock
        self.options: SyncOptions = options
        self.on_progress = on_progress
        self.cancel = cancel
        self._count = requests_counter or (lambda: int(getattr(client, "requests_made", 0)))
        self.progress = _Progress()
        self.rows_written = 0
        self.started = time.monotonic()
        self.requests_at_start = self._count()

    # -- the whole run ------------------------------------------------------------------------

    def run(self) -> SyncResult:
        account = _load_account(self.db, self.open_id)
        if account is None:
            return SyncResult(self.open_id, self.open_id, "failed",
                              error="No connected account has this open_id; check the id with "
                                    "`python -m services accounts`.")
        self.account = account
        if account.status != "active":
            return SyncResult(
                self.open_id, account.label, "skipped",
                error=_skip_reason(account),
            )

        missing = [s for s in (SCOPE_STATS, SCOPE_VIDEO_LIST) if s not in account.scopes]
        self.run_row = _start_run(self.db, self.open_id, to_epoch(self.clock()), self.options)
        log.info("sync %s: run %s at %s%s", self.open_id, self.run_row.id,
                 self.run_row.captured_at, " (resumed)" if self.run_row.resumed else "")
        self.progress.done = self.run_row.saved_videos
        user: dict[str, Any] | None = None
        listing_complete = False
        failure: str | None = None
        partial_reasons: list[str] = []
        try:
            try:
                user = self._user_info(account, missing)
            except TikTokError as exc:
                if _is_auth(exc):
                    raise
                # The videos can still be synced; say what is missing and go on.
                partial_reasons.append(
                    f"The profile and follower counts were not updated: {_message(exc)}")
            if user is not None and _int(user.get("video_count")) is not None:
                self.progress.total = max(_int(user.get("video_count")) or 0, self.progress.done)
            elif SCOPE_VIDEO_LIST in account.scopes:
                self.progress.total = _previous_video_count(self.db, self.open_id)
            self._report(f"{account.label}: profile read")

            if SCOPE_VIDEO_LIST in account.scopes:
                try:
                    listing_complete = self._list_videos(account)
                except _Stop as stop:
                    if stop.resumable:
                        failure = stop.message
                    else:
                        partial_reasons.append(stop.message)
                except TikTokScopeError:
                    # The grant changed in TikTok since it was stored (security.md §5.2 T7).
                    missing.append(SCOPE_VIDEO_LIST)
                    account.scopes = account.scopes - {SCOPE_VIDEO_LIST}
        except _Stop as stop:  # cancelled between calls
            failure = stop.message
        except PacingCancelled:
            failure = (f"Stopped after {self.progress.done} videos because the sync was "
                       "cancelled; syncing again continues from there.")
        except ReelboardError as exc:  # TikTok, token and key errors: the run fails, we go on
            failure = self._failure_text(exc)
        except BaseException as exc:
            # Not a TikTok error: the caller stopped us (progress callback, Ctrl-C, a bug).
            # Record it so the page shows why, then let it propagate; the next run resumes.
            self._finish(
                user=None, listing_complete=False, missing=missing, status="failed",
                error=f"Interrupted after {self.progress.done} videos ({type(exc).__name__}). "
                      "The videos already saved are kept; syncing again continues from there.",
                quiet=True,
            )
            raise

        if self.progress.bad_records:
            partial_reasons.append(
                f"{self.progress.bad_records} video(s) came back from TikTok without an id or "
                "post time and were skipped.")
        status: Status
        error: str | None
        if failure is not None:
            status, error = "failed", failure
        elif missing or partial_reasons:
            status = "partial"
            error = " ".join(([_missing_sentence(missing)] if missing else []) + partial_reasons)
        else:
            status, error = "succeeded", None
        return self._finish(user=user, listing_complete=listing_complete, missing=missing,
                            status=status, error=error)

    # -- TikTok calls -------------------------------------------------------------------------

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call ``fn(access_token, …)`` through services.accounts.call_with_token: one forced
        refresh on `access_token_invalid`, then `needs_reconnect` (security.md §5.2 T6).
        The sync clock goes along, so token expiry is judged on the same (maybe simulated)
        time as the server's."""
        self._check_cancel()
        return call_with_token(self.db, self.client, self.keyring, self.open_id,
                               lambda token: fn(token, *args, **kwargs), clock=self.clock)

    def _user_info(self, account: _Account, missing: list[str]) -> dict[str, Any] | None:
        """user/info with only the fields the grant covers (tiktok-api.md §3.1). If TikTok still
        says a permission is missing (the creator changed the grant in TikTok), note it and ask
        again for the basic fields only, so the run goes on (security.md §5.2 T7)."""
        fields = user_fields_for(account.scopes, USER_FIELDS)
        if not fields:
            return None
        try:
            return dict(self._call(self.client.user_info, list(fields)))
        except TikTokScopeError as exc:
            basic = user_fields_for(account.scopes, USER_FIELDS_BASIC)
            if tuple(basic) == tuple(fields):
                raise
            log.info("sync %s: user/info refused extra fields (%s)", self.open_id,
                     getattr(exc, "code", "scope"))
            for scope in (SCOPE_STATS, SCOPE_PROFILE):
                if scope in account.scopes and scope not in missing:
                    missing.append(scope)
            account.scopes = account.scopes - {SCOPE_STATS, SCOPE_PROFILE}
            return dict(self._call(self.client.user_info, list(basic)))

    def _list_videos(self, account: _Account) -> bool:
        """The single video/list pass; True when TikTok said there is nothing more."""
        fields = list(VIDEO_FIELDS)
        cursor = self.run_row.resume_cursor
        seen_cursors: set[int] = set() if cursor is None else {cursor}
        pages = 0
        while True:
            self._check_deadline()
            page = self._call(self.client.list_videos, fields, cursor=cursor, max_count=PAGE_SIZE)
            pages += 1
            videos = list(page.videos or [])
            if videos:
                self.rows_written += self._save_page(videos)
                self._report(f"{account.label}: {self.progress.done}"
                             + (f" of ~{self.progress.total}" if self.progress.total else "")
                             + " videos")
            if not page.has_more:
                return True
            # tiktok-api.md §3.2 gives no guarantee against a repeating cursor or an empty page
            # that claims more: never loop (security.md §4.2, §5.3 N7).
            if not videos:
                raise _Stop(f"Stopped after {self.progress.done} videos: TikTok returned an "
                            "empty page that claims more videos follow.", resumable=False)
            if page.cursor is None or page.cursor in seen_cursors:
                raise _Stop(f"Stopped after {self.progress.done} videos: TikTok's list cursor "
                            "stopped advancing.", resumable=False)
            if pages >= self.options.max_pages:
                raise _Stop(f"Stopped after {pages} pages ({self.progress.done} videos), the "
                            "most one sync reads.", resumable=False)
            seen_cursors.add(page.cursor)
            cursor = page.cursor

    def _check_deadline(self) -> None:
        if time.monotonic() - self.started > self.options.max_duration_s:
            raise _Stop(
                f"Stopped after {self.progress.done} videos to keep the run under "
                f"{self.options.max_duration_s / 60:.0f} minutes (security.md §4.1); the "
                "next sync continues from there.", resumable=True)

    def _save_page(self, videos: Iterable[Any]) -> int:
        rows = []
        for raw in videos:
            row = _video_row(raw)
            if row is None:
                self.progress.bad_records += 1
                continue
            rows.append(row)
        if not rows:
            return 0
        written = _write_page(self.db, self.open_id, self.run_row.captured_at, rows)
        self.progress.done += written.new_snapshots
        return written.rows

    # -- bookkeeping ---------------------------------------------------------------------------

    def _report(self, message: str) -> None:
        if self.progress.total is not None and self.progress.done > self.progress.total:
            self.progress.total = self.progress.done
        if self.on_progress is not None:
            self.on_progress(self.progress.done, self.progress.total, message)

    def _check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise _Stop(f"Stopped after {self.progress.done} videos because the sync was "
                        "cancelled; the next sync continues from there.", resumable=True)

    def _failure_text(self, exc: BaseException) -> str:
        message = _message(exc)
        if isinstance(exc, AccountNeedsReconnect | TikTokAuthError):
            # The message already says to reconnect (services.accounts / tiktok errors table).
            return f"{message} Then sync again."
        saved = self.progress.done
        if saved:
            return (f"Stopped after {saved} videos: {message} The videos already saved are "
                    "kept; syncing again within the hour continues from there.")
        return f"{message} Nothing was saved; syncing again later is safe."

    def _finish(self, *, user, listing_complete, missing, status, error, quiet=False):
        run = self.run_row
        requests_made = run.requests_before + max(0, self._count() - self.requests_at_start)
        duration_ms = run.duration_before_ms + int((time.monotonic() - self.started) * 1000)
        stats = user if (user is not None and SCOPE_STATS in self.account.scopes) else None
        try:
            with write_transaction(self.db):
                rows, videos_seen = _store_final(
                    self.db, self.open_id, run.captured_at, user=user, stats=stats,
                    listing_complete=listing_complete,
                )
                self.rows_written += rows
                self.db.execute(
                    """UPDATE sync_runs SET status = ?, finished_at = ?, requests_made = ?,
                           rows_written = ?, duration_ms = ?, videos_seen = ?,
                           missing_scopes = ?, error = ?
                       WHERE id = ?""",
                    (status, to_epoch(self.clock()), requests_made,
                     run.rows_before + self.rows_written, duration_ms, videos_seen,
                     ",".join(missing) or None, error, run.id),
                )
        except Exception:
            if quiet:  # already unwinding from another exception: do not mask it
                log.exception("sync %s: could not record the interrupted run", self.open_id)
                return None
            raise
        result = SyncResult(
            open_id=self.open_id, label=self.account.label, status=status, run_id=run.id,
            captured_at=run.captured_at, requests_made=requests_made,
            rows_written=run.rows_before + self.rows_written, videos_seen=videos_seen,
            duration_ms=duration_ms, missing_scopes=tuple(missing), error=error,
            resumed=run.resumed,
        )
        if not quiet:
            self.progress.total = videos_seen if listing_complete else self.progress.total
            self._report(f"{self.account.label}: {status}")
        log.info("sync %s: %s", self.open_id, result.summary())
        return result


# ---------------------------------------------------------------------------------------------
# Storage (each function is called inside or opens one short write transaction)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PageWrite:
    rows: int
    new_snapshots: int


def _write_page(db: sqlite_utils.Database, open_id: str, captured_at: int,
                rows: list[dict[str, Any]]) -> _PageWrite:
    """One page = one transaction: the page's videos and snapshots land together or not at all.

    Page commits skip the fsync (``synchronous=NORMAL``; services.db sets FULL for every
    connection). In WAL mode that cannot corrupt the file; a power cut may only lose the last
    pages, which the next run re-reads because it resumes from what is actually stored
    (security.md §4.6 allows NORMAL outside the token and post tables). It is switched back
    before anything else commits on this connection, so a rotated refresh token written by
    services.accounts between two pages, and the run's final transaction, are fsynced, and
    each FULL commit makes the pages before it durable too. It saves about a third of the
    time a page's write takes.
    """
    conn = db.conn
    conn.execute("PRAGMA synchronous=NORMAL")
    try:
        with write_transaction(db):
            return _store_page(db, open_id, captured_at, rows)
    finally:
        conn.execute("PRAGMA synchronous=FULL")


_UPSERT_VIDEO = (
    "INSERT INTO videos (id, open_id, " + ", ".join(_METADATA_COLUMNS)
    + ", first_seen_at, last_seen_at, removed_at) VALUES (:id, :open_id, "
    + ", ".join(f":{c}" for c in _METADATA_COLUMNS) + ", :seen, :seen, NULL) "
    "ON CONFLICT(id) DO UPDATE SET "
    # A history run (demo time travel) may be older than what we already know: metadata follows
    # the newest observation, the seen-range widens, and only a newer sighting undoes a removal.
    + ", ".join(
        f"{c} = CASE WHEN excluded.last_seen_at >= videos.last_seen_at "
        f"THEN excluded.{c} ELSE videos.{c} END"
        # create_time never changes, and leaving it out spares the account index a rewrite.
        for c in _METADATA_COLUMNS if c != "create_time"
    )
    + ", first_seen_at = min(videos.first_seen_at, excluded.first_seen_at)"
    ", last_seen_at = max(videos.last_seen_at, excluded.last_seen_at)"
    ", removed_at = CASE WHEN videos.removed_at <= excluded.last_seen_at THEN NULL"
    " ELSE videos.removed_at END"
    " WHERE videos.open_id = excluded.open_id"
)

# A video id owned by another account is never re-pointed (the upsert's WHERE); it gets no
# snapshot under this account either.
_INSERT_SNAPSHOT = (
    "INSERT INTO video_snapshots (video_id, captured_at, open_id, view_count, like_count, "
    "comment_count, share_count) SELECT :id, :captured_at, :open_id, :view_count, :like_count, "
    ":comment_count, :share_count "
    "WHERE EXISTS (SELECT 1 FROM videos WHERE id = :id AND open_id = :open_id) "
    "ON CONFLICT(video_id, captured_at) DO NOTHING"
)


def _store_page(db: sqlite_utils.Database, open_id: str, captured_at: int,
                rows: list[dict[str, Any]]) -> _PageWrite:
    params = [{**r, "open_id": open_id, "seen": captured_at, "captured_at": captured_at}
              for r in rows]
    conn = db.conn
    upserted = max(conn.executemany(_UPSERT_VIDEO, params).rowcount, 0)
    inserted = max(conn.executemany(_INSERT_SNAPSHOT, params).rowcount, 0)
    return _PageWrite(rows=upserted + inserted, new_snapshots=inserted)


def _store_final(db: sqlite_utils.Database, open_id: str, captured_at: int, *,
                 user: dict[str, Any] | None, stats: dict[str, Any] | None,
                 listing_complete: bool) -> tuple[int, int]:
    """The run's last transaction: removals, account snapshot, totals, profile. Returns
    (rows written, videos snapshotted in this run)."""
    conn = db.conn
    rows = 0
    if listing_complete:
        # Only a complete listing proves a video is gone (deleted or made private, §3.2: "only
        # public posts"); a run that stopped early must not mark the rest removed.
        rows += conn.execute(
            "UPDATE videos SET removed_at = ? WHERE open_id = ? AND removed_at IS NULL "
            "AND last_seen_at < ?", (captured_at, open_id, captured_at),
        ).rowcount
    if stats is not None:
        rows += conn.execute(
            """INSERT INTO account_snapshots (open_id, captured_at, follower_count,
                   following_count, likes_count, video_count)
               VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT(open_id, captured_at) DO UPDATE SET
                   follower_count = excluded.follower_count,
                   following_count = excluded.following_count,
                   likes_count = excluded.likes_count, video_count = excluded.video_count""",
            (open_id, captured_at, *(_int(stats.get(f)) for f in USER_FIELDS_STATS)),
        ).rowcount
    if listing_complete:
        rows += conn.execute(
            """INSERT INTO account_video_totals (open_id, captured_at, videos_counted,
                   view_count, like_count, comment_count, share_count)
               SELECT ?, ?, count(*), coalesce(sum(view_count), 0), coalesce(sum(like_count), 0),
                      coalesce(sum(comment_count), 0), coalesce(sum(share_count), 0)
               FROM video_snapshots WHERE open_id = ? AND captured_at = ?
               ON CONFLICT(open_id, captured_at) DO UPDATE SET
                   videos_counted = excluded.videos_counted, view_count = excluded.view_count,
                   like_count = excluded.like_count, comment_count = excluded.comment_count,
                   share_count = excluded.share_count""",
            (open_id, captured_at, open_id, captured_at),
        ).rowcount
    if user is not None:
        rows += _update_profile(db, open_id, captured_at, user, stats)
    videos_seen = conn.execute(
        "SELECT count(*) FROM video_snapshots WHERE open_id = ? AND captured_at = ?",
        (open_id, captured_at),
    ).fetchone()[0]
    return rows, videos_seen


def _update_profile(db: sqlite_utils.Database, open_id: str, captured_at: int,
                    user: dict[str, Any], stats: dict[str, Any] | None) -> int:
    """Refresh the profile columns of ``accounts`` from the newest run only (a history run of
    the demo must not put last quarter's follower count on the Accounts page)."""
    newer = db.execute(
        "SELECT 1 FROM sync_runs WHERE open_id = ? AND captured_at > ? "
        "AND status IN ('succeeded', 'partial') LIMIT 1", (open_id, captured_at),
    ).fetchone()
    if newer:
        return 0
    values: dict[str, Any] = {}
    for column, key in (("display_name", "display_name"), ("avatar_url", "avatar_url"),
                        ("union_id", "union_id"), ("username", "username"),
                        ("bio_description", "bio_description"),
                        ("profile_deep_link", "profile_deep_link")):
        if isinstance(user.get(key), str) and (user[key] or column != "display_name"):
            values[column] = user[key]
    if isinstance(user.get("is_verified"), bool):
        values["is_verified"] = int(user["is_verified"])
    if stats is not None and _int(stats.get("follower_count")) is not None:
        values["follower_count"] = _int(stats.get("follower_count"))
    if not values:
        return 0
    assignments = ", ".join(f"{c} = :{c}" for c in values)
    return db.execute(
        f"UPDATE accounts SET {assignments} WHERE open_id = :open_id",
        {**values, "open_id": open_id},
    ).rowcount


def _start_run(db: sqlite_utils.Database, open_id: str, now: int,
               options: SyncOptions) -> _Run:
    """Open a run row, or adopt the account's interrupted run if it is recent enough."""
    with write_transaction(db):
        conn = db.conn
        last = conn.execute(
            "SELECT id, captured_at, status, requests_made, rows_written, duration_ms "
            "FROM sync_runs WHERE open_id = ? ORDER BY id DESC LIMIT 1", (open_id,),
        ).fetchone()
        if last is not None and last[2] in ("running", "failed") \
                and 0 <= now - last[1] <= options.resume_within_s:
            saved, oldest = conn.execute(
                "SELECT count(*), min(v.create_time) FROM video_snapshots s "
                "JOIN videos v ON v.id = s.video_id WHERE s.open_id = ? AND s.captured_at = ?",
                (open_id, last[1]),
            ).fetchone()
            if saved:
                conn.execute(
                    "UPDATE sync_runs SET status = 'running', finished_at = NULL, error = NULL "
                    "WHERE id = ?", (last[0],),
                )
                # §3.2: the cursor may be any epoch-ms timestamp; videos posted *before* it come
                # next. One second past the oldest saved video re-reads at most its page-mates
                # posted in that second (ignored by ON CONFLICT) and never skips one.
                return _Run(id=last[0], captured_at=last[1], resumed=True,
                            requests_before=last[3] or 0, rows_before=last[4] or 0,
                            duration_before_ms=last[5] or 0, saved_videos=saved,
                            resume_cursor=(int(oldest) + 1) * 1000)
        # Runs left 'running' by a process that died are closed, so the page stops showing them.
        conn.execute(
            "UPDATE sync_runs SET status = 'failed', error = ? "
            "WHERE open_id = ? AND status = 'running'",
            ("Interrupted: Reelboard stopped before this sync finished. The videos it saved are "
             "kept; later syncs start fresh.", open_id),
        )
        captured_at = now
        # Two runs of one account in the same second would share snapshot keys; keep each run's
        # snapshot set its own.
        while conn.execute("SELECT 1 FROM sync_runs WHERE open_id = ? AND captured_at = ?",
                           (open_id, captured_at)).fetchone():
            captured_at += 1
        cur = conn.execute(
            "INSERT INTO sync_runs (open_id, captured_at, started_at, status) "
            "VALUES (?, ?, ?, 'running')", (open_id, captured_at, captured_at),
        )
        return _Run(id=int(cur.lastrowid or 0), captured_at=captured_at, resumed=False)


def _load_account(db: sqlite_utils.Database, open_id: str) -> _Account | None:
    row = db.execute(
        "SELECT open_id, display_name, username, status, status_reason, granted_scopes "
        "FROM accounts WHERE open_id = ?", (open_id,),
    ).fetchone()
    if row is None:
        return None
    label = row[1] or (f"@{row[2]}" if row[2] else open_id)
    return _Account(open_id=row[0], label=label, status=row[3], status_reason=row[4],
                    scopes=parse_scopes(row[5]))


def _previous_video_count(db: sqlite_utils.Database, open_id: str) -> int | None:
    row = db.execute(
        "SELECT videos_seen FROM sync_runs WHERE open_id = ? AND status = 'succeeded' "
        "ORDER BY id DESC LIMIT 1", (open_id,),
    ).fetchone()
    return int(row[0]) if row and row[0] else None


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------


def _video_row(raw: Any) -> dict[str, Any] | None:
    """A Video Object (tiktok-api.md §3.4) as a row, or None if it lacks an id or post time
    (security.md §5.3 N6: skip the bad record, count it, keep the page)."""
    v = raw if isinstance(raw, dict) else getattr(raw, "__dict__", {})
    vid = v.get("id")
    create_time = _int(v.get("create_time"))
    if vid in (None, "") or create_time is None:
        return None
    return {
        "id": str(vid),  # 19-digit ids stay text (DESIGN.md "Data")
        "create_time": create_time,
        "title": _text(v.get("title")),
        "description": _text(v.get("video_description")),
        "duration": _int(v.get("duration")),
        "width": _int(v.get("width")),
        "height": _int(v.get("height")),
        "cover_image_url": _text(v.get("cover_image_url")),
        "share_url": _text(v.get("share_url")),
        "embed_link": _text(v.get("embed_link")),
        "view_count": _int(v.get("view_count")),
        "like_count": _int(v.get("like_count")),
        "comment_count": _int(v.get("comment_count")),
        "share_count": _int(v.get("share_count")),
    }


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    try:
        return int(value)  # a numeric string (schema drift, security.md §5.3 N6)
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _missing_sentence(missing: Sequence[str]) -> str:
    parts = []
    if SCOPE_VIDEO_LIST in missing:
        parts.append("videos were not synced (the account did not grant video.list)")
    if SCOPE_STATS in missing:
        parts.append("follower, like and video counts were not recorded (the account did not "
                     "grant user.info.stats)")
    if SCOPE_PROFILE in missing:
        parts.append("username and bio were not updated (the account did not grant "
                     "user.info.profile)")
    return ("Partly synced: " + "; ".join(parts)
            + ". Use \"Grant more\" on the Accounts page to allow them.")


def _skip_reason(account: _Account) -> str:
    if account.status == "needs_reconnect":
        why = f" ({account.status_reason})" if account.status_reason else ""
        return (f"Skipped: TikTok no longer accepts this account's authorization{why}. "
                "Reconnect it on the Accounts page, then sync again.")
    return f"Skipped: the account is {account.status}. Connect it again to sync it."


def _is_auth(exc: BaseException) -> bool:
    return isinstance(exc, TikTokAuthError | OAuthError | AccountNeedsReconnect)


def _message(exc: BaseException) -> str:
    return str(getattr(exc, "message", None) or exc)


__all__ = [
    "PAGE_SIZE",
    "VIDEO_FIELDS",
    "SyncOptions",
    "SyncResult",
    "sync_account",
    "sync_accounts",
    "sync_from_cli",
]
