"""``publish_jobs`` rows: the intent written before any TikTok call, then every step after it.

Each write is one short ``BEGIN IMMEDIATE`` transaction with no network call inside. The process
working on a job holds a lease (``lease_owner`` host:pid:…, ``lease_until``); a job whose lease
is stale (expired, or its process on this host is gone) is swept: ``prepared`` → failed (nothing
was sent), ``init_sent`` → unknown (init may have reached TikTok: never re-sent).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import socket
import sqlite3
import threading
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import sqlite_utils

from services.clock import Clock, from_epoch, to_epoch, utc_now
from services.db import write_transaction
from services.publishing.model import (
    ACTIVE_STATUSES,
    AlreadyQueued,
    PublishJob,
    Quotas,
)

LEASE_SECONDS = 600  # renewed after every chunk; a 64 MiB chunk may take minutes on a slow link
DAILY_POSTS_LIMIT = 15  # "typically around 15 posts per day", shared by every app
PENDING_DRAFTS_LIMIT = 5  # pending inbox shares in any 24 h

_COLUMNS = (
    "id, open_id, mode, source_kind, source_label, size, sha256, caption, privacy_level, "
    "options, status, publish_id, fail_reason, error_code, error_message, log_id, "
    "uploaded_bytes, chunk_count, chunks_acked, post_ids, username, actor, created_at, "
    "updated_at, finished_at"
)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def lease_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}:{secrets.token_hex(4)}"


def lease_is_stale(owner: str | None, until: int | None, now: int) -> bool:
    if not owner or until is None or until < now:
        return True
    host, _, rest = owner.partition(":")
    pid_text = rest.split(":", 1)[0]
    if host == socket.gethostname() and pid_text.isdigit():
        pid = int(pid_text)
        if pid == os.getpid():
            return False
        try:
            os.kill(pid, 0)  # signal 0: "does this process exist?"
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
    return False


def _row_to_job(row) -> PublishJob:
    (id_, open_id, mode, kind, label, size, sha256, caption, privacy, options, status,
     publish_id, fail_reason, error_code, error_message, log_id, uploaded, chunk_count,
     chunks_acked, post_ids, username, actor, created, updated, finished) = row
    return PublishJob(
        id=id_, open_id=open_id, mode=mode, source_kind=kind, source_label=label, size=size,
        sha256=sha256, caption=caption, privacy_level=privacy,
        options=json.loads(options or "{}"), status=status, publish_id=publish_id,
        fail_reason=fail_reason, error_code=error_code, error_message=error_message,
        log_id=log_id, uploaded_bytes=uploaded or 0, chunk_count=chunk_count,
        chunks_acked=chunks_acked or 0, post_ids=tuple(json.loads(post_ids or "[]")),
        username=username, actor=actor, created_at=from_epoch(created),
        updated_at=from_epoch(updated),
        finished_at=from_epoch(finished) if finished is not None else None,
    )


def insert_intent(db: sqlite_utils.Database, values: Mapping[str, Any], *, owner: str,
                  clock: Clock = utc_now) -> int:
    """Write the intent (status ``prepared``, leased to ``owner``); AlreadyQueued if the same
    content is already on its way for this account."""
    now = to_epoch(clock())
    row = dict(values)
    row.update(uid=secrets.token_hex(16), status="prepared", lease_owner=owner,
               lease_until=now + LEASE_SECONDS, created_at=now, updated_at=now)
    row["options"] = json.dumps(row.get("options") or {}, sort_keys=True)
    cols = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    try:
        with write_transaction(db):
            sweep(db, clock=clock, open_id=row["open_id"], in_transaction=True)
            cursor = db.execute(f"INSERT INTO publish_jobs ({cols}) VALUES ({marks})",
                                list(row.values()))
            return int(cursor.lastrowid)
    except sqlite3.IntegrityError as exc:
        existing = db.execute(
            "SELECT id, status FROM publish_jobs WHERE open_id = ? AND content_key = ? AND "
            f"mode = ? AND caption_hash = ? AND status IN ({_in(ACTIVE_STATUSES)})",
            [row["open_id"], row["content_key"], row["mode"], row["caption_hash"]],
        ).fetchone()
        if existing is None:  # pragma: no cover - another constraint (e.g. a bad account)
            raise
        raise AlreadyQueued(existing[0], existing[1]) from exc


def _in(values) -> str:
    return ", ".join(f"'{v}'" for v in sorted(values))


def update(db: sqlite_utils.Database, job_id: int, *, clock: Clock = utc_now,
           only_if_status: tuple[str, ...] | None = None, **fields: Any) -> bool:
    """Set ``fields`` (and updated_at; finished_at when the status becomes final)."""
    now = to_epoch(clock())
    fields["updated_at"] = now
    if fields.get("status") in ("published", "inbox", "failed", "cancelled"):
        fields.setdefault("finished_at", now)
        fields.setdefault("lease_owner", None)
        fields.setdefault("lease_until", None)
    for key in ("post_ids", "options"):
        if key in fields and not isinstance(fields[key], str):
            fields[key] = json.dumps(list(fields[key]) if key == "post_ids" else fields[key])
    sets = ", ".join(f"{k} = ?" for k in fields)
    sql = f"UPDATE publish_jobs SET {sets} WHERE id = ?"
    params = [*fields.values(), job_id]
    if only_if_status:
        sql += f" AND status IN ({', '.join('?' for _ in only_if_status)})"
        params += list(only_if_status)
    with write_transaction(db):
        return db.execute(sql, params).rowcount == 1


def raw(db: sqlite_utils.Database, job_id: int) -> dict[str, Any] | None:
    """Every column of a job (internal: includes the encrypted upload URL)."""
    cursor = db.execute("SELECT * FROM publish_jobs WHERE id = ?", [job_id])
    row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in cursor.description], row, strict=True))


def get_job(db: sqlite_utils.Database, job_id: int) -> PublishJob | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM publish_jobs WHERE id = ?", [job_id]).fetchone()
    return _row_to_job(row) if row else None


def list_jobs(db: sqlite_utils.Database, open_id: str | None = None,
              limit: int = 50) -> list[PublishJob]:
    limit = max(1, min(int(limit), 500))
    if open_id is None:
        rows = db.execute(
            f"SELECT {_COLUMNS} FROM publish_jobs ORDER BY created_at DESC, id DESC LIMIT ?",
            [limit]).fetchall()
    else:
        rows = db.execute(
            f"SELECT {_COLUMNS} FROM publish_jobs WHERE open_id = ? "
            "ORDER BY created_at DESC, id DESC LIMIT ?", [open_id, limit]).fetchall()
    return [_row_to_job(r) for r in rows]


def sweep(db: sqlite_utils.Database, *, clock: Clock = utc_now, open_id: str | None = None,
          in_transaction: bool = False) -> int:
    """Settle jobs whose worker died. Returns how many changed.

    * ``prepared`` → failed (nothing was sent; posting again is safe);
    * ``init_sent`` → unknown (init may have reached TikTok: never re-sent);
    * ``uploading`` with chunks missing → says it was interrupted (resumable), or failed once
      its upload link has expired (TikTok drops an incomplete upload).
    """
    now = to_epoch(clock())
    where = "status IN ('prepared', 'init_sent', 'uploading')" + \
        (" AND open_id = ?" if open_id else "")
    params = [open_id] if open_id else []
    rows = db.execute(
        "SELECT id, status, lease_owner, lease_until, upload_expires_at, chunks_acked, "
        f"chunk_count, error_message FROM publish_jobs WHERE {where}", params
    ).fetchall()
    def settles(r) -> bool:
        if not lease_is_stale(r[2], r[3], now):
            return False
        if r[1] != "uploading":
            return True
        chunks_missing = r[6] is not None and r[5] < r[6]
        expired = r[4] is not None and r[4] <= now
        return chunks_missing and (expired or r[7] is None)

    stale = [r for r in rows if settles(r)]
    if not stale:
        return 0

    def apply() -> None:
        for job_id, status, _o, _u, expires, _acked, _count, message in stale:
            if status == "prepared":
                db.execute(
                    "UPDATE publish_jobs SET status = 'failed', error_code = 'interrupted', "
                    "error_message = ?, updated_at = ?, finished_at = ?, lease_owner = NULL, "
                    "lease_until = NULL WHERE id = ? AND status = 'prepared'",
                    ["Reelboard stopped before sending this post; nothing reached TikTok.",
                     now, now, job_id])
            elif status == "init_sent":
                db.execute(
                    "UPDATE publish_jobs SET status = 'unknown', error_code = 'interrupted', "
                    "error_message = ?, updated_at = ?, lease_owner = NULL, lease_until = NULL "
                    "WHERE id = ? AND status = 'init_sent'",
                    ["Reelboard stopped while TikTok was receiving this post; it may or may "
                     "not exist at TikTok.", now, job_id])
            elif expires is not None and expires <= now:
                db.execute(
                    "UPDATE publish_jobs SET status = 'failed', error_code = 'upload_url_expired',"
                    " error_message = ?, upload_url_enc = NULL, updated_at = ?, finished_at = ?,"
                    " lease_owner = NULL, lease_until = NULL "
                    "WHERE id = ? AND status = 'uploading'",
                    ["The upload stopped and its link expired (TikTok keeps it for one hour), "
                     "so TikTok dropped the unfinished upload. Post it again.", now, now, job_id])
            elif message is None:
                db.execute(
                    "UPDATE publish_jobs SET error_code = 'interrupted', error_message = ?, "
                    "updated_at = ? WHERE id = ? AND status = 'uploading'",
                    ["The upload stopped before it finished (Reelboard was stopped or "
                     "restarted).", now, job_id])

    if in_transaction:
        apply()
    else:
        with write_transaction(db):
            apply()
    return len(stale)


def claim(db: sqlite_utils.Database, job_id: int, owner: str, *,
          clock: Clock = utc_now) -> bool:
    """Take the job's lease if it is free or stale (resume after a crash)."""
    now = to_epoch(clock())
    with write_transaction(db):
        row = db.execute("SELECT lease_owner, lease_until FROM publish_jobs WHERE id = ?",
                         [job_id]).fetchone()
        if row is None:
            return False
        if row[0] and row[0] != owner and not lease_is_stale(row[0], row[1], now):
            return False
        db.execute("UPDATE publish_jobs SET lease_owner = ?, lease_until = ? WHERE id = ?",
                   [owner, now + LEASE_SECONDS, job_id])
        return True


