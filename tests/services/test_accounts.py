"""The connect flow, token lifecycle and disconnect, against the sandbox over loopback.

Covers the fault catalogue (tests/faults) (C1–C12), §5.2 (T1–T8) and §5.5 (S10) for accounts.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import fields
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from services import accounts as acc
from services.access import LOCAL_ACTOR, Actor
from services.accounts import (
    Account,
    AccountNeedsReconnect,
    ConnectError,
    call_with_token,
    complete_connect,
    disconnect,
    get_access_token,
    list_accounts,
    mark_needs_reconnect,
    purge_expired_states,
    start_connect,
)
from services.clock import to_epoch
from services.db import open_db, write_transaction
from services.errors import ConfigError
from services.tiktok.client import TikTokClient
from services.tiktok.errors import TikTokAuthError, TikTokScopeError, TikTokServerError
from services.tiktok.scopes import scopes_for

REPO = Path(__file__).resolve().parents[2]
BASIC_LIST = ["user.info.basic", "video.list"]


@pytest.fixture
def connect(db, client, keyring, settings, sandbox, clock):
    """Run the whole connect flow; returns the stored Account."""

    def run(creator="lunakitchen", features=("analytics",), granted=None, **kwargs) -> Account:
        url = start_connect(db, settings, keyring, actor=LOCAL_ACTOR, scopes=scopes_for(features),
                            clock=clock,
                            **kwargs)
        params = sandbox.callback_params(url, creator=creator, scopes=granted)
        return complete_connect(db, client, keyring, params, actor=LOCAL_ACTOR,
                                redirect_uri=settings.redirect_uri,
                                clock=clock)

    return run


@pytest.fixture
def pending(db, keyring, settings, sandbox, clock):
    """A genuine callback's params, not yet completed."""

    def run(creator="lunakitchen", **kwargs) -> dict[str, list[str]]:
        url = start_connect(db, settings, keyring, actor=LOCAL_ACTOR,
                            scopes=scopes_for(["analytics"]),
                            clock=clock)
        return sandbox.callback_params(url, creator=creator, **kwargs)

    return run


def _row(db, open_id):
    cursor = db.execute("SELECT * FROM accounts WHERE open_id = ?", [open_id])
    names = [d[0] for d in cursor.description]
    row = cursor.fetchone()
    return dict(zip(names, row, strict=True)) if row else None


def _decrypt(keyring, db, open_id, column="access_token_enc"):
    return keyring.decrypt(_row(db, open_id)[column], table="accounts", column=column,
                           row_key=open_id)


def _complete(db, client, keyring, settings, clock, params):
    return complete_connect(db, client, keyring, params, actor=LOCAL_ACTOR,
                            redirect_uri=settings.redirect_uri,
                            clock=clock)


# -- start_connect --------------------------------------------------------------------------


def test_start_connect_stores_only_a_hash_and_an_encrypted_verifier(db, keyring, settings,
                                                                    clock):
    url = start_connect(db, settings, keyring, actor=LOCAL_ACTOR, scopes=["video.list"],
                        clock=clock)
    query = parse_qs(urlsplit(url).query)
    state = query["state"][0]
    assert len(state) >= 43  # 256 bits from secrets
    assert "disable_auto_auth" not in query  # first account: nothing to switch from
    assert query["scope"] == ["user.info.basic,video.list"]
    row = db.execute(
        "SELECT state_hash, code_verifier_enc, requested_scopes, purpose, target_open_id, "
        "redirect_uri, created_at, expires_at, consumed_at, dashboard_user FROM oauth_states"
    ).fetchone()
    (state_hash, verifier_enc, requested, purpose, target, redirect, created, expires, used,
     started_by) = row
    # the fault catalogue (tests/faults) C5: bound to who started it
    assert started_by == LOCAL_ACTOR.email
    assert state_hash == hashlib.sha256(state.encode()).hexdigest()
    assert state not in repr(row)
    verifier = keyring.decrypt(verifier_enc, table="oauth_states", column="code_verifier_enc",
                               row_key=state_hash)
    assert 43 <= len(verifier) <= 128
    assert query["code_challenge"] == [hashlib.sha256(verifier.encode()).hexdigest()]  # hex
    assert query["code_challenge_method"] == ["S256"]
    assert (requested, purpose, target, redirect) == ("user.info.basic,video.list", "connect",
                                                      None, settings.redirect_uri)
    assert (created, expires, used) == (to_epoch(clock()), to_epoch(clock()) + 600, None)


