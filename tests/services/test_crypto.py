"""Token encryption: envelopes, associated data, key sources and refusals (S6–S11), rotation."""

from __future__ import annotations

import base64
import os
import pickle
import re
import secrets
import stat

import pytest

from services.crypto import (
    CryptoError,
    DecryptionError,
    KeyRing,
    generate_key,
    key_id_for,
    key_usage,
    load_keyring,
    rotate_key,
)
from services.db import open_db, write_transaction

ENVELOPE = re.compile(r"^v1\.[0-9a-f]{8}\.[A-Za-z0-9_-]+$")
WHERE = {"table": "accounts", "column": "access_token_enc", "row_key": "-000alice"}


def _ring(*keys: bytes) -> KeyRing:
    return KeyRing.from_keys(keys or [secrets.token_bytes(32)])


def _insert_account(db, ring: KeyRing, open_id: str, token: str = "act.secret") -> None:
    with write_transaction(db):
        db.execute(
            "INSERT INTO accounts (open_id, access_token_enc, refresh_token_enc, "
            "connected_at, updated_at) VALUES (?, ?, ?, 0, 0)",
            [open_id,
             ring.encrypt(token + "-a", table="accounts", column="access_token_enc",
                          row_key=open_id),
             ring.encrypt(token + "-r", table="accounts", column="refresh_token_enc",
                          row_key=open_id)])


# -- envelopes ----------------------------------------------------------------------------


def test_round_trip_and_envelope_format():
    ring = _ring()
    for text in ["act.x", "", "ünïcødé 😀 " * 20, "a" * 5000, "*0!6410"]:
        blob = ring.encrypt(text, **WHERE)
        assert ENVELOPE.match(blob) and blob.split(".")[1] == ring.primary_id
        assert ring.decrypt(blob, **WHERE) == text
    assert ring.encrypt("same", **WHERE) != ring.encrypt("same", **WHERE)  # fresh nonces


@pytest.mark.parametrize("change", [
    {"table": "oauth_states"}, {"column": "refresh_token_enc"}, {"row_key": "-000bob"},
])
def test_associated_data_binds_table_column_and_row(change):
    ring = _ring()
    blob = ring.encrypt("act.x", **WHERE)
    with pytest.raises(DecryptionError) as info:
        ring.decrypt(blob, **{**WHERE, **change})
    assert "act.x" not in str(info.value) and blob not in str(info.value)


def test_any_flipped_byte_fails():
    ring = _ring()
    blob = ring.encrypt("act.x", **WHERE)
    prefix, body = blob.rsplit(".", 1)
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    for i in range(len(raw)):
        tampered = bytearray(raw)
        tampered[i] ^= 0x01
        text = base64.urlsafe_b64encode(bytes(tampered)).decode().rstrip("=")
        with pytest.raises(DecryptionError):
            ring.decrypt(f"{prefix}.{text}", **WHERE)


@pytest.mark.parametrize("value", ["", "act.plain", "v1.zzzzzzzz.AAAA", "v2.12345678.AAAA",
                                   "v1.12345678.!!!!", "v1.1234.AAAA"])
def test_garbage_is_a_decryption_error(value):
    ring = _ring()
    if value.startswith("v1.zzzzzzzz"):
        value = f"v1.{ring.primary_id}.AAAA"  # too short to hold nonce and tag
    with pytest.raises(DecryptionError):
        ring.decrypt(value, **WHERE)


def test_other_keys_decrypt_primary_encrypts():
    old, new = secrets.token_bytes(32), secrets.token_bytes(32)
    blob = _ring(old).encrypt("act.x", **WHERE)
    ring = _ring(old).with_primary(new)
    assert ring.primary_id == key_id_for(new) and ring.key_ids == (key_id_for(new),
                                                                   key_id_for(old))
    assert ring.decrypt(blob, **WHERE) == "act.x"
    with pytest.raises(DecryptionError, match="not configured"):
        _ring(new).decrypt(blob, **WHERE)


def test_keyring_never_shows_or_pickles_keys():
    key = secrets.token_bytes(32)
    ring = _ring(key)
    assert base64.b64encode(key).decode() not in repr(ring) and str(key) not in repr(ring)
    with pytest.raises(TypeError):
        pickle.dumps(ring)


def test_generate_key():
    a, b = generate_key(), generate_key()
    assert a != b and len(base64.b64decode(a)) == 32


# -- key sources --------------------------------------------------------------------------


