"""Fault suite, issue 11 item 4: `rotate-key` while another process (the app, a cron sync) runs.

Two key rings loaded from one data directory stand for two processes: each holds its own copy
of the keys in memory, as a running app and a CLI command do. One rotates; the other must keep
working — sync, token refresh, disconnect with a revoke that reaches TikTok — and a decryption
failure is never reported as tampering before the ring was re-read from its source.
"""

from __future__ import annotations

import pytest

from services.accounts import disconnect, get_access_token, get_account
from services.crypto import CryptoError, generate_key, key_usage, load_keyring, rotate_key
from services.sync import SyncOptions, sync_accounts
from tests.services.test_sync import connect


@pytest.fixture
def app_ring(settings, db):
    """The ring a long-running app loaded at start-up (before the rotation)."""
    return load_keyring(settings, db)


def _rotate_in_another_process(settings, db, clock):
    cli_ring = load_keyring(settings, db)
    result = rotate_key(db, cli_ring, generate_key(), clock=clock)
    assert set(result.counts) == {result.keyring.primary_id}  # every value re-encrypted
    return result.keyring


def test_a_running_process_syncs_after_another_rotated_the_key(settings, db, app_ring, sandbox,
                                                               clock):
    open_id = connect(db, settings, app_ring, sandbox, "quietpotter")
    new_ring = _rotate_in_another_process(settings, db, clock)
    assert new_ring.primary_id not in app_ring.keys  # the app's memory is stale

    [result] = sync_accounts(settings, [open_id], keyring=app_ring,
                             options=SyncOptions(max_workers=1))

    assert result.status == "succeeded", result.error
    assert get_account(db, open_id).status == "active"
    assert app_ring.primary_id == new_ring.primary_id  # it re-read the key file


def test_a_refresh_after_rotation_encrypts_with_the_new_primary(settings, db, app_ring, sandbox,
                                                                client, clock):
    open_id = connect(db, settings, app_ring, sandbox, "quietpotter")
    new_ring = _rotate_in_another_process(settings, db, clock)

    get_access_token(db, client, app_ring, open_id, force_refresh=True)

    assert key_usage(db) == {new_ring.primary_id: 2}  # the old key is no longer used
    assert get_account(db, open_id).status == "active"


def test_disconnect_after_rotation_still_revokes_at_tiktok(settings, db, app_ring, sandbox,
                                                           client, clock):
    open_id = connect(db, settings, app_ring, sandbox, "quietpotter")
    _rotate_in_another_process(settings, db, clock)
    sandbox.clear_requests()

    outcome = disconnect(db, client, app_ring, open_id)

    assert outcome.revoked, outcome.message
    revokes = [e for e in sandbox.requests("/v2/oauth/revoke/") if e["status"] == 200]
    assert len(revokes) == 1


def test_a_key_missing_from_every_source_is_not_called_tampering(settings, db, app_ring,
                                                                 sandbox, client, clock):
    """The key file lost the new key (restored from an old backup): the account is not flagged
    "altered or copied" nor asked to reconnect; the message says which key is missing."""
    open_id = connect(db, settings, app_ring, sandbox, "quietpotter")
    old_file = (settings.data_dir / "secret.key").read_bytes()
    new_ring = _rotate_in_another_process(settings, db, clock)
    (settings.data_dir / "secret.key").write_bytes(old_file)

    with pytest.raises(CryptoError) as info:
        get_access_token(db, client, app_ring, open_id)

    assert new_ring.primary_id in info.value.message
    assert "altered" not in info.value.message
    assert get_account(db, open_id).status == "active"


def test_tampering_is_still_reported_after_a_reload(settings, db, app_ring, sandbox, client):
    open_id = connect(db, settings, app_ring, sandbox, "quietpotter")
    other = connect(db, settings, app_ring, sandbox, "lunakitchen")
    blob = db.execute("SELECT access_token_enc FROM accounts WHERE open_id = ?",
                      [other]).fetchone()[0]
    db.execute("UPDATE accounts SET access_token_enc = ? WHERE open_id = ?", [blob, open_id])

    with pytest.raises(Exception, match="integrity check"):
        get_access_token(db, client, app_ring, open_id)
    assert get_account(db, open_id).status == "needs_reconnect"


def test_env_keys_are_re_read_when_a_value_names_a_new_key(settings_with, monkeypatch, clock):
    """REELBOARD_ENCRYPTION_KEYS: the operator put the new key first and restarted the CLI;
    the app still running with the old variable re-reads it on the first unknown key id."""
    old, new = generate_key(), generate_key()
    monkeypatch.setenv("REELBOARD_ENCRYPTION_KEYS", old)
    from services.db import open_db

    settings = settings_with(encryption_keys=old)
    with open_db(settings.database_path, migrate=True) as db:
        app_ring = load_keyring(settings, db)
        monkeypatch.setenv("REELBOARD_ENCRYPTION_KEYS", f"{new},{old}")
        cli_ring = load_keyring(settings_with(encryption_keys=f"{new},{old}"), db)
    sealed = cli_ring.encrypt("token", table="accounts", column="access_token_enc", row_key="a")

    assert app_ring.decrypt(sealed, table="accounts", column="access_token_enc",
                            row_key="a") == "token"
    assert app_ring.primary_id == cli_ring.primary_id