def test_disable_auto_auth_when_adding_another_account(db, keyring, settings, clock, connect):
    url = start_connect(db, settings, keyring, actor=LOCAL_ACTOR, scopes=["video.list"],
                        add_another=True,
                        clock=clock)
    assert parse_qs(urlsplit(url).query)["disable_auto_auth"] == ["1"]
    connect()
    url = start_connect(db, settings, keyring, actor=LOCAL_ACTOR, scopes=["video.list"],
                        clock=clock)
    assert parse_qs(urlsplit(url).query)["disable_auto_auth"] == ["1"]


def test_start_connect_rejects_bad_requests(db, keyring, settings, clock):
    with pytest.raises(ValueError, match=r"video\.insights"):
        start_connect(db, settings, keyring, actor=LOCAL_ACTOR, scopes=["video.insights"],
                      clock=clock)
    with pytest.raises(ValueError):
        start_connect(db, settings, keyring, actor=LOCAL_ACTOR, scopes=["video.list"],
                      purpose="grant_more",
                      clock=clock)
    with pytest.raises(ValueError):
        start_connect(db, settings, keyring, actor=LOCAL_ACTOR, scopes=["video.list"],
                      purpose="steal",
                      clock=clock)
    assert db.execute("SELECT count(*) FROM oauth_states").fetchone()[0] == 0


# -- complete_connect: success ----------------------------------------------------------------


def test_connect_stores_encrypted_tokens_and_profile(db, keyring, sandbox, clock, connect):
    sandbox.config(access_ttl=3600, refresh_ttl=180 * 86400)
    account = connect()
    assert account.username == "lunakitchen" and account.display_name == "Luna's Kitchen"
    assert account.is_verified is True and account.follower_count > 0
    assert account.avatar_url and account.status == "active"
    assert account.granted_scopes == frozenset(scopes_for(["analytics"]))
    # Lifetimes come from TikTok's answer, never from constants (T10).
    assert account.access_expires_at == clock() + timedelta(seconds=3600)
    assert account.refresh_expires_at == clock() + timedelta(days=180)
    row = _row(db, account.open_id)
    assert row["access_token_enc"].startswith("v1.") and row["refresh_token_enc"].startswith("v1.")
    assert _decrypt(keyring, db, account.open_id).startswith("act.")
    assert _decrypt(keyring, db, account.open_id, "refresh_token_enc").startswith("rft.")
    assert [e["grant_type"] for e in sandbox.token_requests()] == ["authorization_code"]
    assert len(sandbox.requests("/v2/user/info/")) == 1
    consumed = db.execute("SELECT consumed_at, code_verifier_enc FROM oauth_states").fetchone()
    assert consumed == (to_epoch(clock()), None)  # used once; the verifier is gone


def test_partial_consent_keeps_granted_scopes_and_asks_only_allowed_fields(
        db, client, sandbox, monkeypatch, connect):
    asked = []
    real = client.user_info
    monkeypatch.setattr(client, "user_info",
                        lambda token, fields: asked.append(list(fields)) or real(token, fields))
    account = connect(features=("analytics", "publishing"), granted=BASIC_LIST)
    assert account.granted_scopes == frozenset(BASIC_LIST)
    assert asked == [["open_id", "union_id", "avatar_url", "display_name"]]
    assert account.username is None and account.follower_count is None
    features = account.features
    assert not features["analytics"].available
    assert features["analytics"].missing == ("user.info.profile", "user.info.stats")
    assert not features["publishing"].available and "posted directly" in \
        features["publishing"].reason
    assert list_accounts(db)[0].granted_scopes == frozenset(BASIC_LIST)


def test_reconnecting_the_same_account_upserts(db, keyring, clock, connect):
    first = connect()
    old_token = _decrypt(keyring, db, first.open_id)
    clock.advance(60)
    second = connect(add_another=True)
    assert second.open_id == first.open_id
    assert len(list_accounts(db)) == 1
    assert second.connected_at == first.connected_at and second.updated_at > first.updated_at
    assert _decrypt(keyring, db, first.open_id) != old_token


def test_grant_more_keeps_the_account_and_replaces_scopes(db, keyring, clock, connect):
    first = connect(granted=BASIC_LIST)
    mark_needs_reconnect(db, first.open_id, "test", clock=clock)
    more = connect(features=("analytics", "publishing"), purpose="grant_more",
                   target_open_id=first.open_id)
    assert more.open_id == first.open_id and more.status == "active"
    assert more.granted_scopes == frozenset(scopes_for(["analytics", "publishing"]))
    assert more.features["publishing"].available and more.username == "lunakitchen"
    assert len(list_accounts(db)) == 1