def test_env_keys_primary_first(data_dir, settings_with):
    k1, k2 = generate_key(), generate_key()
    settings = settings_with(encryption_keys=f"{k1}, {k2}")
    with open_db(settings.database_path, migrate=True) as db:
        ring = load_keyring(settings, db)
    assert ring.key_ids == (key_id_for(base64.b64decode(k1)), key_id_for(base64.b64decode(k2)))
    assert not (data_dir / "secret.key").exists()


@pytest.mark.parametrize("bad", [
    "correct horse battery staple",
    base64.b64encode(b"x" * 31).decode(),
    base64.b64encode(b"x" * 33).decode(),
    "not*base64",
])
def test_env_keys_must_be_32_bytes(settings_with, bad):
    settings = settings_with(encryption_keys=f"{generate_key()},{bad}")
    with open_db(settings.database_path, migrate=True) as db, \
            pytest.raises(CryptoError, match="32-byte key"):
        load_keyring(settings, db)


def test_fresh_install_creates_a_private_key_file(settings, db):
    ring = load_keyring(settings, db)
    path = settings.data_dir / "secret.key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(settings.data_dir).st_mode) == 0o700
    assert len(base64.b64decode(path.read_text().strip())) == 32
    assert load_keyring(settings, db).primary_id == ring.primary_id  # read back, not replaced
    row = db.execute("SELECT key_id, is_primary FROM encryption_keys").fetchall()
    assert row == [(ring.primary_id, 1)]


def test_key_file_readable_by_others_is_refused(settings, db):
    load_keyring(settings, db)
    path = settings.data_dir / "secret.key"
    os.chmod(path, 0o644)
    with pytest.raises(CryptoError) as info:
        load_keyring(settings, db)
    assert f"chmod 600 {path}" in str(info.value)
    assert "0644" in str(info.value)


def test_wrong_key_is_refused_and_nothing_changes(settings, db, settings_with):
    ring = load_keyring(settings, db)
    _insert_account(db, ring, "-000alice")
    before = db.execute("SELECT * FROM accounts").fetchall()
    wrong = settings_with(encryption_keys=generate_key())
    with pytest.raises(CryptoError, match="not the key this cache was encrypted with"):
        load_keyring(wrong, db)
    (settings.data_dir / "secret.key").write_text(generate_key() + "\n")
    with pytest.raises(CryptoError, match="not the key this cache was encrypted with"):
        load_keyring(settings, db)
    assert db.execute("SELECT * FROM accounts").fetchall() == before
    assert db.execute("SELECT count(*) FROM encryption_keys").fetchone()[0] == 1


def test_tampered_key_check_row_is_refused(settings, db):
    ring = load_keyring(settings, db)
    other = _ring().encrypt("key-check", table="encryption_keys", column="key_check",
                            row_key=ring.primary_id)
    forged = f"v1.{ring.primary_id}.{other.split('.', 2)[2]}"
    with write_transaction(db):
        db.execute("UPDATE encryption_keys SET key_check = ?", [forged])
    with pytest.raises(CryptoError, match="failed the key check"):
        load_keyring(settings, db)


def test_missing_key_with_ciphertext_is_refused_and_no_key_is_made(settings, db):
    ring = load_keyring(settings, db)
    _insert_account(db, ring, "-000alice")
    (settings.data_dir / "secret.key").unlink()
    with pytest.raises(CryptoError) as info:
        load_keyring(settings, db)
    assert "restore" in str(info.value) and "backup" in str(info.value)
    assert not (settings.data_dir / "secret.key").exists()


def test_missing_key_with_only_a_key_check_row_is_refused(settings, db):
    load_keyring(settings, db)
    (settings.data_dir / "secret.key").unlink()
    with pytest.raises(CryptoError, match="restore"):
        load_keyring(settings, db)
    assert not (settings.data_dir / "secret.key").exists()


def test_ciphertext_under_an_unconfigured_key_is_refused(settings_with):
    old, new = generate_key(), generate_key()
    settings = settings_with(encryption_keys=f"{new},{old}")
    with open_db(settings.database_path, migrate=True) as db:
        ring = load_keyring(settings, db)
        _insert_account(db, KeyRing.from_keys([base64.b64decode(old)]), "-000alice")
        assert load_keyring(settings, db).key_ids == ring.key_ids
        only_new = settings_with(encryption_keys=new)
        with pytest.raises(CryptoError) as info:
            load_keyring(only_new, db)
    assert key_id_for(base64.b64decode(old)) in str(info.value)
    assert "rotate-key" in str(info.value)


# -- rotation -----------------------------------------------------------------------------


