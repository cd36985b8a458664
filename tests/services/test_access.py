"""Team access in services: every role × every action, the allowlist, the audit trail, and
the connect flow bound to the person who started it (the fault catalogue (tests/faults) C5)."""

from __future__ import annotations

import json
import sqlite3

import pytest

from services import access
from services.access import (
    ACTIONS,
    LOCAL_ACTOR,
    ROLES,
    AccessDenied,
    AccessPolicy,
    Actor,
    AuditFilter,
    admit,
    audited,
    authorize,
    events_csv,
    list_events,
    load_policy,
    record,
)
from services.accounts import (
    ConnectError,
    complete_connect,
    disconnect,
    get_account,
    list_accounts,
    start_connect,
)
from services.demo_history import load_demo_history
from services.errors import ConfigError, ReelboardError
from services.sync import sync_accounts
from services.tiktok.scopes import scopes_for

ADMIN = Actor("ana@agency.example", "Ana Admin", "admin")
EDITOR = Actor("eddie@agency.example", "Eddie Editor", "editor")
VIEWER = Actor("vic@brand.example", "Vic Viewer", "viewer")
BY_ROLE = {"admin": ADMIN, "editor": EDITOR, "viewer": VIEWER}
ALLOWED = {
    "viewer": {"view", "view_reports"},
    "editor": {"view", "view_reports", "sync", "export", "publish", "draft"},
    "admin": set(ACTIONS),
}


def _rows(db):
    cursor = db.execute("SELECT * FROM audit_events ORDER BY id")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


# -- the role table ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_every_role_and_action(db, role, action):
    actor = BY_ROLE[role]
    if action in ALLOWED[role]:
        authorize(db, actor, action)
        assert _rows(db) == []  # an allowed check writes nothing by itself
        return
    with pytest.raises(AccessDenied) as caught:
        authorize(db, actor, action, open_id="acct-1")
    needed = ACTIONS[action]
    assert caught.value.needed == needed
    assert f"needs the {needed} role" in caught.value.message
    assert isinstance(caught.value, ReelboardError) and not caught.value.retry_safe
    [row] = _rows(db)
    assert (
        row["actor_email"],
        row["actor_role"],
        row["action"],
        row["outcome"],
        row["open_id"],
    ) == (actor.email, role, action, "refused", "acct-1")


def test_unknown_action_is_a_programming_error(db):
    with pytest.raises(ValueError, match="unknown action"):
        authorize(db, ADMIN, "launch_rockets")


def test_local_and_cli_actors_are_admins():
    assert LOCAL_ACTOR.role == "admin"
    cli = access.cli_actor()
    assert cli.email.startswith("cli:") and cli.role == "admin"


# -- the allowlist -------------------------------------------------------------------------


def test_policy_entries_domains_and_highest_role_wins():
    policy = load_policy(
        {
            "access": {
                "admins": ["Ana@Agency.example"],
                "editors": ["@agency.example"],
                "viewers": ["@brand.example", "ana@agency.example"],
            }
        },
        environ={},
    )
    assert policy.role_for("ana@agency.example") == "admin"  # listed three ways: highest
    assert policy.role_for("bob@AGENCY.example") == "editor"
    assert policy.role_for("vic@brand.example") == "viewer"
    assert policy.role_for("eve@sub.agency.example") is None  # exact domain only
    assert policy.role_for("mallory@evil.example") is None
    assert policy.role_for("not-an-address") is None


def test_environment_replaces_a_list():
    secrets = {"access": {"admins": ["ana@agency.example"], "viewers": ["@brand.example"]}}
    policy = load_policy(
        secrets, environ={"REELBOARD_ACCESS_ADMINS": "zoe@agency.example, @ops.example"}
    )
    assert policy.role_for("ana@agency.example") is None  # the variable replaced the list
    assert policy.role_for("zoe@agency.example") == "admin"
    assert policy.role_for("x@ops.example") == "admin"
    assert policy.role_for("vic@brand.example") == "viewer"


@pytest.mark.parametrize("bad", [["not an email"], ["@nodot"], "x@@y.example", [["nested"]], 42])
def test_malformed_entries_are_refused_with_words(bad):
    with pytest.raises(ConfigError) as caught:
        load_policy({"access": {"editors": bad}}, environ={})
    assert "editors" in caught.value.message


def _claims(email="vic@brand.example", **extra):
    return {"is_logged_in": True, "email": email, "name": "Vic", "sub": "s-1", **extra}