def test_two_accounts(db, connect):
    connect("lunakitchen")
    connect("quietpotter", add_another=True)
    assert {a.username for a in list_accounts(db)} == {"lunakitchen", "quietpotter"}


def test_account_has_no_token_fields():
    names = {f.name for f in fields(Account)}
    assert not any("token" in n for n in names)
    assert {"status", "status_reason", "granted_scopes", "access_expires_at",
            "refresh_expires_at", "last_refresh_at", "avatar_url", "display_name", "username",
            "is_verified", "follower_count"} <= names


# -- complete_connect: every bad callback -----------------------------------------------------


def _assert_nothing_stored(db, sandbox):
    assert db.execute("SELECT count(*) FROM accounts").fetchone()[0] == 0
    assert sandbox.token_requests() == []


@pytest.mark.parametrize("mutate, step", [
    (lambda p: p.pop("state"), "missing_parameters"),
    (lambda p: p.update(state=[""]), "missing_parameters"),
    (lambda p: p.pop("code"), "missing_parameters"),
    (lambda p: p.update(code=[p["code"][0], "other"]), "missing_parameters"),
    (lambda p: p.update(state=[p["state"][0], "other"]), "missing_parameters"),
    (lambda p: p.update(code=["x" * 3000]), "missing_parameters"),
    (lambda p: p.update(error_description=["y" * 2049]), "missing_parameters"),
    (lambda p: p.update(error=["access_denied"]), "missing_parameters"),  # code and error
    (lambda p: p.update(code=["abc\x00def"]), "missing_parameters"),
    (lambda p: p.update(state=[7]), "missing_parameters"),
    (lambda p: p.update(state=7), "missing_parameters"),
])
def test_malformed_callbacks_are_refused_before_any_token_request(
        db, client, keyring, settings, sandbox, clock, pending, mutate, step):
    params = pending()
    sandbox.clear_requests()
    mutate(params)
    with pytest.raises(ConnectError) as info:
        _complete(db, client, keyring, settings, clock, params)
    assert info.value.step == step and info.value.retry_safe is False
    assert "x" * 50 not in str(info.value) and "other" not in str(info.value)
    _assert_nothing_stored(db, sandbox)


@pytest.mark.parametrize("state", [
    "forged-state-value",
    "S" * 10_000,
    "abc\x00def",
    "<script>alert(1)</script>",
    "' OR 1=1; DROP TABLE accounts; --",
    "ünïcødé-状態-😀",
    "\ud800lone-surrogate",
    "%00%0a",
])
def test_unknown_state_is_refused(db, client, keyring, settings, sandbox, clock, pending,
                                  state):
    params = pending()
    params["state"] = [state]
    sandbox.clear_requests()
    with pytest.raises(ConnectError) as info:
        _complete(db, client, keyring, settings, clock, params)
    assert info.value.step in ("invalid_state", "missing_parameters")
    assert state not in str(info.value) and "<script>" not in str(info.value)
    _assert_nothing_stored(db, sandbox)
    assert db.execute("SELECT count(*) FROM oauth_states WHERE consumed_at IS NULL"
                      ).fetchone()[0] == 1  # the genuine flow is untouched


def test_replayed_callback_is_refused_with_one_token_request(db, client, keyring, settings,
                                                             sandbox, clock, pending):
    params = pending()
    _complete(db, client, keyring, settings, clock, params)
    # The same person again (reload, Back, another tab): quietly "already connected".
    with pytest.raises(acc.AlreadyConnected) as info:
        _complete(db, client, keyring, settings, clock, params)
    assert info.value.step == "already_connected"
    assert info.value.account.username == "lunakitchen"
    assert len(sandbox.token_requests("authorization_code")) == 1
    # Anyone else replaying it learns nothing: "already used", still one exchange.
    other = Actor("eve@example.com", "Eve", "admin")
    with pytest.raises(ConnectError, match="already used") as info:
        complete_connect(db, client, keyring, params, actor=other,
                         redirect_uri=settings.redirect_uri, clock=clock)
    assert info.value.step == "invalid_state"
    assert len(sandbox.token_requests("authorization_code")) == 1


def test_replayed_failed_callback_is_still_refused(db, client, keyring, settings, sandbox,
                                                   clock, pending):
    params = pending(approve=False)
    with pytest.raises(ConnectError):
        _complete(db, client, keyring, settings, clock, params)
    with pytest.raises(ConnectError, match="already used") as info:
        _complete(db, client, keyring, settings, clock, params)
    assert info.value.step == "invalid_state"