def release(db: sqlite_utils.Database, job_id: int, owner: str) -> None:
    with write_transaction(db):
        db.execute("UPDATE publish_jobs SET lease_owner = NULL, lease_until = NULL "
                   "WHERE id = ? AND lease_owner = ?", [job_id, owner])


def quotas(db: sqlite_utils.Database, open_id: str, *, clock: Clock = utc_now) -> Quotas:
    since = to_epoch(clock() - timedelta(hours=24))
    posts = db.execute(
        "SELECT count(*) FROM publish_jobs WHERE open_id = ? AND created_at >= ? AND "
        "mode IN ('direct', 'photo') AND (status IN ('init_sent', 'uploading', 'processing', "
        "'published', 'unknown') OR (status = 'failed' AND publish_id IS NOT NULL))",
        [open_id, since]).fetchone()[0]
    drafts = db.execute(
        "SELECT count(*) FROM publish_jobs WHERE open_id = ? AND created_at >= ? AND "
        "mode = 'draft' AND status IN ('init_sent', 'uploading', 'processing', 'inbox', "
        "'unknown')", [open_id, since]).fetchone()[0]
    return Quotas(posts_today=posts, posts_limit=DAILY_POSTS_LIMIT, pending_drafts=drafts,
                  drafts_limit=PENDING_DRAFTS_LIMIT)
