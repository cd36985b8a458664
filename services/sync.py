"""Sync: snapshot each connected account's stats and every public video's counters into the cache.

One run per account, with the fewest Display API requests the API allows:

* one ``user/info`` for the profile and (if granted) follower/like/video counts
(https://developers.tiktok.com/doc/tiktok-api-v2-get-user-info), which also sizes the progress bar;
* one pass of ``video/list`` with ``max_count=20`` asking for metadata *and* the four counters in
  the same ``fields`` list (§3.2, §3.4: every Video Object field needs only ``video.list``), so a
  second pass through ``video/query`` is never needed: ≈ 1 + ceil(N/20) requests.

Writes are short ``BEGIN IMMEDIATE`` transactions with no network call inside (our reliability
rules):
one per page of 20 videos (upsert the video rows, insert the snapshots with ON CONFLICT DO
NOTHING), and one final transaction for the account snapshot, the run's totals, removals and
the run's bookkeeping. Every snapshot of one run carries the run's ``captured_at``, taken once at
the start. A run killed at any point leaves only whole pages behind; the next run of the account
within ``resume_within_s`` adopts that run and its ``captured_at`` and continues after the last
saved video (§3.2: the cursor may be "any timestamp to get videos posted before it"), so the
cache ends exactly as one clean run would leave it (our reliability rules N8–N9).

The listing is pipelined: a helper thread requests the pages one after another, up to
READ_AHEAD_PAGES ahead, while the run's thread writes them (writes stay on the run's own thread
and connection, in order). Videos the account already owns are written with one UPDATE per page
and their snapshots with their integer keys (_store_page; the general upsert covers the rest).
The access token is decrypted once per run (services.accounts.RunToken).
Snapshots go to ``video_snapshot_rows`` with integer keys (migration 0008); each video's
latest counters are kept on ``videos`` and its hashtags in ``video_hashtags`` (migration 0007).

Pacing happens below the TikTok client (services.ratelimit.paced_session): every HTTP attempt
waits for a slot in our own per-endpoint, per-account window set below TikTok's limit, shared by
every process of the data directory. One sync per account runs at a time across processes
(services.sync_lease): a second one says "already running" and makes no request.
"""

from __future__ import annotations

import collections
import functools
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import sqlite_utils

from services.access import Actor, authorize, record
from services.accounts import AccountNeedsReconnect, RunToken
from services.analytics.hashtags import video_tags
from services.clock import Clock, to_epoch, utc_now
from services.db import open_db, write_transaction
from services.errors import ReelboardError
from services.ratelimit import DISPLAY_LIMIT_PER_MINUTE, Pacer, PacingCancelled, paced_session
from services.sync_lease import claim_sync_lease
from services.tiktok.errors import OAuthError, TikTokAuthError, TikTokError, TikTokScopeError
from services.tiktok.scopes import parse_scopes, user_fields_for

log = logging.getLogger(__name__)
_T = TypeVar("_T")

ProgressCallback = Callable[[int, int | None, str], None]
Status = Literal["succeeded", "partial", "failed", "skipped"]

PAGE_SIZE = 20  # https://developers.tiktok.com/doc/tiktok-api-v2-video-list: max_count ≤ 20
PACING_FILE = "pacing.db"  # in the data dir: the request window every process shares

SCOPE_STATS = "user.info.stats"
SCOPE_PROFILE = "user.info.profile"
SCOPE_VIDEO_LIST = "video.list"

# https://developers.tiktok.com/doc/tiktok-api-v2-get-user-info: request only fields the grant
# covers (services.tiktok.scopes picks them),
# or user/info answers `scope_permission_missed` for the whole call (§5).
USER_FIELDS_BASIC = ("open_id", "union_id", "avatar_url", "display_name")
USER_FIELDS_PROFILE = ("username", "bio_description", "profile_deep_link", "is_verified")
USER_FIELDS_STATS = ("follower_count", "following_count", "likes_count", "video_count")
USER_FIELDS = USER_FIELDS_BASIC + USER_FIELDS_PROFILE + USER_FIELDS_STATS
# https://developers.tiktok.com/doc/tiktok-api-v2-video-object: metadata and counters in one list
# pass (no video/query round).
VIDEO_FIELDS = (
    "id", "create_time", "title", "video_description", "duration", "width", "height",
    "cover_image_url", "share_url", "embed_link",
    "view_count", "like_count", "comment_count", "share_count",
)

_COUNTERS = ("view_count", "like_count", "comment_count", "share_count")
_METADATA_COLUMNS = (
    "create_time", "title", "description", "duration", "width", "height",
    "cover_image_url", "share_url", "embed_link",
)

#: The largest counter stored (views, likes, followers …). TikTok's most-viewed video has about
#: 2.5 billion views (2.5·10^9); 10^12 is 400 times that, so no real count is refused, and a
#: sum over nine million such counters still fits SQLite's and numpy's int64 (2^63 ≈ 9.2·10^18).
#: Anything larger (a valid int64 such as 2^62, or 10^30, which SQLite cannot store) is an error
#: in the answer, stored as null and said in the run's note (the fault catalogue (tests/faults) N6).
MAX_COUNT = 10**12
#: Sums of counters are taken with SQLite's total() (a float: it never raises "integer overflow")
#: and capped here; below 2^53 a float sum of non-negative integers is exact.
_MAX_EXACT_TOTAL = 2**53 - 1
#: Post times: after 2000-01-01 and before 2100-01-01 (epoch seconds); anything else is not a
#: post time and the record is skipped.
_CREATE_TIME_RANGE = (946_684_800, 4_102_444_800)
#: A field TikTok did not send (as opposed to one it sent as null).
NOT_SENT: Any = object()
#: The opening words of the note on a run that crashed; such a run is never adopted (_start_run).
_CRASH_LEAD = "Reelboard hit an unexpected error"


@dataclass(frozen=True)
class SyncOptions:
    """Knobs for a sync; the defaults follow TikTok's published limits."""

    # : The server's per-endpoint limit (https://developers.tiktok.com/doc/tiktok-api-v2-rate-limit:
    # 600/min). Lower it to match a sandbox
    #: started with a lower ``rate_limit_per_minute``; the pacer keeps 90 % of it.
    requests_per_minute: int = DISPLAY_LIMIT_PER_MINUTE
    #: Pagination safety (our reliability rules): never more pages than this in one run
    #: (2,500 pages = 50,000 videos, far above any creator we serve).
    max_pages: int = 2_500
    #: A run interrupted less than this long ago (by the sync clock) is continued, not restarted,
    #: so its snapshots stay "as of" one moment. Older ones are left as they are.
    resume_within_s: int = 3_600
    #: our reliability rules: at most ~10 minutes per job; the rest waits for the next run.
    max_duration_s: float = 600.0
    #: Accounts synced at once (each with its own thread and SQLite connection).
    max_workers: int = 8

    @classmethod
    def from_settings(cls, settings: Any) -> SyncOptions:
        """Options from Settings; ``sync_requests_per_minute`` is used when Settings has it."""
        rpm = getattr(settings, "sync_requests_per_minute", None)
        return cls(requests_per_minute=int(rpm)) if rpm else cls()