POLICY = AccessPolicy(
    admins=frozenset({"ana@agency.example"}), viewers=frozenset({"@brand.example"})
)


def test_admit_decisions():
    assert admit(POLICY, None).reason.startswith("Sign in")
    assert admit(POLICY, {"is_logged_in": False}).actor is None
    ok = admit(POLICY, _claims(email_verified=True))
    assert ok.actor == Actor("vic@brand.example", "Vic", "viewer")
    assert admit(POLICY, _claims()).admitted  # provider does not send the claim (Entra)
    for unverified in (False, "false", "0", None):
        refused = admit(POLICY, _claims(email_verified=unverified))
        assert not refused.admitted and "not verified" in refused.reason
    stranger = admit(POLICY, _claims("mallory@evil.example", email_verified=True))
    assert not stranger.admitted and "not on this Reelboard's team list" in stranger.reason
    no_mail = admit(POLICY, {"is_logged_in": True, "sub": "x"})
    assert not no_mail.admitted and "e-mail" in no_mail.reason
    assert not admit(AccessPolicy(), _claims(email_verified=True)).admitted  # empty list


# -- the audit trail -----------------------------------------------------------------------


def test_audit_rows_are_append_only(db):
    record(db, ADMIN, "connect", open_id="o1", outcome="ok", details={"n": 1})
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE audit_events SET outcome = 'failed'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM audit_events")
    assert [r["outcome"] for r in _rows(db)] == ["ok"]


def test_record_keeps_secrets_out(db):
    planted = "act.PLANTEDaccessTOKEN0123456789abcdef"
    record(
        db,
        ADMIN,
        "export",
        outcome="failed",
        details={
            "access_token": planted,
            "client_secret": "s3cr3t-value",
            "nested": {"state": "xyz"},
            "note": f"GET /x?code=abc123&access_token={planted}",
            "rows": 5,
        },
    )
    [row] = _rows(db)
    for secret in (planted, "s3cr3t-value", "xyz", "abc123"):
        assert secret not in json.dumps(row)
    assert json.loads(row["details"])["rows"] == 5
    with pytest.raises(ValueError):
        record(db, ADMIN, "export", outcome="maybe")


def test_audited_records_ok_failed_and_refused(db):
    with audited(db, EDITOR, "export", details={"week": "2026-W48"}) as event:
        event.details["calls"] = 3
    with pytest.raises(ReelboardError), audited(db, EDITOR, "publish", open_id="o1"):
        raise ReelboardError("TikTok said no", step="publish_failed")
    with pytest.raises(AccessDenied), audited(db, VIEWER, "draft"):
        pytest.fail("the block must not run for a refused actor")
    rows = _rows(db)
    assert [(r["action"], r["outcome"]) for r in rows] == [
        ("export", "ok"),
        ("publish", "failed"),
        ("draft", "refused"),
    ]
    assert json.loads(rows[0]["details"]) == {"week": "2026-W48", "calls": 3}
    assert json.loads(rows[1]["details"])["error"] == "publish_failed"


def test_list_events_filters_and_is_admin_only(db, clock):
    record(db, ADMIN, "connect", open_id="o1", outcome="ok", clock=clock)
    clock.advance(86400 * 3)
    record(db, EDITOR, "sync", open_id="o1", outcome="ok", clock=clock)
    record(db, EDITOR, "sync", open_id="o2", outcome="failed", clock=clock)
    assert [e.action for e in list_events(db, ADMIN)] == ["sync", "sync", "connect"]
    assert len(list_events(db, ADMIN, AuditFilter(people=[EDITOR.email]))) == 2
    assert len(list_events(db, ADMIN, AuditFilter(open_ids=["o1"]))) == 2
    assert len(list_events(db, ADMIN, AuditFilter(actions=["connect"]))) == 1
    recent = list_events(
        db, ADMIN, AuditFilter(since=clock() - __import__("datetime").timedelta(days=1))
    )
    assert {e.action for e in recent} == {"sync"}
    with pytest.raises(AccessDenied):
        list_events(db, EDITOR)
    assert _rows(db)[-1]["outcome"] == "refused"  # the refused look is audited too