def _seed(db, ring: KeyRing, n: int) -> None:
    for i in range(n):
        _insert_account(db, ring, f"-000acct{i:03d}", token=f"act.t{i}")
    with write_transaction(db):
        for i in range(3):
            state_hash = f"{i:064x}"
            db.execute(
                "INSERT INTO oauth_states (state_hash, code_verifier_enc, requested_scopes, "
                "redirect_uri, created_at, expires_at) VALUES (?, ?, '', 'x', 0, 9999999999)",
                [state_hash, ring.encrypt(f"verifier{i}", table="oauth_states",
                                          column="code_verifier_enc", row_key=state_hash)])


def _all_decrypt(db, ring: KeyRing) -> None:
    for open_id, a, r in db.execute(
            "SELECT open_id, access_token_enc, refresh_token_enc FROM accounts"):
        i = int(open_id[-3:])
        assert ring.decrypt(a, table="accounts", column="access_token_enc",
                            row_key=open_id) == f"act.t{i}-a"
        assert ring.decrypt(r, table="accounts", column="refresh_token_enc",
                            row_key=open_id) == f"act.t{i}-r"
    for state_hash, v in db.execute("SELECT state_hash, code_verifier_enc FROM oauth_states"):
        assert ring.decrypt(v, table="oauth_states", column="code_verifier_enc",
                            row_key=state_hash).startswith("verifier")


def test_rotate_key_is_resumable(settings, db, clock):
    ring = load_keyring(settings, db)
    _seed(db, ring, 20)
    new_key = generate_key()
    new_id = key_id_for(base64.b64decode(new_key))
    progress: list[tuple[int, int]] = []

    def killed_after_three(done, total, message):
        progress.append((done, total))
        if len(progress) == 3:
            raise KeyboardInterrupt("killed mid-rotation")

    with pytest.raises(KeyboardInterrupt):
        rotate_key(db, ring, new_key, batch_size=4, on_progress=killed_after_three, clock=clock)
    assert progress == [(4, 43), (8, 43), (12, 43)]
    counts = key_usage(db)
    assert counts == {new_id: 12, ring.primary_id: 31}
    # The new key was saved before use: a restart reads both keys from the file.
    restarted = load_keyring(settings, db)
    assert restarted.key_ids == (new_id, ring.primary_id)
    _all_decrypt(db, restarted)

    result = rotate_key(db, restarted, batch_size=4, clock=clock)
    assert result.reencrypted == 31 and result.unreadable == []
    assert result.counts == {new_id: 43}
    assert any("may be removed" in line for line in result.report())
    _all_decrypt(db, KeyRing.from_keys([base64.b64decode(new_key)]))
    assert db.execute("SELECT key_id FROM encryption_keys WHERE is_primary = 1").fetchall() \
        == [(new_id,)]
    assert rotate_key(db, restarted, clock=clock).reencrypted == 0  # idempotent


def test_rotate_with_env_keys_needs_the_new_key_configured_first(settings_with, clock):
    old = generate_key()
    settings = settings_with(encryption_keys=old)
    with open_db(settings.database_path, migrate=True) as db:
        ring = load_keyring(settings, db)
        _seed(db, ring, 3)
        new = generate_key()
        with pytest.raises(CryptoError, match="REELBOARD_ENCRYPTION_KEYS"):
            rotate_key(db, ring, new, clock=clock)
        assert set(key_usage(db)) == {ring.primary_id}
        configured = settings_with(encryption_keys=f"{new},{old}")
        ring2 = load_keyring(configured, db)
        result = rotate_key(db, ring2, clock=clock)
        assert result.counts == {ring2.primary_id: 9}
        _all_decrypt(db, ring2)


def test_rotation_skips_and_flags_a_tampered_row(settings, db, clock):
    ring = load_keyring(settings, db)
    _seed(db, ring, 3)
    with write_transaction(db):
        swapped = db.execute("SELECT access_token_enc FROM accounts WHERE open_id = "
                             "'-000acct000'").fetchone()[0]
        db.execute("UPDATE accounts SET access_token_enc = ? WHERE open_id = '-000acct001'",
                   [swapped])
    result = rotate_key(db, ring, generate_key(), clock=clock)
    assert result.unreadable == [("accounts", "access_token_enc", "-000acct001")]
    status = dict(db.execute("SELECT open_id, status FROM accounts").fetchall())
    assert status == {"-000acct000": "active", "-000acct001": "needs_reconnect",
                      "-000acct002": "active"}