def test_expired_state_is_refused(db, client, keyring, settings, sandbox, clock, pending):
    params = pending()
    clock.advance(601)
    sandbox.clear_requests()
    with pytest.raises(ConnectError, match="expired") as info:
        _complete(db, client, keyring, settings, clock, params)
    assert info.value.step == "invalid_state"
    _assert_nothing_stored(db, sandbox)


def test_access_denied_consumes_the_state(db, client, keyring, settings, sandbox, clock,
                                          pending):
    params = pending(approve=False)
    assert params["error"] == ["access_denied"] and "code" not in params
    with pytest.raises(ConnectError) as info:
        _complete(db, client, keyring, settings, clock, params)
    assert info.value.step == "access_denied"
    assert "declined" in str(info.value) or "cancelled" in str(info.value)
    _assert_nothing_stored(db, sandbox)
    with pytest.raises(ConnectError) as again:
        _complete(db, client, keyring, settings, clock, params)
    assert again.value.step == "invalid_state"


def test_other_callback_errors_explain_themselves(db, client, keyring, settings, sandbox,
                                                  clock, pending):
    params = pending()
    params.pop("code")
    params["error"] = ["unauthorized_client"]
    params["error_type"] = ["client_key"]
    with pytest.raises(ConnectError) as info:
        _complete(db, client, keyring, settings, clock, params)
    assert info.value.step == "access_denied" and "developer portal" in str(info.value)


def test_used_code_fails_the_exchange_once(db, client, keyring, settings, sandbox, clock,
                                           pending):
    params = pending()
    state_hash, blob = db.execute("SELECT state_hash, code_verifier_enc FROM oauth_states"
                                  ).fetchone()
    verifier = keyring.decrypt(blob, table="oauth_states", column="code_verifier_enc",
                               row_key=state_hash)
    client.exchange_code(params["code"][0], redirect_uri=settings.redirect_uri,
                         code_verifier=verifier)  # someone used the code first
    sandbox.clear_requests()
    with pytest.raises(ConnectError) as info:
        _complete(db, client, keyring, settings, clock, params)
    assert info.value.step == "token_exchange_failed"
    assert len(sandbox.token_requests()) == 1
    assert db.execute("SELECT count(*) FROM accounts").fetchone()[0] == 0


@pytest.mark.parametrize("kind", ["server_error", "drop"])
def test_exchange_failure_is_not_retried(db, client, keyring, settings, sandbox, clock, pending,
                                         kind):
    params = pending()
    sandbox.clear_requests()
    sandbox.fault(kind, count=5, path="/v2/oauth/token/")
    with pytest.raises(ConnectError) as info:
        _complete(db, client, keyring, settings, clock, params)
    assert info.value.step == "token_exchange_failed"
    assert "once" in str(info.value) or "again" in str(info.value)
    assert len(sandbox.token_requests()) == 1
    assert db.execute("SELECT count(*) FROM accounts").fetchone()[0] == 0


def test_user_info_failure_stores_nothing(db, client, keyring, settings, sandbox, clock,
                                          pending):
    params = pending()
    sandbox.fault("server_error", count=10, path="/v2/user/info/")
    with pytest.raises(ConnectError) as info:
        _complete(db, client, keyring, settings, clock, params)
    assert info.value.step == "user_info_failed"
    assert db.execute("SELECT count(*) FROM accounts").fetchone()[0] == 0


def test_storage_failure_is_reported(db, client, keyring, settings, clock, pending,
                                     monkeypatch):
    def full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(acc, "_upsert_account", full)
    with pytest.raises(ConnectError) as info:
        _complete(db, client, keyring, settings, clock, pending())
    assert info.value.step == "storage_error" and "disk" in str(info.value)


def test_purge_expired_states(db, keyring, settings, clock):
    start_connect(db, settings, keyring, actor=LOCAL_ACTOR, scopes=["video.list"], clock=clock)
    clock.advance(300)
    start_connect(db, settings, keyring, actor=LOCAL_ACTOR, scopes=["video.list"], clock=clock)
    clock.advance(301)
    assert purge_expired_states(db, clock) == 1
    assert db.execute("SELECT count(*) FROM oauth_states").fetchone()[0] == 1


# -- tokens -------------------------------------------------------------------------------


def test_fresh_token_needs_no_request(db, client, keyring, sandbox, clock, connect):
    account = connect()
    sandbox.clear_requests()
    token = get_access_token(db, client, keyring, account.open_id, clock=clock)
    assert token == _decrypt(keyring, db, account.open_id)
    assert sandbox.requests() == []