_STATUS_WORDS = {"succeeded": "synced", "partial": "partly synced", "failed": "sync failed",
                 "skipped": "not synced"}


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
    #: Skipped because another sync of the account (this or another process) was running.
    already_running: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    def summary(self) -> str:
        head = f"{self.label}: {_STATUS_WORDS.get(self.status, self.status)}"
        if self.run_id is not None:
            # Marketer's words; request and row counts stay in the audit trail and the CLI log.
            head += (f" — {self.videos_seen:,} video{'s' if self.videos_seen != 1 else ''} "
                     f"checked in {self.duration_ms / 1000:.1f} s")
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
    key: int  # accounts.account_key: the account in the snapshot table


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
    ignored: list[str] = field(default_factory=list)  # numeric fields sent with a bad value


# One sync per account and cache at a time in this process: a second click in another browser
# tab gets "already running" instead of a second, interleaved run. Across processes the same
# is done by a lease on the account row (services.sync_lease).
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
    # One connection on this thread for the check and the audit rows (the runs have their own).
    with open_db(settings.database_path) as db:
        authorize(db, actor, "sync")
        try:
            results = _sync_accounts(settings, open_ids, **kwargs)
        except BaseException as exc:  # cancelled, or the progress callback failed: say so
            record(db, actor, "sync", outcome="failed",
                   details={"error": getattr(exc, "step", type(exc).__name__)})
            raise
        _audit(db, actor, results)
    return results


def audit_sync(settings: Any, actor: Actor, results: Sequence[SyncResult],
               kind: str = "sync") -> None:
    """One audit row per account run (``ok`` only when it synced fully)."""
    with open_db(settings.database_path) as db:
        _audit(db, actor, results, kind)


