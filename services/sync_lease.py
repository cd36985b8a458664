"""One sync per account across processes: a lease on the account row (our reliability rules).

Cron and *Sync now* (or two CLI runs) must not sync one account at once: the API calls would
double and both runs would fight over TikTok's rate limit. The in-process lock in services.sync
covers browser tabs of one app; this lease covers processes. It is claimed in ``BEGIN
IMMEDIATE`` (so two claimers serialise), renewed by a small thread while the sync runs, and
released at the end. A crashed holder stops renewing, so its lease simply expires.
Wall-clock time, like the refresh lease in services.accounts: the sync clock may be simulated.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import sqlite3
import threading
import time

import sqlite_utils

from services.db import connect, write_transaction

log = logging.getLogger(__name__)

#: A holder that stops renewing (killed, machine asleep) blocks the account at most this long.
LEASE_SECONDS = 120
#: Renewed well before expiry, so one slow TikTok call never lets the lease lapse.
RENEW_EVERY_SECONDS = 30


class SyncLease:
    """A claimed lease; call ``release()`` when the sync ends (it also stops the renewals)."""

    def __init__(self, db: sqlite_utils.Database, open_id: str, owner: str | None):
        self.open_id = open_id
        self.owner = owner
        self._path = db.execute("PRAGMA database_list").fetchone()[2] or None
        self._db = db
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if owner is not None and self._path:
            self._thread = threading.Thread(target=self._renew, name="reelboard-sync-lease",
                                            daemon=True)
            self._thread.start()

    def _renew(self) -> None:
        db = connect(self._path)
        try:
            while not self._stop.wait(RENEW_EVERY_SECONDS):
                try:
                    with write_transaction(db):
                        kept = db.execute(
                            "UPDATE accounts SET sync_lease_until = ? "
                            "WHERE open_id = ? AND sync_lease_owner = ?",
                            [int(time.time()) + LEASE_SECONDS, self.open_id, self.owner],
                        ).rowcount
                except sqlite3.Error:
                    log.warning("sync %s: could not renew the sync lease", self.open_id)
                    continue
                if not kept:
                    log.warning("sync %s: the sync lease was lost", self.open_id)
                    return
        finally:
            db.close()

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.owner is None:
            return
        try:
            with write_transaction(self._db):
                self._db.execute(
                    "UPDATE accounts SET sync_lease_owner = NULL, sync_lease_until = NULL "
                    "WHERE open_id = ? AND sync_lease_owner = ?", [self.open_id, self.owner])
        except sqlite3.Error:  # it expires by itself; never hide the sync's own outcome
            log.warning("sync %s: could not release the sync lease; it expires by itself",
                        self.open_id)


def claim_sync_lease(db: sqlite_utils.Database, open_id: str) -> SyncLease | None:
    """The account's sync lease, or None while another live sync holds it.

    An unknown account gets an empty lease (the sync itself then reports the unknown id).
    """
    owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
    now = int(time.time())
    with write_transaction(db):
        row = db.execute("SELECT sync_lease_owner, sync_lease_until FROM accounts "
                         "WHERE open_id = ?", [open_id]).fetchone()
        if row is None:
            return SyncLease(db, open_id, None)
        if row[0] is not None and row[1] is not None and row[1] >= now:
            return None
        db.execute("UPDATE accounts SET sync_lease_owner = ?, sync_lease_until = ? "
                   "WHERE open_id = ?", [owner, now + LEASE_SECONDS, open_id])
    return SyncLease(db, open_id, owner)