def test_refresh_within_margin_rotates_and_saves_first(db, client, keyring, sandbox, clock,
                                                       connect):
    account = connect()
    old_refresh = _decrypt(keyring, db, account.open_id, "refresh_token_enc")
    clock.advance(7200 - 299)  # inside the 300 s margin (T1)
    token = get_access_token(db, client, keyring, account.open_id, clock=clock)
    assert [e["grant_type"] for e in sandbox.token_requests()] == [
        "authorization_code", "refresh_token"]
    assert token == _decrypt(keyring, db, account.open_id)  # committed before returned (T3)
    assert _decrypt(keyring, db, account.open_id, "refresh_token_enc") != old_refresh
    stored = acc.get_account(db, account.open_id)
    assert stored.last_refresh_at == clock()
    assert stored.access_expires_at == clock() + timedelta(seconds=7200)
    row = _row(db, account.open_id)
    assert row["refresh_lease_owner"] is None and row["refresh_lease_until"] is None
    assert get_access_token(db, client, keyring, account.open_id, clock=clock) == token
    assert len(sandbox.token_requests("refresh_token")) == 1


def test_ten_threads_refresh_exactly_once(db, client, keyring, settings, sandbox, clock,
                                          connect):
    account = connect()
    clock.advance(7200)
    sandbox.fault("latency", ms=150, path="/v2/oauth/token/")  # make the race window wide
    barrier = threading.Barrier(10)
    results: list[str] = []
    errors: list[BaseException] = []

    def worker():
        try:
            with open_db(settings.database_path) as own:
                barrier.wait()
                results.append(get_access_token(own, client, keyring, account.open_id,
                                                 clock=clock))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert len(results) == 10 and len(set(results)) == 1
    assert len(sandbox.token_requests("refresh_token")) == 1
    assert results[0] == _decrypt(keyring, db, account.open_id)


_CHILD = """
import json, sys, time
from pathlib import Path
from services.accounts import get_access_token
from services.config import Settings
from services.crypto import load_keyring
from services.db import open_db
from services.tiktok.client import TikTokClient
args = json.loads(sys.argv[1])
settings = Settings(**{**args["settings"], "data_dir": Path(args["settings"]["data_dir"])})
go = Path(args["go"])
while not go.exists():
    time.sleep(0.005)
with open_db(settings.database_path) as db:
    ring = load_keyring(settings, db)
    token = get_access_token(db, TikTokClient.from_settings(settings), ring, args["open_id"])
import hashlib
print(hashlib.sha256(token.encode()).hexdigest())
"""


