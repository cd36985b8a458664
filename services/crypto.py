"""Encryption of tokens at rest: AES-256-GCM envelopes, the key ring, its key file, rotation.

Design: the token-storage design (README, 'Tokens at rest'). Every secret column holds
``v1.<key_id>.<base64url(nonce‖ct‖tag)>``;
the associated data binds each value to its table, column, row and key, so a blob copied into
another row (or column) fails to decrypt instead of acting under the wrong identity (S10).

Keys come from REELBOARD_ENCRYPTION_KEYS (comma-separated base64 32-byte keys, primary first) or
else from ``<data_dir>/secret.key``, which is created only on a fresh install. Reelboard refuses
to start, saying exactly what to do, when the key file is readable by others (S9), the key is not
the one the cache was encrypted with (S6), or the key is gone while ciphertext exists (S7) — in
that last case a new key would silently orphan every token, n8n's failure mode.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import os
import secrets
import shlex
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.clock import Clock, to_epoch, utc_now
from services.db import write_transaction
from services.errors import ReelboardError

VERSION = "v1"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # 96-bit random nonces (the token-storage design (README, 'Tokens at rest'))
TAG_BYTES = 16
AAD_PREFIX = b"reelboard|" + VERSION.encode() + b"|"
KEY_FILE_NAME = "secret.key"
ENV_NAME = "REELBOARD_ENCRYPTION_KEYS"
KEY_CHECK_PLAINTEXT = "key-check"

#: Every encrypted column: (table, primary key used as AAD row_key, column).
ENCRYPTED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("accounts", "open_id", "access_token_enc"),
    ("accounts", "open_id", "refresh_token_enc"),
    ("oauth_states", "state_hash", "code_verifier_enc"),
    ("publish_jobs", "uid", "upload_url_enc"),  # the upload URL carries an upload token
)

ProgressCallback = Callable[[int, int, str], None]


class CryptoError(ReelboardError):
    """The encryption key is missing, wrong or unsafe; the message says how to fix it."""

    step = "encryption_key"


class DecryptionError(CryptoError):
    """One value did not decrypt (tampered, swapped between rows, or a foreign key id).

    Raised for a single row: the caller marks that account `needs_reconnect` and moves on. The
    message never contains the ciphertext or any plaintext.
    """

    step = "decryption"

    def __init__(self, message: str, *, table: str = "", column: str = "", row_key: str = ""):
        self.table, self.column, self.row_key = table, column, row_key
        super().__init__(message)


class UnknownKeyError(DecryptionError):
    """The value names a key id that no key source holds, even after re-reading them.

    Not tampering: the installation lacks a key (a key file restored from an older backup, a
    key removed from REELBOARD_ENCRYPTION_KEYS too early). The fix is to put the key back; the
    account does not need reconnecting.
    """

    step = "encryption_key"


def generate_key() -> str:
    """A new random 32-byte key, base64 (for REELBOARD_ENCRYPTION_KEYS or rotate-key)."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def key_id_for(key: bytes) -> str:
    """8-hex-char fingerprint of a key (domain-separated hash; reveals nothing usable)."""
    return hashlib.sha256(b"reelboard-key-id|" + key).hexdigest()[:8]


def decode_key(text: str | bytes, *, source: str = "the key") -> bytes:
    """Base64 (standard or url-safe) → exactly 32 bytes, or CryptoError naming ``source``."""
    if isinstance(text, bytes) and len(text) == KEY_BYTES:
        return text  # already raw bytes
    value = text.decode("ascii", "replace") if isinstance(text, bytes) else text
    value = value.strip()
    try:
        padded = value + "=" * (-len(value) % 4)
        # Accept the url-safe alphabet too, but strictly: any other character is an error.
        raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise CryptoError(
            f"{source} is not a base64-encoded 32-byte key. Generate one with "
            "`python -m services generate-key` (or "
            "`python -c \"import secrets,base64;print(base64.b64encode(secrets.token_bytes(32))"
            ".decode())\"`); passphrases are not accepted."
        )
    return raw


