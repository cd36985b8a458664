"""Durable sandbox state in SQLite: apps, grants, codes, tokens, clock, anchor, extra creators.

Why SQLite: the Streamlit app and the CLI each embed their own sandbox server, and both must
accept the same tokens and see the same simulated clock. Sharing one WAL-mode database file with
a busy timeout gives that, with atomic single-use codes across processes (BEGIN IMMEDIATE).
With no path the store lives in a private in-memory database.

Codes, tokens and the client secret are stored as SHA-256 hashes, never in plaintext.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sandbox.ids import secret_hash

_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS apps (
    client_key TEXT PRIMARY KEY,
    client_secret_hash TEXT NOT NULL,
    app_name TEXT NOT NULL,
    redirect_uris TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS grants (
    id INTEGER PRIMARY KEY,
    client_key TEXT NOT NULL,
    open_id TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at REAL NOT NULL,
    revoked_at REAL
);
CREATE INDEX IF NOT EXISTS grants_by_user ON grants (client_key, open_id);
CREATE TABLE IF NOT EXISTS codes (
    code_hash TEXT PRIMARY KEY,
    client_key TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    open_id TEXT NOT NULL,
    scopes TEXT NOT NULL,
    code_challenge TEXT,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    used_at REAL,
    grant_id INTEGER
);
CREATE TABLE IF NOT EXISTS access_tokens (
    token_hash TEXT PRIMARY KEY,
    grant_id INTEGER NOT NULL,
    issued_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    revoked_at REAL
);
CREATE INDEX IF NOT EXISTS access_by_grant ON access_tokens (grant_id);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    grant_id INTEGER NOT NULL,
    issued_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    replaced_at REAL
);
CREATE INDEX IF NOT EXISTS refresh_by_grant ON refresh_tokens (grant_id);
CREATE TABLE IF NOT EXISTS posts (
    publish_id TEXT PRIMARY KEY,
    client_key TEXT NOT NULL,
    open_id TEXT NOT NULL,
    media TEXT NOT NULL,
    mode TEXT NOT NULL,
    source TEXT NOT NULL,
    privacy_level TEXT,
    title TEXT NOT NULL DEFAULT '',
    post_info TEXT NOT NULL DEFAULT '{}',
    pull_urls TEXT NOT NULL DEFAULT '[]',
    video_size INTEGER,
    chunk_size INTEGER,
    chunk_count INTEGER,
    upload_id TEXT UNIQUE,
    upload_token_hash TEXT,
    upload_expires_at REAL,
    uploaded_bytes INTEGER NOT NULL DEFAULT 0,
    downloaded_bytes INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    media_done_at REAL,
    result TEXT,
    ready_at REAL,
    cancelled_at REAL,
    user_posted_at REAL,
    public_at REAL,
    post_id TEXT NOT NULL,
    duration INTEGER,
    width INTEGER,
    height INTEGER
);
CREATE INDEX IF NOT EXISTS posts_by_user ON posts (open_id, created_at);
CREATE TABLE IF NOT EXISTS extra_creators (
    username TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    videos INTEGER NOT NULL,
    created_at REAL NOT NULL
);
"""


@dataclass(frozen=True)
class AppRecord:
    client_key: str
    client_secret_hash: str
    app_name: str
    redirect_uris: tuple[str, ...]


@dataclass(frozen=True)
class CodeRecord:
    client_key: str
    redirect_uri: str
    open_id: str
    scopes: str
    code_challenge: str | None
    expires_at: float
    used_at: float | None
    grant_id: int | None


@dataclass(frozen=True)
class TokenGrant:
    """A live access token joined with its grant."""

    grant_id: int
    client_key: str
    open_id: str
    scopes: str
    expires_at: float


@dataclass(frozen=True)
class RefreshRecord:
    grant_id: int
    client_key: str
    open_id: str
    scopes: str
    expires_at: float
    replaced_at: float | None
    grant_revoked_at: float | None


@dataclass(frozen=True)
class ExtraCreator:
    username: str
    display_name: str
    videos: int


_POST_COLUMNS = frozenset(
    line.split()[0]
    for line in _SCHEMA.split("CREATE TABLE IF NOT EXISTS posts (")[1].split(");")[0].splitlines()
    if line.strip()
)