def test_csv_download_quotes_formulas():
    event = access.AuditEvent(
        1,
        __import__("datetime").datetime(2026, 1, 1, tzinfo=__import__("datetime").UTC),
        "=cmd|' /C calc'!A0",
        "admin",
        "connect",
        None,
        "@handle",
        "ok",
        "{}",
    )
    text = events_csv([event]).decode()
    assert text.splitlines()[0].startswith("when_utc,who,role,action")
    assert "'=cmd" in text and "'@handle" in text


# -- the services refuse, not just the pages -------------------------------------------------


@pytest.mark.parametrize("actor", [EDITOR, VIEWER])
def test_connect_is_admin_only_and_stores_nothing(db, settings, keyring, clock, actor):
    for purpose, target in (("connect", None), ("grant_more", "o1"), ("reconnect", "o1")):
        with pytest.raises(AccessDenied, match="admin role"):
            start_connect(
                db,
                settings,
                keyring,
                actor=actor,
                scopes=scopes_for(["analytics"]),
                purpose=purpose,
                target_open_id=target,
                clock=clock,
            )
    assert db.execute("SELECT count(*) FROM oauth_states").fetchone()[0] == 0
    assert [(r["action"], r["outcome"]) for r in _rows(db)] == [
        ("connect", "refused"),
        ("grant_more", "refused"),
        ("reconnect", "refused"),
    ]


def _connect(
    db,
    client,
    keyring,
    settings,
    sandbox,
    clock,
    actor=ADMIN,
    finisher=None,
    creator="lunakitchen",
    **kwargs,
):
    url = start_connect(
        db, settings, keyring, actor=actor, scopes=scopes_for(["analytics"]), clock=clock, **kwargs
    )
    params = sandbox.callback_params(url, creator=creator)
    return params, lambda: complete_connect(
        db,
        client,
        keyring,
        params,
        actor=finisher or actor,
        redirect_uri=settings.redirect_uri,
        clock=clock,
    )


def test_callback_in_someone_elses_session_is_refused(
    db, client, keyring, settings, sandbox, clock
):
    other_admin = Actor("zoe@agency.example", "Zoe", "admin")
    _, finish = _connect(db, client, keyring, settings, sandbox, clock, finisher=other_admin)
    with pytest.raises(ConnectError) as caught:
        finish()
    assert caught.value.step == "wrong_user"
    assert "started by another Reelboard user" in caught.value.message
    assert list_accounts(db) == []
    assert sandbox.token_requests("authorization_code") == []  # the code was never spent
    [row] = _rows(db)
    assert (row["actor_email"], row["action"], row["outcome"]) == (
        other_admin.email,
        "connect",
        "refused",
    )
    with pytest.raises(ConnectError, match="already used"):
        finish()  # and the rightful owner cannot replay it either: one use


def test_role_removed_between_start_and_callback(db, client, keyring, settings, sandbox, clock):
    demoted = Actor(ADMIN.email, ADMIN.name, "editor")
    _, finish = _connect(db, client, keyring, settings, sandbox, clock, finisher=demoted)
    with pytest.raises(AccessDenied):
        finish()
    assert list_accounts(db) == []


def test_disconnect_and_sync_refuse_lower_roles(db, client, keyring, settings, sandbox, clock):
    _, finish = _connect(db, client, keyring, settings, sandbox, clock)
    account = finish()
    for actor in (EDITOR, VIEWER):
        with pytest.raises(AccessDenied):
            disconnect(db, client, keyring, account.open_id, actor=actor, clock=clock)
    assert get_account(db, account.open_id).status == "active"
    with pytest.raises(AccessDenied, match="editor role"):
        sync_accounts(settings, actor=VIEWER, keyring=keyring)
    with pytest.raises(AccessDenied, match="editor role"):
        load_demo_history(settings, actor=VIEWER, days=1)
    assert db.execute("SELECT count(*) FROM sync_runs").fetchone()[0] == 0