def _aad(table: str, column: str, row_key: str, key_id: str) -> bytes:
    # the token-storage design (README, 'Tokens at rest') item 2 (with this project's prefix). table
    # and column are our own
    # constants without "|", and key_id has a fixed length, so the encoding is unambiguous.
    if "|" in table or "|" in column:
        raise ValueError("table and column names must not contain '|'")
    return AAD_PREFIX + "|".join((table, column, row_key, key_id)).encode("utf-8")


def envelope_key_id(envelope: str) -> str | None:
    """The key id of a ``v1.<key_id>.<blob>`` value, or None if it is not an envelope."""
    parts = envelope.split(".", 2) if isinstance(envelope, str) else []
    if len(parts) == 3 and parts[0] == VERSION and len(parts[1]) == 8:
        return parts[1]
    return None


_RELOAD_LOCK = threading.Lock()


@dataclass(frozen=True)
class KeyRing:
    """Key id → key, one primary (encrypts); every key decrypts. Never printed or pickled.

    Another process may rotate the key while this one runs (`rotate-key` next to a running app
    or cron sync). So a ring that knows its source re-reads it (``reload``) when a value names a
    key id it lacks, and before encrypting when the key file changed: it then adopts the new
    primary and keeps every key it already had, so values not yet re-encrypted still decrypt.
    """

    primary_id: str
    keys: Mapping[str, bytes] = field(repr=False)
    source: str = "memory"  # where the keys came from, for messages
    key_file: Path | None = None  # set when the keys live in <data_dir>/secret.key
    #: Re-reads the key source (None: keys given in code, nothing to re-read).
    reload_from: Callable[[], KeyRing] | None = field(default=None, repr=False, compare=False)
    _stamp: tuple[int, int, int] | None = field(default=None, init=False, repr=False,
                                                compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_stamp", _file_stamp(self.key_file))

    @classmethod
    def from_keys(
        cls, keys: Iterable[bytes], *, source: str = "memory", key_file: Path | None = None,
        reload_from: Callable[[], KeyRing] | None = None,
    ) -> KeyRing:
        ordered: dict[str, bytes] = {}
        for key in keys:
            if len(key) != KEY_BYTES:
                raise CryptoError(f"{source}: every key must be exactly 32 bytes.")
            ordered.setdefault(key_id_for(key), key)
        if not ordered:
            raise CryptoError(f"{source} holds no key.")
        return cls(next(iter(ordered)), dict(ordered), source, key_file, reload_from)

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self.keys)

    def with_primary(self, key: bytes) -> KeyRing:
        """A ring whose primary is ``key``, keeping every current key for decryption."""
        return KeyRing.from_keys([key, *self.keys.values()], source=self.source,
                                 key_file=self.key_file, reload_from=self.reload_from)

    def reload(self) -> bool:
        """Re-read the key source; True if it brought a key or primary this ring lacked.

        Keys are only ever added in memory (a key stays until no row uses it, and only a person
        removes it from the source); the source's first key becomes the primary.
        """
        if self.reload_from is None:
            return False
        with _RELOAD_LOCK:
            fresh = self.reload_from()
            merged = dict(fresh.keys)
            for key_id, key in self.keys.items():
                merged.setdefault(key_id, key)
            changed = merged.keys() != self.keys.keys() or fresh.primary_id != self.primary_id
            # keys before primary_id: a reader never sees a primary its key map lacks.
            object.__setattr__(self, "keys", merged)
            object.__setattr__(self, "primary_id", fresh.primary_id)
            object.__setattr__(self, "_stamp", _file_stamp(self.key_file))
        return changed

    def _reload_if_source_changed(self) -> None:
        if self.key_file is not None and self.reload_from is not None \
                and _file_stamp(self.key_file) != self._stamp:
            try:
                self.reload()
            except CryptoError:  # unreadable right now: keep encrypting with what we have
                pass

    # Keys must never reach st.cache_data / pickle (README, 'Tokens at rest').
    def __reduce__(self):
        raise TypeError("KeyRing cannot be pickled")

    def encrypt(self, plaintext: str, *, table: str, column: str, row_key: str) -> str:
        # A rotation by another process rewrote the key file: encrypt under its new primary,
        # or this process would keep writing values under the key being retired.
        self._reload_if_source_changed()
        key_id = self.primary_id
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.keys[key_id]).encrypt(
            nonce, plaintext.encode("utf-8"), _aad(table, column, row_key, key_id)
        )
        blob = base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")
        return f"{VERSION}.{key_id}.{blob}"

    def decrypt(self, envelope: str, *, table: str, column: str, row_key: str) -> str:
        where = {"table": table, "column": column, "row_key": row_key}
        key_id = envelope_key_id(envelope)
        if key_id is None:
            raise DecryptionError(f"{table}.{column} does not hold a Reelboard ciphertext.",
                                  **where)
        key = self.keys.get(key_id)
        if key is None and self.reload_from is not None:
            # Another process may have rotated the key since we loaded ours: re-read the source
            # before calling this anything but a routine rotation.
            self.reload()
            key = self.keys.get(key_id)
        if key is None:
            reread = ", re-read just now" if self.reload_from is not None else ""
            raise UnknownKeyError(
                f"{table}.{column} was encrypted with key {key_id}, which is not configured "
                f"({self.source}{reread}). Put that key back after the primary in {ENV_NAME} "
                f"(or {KEY_FILE_NAME}) from your backup; nothing was changed and no account "
                "needs reconnecting.", **where)
        blob = envelope.split(".", 2)[2]
        try:
            raw = base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4))
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) < NONCE_BYTES + TAG_BYTES:
            raise DecryptionError(f"{table}.{column} holds a damaged ciphertext.", **where)
        try:
            plain = AESGCM(key).decrypt(
                raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(table, column, row_key, key_id)
            )
        except InvalidTag:
            # Tampered, truncated, or copied from another row/column (the fault catalogue
            # (tests/faults) S10).
            raise DecryptionError(
                f"{table}.{column} failed its integrity check (the value was altered or copied "
                "from another row).", **where) from None
        return plain.decode("utf-8")