class Tx:
    """Queries that run inside one transaction of a StateStore."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._db = conn

    # --- meta -------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str | None) -> None:
        if value is None:
            self._db.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # --- apps -------------------------------------------------------------------------------
    def upsert_app(
        self, client_key: str, client_secret: str, app_name: str, redirect_uris: tuple[str, ...]
    ) -> None:
        # Two processes may register the same key with different redirect lists (the app and
        # the CLI); keep the union so each one's callback stays valid.
        existing = self.get_app(client_key)
        uris = list(existing.redirect_uris) if existing else []
        uris += [u for u in redirect_uris if u not in uris]
        self._db.execute(
            "INSERT INTO apps (client_key, client_secret_hash, app_name, redirect_uris) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (client_key) DO UPDATE SET "
            "client_secret_hash = excluded.client_secret_hash, app_name = excluded.app_name, "
            "redirect_uris = excluded.redirect_uris",
            (client_key, secret_hash(client_secret), app_name, json.dumps(uris)),
        )

    def get_app(self, client_key: str) -> AppRecord | None:
        row = self._db.execute(
            "SELECT client_key, client_secret_hash, app_name, redirect_uris FROM apps "
            "WHERE client_key = ?",
            (client_key,),
        ).fetchone()
        if row is None:
            return None
        return AppRecord(row[0], row[1], row[2], tuple(json.loads(row[3])))

    # --- codes ------------------------------------------------------------------------------
    def insert_code(
        self,
        code: str,
        *,
        client_key: str,
        redirect_uri: str,
        open_id: str,
        scopes: str,
        code_challenge: str | None,
        now: float,
        ttl: float,
    ) -> None:
        self._db.execute(
            "INSERT INTO codes (code_hash, client_key, redirect_uri, open_id, scopes, "
            "code_challenge, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                secret_hash(code),
                client_key,
                redirect_uri,
                open_id,
                scopes,
                code_challenge,
                now,
                now + ttl,
            ),
        )

    def get_code(self, code: str) -> CodeRecord | None:
        row = self._db.execute(
            "SELECT client_key, redirect_uri, open_id, scopes, code_challenge, expires_at, "
            "used_at, grant_id FROM codes WHERE code_hash = ?",
            (secret_hash(code),),
        ).fetchone()
        return None if row is None else CodeRecord(*row)

    def mark_code_used(self, code: str, now: float, grant_id: int) -> None:
        self._db.execute(
            "UPDATE codes SET used_at = ?, grant_id = ? WHERE code_hash = ?",
            (now, grant_id, secret_hash(code)),
        )

    # --- grants and tokens ------------------------------------------------------------------
    def insert_grant(self, client_key: str, open_id: str, scopes: str, now: float) -> int:
        cur = self._db.execute(
            "INSERT INTO grants (client_key, open_id, scopes, created_at) VALUES (?, ?, ?, ?)",
            (client_key, open_id, scopes, now),
        )
        return int(cur.lastrowid or 0)

    def insert_access_token(self, token: str, grant_id: int, now: float, ttl: float) -> None:
        self._db.execute(
            "INSERT INTO access_tokens (token_hash, grant_id, issued_at, expires_at) "
            "VALUES (?, ?, ?, ?)",
            (secret_hash(token), grant_id, now, now + ttl),
        )

    def insert_refresh_token(self, token: str, grant_id: int, now: float, ttl: float) -> None:
        self._db.execute(
            "INSERT INTO refresh_tokens (token_hash, grant_id, issued_at, expires_at) "
            "VALUES (?, ?, ?, ?)",
            (secret_hash(token), grant_id, now, now + ttl),
        )

    def find_access_token(self, token: str, now: float) -> TokenGrant | None:
        """The grant behind a token that is unexpired and unrevoked at `now`, else None."""
        row = self._db.execute(
            "SELECT g.id, g.client_key, g.open_id, g.scopes, t.expires_at "
            "FROM access_tokens t JOIN grants g ON g.id = t.grant_id "
            "WHERE t.token_hash = ? AND t.revoked_at IS NULL AND g.revoked_at IS NULL "
            "AND t.expires_at > ?",
            (secret_hash(token), now),
        ).fetchone()
        return None if row is None else TokenGrant(*row)

    def find_refresh_token(self, token: str) -> RefreshRecord | None:
        row = self._db.execute(
            "SELECT g.id, g.client_key, g.open_id, g.scopes, r.expires_at, r.replaced_at, "
            "g.revoked_at FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id "
            "WHERE r.token_hash = ?",
            (secret_hash(token),),
        ).fetchone()
        return None if row is None else RefreshRecord(*row)

    def mark_refresh_replaced(self, token: str, now: float) -> None:
        self._db.execute(
            "UPDATE refresh_tokens SET replaced_at = ? WHERE token_hash = ?",
            (now, secret_hash(token)),
        )

    def find_grant_of_any_token(self, token: str) -> tuple[int, str, str] | None:
        """(grant_id, client_key, open_id) of an access or refresh token, live or not."""
        h = secret_hash(token)
        row = self._db.execute(
            "SELECT g.id, g.client_key, g.open_id FROM grants g WHERE g.id IN ("
            "SELECT grant_id FROM access_tokens WHERE token_hash = ? UNION "
            "SELECT grant_id FROM refresh_tokens WHERE token_hash = ?)",
            (h, h),
        ).fetchone()
        return None if row is None else (row[0], row[1], row[2])

    def revoke_grant(self, grant_id: int, now: float) -> None:
        self._db.execute(
            "UPDATE grants SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
            (now, grant_id),
        )

    def revoke_user_grants(self, open_id: str, now: float, client_key: str | None = None) -> int:
        """Revoke every live grant of a user (optionally for one app); returns how many."""
        sql = "UPDATE grants SET revoked_at = ? WHERE open_id = ? AND revoked_at IS NULL"
        args: tuple[object, ...] = (now, open_id)
        if client_key is not None:
            sql += " AND client_key = ?"
            args += (client_key,)
        return self._db.execute(sql, args).rowcount

    def expire_user_access_tokens(self, open_id: str, now: float) -> int:
        return self._db.execute(
            "UPDATE access_tokens SET expires_at = ? WHERE expires_at > ? AND revoked_at IS NULL "
            "AND grant_id IN (SELECT id FROM grants WHERE open_id = ? AND revoked_at IS NULL)",
            (now, now, open_id),
        ).rowcount

    def live_grant_scopes(self, client_key: str, open_id: str) -> list[set[str]]:
        """Scope sets of the user's unrevoked grants for an app (for silent re-authorization)."""
        rows = self._db.execute(
            "SELECT scopes FROM grants WHERE client_key = ? AND open_id = ? AND revoked_at IS NULL",
            (client_key, open_id),
        ).fetchall()
        return [set(r[0].split(",")) for r in rows]

    def clear_authorizations(self) -> None:
        for table in ("codes", "access_tokens", "refresh_tokens", "grants"):
            self._db.execute(f"DELETE FROM {table}")

    # --- Content Posting (sandbox/posting.py) ----------------------------------------------
    def insert_post(self, values: dict[str, object]) -> None:
        names = [n for n in values if n in _POST_COLUMNS]
        self._db.execute(
            f"INSERT INTO posts ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
            [values[n] for n in names],
        )

    def update_post(self, publish_id: str, changes: dict[str, object]) -> None:
        names = [n for n in changes if n in _POST_COLUMNS]
        if names:
            self._db.execute(
                f"UPDATE posts SET {', '.join(f'{n} = ?' for n in names)} WHERE publish_id = ?",
                [*(changes[n] for n in names), publish_id],
            )

    def _posts(self, where: str, args: tuple[object, ...]) -> list[dict[str, object]]:
        cur = self._db.execute(f"SELECT * FROM posts WHERE {where} ORDER BY created_at", args)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def get_post(self, publish_id: str) -> dict[str, object] | None:
        rows = self._posts("publish_id = ?", (publish_id,))
        return rows[0] if rows else None

    def get_post_by_upload(self, upload_id: str) -> dict[str, object] | None:
        rows = self._posts("upload_id = ?", (upload_id,))
        return rows[0] if rows else None

    def posts(self, open_id: str | None = None, since: float | None = None) -> list[dict]:
        where, args = "1 = 1", ()
        if open_id is not None:
            where, args = where + " AND open_id = ?", (*args, open_id)
        if since is not None:
            where, args = where + " AND created_at > ?", (*args, since)
        return self._posts(where, args)

    def client_posts_since(self, client_key: str, since: float) -> list[dict[str, object]]:
        return self._posts("client_key = ? AND created_at > ?", (client_key, since))

    def clear_posts(self) -> None:
        self._db.execute("DELETE FROM posts")

    # --- extra creators ---------------------------------------------------------------------
    def insert_extra_creator(
        self, username: str, display_name: str, videos: int, now: float
    ) -> None:
        self._db.execute(
            "INSERT INTO extra_creators (username, display_name, videos, created_at) "
            "VALUES (?, ?, ?, ?)",
            (username, display_name, videos, now),
        )

    def extra_creators(self) -> list[ExtraCreator]:
        rows = self._db.execute(
            "SELECT username, display_name, videos FROM extra_creators "
            "ORDER BY created_at, username"
        ).fetchall()
        return [ExtraCreator(*r) for r in rows]


class StateStore:
    """One SQLite connection guarded by a lock; every unit of work is one short transaction."""

    def __init__(self, path: str | Path | None = None) -> None:
        self._lock = threading.RLock()
        self.path = None if path is None else Path(path)  # uploads are kept next to it
        if path is None:
            self._conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                str(path), timeout=15, check_same_thread=False, isolation_level=None
            )
            self._conn.execute("PRAGMA busy_timeout = 15000")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
        with self.transaction() as tx:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    tx._db.execute(statement)
            tx._db.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """BEGIN IMMEDIATE … COMMIT: takes the write lock up front so read-then-write steps
        (single-use codes, refresh rotation) are atomic across processes."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield Tx(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """A read without a write lock (WAL readers never block writers)."""
        with self._lock:
            yield Tx(self._conn)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