def test_processes_share_one_refresh_through_the_lease(db, client, keyring, settings, sandbox,
                                                       clock, connect, tmp_path):
    import json

    account = connect()
    with write_transaction(db):  # the token is about to expire in real time for the children
        db.execute("UPDATE accounts SET access_expires_at = 0 WHERE open_id = ?",
                   [account.open_id])
    sandbox.fault("latency", ms=300, path="/v2/oauth/token/")
    go = tmp_path / "go"
    args = json.dumps({
        "settings": {k: str(v) for k, v in vars(settings).items()},
        "open_id": account.open_id, "go": str(go)})
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    children = [subprocess.Popen([sys.executable, "-c", _CHILD, args], cwd=REPO, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(3)]
    go.touch()
    outputs = [c.communicate(timeout=60) for c in children]
    assert [c.returncode for c in children] == [0, 0, 0], [o[1][-2000:] for o in outputs]
    assert len(sandbox.token_requests("refresh_token")) == 1, sandbox.token_requests()
    assert len({o[0].strip() for o in outputs}) == 1, outputs
    expected = hashlib.sha256(_decrypt(keyring, db, account.open_id).encode()).hexdigest()
    assert outputs[0][0].strip() == expected


def test_refresh_committed_just_before_our_claim_is_reused(db, client, keyring, settings,
                                                           sandbox, clock, connect, monkeypatch):
    account = connect()
    clock.advance(7200)
    real_claim = acc._claim_lease
    raced: list[bool] = []

    def claim_after_another_process(db_, open_id, owner, clock_):
        if not raced:  # another process refreshes and commits between our read and our claim
            raced.append(True)
            with open_db(settings.database_path) as other:
                grant = client.refresh(_decrypt(keyring, other, open_id, "refresh_token_enc"))
                acc._store_refresh(other, keyring, open_id, grant, "other-process", clock)
        return real_claim(db_, open_id, owner, clock_)

    monkeypatch.setattr(acc, "_claim_lease", claim_after_another_process)
    token = get_access_token(db, client, keyring, account.open_id, clock=clock)
    assert token == _decrypt(keyring, db, account.open_id)
    assert len(sandbox.token_requests("refresh_token")) == 1
    assert _row(db, account.open_id)["refresh_lease_owner"] is None


def test_a_crashed_holders_lease_expires(db, client, keyring, sandbox, clock, connect):
    account = connect()
    clock.advance(7200)
    with write_transaction(db):
        db.execute("UPDATE accounts SET refresh_lease_owner = 'dead-process', "
                   "refresh_lease_until = ? WHERE open_id = ?",
                   [int(time.time()) - 1, account.open_id])
    token = get_access_token(db, client, keyring, account.open_id, clock=clock)
    assert token == _decrypt(keyring, db, account.open_id)
    assert len(sandbox.token_requests("refresh_token")) == 1
    assert _row(db, account.open_id)["refresh_lease_owner"] is None


def test_waits_for_another_process_lease_and_uses_its_result(db, client, keyring, settings,
                                                             sandbox, clock, connect):
    account = connect()
    clock.advance(7200)
    with write_transaction(db):
        db.execute("UPDATE accounts SET refresh_lease_owner = 'other-process', "
                   "refresh_lease_until = ? WHERE open_id = ?",
                   [int(time.time()) + 60, account.open_id])
    old_refresh = _decrypt(keyring, db, account.open_id, "refresh_token_enc")

    def other_process_finishes():
        time.sleep(0.3)
        with open_db(settings.database_path) as other:
            grant = client.refresh(old_refresh)
            acc._store_refresh(other, keyring, account.open_id, grant, "other-process", clock)

    helper = threading.Thread(target=other_process_finishes)
    helper.start()
    token = get_access_token(db, client, keyring, account.open_id, clock=clock)
    helper.join()
    assert token == _decrypt(keyring, db, account.open_id)
    assert len(sandbox.token_requests("refresh_token")) == 1


def test_revoked_refresh_token_marks_needs_reconnect(db, client, keyring, sandbox, clock,
                                                     connect):
    account = connect()
    sandbox.fault("revoke", open_id=account.open_id)  # the creator removed the app (T5)
    clock.advance(7200)
    with pytest.raises(AccountNeedsReconnect):
        get_access_token(db, client, keyring, account.open_id, clock=clock)
    stored = acc.get_account(db, account.open_id)
    assert stored.status == "needs_reconnect" and "refresh token" in stored.status_reason
    assert _row(db, account.open_id)["refresh_token_enc"]  # ciphertext kept
    sandbox.clear_requests()
    with pytest.raises(AccountNeedsReconnect):
        get_access_token(db, client, keyring, account.open_id, clock=clock)
    assert sandbox.requests() == []  # no retry loop


def test_invalid_grant_after_someone_else_rotated_is_not_a_disconnect(
        db, client, keyring, settings, sandbox, clock, connect, monkeypatch):
    account = connect()
    clock.advance(7200)
    real_refresh = client.refresh

    def racing_refresh(stale_refresh_token):
        # Another worker (its own connection, no lease in its way) rotates first (R9).
        grant = real_refresh(stale_refresh_token)
        with open_db(settings.database_path) as other:
            acc._store_refresh(other, keyring, account.open_id, grant, "other-worker", clock)
        return real_refresh(stale_refresh_token)  # ours now hits invalid_grant

    monkeypatch.setattr(client, "refresh", racing_refresh)
    token = get_access_token(db, client, keyring, account.open_id, clock=clock)
    assert token == _decrypt(keyring, db, account.open_id)
    assert acc.get_account(db, account.open_id).status == "active"


def test_invalid_client_marks_no_account(db, keyring, settings, sandbox, clock, connect):
    account = connect()
    connect("quietpotter", add_another=True)
    clock.advance(7200)
    bad = TikTokClient(client_key=settings.client_key, client_secret="rotated",
                       auth_url=settings.auth_url, api_base_url=settings.api_base_url)
    with pytest.raises(ConfigError, match="invalid_client"):
        get_access_token(db, bad, keyring, account.open_id, clock=clock)
    assert {a.status for a in list_accounts(db)} == {"active"}
    assert _row(db, account.open_id)["refresh_lease_owner"] is None


def test_transient_failure_keeps_a_still_valid_token(db, client, keyring, sandbox, clock,
                                                     connect):
    account = connect()
    before = _decrypt(keyring, db, account.open_id)
    clock.advance(7200 - 100)  # in the margin, not expired
    sandbox.fault("server_error", count=1, path="/v2/oauth/token/")
    assert get_access_token(db, client, keyring, account.open_id, clock=clock) == before
    clock.advance(200)  # now expired: the failure must surface
    sandbox.fault("server_error", count=1, path="/v2/oauth/token/")
    with pytest.raises(Exception) as info:
        get_access_token(db, client, keyring, account.open_id, clock=clock)
    assert not isinstance(info.value, AccountNeedsReconnect)
    assert acc.get_account(db, account.open_id).status == "active"
    assert get_access_token(db, client, keyring, account.open_id, clock=clock) != before


def test_tampered_ciphertext_marks_only_that_account(db, client, keyring, sandbox, clock,
                                                     connect):
    luna = connect("lunakitchen")
    potter = connect("quietpotter", add_another=True)
    blob = _row(db, potter.open_id)["access_token_enc"]
    tampered = blob[:-4] + ("AAAA" if not blob.endswith("AAAA") else "BBBB")
    with write_transaction(db):
        db.execute("UPDATE accounts SET access_token_enc = ? WHERE open_id = ?",
                   [tampered, potter.open_id])
    sandbox.clear_requests()
    with pytest.raises(AccountNeedsReconnect):
        get_access_token(db, client, keyring, potter.open_id, clock=clock)
    assert sandbox.requests() == []
    assert acc.get_account(db, potter.open_id).status == "needs_reconnect"
    assert acc.get_account(db, luna.open_id).status == "active"
    assert get_access_token(db, client, keyring, luna.open_id, clock=clock)
    assert _row(db, potter.open_id)["access_token_enc"] == tampered  # kept for forensics


def test_swapped_ciphertext_never_acts_as_the_other_account(db, client, keyring, sandbox, clock,
                                                            connect):
    luna = connect("lunakitchen")
    potter = connect("quietpotter", add_another=True)
    luna_row = _row(db, luna.open_id)
    with write_transaction(db):  # A's blobs pasted into B's row (S10)
        db.execute("UPDATE accounts SET access_token_enc = ?, refresh_token_enc = ? "
                   "WHERE open_id = ?",
                   [luna_row["access_token_enc"], luna_row["refresh_token_enc"],
                    potter.open_id])
    clock.advance(7200)  # force the refresh path too
    sandbox.clear_requests()
    with pytest.raises(AccountNeedsReconnect):
        get_access_token(db, client, keyring, potter.open_id, clock=clock)
    assert sandbox.requests() == []  # nothing sent under Luna's identity
    assert acc.get_account(db, potter.open_id).status == "needs_reconnect"
    assert acc.get_account(db, luna.open_id).status == "active"


def test_call_with_token_refreshes_once_on_access_token_invalid(db, client, keyring, sandbox,
                                                                clock, connect):
    account = connect()
    sandbox.fault("expire_token", open_id=account.open_id)
    calls = []

    def fetch(token):
        calls.append(token)
        return client.user_info(token, ["open_id"])

    user = call_with_token(db, client, keyring, account.open_id, fetch, clock=clock)
    assert user["open_id"] == account.open_id
    assert len(calls) == 2 and calls[0] != calls[1]
    assert len(sandbox.token_requests("refresh_token")) == 1
    assert calls[1] == _decrypt(keyring, db, account.open_id)


def test_call_with_token_marks_needs_reconnect_when_refresh_fails(db, client, keyring, sandbox,
                                                                  clock, connect):
    account = connect()
    sandbox.fault("revoke", open_id=account.open_id)
    with pytest.raises(AccountNeedsReconnect):
        call_with_token(db, client, keyring, account.open_id,
                        lambda t: client.user_info(t, ["open_id"]), clock=clock)
    assert acc.get_account(db, account.open_id).status == "needs_reconnect"
    assert len(sandbox.token_requests("refresh_token")) == 1


def test_call_with_token_leaves_scope_and_server_errors_alone(db, client, keyring, sandbox,
                                                              clock, connect):
    account = connect(granted=["user.info.basic"])
    with pytest.raises(TikTokScopeError):
        call_with_token(db, client, keyring, account.open_id,
                        lambda t: client.list_videos(t, ["id"]), clock=clock)
    sandbox.fault("server_error", count=10, path="/v2/user/info/")
    with pytest.raises(TikTokServerError):
        call_with_token(db, client, keyring, account.open_id,
                        lambda t: client.user_info(t, ["open_id"]), clock=clock)
    assert acc.get_account(db, account.open_id).status == "active"
    assert sandbox.token_requests("refresh_token") == []


# -- disconnect ---------------------------------------------------------------------------


def test_disconnect_revokes_and_keeps_history(db, client, keyring, sandbox, clock, connect):
    account = connect()
    token = _decrypt(keyring, db, account.open_id)
    with write_transaction(db):
        db.execute("INSERT INTO account_snapshots (open_id, captured_at, follower_count) "
                   "VALUES (?, 1, 5)", [account.open_id])
    result = disconnect(db, client, keyring, account.open_id, actor=LOCAL_ACTOR, clock=clock)
    assert result.revoked and "TikTok confirmed" in result.message
    row = _row(db, account.open_id)
    assert row["status"] == "disconnected"
    assert row["access_token_enc"] is None and row["refresh_token_enc"] is None
    assert db.execute("SELECT count(*) FROM account_snapshots").fetchone()[0] == 1
    with pytest.raises(TikTokAuthError):  # TikTok no longer accepts it
        client.user_info(token, ["open_id"])
    with pytest.raises(AccountNeedsReconnect) as info:
        get_access_token(db, client, keyring, account.open_id, clock=clock)
    assert info.value.step == "disconnected"
    assert list_accounts(db)[0].status == "disconnected"


def test_disconnect_says_when_revoke_failed(db, client, keyring, sandbox, clock, connect):
    account = connect()
    sandbox.fault("server_error", count=5, path="/v2/oauth/revoke/")
    result = disconnect(db, client, keyring, account.open_id, actor=LOCAL_ACTOR, clock=clock)
    assert not result.revoked
    assert "revoking at TikTok failed" in result.message and "TikTok app" in result.message
    assert _row(db, account.open_id)["access_token_enc"] is None


def test_disconnect_refreshes_an_expired_token_to_revoke(db, client, keyring, sandbox, clock,
                                                         connect):
    account = connect()
    clock.advance(8000)
    assert disconnect(db, client, keyring, account.open_id, actor=LOCAL_ACTOR, clock=clock).revoked


# -- no secret on disk ----------------------------------------------------------------------


def test_no_token_code_or_state_in_any_file(db, client, keyring, settings, sandbox, clock,
                                            connect, monkeypatch, caplog):
    planted: set[str] = set()
    real_exchange, real_refresh = client.exchange_code, client.refresh

    def exchange(code, **kwargs):
        planted.add(code)
        grant = real_exchange(code, **kwargs)
        planted.update({grant.access_token, grant.refresh_token})
        return grant

    def refresh(token):
        grant = real_refresh(token)
        planted.update({grant.access_token, grant.refresh_token})
        return grant

    monkeypatch.setattr(client, "exchange_code", exchange)
    monkeypatch.setattr(client, "refresh", refresh)
    log_file = settings.data_dir / "reelboard.log"
    handler = logging.FileHandler(log_file)
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    try:
        for creator in ("lunakitchen", "quietpotter", "trailrunnerjo"):
            url = start_connect(db, settings, keyring, actor=LOCAL_ACTOR,
                                scopes=scopes_for(["analytics"]),
                                add_another=True, clock=clock)
            planted.add(parse_qs(urlsplit(url).query)["state"][0])
            params = sandbox.callback_params(url, creator=creator)
            complete_connect(db, client, keyring, params, actor=LOCAL_ACTOR,
                             redirect_uri=settings.redirect_uri,
                             clock=clock)
        clock.advance(7200)
        for account in list_accounts(db):
            call_with_token(db, client, keyring, account.open_id,
                            lambda t: client.user_info(t, ["open_id"]), clock=clock)
        sandbox.fault("expire_token", creator="quietpotter")
        potter = next(a for a in list_accounts(db) if a.username == "quietpotter")
        call_with_token(db, client, keyring, potter.open_id,
                        lambda t: client.user_info(t, ["open_id"]), clock=clock)
        disconnect(db, client, keyring, potter.open_id, actor=LOCAL_ACTOR, clock=clock)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()
    assert len(planted) >= 3 * 4  # codes, states, and every token issued
    files = [p for p in settings.data_dir.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"reelboard.db", "reelboard.db-wal", "reelboard.db-shm",
                                       "reelboard.log", "secret.key"}
    for path in files:
        content = path.read_bytes()
        for secret in planted:
            assert secret.encode() not in content, f"a token/code/state leaked into {path.name}"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert not any(secret in logged for secret in planted)