def _file_stamp(path: Path | None) -> tuple[int, int, int] | None:
    """(inode, size, mtime) of the key file: write_key_file's rename changes the inode."""
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


# -- loading ------------------------------------------------------------------------------


def load_keyring(settings, db: sqlite_utils.Database, *, clock: Clock = utc_now) -> KeyRing:
    """The key ring for this installation, or CryptoError with the exact fix.

    Order (the token-storage design (README, 'Tokens at rest') item 3): REELBOARD_ENCRYPTION_KEYS,
    else ``<data_dir>/secret.key``,
    else — only on a fresh install — a new key file. Then the key-check rows prove the key is
    right (S6) and every key id used by stored ciphertext must be in the ring.
    Expects migrations to be applied (services.runtime does that first).
    """
    key_file = Path(settings.data_dir) / KEY_FILE_NAME
    raw = (settings.encryption_keys or "").strip()
    if raw:
        ring = KeyRing.from_keys(_parse_key_list(raw, ENV_NAME), source=ENV_NAME,
                                 reload_from=_env_reloader(raw))
    elif os.path.lexists(key_file):
        ring = _read_key_file(key_file)
    else:
        used = key_usage(db)
        recorded = [r[0] for r in db.execute("SELECT key_id FROM encryption_keys")]
        if used or recorded:
            held = (f"{sum(used.values())} encrypted token(s)" if used
                    else "the check value of an existing key")
            raise CryptoError(
                f"The encryption key is missing: {key_file} does not exist and {ENV_NAME} is not "
                f"set, but the cache already holds {held} (key id(s) "
                f"{', '.join(sorted(set(used) | set(recorded)))}); restore it from your backup: "
                f"put the key file back at {key_file} (chmod 600) or set {ENV_NAME}. Reelboard "
                "will not create a new key, because that would make every stored token "
                "unreadable."
            )
        ring = _create_key_file(key_file)
    _verify(ring, db, clock)
    return ring