def _audit(db: sqlite_utils.Database, actor: Actor, results: Sequence[SyncResult],
           kind: str = "sync") -> None:
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
    per account (a single account runs on this thread); ``on_progress(done, total, message)`` is
    always called on *this* thread (so a Streamlit page can draw from it), aggregated over all
    accounts in videos. If the callback raises, the runs stop at their next page and the
    exception propagates.
    ``clock`` gives each run's ``captured_at``; ``pacer`` is shared by all accounts (pass one
    whose clock is the server's when the server's clock is simulated).
    """
    options = options or SyncOptions.from_settings(settings)
    own_pacer = pacer is None
    if pacer is None:
        # Shared by every process of this data dir: cron and "Sync now" draw on one budget.
        from pathlib import Path

        data_dir = getattr(settings, "data_dir", None)
        pacer = Pacer(options.requests_per_minute,
                      shared_path=None if data_dir is None else Path(data_dir) / PACING_FILE)
    cancel = cancel or threading.Event()
    factory = client_factory or _default_client_factory
    if open_ids is None or (keyring is None and open_ids):
        open_ids, keyring = _accounts_and_keyring(settings, open_ids, keyring)
    open_ids = list(dict.fromkeys(open_ids))  # drop repeats, keep order
    if not open_ids:
        return []
    try:
        return _sync_concurrently(settings, open_ids, clock=clock, options=options,
                                  on_progress=on_progress, pacer=pacer, cancel=cancel,
                                  factory=factory, keyring=keyring)
    finally:
        if own_pacer:
            pacer.close()


def _accounts_and_keyring(settings: Any, open_ids: Sequence[str] | None,
                          keyring: Any) -> tuple[Sequence[str], Any]:
    """The accounts to sync (``None``: every one not disconnected) and the keyring."""
    with open_db(settings.database_path) as db:
        if open_ids is None:
            rows = db.execute(
                "SELECT open_id FROM accounts WHERE status != 'disconnected' "
                "ORDER BY connected_at, open_id"
            ).fetchall()
            open_ids = [r[0] for r in rows]
        if keyring is None and open_ids:
            from services.crypto import load_keyring

            keyring = load_keyring(settings, db)
    return open_ids, keyring


def _sync_concurrently(settings, open_ids, *, clock, options, on_progress, pacer, cancel,
                       factory, keyring) -> list[SyncResult]:
    db_path = settings.database_path

    # Workers report through this queue; None marks a finished worker, so the loop below
    # wakes the moment the last account is done instead of on a polling tick.
    events: queue.Queue[tuple[str, int, int | None, str] | None] = queue.Queue()

    def work(open_id: str, report: ProgressCallback | None = None) -> SyncResult:
        # Nobody listening: no event (and no wake-up of the loop below) per page.
        if report is None and on_progress is not None:
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

    if len(open_ids) == 1:  # the common case (a click on one account, its scheduled sync)
        return [_sync_here(work, open_ids[0], on_progress, cancel)]

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


def _sync_here(work: Callable[..., SyncResult], open_id: str,
               on_progress: ProgressCallback | None, cancel: threading.Event) -> SyncResult:
    """One account's run on this thread: no worker to start, nothing to hand back at the end.

    As with several accounts, a progress callback that raises stops the run at its next
    checkpoint (the cancel event) and its exception propagates once the run has ended."""
    raised: list[BaseException] = []

    def report(done: int, total: int | None, message: str) -> None:
        if on_progress is None or raised:
            return
        try:
            on_progress(done, total, message)
        except BaseException as exc:
            raised.append(exc)
            cancel.set()

    result = work(open_id, report if on_progress is not None else None)
    if raised:
        raise raised[0]
    return result


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
        return _already_running(open_id, db=db)
    try:
        lease = claim_sync_lease(db, open_id)
        if lease is None:  # another process (cron, the app, a CLI run) is syncing it
            return _already_running(open_id, db=db)
        try:
            return _SyncRun(db, client, keyring, open_id, clock, options, on_progress, cancel,
                            requests_counter).run()
        finally:
            lease.release()
    finally:
        lock.release()


def _already_running(open_id: str, *, db: sqlite_utils.Database | None = None) -> SyncResult:
    # The result is read by people: name the account, never its raw open_id.
    account = _load_account(db, open_id) if db is not None else None
    label = account.label if account is not None else "This account"
    return SyncResult(open_id, label, "skipped", already_running=True,
                      error="A sync of this account is already running (here or in another "
                            "Reelboard process, such as a scheduled sync); it carries on, and "
                            "its result appears when it finishes. Nothing was requested twice.")


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


#: Pages the listing's helper thread may fetch before the run's thread takes them. The writes
#: keep up easily (a page is written in a fraction of the time its request takes), but now
#: and then a commit also checkpoints the WAL into the database file and waits for the disk
#: for tens of milliseconds; the requests go on meanwhile. A stopped run loses at most these
#: pages (unwritten; the next run reads them again).
READ_AHEAD_PAGES = 8

#: How often the listing asks services.accounts.RunToken for the token (it refreshes it 5
#: minutes before expiry and re-reads the row every 30 s): not for every page, since each ask
#: switches the connection to fsynced commits and back.
TOKEN_CHECK_S = 1.0

#: Every so many pages, a page's commit is fsynced (the others are not, see
#: _SyncRun._list_videos). The disk then writes the listing's pages while the listing goes on,
#: the wait hidden behind the requests (READ_AHEAD_PAGES), instead of all of them at the run's
#: final commit, with nothing left to overlap it.
FSYNC_EVERY_PAGES = 16

#: What the helper thread hands over instead of a page when the run was cancelled or ran out
#: of time before its next request (the run's thread says which, _SyncRun._page).
_STOPPED = object()


class _ReadAhead:
    """The listing's video/list requests on a helper thread, while the run's thread writes.

    Each request goes out as soon as the page before it has arrived (no hand-over between
    the two threads sits between one request and the next, as it would if the writing thread
    sent each request), as long as fewer than READ_AHEAD_PAGES pages wait to be written. One
    request at a time. The thread stops by itself after the last page, after a page the
    listing cannot go on from (_SyncRun._cursor_problem, so a repeating cursor costs no extra
    request), after an error (handed over in the page's place) and when the run is cancelled
    or out of time. Tokens come from the run's thread (``go_on``): the database connection
    they are read from is that thread's.
    """

    def __init__(self, run: _SyncRun, fields: list[str]) -> None:
        self._run = run
        self._fields = fields
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None
        self._token = ""
        self._ready: collections.deque[tuple[Any, BaseException | None]] = collections.deque()
        self._halted = False
        self._ended = False  # the thread has returned
        self.restart = False  # set when the run's thread fetched a page itself

    def start(self, cursor: int | None, pages: int, token: str) -> None:
        """Fetch from ``cursor`` on, the pages after page number ``pages``."""
        with self._cv:
            self._token = token
            self._ready.clear()
            self._halted = self._ended = False
        self._thread = threading.Thread(target=self._fetch_pages, args=(cursor, pages),
                                        name="reelboard-fetch", daemon=True)
        self._thread.start()

    def go_on(self, token: str | None, cursor: int | None, pages: int) -> None:
        """The listing goes on after page number ``pages`` (whose next cursor is ``cursor``);
        ``token``, if not None, is the one to send from now on."""
        if self.restart:
            self.restart = False
            self.close()
            self.start(cursor, pages, token or self._token)
            return
        if token is not None:
            with self._cv:
                self._token = token

    def next(self) -> Any:
        """The next page (or _STOPPED); raises the error its request ended with."""
        with self._cv:
            while not self._ready:
                if self._ended:  # never expected: the thread ends after handing its last page
                    raise RuntimeError("the video list reader stopped without a page")
                self._cv.wait()
            page, error = self._ready.popleft()
            self._cv.notify_all()
        if error is not None:
            raise error
        return page

    def halt(self) -> None:
        """No further request (one already sent still completes)."""
        with self._cv:
            self._halted = True
            self._cv.notify_all()

    def close(self) -> None:
        """Halt, and wait for a request in flight (so that it is counted)."""
        self.halt()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _fetch_pages(self, cursor: int | None, pages: int) -> None:
        try:
            self._fetch_from(cursor, pages)
        except BaseException as exc:  # never expected; the run's thread gets it, not a hang
            self._hand(None, exc)
        finally:
            with self._cv:
                self._ended = True
                self._cv.notify_all()

    def _fetch_from(self, cursor: int | None, pages: int) -> None:
        run = self._run
        while True:
            with self._cv:
                while not self._halted and len(self._ready) >= READ_AHEAD_PAGES:
                    self._cv.wait()
                if self._halted:
                    return
                token = self._token
            if (run.cancel is not None and run.cancel.is_set()) \
                    or time.monotonic() - run.started > run.options.max_duration_s:
                self._hand(_STOPPED, None)
                return
            try:
                page = run.client.list_videos(token, self._fields, cursor=cursor,
                                              max_count=PAGE_SIZE)
            except BaseException as exc:  # the run's thread raises it in the page's place
                self._hand(None, exc)
                return
            pages += 1
            self._hand(page, None)
            if not page.has_more or run._cursor_problem(
                    page, list(page.videos or []), cursor, pages) is not None:
                return
            cursor = page.cursor

    def _hand(self, page: Any, error: BaseException | None) -> None:
        with self._cv:
            if not self._halted:
                self._ready.append((page, error))
                self._cv.notify_all()


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
        self._caller_raised = False
        self.run_row: _Run | None = None
        self.rows_written = 0
        self.started = time.monotonic()
        self.requests_at_start = self._count()
        self.tokens = RunToken(db, client, keyring, open_id, clock=clock)
        self._captions: dict[str, _Memory] | None = None

    # -- the whole run ------------------------------------------------------------------------

    def run(self) -> SyncResult:
        """The run; anything unexpected ends it ``failed`` with a sentence instead of a
        traceback. Exceptions raised by the caller's progress callback (and KeyboardInterrupt)
        still propagate: the caller stopped us on purpose."""
        try:
            return self._run()
        except Exception as exc:
            if self._caller_raised:
                raise
            return self._crashed(exc)

    def _run(self) -> SyncResult:
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
        self.run_row = _start_run(self.db, self.open_id, to_epoch(self.clock()), self.options,
                                  account.key)
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
            if user is not None:
                user = _clean_user(user, self.progress.ignored)
            if user is not None and user.get("video_count") is not None:
                self.progress.total = max(user["video_count"], self.progress.done)
            elif SCOPE_VIDEO_LIST in account.scopes:
                self.progress.total = _previous_video_count(self.db, self.open_id)
            self._report(f"{account.label}: profile read")

            if SCOPE_VIDEO_LIST in account.scopes:
                try:
                    listing_complete = self._list_videos(account)
                    short = self._listing_shortfall(user) if listing_complete else None
                    if short is not None:
                        listing_complete = False
                        partial_reasons.append(short)
                except _Stop as stop:
                    if stop.resumable:
                        failure = stop.message
                    else:
                        partial_reasons.append(stop.message)
                except TikTokScopeError:
                    # The grant changed in TikTok since it was stored (the fault catalogue
                    # (tests/faults) T7).
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
            if isinstance(exc, Exception) and not self._caller_raised:
                raise  # a crash, not a stop: run() records it and answers with a sentence
            # The caller stopped us (progress callback, Ctrl-C, a Streamlit rerun).
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
        if self.progress.ignored:
            partial_reasons.append(_ignored_sentence(self.progress.ignored))
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
        """Call ``fn(access_token, …)`` with the run's token (services.accounts.RunToken:
        decrypted once per run, refreshed near expiry): one forced refresh on
        `access_token_invalid`, then `needs_reconnect` (the fault catalogue (tests/faults) T6). The
        sync clock
        goes along, so token expiry is judged on the same (maybe simulated) time as the
        server's."""
        self._check_cancel()
        return self.tokens.call(lambda token: fn(token, *args, **kwargs))

    def _user_info(self, account: _Account, missing: list[str]) -> dict[str, Any] | None:
        """user/info with only the fields the grant covers
        (https://developers.tiktok.com/doc/tiktok-api-v2-get-user-info). If TikTok still
        says a permission is missing (the creator changed the grant in TikTok), note it and ask
        again for the basic fields only, so the run goes on (the fault catalogue (tests/faults) T7).
        """
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
        """The single video/list pass; True when TikTok said there is nothing more.

        Pipelined: a helper thread (_ReadAhead) requests the pages one after another, each as
        soon as the one before has arrived, while this thread writes them. Writes stay here,
        one transaction per page, in order: a run stopped at any point has whole pages behind
        it and resumes after the last one saved. One request is in flight at a time; on a
        stop it is awaited (and counted) before the run is closed, and pages fetched but not
        yet written (at most READ_AHEAD_PAGES) are read again by the next run.

        Page commits skip the fsync (``synchronous=NORMAL`` while the listing runs; services.db
        sets FULL for every connection). In WAL mode that cannot corrupt the file; a power cut
        may only lose the last pages, which the next run re-reads because it resumes from what
        is actually stored (our reliability rules allow NORMAL outside the token and post
        tables). Token calls, which may store a rotated refresh token, switch back to FULL
        (_durably), as does the end of the listing before the run's final transaction; each
        FULL commit makes the pages before it durable too.
        """
        fields = list(VIDEO_FIELDS)
        cursor = self.run_row.resume_cursor
        pages = 0
        self._check_deadline()
        self._check_cancel()
        ahead = _ReadAhead(self, fields)
        try:
            ahead.start(cursor, pages, self.tokens.current())
            token_at = time.monotonic()
            # While the first page is on its way: then the helper thread mostly waits for
            # TikTok, and this read of every video row of the account competes with nothing.
            self._captions = _run_memory(self.db, self.open_id)
            self.db.conn.execute("PRAGMA synchronous=NORMAL")
            while True:
                page = self._page(ahead, fields, cursor)
                pages += 1
                videos = list(page.videos or [])
                stop = None if not page.has_more else self._cursor_problem(page, videos, cursor,
                                                                           pages)
                deferred: BaseException | None = None
                if page.has_more and stop is None:
                    try:  # the next request is on its way; this page is written meanwhile
                        self._check_deadline()
                        self._check_cancel()
                        token = None  # the helper keeps the one it has
                        if ahead.restart or time.monotonic() - token_at >= TOKEN_CHECK_S:
                            # On this thread: it may read or refresh the row.
                            token = self._durably(self.tokens.current)
                            token_at = time.monotonic()
                        ahead.go_on(token, page.cursor, pages)
                    except BaseException as exc:  # raised after this page is saved
                        ahead.halt()
                        deferred = exc
                if videos:
                    if pages % FSYNC_EVERY_PAGES:
                        self.rows_written += self._save_page(videos)
                    else:  # see FSYNC_EVERY_PAGES
                        self.rows_written += self._durably(functools.partial(self._save_page,
                                                                             videos))
                    self._report(f"{account.label}: {self.progress.done}"
                                 + (f" of ~{self.progress.total}" if self.progress.total else "")
                                 + " videos")
                if not page.has_more:
                    return True
                if stop is not None:
                    raise _Stop(stop.message.format(done=self.progress.done),
                                resumable=stop.resumable)
                if deferred is not None:
                    raise deferred
                cursor = page.cursor
        finally:
            try:
                ahead.close()
            finally:
                self.db.conn.execute("PRAGMA synchronous=FULL")

    def _durably(self, call: Callable[[], _T]) -> _T:
        """``call()`` with fsynced commits (a token refresh stores the rotated refresh token)."""
        conn = self.db.conn
        conn.execute("PRAGMA synchronous=FULL")
        try:
            return call()
        finally:
            conn.execute("PRAGMA synchronous=NORMAL")

    def _page(self, ahead: _ReadAhead, fields: list[str], cursor: int | None) -> Any:
        try:
            page = ahead.next()
        except TikTokAuthError:
            log.info("sync %s: access token rejected by TikTok; refreshing once", self.open_id)
        else:
            if page is not _STOPPED:
                return page
            # Cancelled or out of time before this page's request: say which.
            self._check_deadline()
            self._check_cancel()
            raise _Stop(f"Stopped after {self.progress.done} videos because the sync was "
                        "cancelled; the next sync continues from there.", resumable=True)
        self._check_cancel()
        page = self._durably(lambda: self.tokens.after_rejection(
            lambda token: self.client.list_videos(token, fields, cursor=cursor,
                                                  max_count=PAGE_SIZE)))
        ahead.restart = True  # its thread stopped at the rejection; go_on starts another
        return page

    def _cursor_problem(self, page: Any, videos: list[Any], cursor: int | None,
                        pages: int) -> _Stop | None:
        """Why the listing cannot go on after a page that claims more, or None."""
        # https://developers.tiktok.com/doc/tiktok-api-v2-video-list gives no guarantee against a
        # repeating cursor or an empty page
        # that claims more: never loop (our reliability rules N7).
        # (progress.done does not count this page yet: the messages are built after its write.)
        if not videos:
            return _Stop("Stopped after {done} videos: TikTok returned an empty page that "
                         "claims more videos follow.", resumable=False)
        # §3.2: the cursor is a time and videos come newest first, so each cursor must be
        # older (smaller) than the one before; a repeat or a newer one would re-read pages.
        if page.cursor is None or (cursor is not None and page.cursor == cursor):
            return _Stop("Stopped after {done} videos: TikTok's list cursor stopped advancing, "
                         "so the list is incomplete and nothing was marked as removed.",
                         resumable=False)
        if cursor is not None and page.cursor > cursor:
            return _Stop("Stopped after {done} videos: TikTok's list cursor went backwards, so "
                         "the list is incomplete and nothing was marked as removed.",
                         resumable=False)
        if pages >= self.options.max_pages:
            return _Stop(f"Stopped after {pages} pages ({{done}} videos), the most one sync "
                         "reads.", resumable=False)
        return None

    def _listing_shortfall(self, user: dict[str, Any] | None) -> str | None:
        """A sentence when a listing that TikTok called complete is far short of the profile's
        ``video_count``, else None.

        A cursor that jumps back in time skips pages and still ends with ``has_more: false``;
        only the profile's count shows it. "Far" is more than a tenth of the videos, and more
        than one: the two answers are read seconds apart, so a post or a deletion in between
        (and counts TikTok updates later) must not make a run incomplete, while one skipped
        page of 20 is caught on accounts of up to ~200 videos and larger jumps on any account.
        Videos we already know are gone (deleted or made private since an earlier listing) are
        subtracted, in case the profile still counts them.
        """
        expected = None if user is None else user.get("video_count")
        if expected is None:
            return None  # no user.info.stats grant, or no usable count: nothing to compare
        listed = self.db.execute(
            "SELECT count(*) FROM video_snapshot_rows WHERE account_key = ? AND captured_at = ?",
            (self.account.key, self.run_row.captured_at)).fetchone()[0]
        if expected - listed <= max(1, expected // 10):
            # Close enough before subtracting the videos known to be gone, so close enough
            # after (a smaller count lowers the gap at least as fast as the allowance), and
            # their count, a read of every video row of the account, is not needed.
            return None
        gone = self.db.execute(
            "SELECT count(*) FROM videos WHERE open_id = ? AND removed_at IS NOT NULL",
            (self.open_id,)).fetchone()[0]
        expected = max(0, expected - gone)
        if expected - listed <= max(1, expected // 10):
            return None
        return (f"TikTok's video list ended after {listed} of the {expected} public videos the "
                "profile reports, so the list is incomplete (its cursor may have jumped) and "
                "nothing was marked as removed. Syncing again later is safe.")

    def _check_deadline(self) -> None:
        if time.monotonic() - self.started > self.options.max_duration_s:
            raise _Stop(
                f"Stopped after {self.progress.done} videos to keep the run under "
                f"{self.options.max_duration_s / 60:.0f} minutes (our reliability rules); the "
                "next sync continues from there.", resumable=True)

    def _save_page(self, videos: Iterable[Any]) -> int:
        rows = []
        for raw in videos:
            row = _video_row(raw, self.progress.ignored)
            if row is None:
                self.progress.bad_records += 1
                continue
            rows.append(row)
        if not rows:
            return 0
        if self._captions is None:  # once per run: one indexed read instead of one per page
            self._captions = _run_memory(self.db, self.open_id)
        written = _write_page(self.db, self.open_id, self.run_row.captured_at, rows,
                              self.account.key, self._captions)
        self.progress.done += written.new_snapshots
        return written.rows

    # -- bookkeeping ---------------------------------------------------------------------------

    def _report(self, message: str) -> None:
        if self.progress.total is not None and self.progress.done > self.progress.total:
            self.progress.total = self.progress.done
        if self.on_progress is not None:
            try:
                self.on_progress(self.progress.done, self.progress.total, message)
            except BaseException:
                self._caller_raised = True  # the caller's own stop: let it propagate
                raise

    def _check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise _Stop(f"Stopped after {self.progress.done} videos because the sync was "
                        "cancelled; the next sync continues from there.", resumable=True)

    def _crashed(self, exc: Exception) -> SyncResult:
        """End the run ``failed`` after an unexpected error: the traceback goes to the server
        log, the run and the caller get a sentence, and the run is never adopted (it could
        only crash the same way again)."""
        log.error("sync %s: crashed", self.open_id, exc_info=exc)
        label = getattr(getattr(self, "account", None), "label", self.open_id)
        storage = _storage_trouble(exc)
        if storage is not None:
            # The cache, not the data, failed: the run may be continued once it is fixed.
            error = (f"Stopped after {self.progress.done} videos: the cache could not be "
                     f"written ({storage}). Nothing half-written was kept; fix that, then sync "
                     "again (safe to retry).")
        else:
            error = (f"{_CRASH_LEAD} ({type(exc).__name__}) after {self.progress.done} videos "
                     "and stopped this sync. The videos already saved are kept; the next sync "
                     "starts afresh. If this happens again, the server log has the details.")
        run = self.run_row
        if run is None:
            return SyncResult(self.open_id, label, "failed", error=error)
        _close_run(self.db, run.id, "failed", error, to_epoch(self.clock()))
        return SyncResult(self.open_id, label, "failed", run_id=run.id,
                          captured_at=run.captured_at, error=error, resumed=run.resumed,
                          duration_ms=int((time.monotonic() - self.started) * 1000))

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
                    listing_complete=listing_complete, account_key=self.account.key,
                    memory=self._captions,
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
                _close_run(self.db, run.id, status, error, to_epoch(self.clock()))
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


#: The run's memory of one video the account owns, per id (_run_memory): title, description,
#: last_seen_at, video_key, rowid (None where not known).
_Memory = tuple[Any, Any, int, int | None, int | None]


def _run_memory(db: sqlite_utils.Database, open_id: str) -> dict[str, _Memory]:
    """The account's videos as stored, read once per run and kept current by _store_page."""
    return {r[0]: r[1:] for r in db.execute(
        "SELECT id, title, description, last_seen_at, video_key, rowid FROM videos "
        "WHERE open_id = ?", (open_id,))}


def _write_page(db: sqlite_utils.Database, open_id: str, captured_at: int,
                rows: list[dict[str, Any]], account_key: int,
                captions: dict[str, _Memory] | None = None) -> _PageWrite:
    """One page = one transaction: the page's videos and snapshots land together or not at all.

    The listing writes its pages with ``synchronous=NORMAL`` (_SyncRun._list_videos)."""
    with write_transaction(db):
        return _store_page(db, open_id, captured_at, rows, account_key, captions)


_UPSERT_VIDEO = (
    "INSERT INTO videos (id, video_key, open_id, " + ", ".join(_METADATA_COLUMNS)
    + ", first_seen_at, last_seen_at, removed_at, " + ", ".join(_COUNTERS) + ", counted_at)"
    " VALUES (:id, :video_key, :open_id, "
    + ", ".join(f":{c}" for c in _METADATA_COLUMNS) + ", :seen, :seen, NULL, "
    + ", ".join(f":{c}" for c in _COUNTERS) + ", :seen) "
    "ON CONFLICT(id) DO UPDATE SET "
    # A history run (demo time travel) may be older than what we already know: metadata follows
    # the newest observation, the seen-range widens, and only a newer sighting undoes a removal.
    + ", ".join(
        f"{c} = CASE WHEN excluded.last_seen_at >= videos.last_seen_at "
        f"THEN excluded.{c} ELSE videos.{c} END"
        # create_time never changes, and leaving it out spares the account index a rewrite.
        for c in _METADATA_COLUMNS if c != "create_time"
    )
    # The latest counters are those of the newest snapshot (the first one written at a given
    # captured_at wins, as the snapshot's ON CONFLICT DO NOTHING does).
    + "".join(
        f", {c} = CASE WHEN videos.counted_at IS NULL OR excluded.counted_at > videos.counted_at "
        f"THEN excluded.{c} ELSE videos.{c} END"
        for c in (*_COUNTERS, "counted_at")
    )
    + ", first_seen_at = min(videos.first_seen_at, excluded.first_seen_at)"
    ", last_seen_at = max(videos.last_seen_at, excluded.last_seen_at)"
    ", removed_at = CASE WHEN videos.removed_at <= excluded.last_seen_at THEN NULL"
    " ELSE videos.removed_at END"
    " WHERE videos.open_id = excluded.open_id"
)

# A video id owned by another account is never re-pointed (the upsert's WHERE); it gets no
# snapshot under this account either.
# Snapshots go to the compact table (integer keys; migration 0008), not the compatibility view.
_INSERT_SNAPSHOT = (
    "INSERT INTO video_snapshot_rows (video_key, captured_at, account_key, view_count, "
    "like_count, comment_count, share_count) SELECT v.video_key, :captured_at, :account_key, "
    ":view_count, :like_count, :comment_count, :share_count "
    "FROM videos v WHERE v.id = :id AND v.open_id = :open_id "
    "ON CONFLICT(video_key, captured_at) DO NOTHING"
)


# Every sync after an account's first meets mostly videos it already owns, last seen by an older
# run. For those the upsert's outcome is known in advance (metadata from this run, counters by
# the CASE on counted_at, the seen-range ending here), so one UPDATE … FROM a VALUES list writes
# them all, found by rowid, with the upsert's own guards in its WHERE (a stale run memory only
# makes it update fewer rows, and then the page goes through the upsert, which is idempotent).
# Their snapshots, and those of videos this page inserts, go in with the integer key known in
# advance, without the join on `videos`. One statement per page instead of one step per video
# also matters for the fetch thread: SQLite releases the GIL for a statement's step, and every
# release lets the other thread's Python run before this one gets it back.
_QUICK_COLUMNS = ("id", *(c for c in _METADATA_COLUMNS if c != "create_time"), *_COUNTERS)


@functools.lru_cache(maxsize=PAGE_SIZE)
def _update_owned_sql(count: int) -> str:
    """``UPDATE videos`` for ``count`` videos this account owns that this run is not older than.

    Parameters: ?1 captured_at, ?2 open_id, then each video's rowid and ``_QUICK_COLUMNS``. The
    SET is the upsert's for that case: every right-hand side reads the row as it was."""
    width = 1 + len(_QUICK_COLUMNS)
    values = ", ".join(
        "(" + ", ".join(f"?{3 + i * width + j}" for j in range(width)) + ")" for i in range(count))
    # A VALUES list names its columns column1, column2, …: the rowid, then _QUICK_COLUMNS.
    page = {c: f"page.column{j + 2}" for j, c in enumerate(_QUICK_COLUMNS)}
    newer = "videos.counted_at IS NULL OR ?1 > videos.counted_at"
    sets = [f"{c} = {page[c]}" for c in _QUICK_COLUMNS[1:] if c not in _COUNTERS]
    sets += [f"{c} = CASE WHEN {newer} THEN {page[c]} ELSE videos.{c} END" for c in _COUNTERS]
    sets += [f"counted_at = CASE WHEN {newer} THEN ?1 ELSE videos.counted_at END",
             "first_seen_at = min(videos.first_seen_at, ?1)",
             "last_seen_at = ?1",  # max(last_seen_at, ?1): the WHERE says it is not larger
             "removed_at = CASE WHEN videos.removed_at <= ?1 THEN NULL "
             "ELSE videos.removed_at END"]
    # Not a WITH clause: the sqlite3 module counts changes only for statements that start
    # with INSERT, UPDATE, DELETE or REPLACE, and the row count is the guard. The id is
    # compared as well: a VACUUM (services.retention) may renumber rowids between two runs.
    return (f"UPDATE videos SET {', '.join(sets)} FROM (VALUES {values}) AS page "
            f"WHERE videos.rowid = page.column1 AND videos.id = {page['id']} "
            "AND videos.open_id = ?2 AND videos.last_seen_at <= ?1")


@functools.lru_cache(maxsize=PAGE_SIZE)
def _insert_snapshots_sql(count: int) -> str:
    """Snapshots of ``count`` videos whose row (and key) this page's writes made sure of.

    Parameters: ?1 captured_at, ?2 account_key, then each video's key and four counters."""
    values = ", ".join(f"(?{3 + 5 * i}, ?1, ?2, ?{4 + 5 * i}, ?{5 + 5 * i}, ?{6 + 5 * i}, "
                       f"?{7 + 5 * i})" for i in range(count))
    return ("INSERT INTO video_snapshot_rows (video_key, captured_at, account_key, view_count, "
            f"like_count, comment_count, share_count) VALUES {values} "
            "ON CONFLICT(video_key, captured_at) DO NOTHING")


def _store_page(db: sqlite_utils.Database, open_id: str, captured_at: int,
                rows: list[dict[str, Any]], account_key: int,
                captions: dict[str, _Memory] | None = None) -> _PageWrite:
    """``captions``: the run's memory of the account's videos (_run_memory), kept current
    here, so that only ids it lacks are read."""
    conn = db.conn
    ids = [r["id"] for r in rows]
    # Each video as stored before this page: (owner, *_Memory). Hashtags are re-parsed only
    # for new or edited captions.
    known: dict[str, tuple[Any, ...]] = {}
    lookup = ids
    if captions is not None:
        known = {i: (open_id, *captions[i]) for i in ids if i in captions}
        lookup = [i for i in ids if i not in known]
    if lookup:
        marks = ",".join("?" * len(lookup))
        known.update((r[0], r[1:]) for r in conn.execute(
            "SELECT id, open_id, title, description, last_seen_at, video_key, rowid "
            f"FROM videos WHERE id IN ({marks})", lookup))
    # Snapshots whose video row is ours with a key known here: (row, key).
    keyed: list[tuple[dict[str, Any], int]] = []
    general = rows
    upserted = 0
    if len(set(ids)) == len(ids):  # a page repeating an id keeps the upsert's order of effects
        owned = []
        params: list[Any] = [captured_at, open_id]
        for r in rows:
            before = known.get(r["id"])
            if before is None:  # not stored: the upsert below inserts it, with this key
                key = _video_key(r["id"])
                if key is not None:
                    keyed.append((r, key))
            elif before[0] == open_id and before[3] <= captured_at and before[5] is not None:
                owned.append(r)
                params.append(before[5])
                params.extend([r[c] for c in _QUICK_COLUMNS])
        if owned and conn.execute(_update_owned_sql(len(owned)), params).rowcount == len(owned):
            upserted = len(owned)
            for r in owned:
                key = known[r["id"]][4]
                if key is not None:
                    keyed.append((r, key))
            done = {r["id"] for r in owned}
            general = [r for r in rows if r["id"] not in done]
    if general:
        upserted += max(conn.executemany(_UPSERT_VIDEO, [
            {**r, "open_id": open_id, "seen": captured_at, "video_key": _video_key(r["id"])}
            for r in general]).rowcount, 0)
    inserted = 0
    if keyed:
        params = [captured_at, account_key]
        for r, key in keyed:
            params.extend((key, r["view_count"], r["like_count"], r["comment_count"],
                           r["share_count"]))
        inserted = max(conn.execute(_insert_snapshots_sql(len(keyed)), params).rowcount, 0)
    if len(keyed) < len(rows):
        direct = {id(r) for r, _ in keyed}
        inserted += max(conn.executemany(_INSERT_SNAPSHOT, [
            {**r, "open_id": open_id, "captured_at": captured_at, "account_key": account_key}
            for r in rows if id(r) not in direct]).rowcount, 0)
    _store_hashtags(conn, open_id, captured_at, rows, known)
    if captions is not None:
        for r in rows:
            before = known.get(r["id"])
            if before is None:  # inserted just now: its rowid is not read back
                captions[r["id"]] = (r["title"], r["description"], captured_at,
                                     _video_key(r["id"]), None)
            elif before[0] == open_id and before[3] <= captured_at:
                captions[r["id"]] = (r["title"], r["description"], captured_at, *before[4:])
    return _PageWrite(rows=upserted + inserted, new_snapshots=inserted)


def _store_hashtags(conn: sqlite3.Connection, open_id: str, captured_at: int,
                    rows: list[dict[str, Any]], known: dict[str, tuple[Any, ...]]) -> None:
    """Keep ``video_hashtags`` in step with the captions the upsert just stored."""
    changed = []
    for r in rows:
        before = known.get(r["id"])
        if before is not None:
            owner, title, description, last_seen = before[:4]
            if owner != open_id or last_seen > captured_at \
                    or (title, description) == (r["title"], r["description"]):
                continue  # another account's video, an older sighting, or the same caption
        changed.append(r)
    if not changed:
        return
    conn.executemany("DELETE FROM video_hashtags WHERE video_id = ?",
                     [(r["id"],) for r in changed if r["id"] in known])
    conn.executemany(
        "INSERT OR IGNORE INTO video_hashtags (video_id, tag) VALUES (?, ?)",
        [(r["id"], tag) for r in changed for tag in video_tags(r["title"], r["description"])])


def _video_key(video_id: str) -> int | None:
    """The integer key of a numeric id below 2^63 (TikTok's 19-digit ids); None otherwise (the
    database then assigns a negative key, migration 0008)."""
    if video_id.isdigit() and video_id.isascii() and video_id[0] != "0" \
            and int(video_id) < 2**63:
        return int(video_id)
    return None


def _store_final(db: sqlite_utils.Database, open_id: str, captured_at: int, *,
                 user: dict[str, Any] | None, stats: dict[str, Any] | None,
                 listing_complete: bool, account_key: int,
                 memory: dict[str, _Memory] | None = None) -> tuple[int, int]:
    """The run's last transaction: removals, account snapshot, totals, profile. Returns
    (rows written, videos snapshotted in this run).

    ``memory``: the run's memory of the account's videos (_run_memory, kept current by every
    page). When it holds no video last seen before this run, every video of the account was
    in this listing and the removal update (a read of every video row) is skipped: one sync
    per account runs at a time, and nothing else adds videos to an account or moves their
    ``last_seen_at`` back."""
    conn = db.conn
    rows = 0
    unseen = None if memory is None else any(m[2] < captured_at for m in memory.values())
    if listing_complete and unseen is not False:
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
            (open_id, captured_at, *(stats.get(f) for f in USER_FIELDS_STATS)),
        ).rowcount
    if listing_complete:
        rows += conn.execute(
            f"""INSERT INTO account_video_totals (open_id, captured_at, videos_counted,
                   view_count, like_count, comment_count, share_count)
               SELECT ?, ?, count(*), CAST(min(total(view_count), {_MAX_EXACT_TOTAL}) AS INTEGER),
                      CAST(min(total(like_count), {_MAX_EXACT_TOTAL}) AS INTEGER),
                      CAST(min(total(comment_count), {_MAX_EXACT_TOTAL}) AS INTEGER),
                      CAST(min(total(share_count), {_MAX_EXACT_TOTAL}) AS INTEGER)
               FROM video_snapshot_rows WHERE account_key = ? AND captured_at = ?
               ON CONFLICT(open_id, captured_at) DO UPDATE SET
                   videos_counted = excluded.videos_counted, view_count = excluded.view_count,
                   like_count = excluded.like_count, comment_count = excluded.comment_count,
                   share_count = excluded.share_count""",
            (open_id, captured_at, account_key, captured_at),
        ).rowcount
    if user is not None:
        rows += _update_profile(db, open_id, captured_at, user, stats)
    videos_seen = conn.execute(
        "SELECT count(*) FROM video_snapshot_rows WHERE account_key = ? AND captured_at = ?",
        (account_key, captured_at),
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
    if stats is not None and stats.get("follower_count") is not None:
        values["follower_count"] = stats["follower_count"]
        values["follower_count_at"] = captured_at  # the Accounts card says "as of" this
    if not values:
        return 0
    assignments = ", ".join(f"{c} = :{c}" for c in values)
    return db.execute(
        f"UPDATE accounts SET {assignments} WHERE open_id = :open_id",
        {**values, "open_id": open_id},
    ).rowcount


def _start_run(db: sqlite_utils.Database, open_id: str, now: int,
               options: SyncOptions, account_key: int) -> _Run:
    """Open a run row, or adopt the account's interrupted run if it is recent enough."""
    with write_transaction(db):
        conn = db.conn
        last = conn.execute(
            "SELECT id, captured_at, status, requests_made, rows_written, duration_ms, error "
            "FROM sync_runs WHERE open_id = ? ORDER BY id DESC LIMIT 1", (open_id,),
        ).fetchone()
        # A run that crashed is not continued: it would meet the same data and crash again.
        crashed = last is not None and (last[6] or "").startswith(_CRASH_LEAD)
        if last is not None and last[2] in ("running", "failed") and not crashed \
                and 0 <= now - last[1] <= options.resume_within_s:
            saved, oldest = conn.execute(
                "SELECT count(*), min(v.create_time) FROM video_snapshot_rows s "
                "JOIN videos v ON v.video_key = s.video_key "
                "WHERE s.account_key = ? AND s.captured_at = ?",
                (account_key, last[1]),
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
        "SELECT open_id, display_name, username, status, status_reason, granted_scopes, "
        "account_key FROM accounts WHERE open_id = ?", (open_id,),
    ).fetchone()
    if row is None:
        return None
    label = row[1] or (f"@{row[2]}" if row[2] else open_id)
    return _Account(open_id=row[0], label=label, status=row[3], status_reason=row[4],
                    scopes=parse_scopes(row[5]), key=row[6])


def _previous_video_count(db: sqlite_utils.Database, open_id: str) -> int | None:
    row = db.execute(
        "SELECT videos_seen FROM sync_runs WHERE open_id = ? AND status = 'succeeded' "
        "ORDER BY id DESC LIMIT 1", (open_id,),
    ).fetchone()
    return int(row[0]) if row and row[0] else None


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------


_VIDEO_NUMBERS = ("duration", "width", "height",
                  "view_count", "like_count", "comment_count", "share_count")
#: (column, Video Object field) of the text fields kept.
_VIDEO_TEXTS = (("title", "title"), ("description", "video_description"),
                ("cover_image_url", "cover_image_url"), ("share_url", "share_url"),
                ("embed_link", "embed_link"))


def _video_row(raw: Any, ignored: list[str]) -> dict[str, Any] | None:
    """A Video Object (https://developers.tiktok.com/doc/tiktok-api-v2-video-object) as a row, or
    None if it lacks an id or a plausible
    post time (the fault catalogue (tests/faults) N6: skip the bad record, count it, keep the page).
    A number
    that is not a plausible count is stored as null and its field name added to ``ignored``."""
    v = raw if isinstance(raw, dict) else getattr(raw, "__dict__", {})
    vid = v.get("id")
    create_time = v.get("create_time")
    if vid in (None, "") or not isinstance(vid, str | int) or isinstance(vid, bool) \
            or not _is_int(create_time) \
            or not _CREATE_TIME_RANGE[0] <= create_time <= _CREATE_TIME_RANGE[1]:
        return None
    # 19-digit ids stay text (the architecture notes in README.md "Data").
    row: dict[str, Any] = {"id": str(vid), "create_time": create_time}
    get = v.get
    for column, name in _VIDEO_TEXTS:
        value = get(name)
        row[column] = value if isinstance(value, str) else None
    for name in _VIDEO_NUMBERS:
        value = get(name, NOT_SENT)
        # A plain int in range is a count (type() is int: not a bool); _count decides the rest
        # and notes what it ignores. Inline because a sync checks seven of these per video.
        row[name] = value if type(value) is int and 0 <= value <= MAX_COUNT \
            else _count(value, name, ignored)
    return row


def _clean_user(user: dict[str, Any], ignored: list[str]) -> dict[str, Any]:
    """user/info's ``user`` with its counts checked like a video's (null when implausible)."""
    clean = dict(user)
    for name in USER_FIELDS_STATS:
        if name in clean:
            clean[name] = _count(clean[name], name, ignored)
    return clean


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _count(value: Any, name: str, ignored: list[str]) -> int | None:
    """A count TikTok sent, or None. Only a JSON integer from 0 to MAX_COUNT is a count: a
    bool is not, a float is not (counts are int64,
    https://developers.tiktok.com/doc/tiktok-api-v2-get-user-info,
    https://developers.tiktok.com/doc/tiktok-api-v2-video-object), and a numeric
    string is schema drift we do not guess at. Anything sent that is not a count (null
    included) is noted in ``ignored``; a field TikTok did not send (NOT_SENT) is just blank."""
    if value is NOT_SENT:
        return None
    if _is_int(value) and 0 <= value <= MAX_COUNT:
        return int(value)
    ignored.append(name)
    return None


def _ignored_sentence(ignored: Sequence[str]) -> str:
    by_field: dict[str, int] = {}
    for name in ignored:
        by_field[name] = by_field.get(name, 0) + 1
    detail = ", ".join(f"{name} ×{n}" for name, n in by_field.items())
    return (f"{len(ignored)} number(s) TikTok sent were negative, too large (over "
            f"{MAX_COUNT:,}) or not whole numbers ({detail}) and were stored as blank; the "
            "next sync reads them again.")


def _storage_trouble(exc: BaseException) -> str | None:
    """What went wrong with the cache file itself (full disk, I/O, a lock held too long), or
    None when the error is not about storage (then it is a crash)."""
    if not isinstance(exc, sqlite3.OperationalError):
        return None
    text = str(exc)
    if "full" in text:
        return "the disk holding it is full"
    if "disk I/O" in text or "readonly" in text or "read-only" in text:
        return f"SQLite said {text!r}; check the disk and the file's permissions"
    if "locked" in text or "busy" in text:
        return "another program held it locked for too long"
    return None


def _close_run(db: sqlite_utils.Database, run_id: int, status: str, error: str | None,
               finished_at: int) -> None:
    """Mark a run finished without the run's final writes (they are what failed)."""
    try:
        with write_transaction(db):
            db.execute("UPDATE sync_runs SET status = ?, error = ?, finished_at = ? "
                       "WHERE id = ?", (status, error, finished_at, run_id))
    except Exception:
        log.exception("sync: could not record how run %s ended", run_id)


def _missing_sentence(missing: Sequence[str]) -> str:
    # Marketer's words: which permission is missing, never the scope code (the Accounts card
    # lists the codes in its permissions detail).
    parts = []
    if SCOPE_VIDEO_LIST in missing:
        parts.append("videos were not synced (the creator has not allowed reading videos)")
    if SCOPE_STATS in missing:
        parts.append("follower, like and video counts were not recorded (the creator has not "
                     "allowed reading profile stats)")
    if SCOPE_PROFILE in missing:
        parts.append("username and bio were not updated (the creator has not allowed reading "
                     "the profile)")
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