def test_every_action_is_audited_and_no_row_holds_a_secret(
    db, client, keyring, settings, sandbox, clock, monkeypatch
):
    params, finish = _connect(db, client, keyring, settings, sandbox, clock)
    account = finish()
    oid = account.open_id
    _, more = _connect(
        db,
        client,
        keyring,
        settings,
        sandbox,
        clock,
        purpose="grant_more",
        target_open_id=oid,
        add_another=True,
    )
    more()
    tokens = [
        keyring.decrypt(
            db.execute(f"SELECT {c} FROM accounts").fetchone()[0],
            table="accounts",
            column=c,
            row_key=oid,
        )
        for c in ("access_token_enc", "refresh_token_enc")
    ]
    [result] = sync_accounts(settings, actor=EDITOR, keyring=keyring)
    assert result.ok, result.error
    disconnect(db, client, keyring, oid, actor=ADMIN, clock=clock)
    _, again = _connect(
        db,
        client,
        keyring,
        settings,
        sandbox,
        clock,
        purpose="reconnect",
        target_open_id=oid,
        add_another=True,
    )
    again()
    with pytest.raises(AccessDenied):
        sync_accounts(settings, actor=VIEWER, keyring=keyring)
    record(
        db,
        EDITOR,
        "export",
        outcome="failed",
        details={"error": f"Bearer {tokens[0]}", "refresh_token": tokens[1]},
    )

    rows = _rows(db)
    assert [(r["action"], r["outcome"]) for r in rows] == [
        ("connect", "ok"),
        ("grant_more", "ok"),
        ("sync", "ok"),
        ("disconnect", "ok"),
        ("reconnect", "ok"),
        ("sync", "refused"),
        ("export", "failed"),
    ]
    assert rows[0]["account_name"] and rows[0]["open_id"] == oid
    assert rows[2]["actor_email"] == EDITOR.email
    planted = [*tokens, params["code"][0], params["state"][0], settings.client_secret]
    dump = json.dumps(rows)
    for secret in planted:
        assert secret not in dump


def test_rotate_key_from_the_cli_is_audited_as_the_machine_owner(tmp_path, capsys):
    from services import cli
    from services.config import load_settings
    from services.db import open_db

    assert cli.main(["rotate-key"]) == cli.EXIT_OK
    with open_db(load_settings({}).database_path) as cache:
        [row] = _rows(cache)
    assert row["action"] == "rotate_key" and row["outcome"] == "ok"
    assert row["actor_email"].startswith("cli:") and row["actor_role"] == "admin"
    keys = (load_settings({}).data_dir / "secret.key").read_text()
    for key in filter(None, (k.strip() for k in keys.replace(",", "\n").splitlines())):
        assert key.split(":")[-1] not in json.dumps(row)


def test_a_sign_in_is_recorded_once_across_sessions(db):
    viewer = Actor("vic@brand.example", "Vic", "viewer")
    assert access.record_sign_in(db, viewer, email=viewer.email, login_at=1000, outcome="ok")
    # A second tab (new Streamlit session, same identity cookie) is the same sign-in.
    assert not access.record_sign_in(db, viewer, email=viewer.email, login_at=1000, outcome="ok")
    # Removed from the allowlist later, same cookie: the refusal is its own event.
    assert access.record_sign_in(db, None, email=viewer.email, login_at=1000, outcome="refused")
    assert access.record_sign_in(db, viewer, email=viewer.email, login_at=2000, outcome="ok")
    assert [(r["outcome"], json.loads(r["details"])["login_at"]) for r in _rows(db)] == [
        ("ok", 1000), ("refused", 1000), ("ok", 2000)]


def test_a_sync_that_stops_midway_is_audited_failed(db, client, keyring, settings, sandbox,
                                                    clock):
    _, finish = _connect(db, client, keyring, settings, sandbox, clock)
    finish()

    def stop(done, total, message):
        raise RuntimeError("the page went away")

    with pytest.raises(RuntimeError):
        sync_accounts(settings, actor=EDITOR, keyring=keyring, on_progress=stop)
    last = _rows(db)[-1]
    assert (last["actor_email"], last["action"], last["outcome"]) == (
        EDITOR.email, "sync", "failed")
    assert json.loads(last["details"]) == {"error": "RuntimeError"}


def test_optional_hosted_domain_and_sign_in_age():
    policy = load_policy({"access": {"viewers": ["@brand.example"],
                                     "google_hosted_domain": "@Brand.example",
                                     "max_sign_in_hours": 12}}, environ={})
    fresh = _claims(email_verified=True, hd="brand.example", iat=1_000_000)
    assert admit(policy, fresh, now=1_000_000 + 11 * 3600).admitted
    stale = admit(policy, fresh, now=1_000_000 + 13 * 3600)
    assert not stale.admitted and "older than 12 hours" in stale.reason
    personal = admit(policy, {**fresh, "hd": None}, now=1_000_000)
    assert not personal.admitted and "Google Workspace" in personal.reason
    with pytest.raises(ConfigError, match="max_sign_in_hours"):
        load_policy({"access": {"max_sign_in_hours": "soon"}}, environ={})