def _env_reloader(loaded: str) -> Callable[[], KeyRing]:
    """Re-read REELBOARD_ENCRYPTION_KEYS (environment first, then secrets.toml, as at start)."""

    def reload() -> KeyRing:
        from services.config import read_secrets_file

        text = os.environ.get(ENV_NAME)
        if text is None:
            table = read_secrets_file().get("reelboard") or {}
            text = table.get("encryption_keys") if isinstance(table, Mapping) else None
        text = str(text or loaded)
        return KeyRing.from_keys(_parse_key_list(text, ENV_NAME), source=ENV_NAME,
                                 reload_from=reload)

    return reload


def _parse_key_list(text: str, source: str) -> list[bytes]:
    items = [p.strip() for p in text.replace("\n", ",").split(",") if p.strip()]
    if not items:
        raise CryptoError(f"{source} holds no key.")
    return [decode_key(item, source=f"{source} (key {n} of {len(items)})")
            for n, item in enumerate(items, 1)]


def _read_key_file(path: Path) -> KeyRing:
    st = os.stat(path)
    quoted = shlex.quote(str(path))
    if st.st_mode & 0o077:
        raise CryptoError(
            f"The encryption key file {path} is readable by other users (mode "
            f"{st.st_mode & 0o777:04o}). Reelboard will not use it until only its owner can read "
            f"it. Run: chmod 600 {quoted}"
        )
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        raise CryptoError(
            f"The encryption key file {path} belongs to another user (uid {st.st_uid}); run "
            f"Reelboard as that user, or run: sudo chown {os.geteuid()} {quoted} && "
            f"chmod 600 {quoted}"
        )
    text = path.read_text("ascii", errors="replace")
    return KeyRing.from_keys(_parse_key_list(text, str(path)), source=str(path), key_file=path,
                             reload_from=lambda: _read_key_file(path))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _create_key_file(path: Path) -> KeyRing:
    """S8: a fresh install gets a 0600 key file in a 0700 directory, written with O_EXCL."""
    directory = path.parent
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if directory.stat().st_mode & 0o077:
        # The data directory also holds the cache; nobody but the owner needs to enter it.
        # (Not ours to change? The key file's own 0600 still protects the key.)
        with contextlib.suppress(PermissionError):
            os.chmod(directory, 0o700)
    key = base64.b64decode(generate_key())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _wait_for_key_file(path)  # another process created it a moment ago
    try:
        os.write(fd, base64.b64encode(key) + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    _fsync_dir(directory)
    return KeyRing.from_keys([key], source=str(path), key_file=path,
                             reload_from=lambda: _read_key_file(path))


def _wait_for_key_file(path: Path, attempts: int = 50) -> KeyRing:
    for _ in range(attempts):
        if path.stat().st_size:
            return _read_key_file(path)
        time.sleep(0.02)
    return _read_key_file(path)


def write_key_file(path: Path, ring: KeyRing) -> None:
    """Atomically replace the key file with ``ring``'s keys (primary first), mode 0600."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        lines = "".join(base64.b64encode(k).decode() + "\n" for k in ring.keys.values())
        os.write(fd, lines.encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _verify(ring: KeyRing, db: sqlite_utils.Database, clock: Clock) -> None:
    rows = {r[0]: (r[1], r[2]) for r in db.execute(
        "SELECT key_id, key_check, is_primary FROM encryption_keys")}
    for key_id in ring.key_ids:
        if key_id in rows and not _key_check_ok(ring, key_id, rows[key_id][0]):
            raise CryptoError(
                f"The configured encryption key {key_id} (from {ring.source}) failed the key "
                "check: it is not the key this cache was encrypted with. Restore the right key "
                "from your backup. Nothing was changed."
            )
    if rows and not any(k in rows for k in ring.key_ids):
        raise CryptoError(
            f"The configured encryption key ({', '.join(ring.key_ids)}, from {ring.source}) is "
            f"not the key this cache was encrypted with (it expects key id "
            f"{', '.join(sorted(rows))}). Restore the right key from your backup; Reelboard "
            "refuses to start with the wrong one. Nothing was changed."
        )
    missing = {k: n for k, n in key_usage(db).items() if k not in ring.keys}
    if missing:
        listed = ", ".join(f"{k} ({n} value(s))" for k, n in sorted(missing.items()))
        raise CryptoError(
            f"Stored tokens are encrypted with key id(s) {listed}, which {ring.source} does not "
            f"contain. Add the old key back after the primary in {ENV_NAME} (or the key file), "
            "then run `python -m services rotate-key` to re-encrypt before removing it."
        )
    if ring.primary_id not in rows or rows[ring.primary_id][1] != 1:
        with write_transaction(db):
            _write_key_check(db, ring, clock)


def _key_check_ok(ring: KeyRing, key_id: str, envelope: str) -> bool:
    if envelope_key_id(envelope) != key_id:
        return False
    try:
        value = ring.decrypt(envelope, table="encryption_keys", column="key_check",
                             row_key=key_id)
    except DecryptionError:
        return False
    return hmac.compare_digest(value, KEY_CHECK_PLAINTEXT)


def _write_key_check(db: sqlite_utils.Database, ring: KeyRing, clock: Clock) -> None:
    """Record the primary's key-check row and mark it primary (call inside a transaction)."""
    key_id = ring.primary_id
    check = ring.encrypt(KEY_CHECK_PLAINTEXT, table="encryption_keys", column="key_check",
                         row_key=key_id)
    db.execute("UPDATE encryption_keys SET is_primary = 0 WHERE key_id != ?", [key_id])
    db.execute(
        "INSERT INTO encryption_keys (key_id, key_check, is_primary, created_at) "
        "VALUES (?, ?, 1, ?) ON CONFLICT(key_id) DO UPDATE SET is_primary = 1",
        [key_id, check, to_epoch(clock())],
    )


def key_usage(db: sqlite_utils.Database) -> dict[str, int]:
    """How many stored encrypted values use each key id (an old key may go only at 0)."""
    counts: dict[str, int] = {}
    for table, _pk, column in ENCRYPTED_COLUMNS:
        for key_id, n in db.execute(
            f"SELECT substr({column}, 4, 8), count(*) FROM {table} "
            f"WHERE {column} LIKE 'v1.%' GROUP BY 1"
        ):
            counts[key_id] = counts.get(key_id, 0) + n
    return counts


# -- rotation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RotationResult:
    keyring: KeyRing
    reencrypted: int  # values re-encrypted by this run
    unreadable: list[tuple[str, str, str]]  # (table, column, row_key) left as they were
    counts: dict[str, int]  # values per key id after the run

    def report(self) -> list[str]:
        lines = [f"primary key: {self.keyring.primary_id}",
                 f"re-encrypted this run: {self.reencrypted}"]
        lines += [f"key {k}: {n} value(s)" for k, n in sorted(self.counts.items())]
        for table, column, row_key in self.unreadable:
            lines.append(f"unreadable: {table}.{column} for {row_key} (reconnect that account)")
        old = [k for k in self.keyring.key_ids if k != self.keyring.primary_id]
        removable = [k for k in old if not self.counts.get(k)]
        if removable:
            lines.append(f"no value uses key(s) {', '.join(removable)} any more: they may be "
                         "removed (keep a copy for old backups).")
        return lines

    def summary(self) -> str:
        return "\n".join(self.report())


def rotate_key(
    db: sqlite_utils.Database,
    keyring: KeyRing,
    new_key: str | bytes | None = None,
    *,
    batch_size: int = 50,
    on_progress: ProgressCallback | None = None,
    clock: Clock = utc_now,
) -> RotationResult:
    """Re-encrypt every stored value under the primary key (the token-storage design (README,
    'Tokens at rest') item 6).

    With ``new_key`` it becomes the primary. Keys from the key file: the file is rewritten
    (new key first, old keys kept) *before* anything is encrypted with it, so a crash cannot
    leave values under an unsaved key. Keys from REELBOARD_ENCRYPTION_KEYS: Reelboard cannot save
    them, so the new key must already be first in the variable (then call with no new_key).

    Idempotent and resumable: each batch commits in its own ``BEGIN IMMEDIATE`` transaction and
    a re-run picks up whatever still uses an old key. A value that fails to decrypt is left
    untouched, listed, and its account marked `needs_reconnect` (S10).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    ring = keyring
    if new_key is not None:
        key = decode_key(new_key, source="the new key")
        ring = keyring.with_primary(key)
        if ring.primary_id != keyring.primary_id:
            if keyring.key_file is None:
                raise CryptoError(
                    f"The keys come from {ENV_NAME}, which Reelboard cannot change. Put the new "
                    f"key first ({ENV_NAME}=<new>,<current keys>), restart, then run "
                    "`python -m services rotate-key` again to re-encrypt."
                )
            write_key_file(keyring.key_file, ring)
    with write_transaction(db):
        _write_key_check(db, ring, clock)

    prefix = f"{VERSION}.{ring.primary_id}.%"
    total = sum(n for k, n in key_usage(db).items() if k != ring.primary_id)
    total += _count_non_envelopes(db)
    done = 0
    unreadable: list[tuple[str, str, str]] = []
    for table, pk, column in ENCRYPTED_COLUMNS:
        after = ""
        while True:
            with write_transaction(db):
                batch = db.execute(
                    f"SELECT {pk}, {column} FROM {table} WHERE {column} IS NOT NULL "
                    f"AND {column} NOT LIKE ? AND {pk} > ? ORDER BY {pk} LIMIT ?",
                    [prefix, after, batch_size],
                ).fetchall()
                for row_key, value in batch:
                    try:
                        plain = ring.decrypt(value, table=table, column=column, row_key=row_key)
                    except UnknownKeyError:
                        unreadable.append((table, column, row_key))  # a missing key, not tampering
                        continue
                    except DecryptionError:
                        unreadable.append((table, column, row_key))
                        if table == "accounts":
                            _mark_unreadable(db, row_key, clock)
                        continue
                    fresh = ring.encrypt(plain, table=table, column=column, row_key=row_key)
                    # Guard on the old value: a concurrent refresh may have replaced it.
                    db.execute(
                        f"UPDATE {table} SET {column} = ? WHERE {pk} = ? AND {column} = ?",
                        [fresh, row_key, value],
                    )
                    done += 1
            if not batch:
                break
            after = batch[-1][0]
            if on_progress is not None:
                on_progress(done, total, f"re-encrypted {done} of {total} value(s)")
    with write_transaction(db):
        _write_key_check(db, ring, clock)
    return RotationResult(ring, done, unreadable, key_usage(db))


def _count_non_envelopes(db: sqlite_utils.Database) -> int:
    return sum(
        db.execute(
            f"SELECT count(*) FROM {table} WHERE {column} IS NOT NULL AND {column} NOT LIKE 'v1.%'"
        ).fetchone()[0]
        for table, _pk, column in ENCRYPTED_COLUMNS
    )


def _mark_unreadable(db: sqlite_utils.Database, open_id: str, clock: Clock) -> None:
    db.execute(
        "UPDATE accounts SET status = 'needs_reconnect', status_reason = ?, updated_at = ? "
        "WHERE open_id = ? AND status = 'active'",
        ["Stored tokens failed their integrity check; reconnect this account.",
         to_epoch(clock()), open_id],
    )
