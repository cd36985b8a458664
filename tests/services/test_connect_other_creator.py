"""Grant more / reconnect that TikTok answers for a different creator: nothing is stored until
an admin keeps it as its own account or discards it (which revokes that new grant)."""

from __future__ import annotations

import pytest

from services import accounts as acc
from services.access import LOCAL_ACTOR
from services.accounts import complete_connect, list_accounts, start_connect
from services.tiktok.scopes import scopes_for


def _connect(
    db,
    client,
    keyring,
    settings,
    sandbox,
    clock,
    creator,
    *,
    purpose="connect",
    target=None,
    scopes=None,
):
    url = start_connect(
        db,
        settings,
        keyring,
        actor=LOCAL_ACTOR,
        scopes=scopes or scopes_for(["analytics"]),
        purpose=purpose,
        target_open_id=target,
        add_another=True,
        clock=clock,
    )
    params = sandbox.callback_params(url, creator=creator)
    return complete_connect(
        db,
        client,
        keyring,
        params,
        actor=LOCAL_ACTOR,
        redirect_uri=settings.redirect_uri,
        clock=clock,
    )


def _grant_more_answered_by(db, client, keyring, settings, sandbox, clock, creator):
    jo = _connect(
        db, client, keyring, settings, sandbox, clock, "trailrunnerjo", scopes=["user.info.basic"]
    )
    with pytest.raises(acc.DifferentCreator) as info:
        _connect(
            db,
            client,
            keyring,
            settings,
            sandbox,
            clock,
            creator,
            purpose="grant_more",
            target=jo.open_id,
            scopes=scopes_for(["analytics"]),
        )
    return jo, info.value


def test_grant_more_for_another_creator_stores_nothing_and_says_so(
    db, client, keyring, settings, sandbox, clock
):
    jo, choice = _grant_more_answered_by(
        db, client, keyring, settings, sandbox, clock, "lunakitchen"
    )
    assert "Jo on the Trails" in choice.expected and "Luna" in choice.returned
    assert "unchanged" in choice.explanation and not choice.returned_is_connected
    # Nothing stored: Jo keeps its one scope, Luna is not an account.
    accounts = list_accounts(db)
    assert [a.open_id for a in accounts] == [jo.open_id]
    assert accounts[0].granted_scopes == frozenset({"user.info.basic"})
    held = db.execute(
        "SELECT pending_grant_enc FROM oauth_states WHERE state_hash = ?", [choice.pending_id]
    ).fetchone()[0]
    assert held and "access" not in held  # encrypted, not a JSON blob with tokens


def test_keep_stores_the_other_creator_as_its_own_account(
    db, client, keyring, settings, sandbox, clock
):
    jo, choice = _grant_more_answered_by(
        db, client, keyring, settings, sandbox, clock, "lunakitchen"
    )
    kept = acc.keep_pending_grant(db, keyring, choice.pending_id, actor=LOCAL_ACTOR, clock=clock)
    assert kept.username == "lunakitchen" and "user.info.stats" in kept.granted_scopes
    assert {a.open_id for a in list_accounts(db)} == {jo.open_id, kept.open_id}
    # The choice is used once.
    with pytest.raises(acc.AccountError):
        acc.keep_pending_grant(db, keyring, choice.pending_id, actor=LOCAL_ACTOR, clock=clock)


def test_discard_revokes_the_new_grant_and_stores_nothing(
    db, client, keyring, settings, sandbox, clock
):
    jo, choice = _grant_more_answered_by(
        db, client, keyring, settings, sandbox, clock, "lunakitchen"
    )
    message = acc.discard_pending_grant(
        db, client, keyring, choice.pending_id, actor=LOCAL_ACTOR, clock=clock
    )
    assert "nothing was stored" in message and "removed" in message
    assert [a.open_id for a in list_accounts(db)] == [jo.open_id]
    assert len(sandbox.requests("/v2/oauth/revoke/")) == 1
    assert (
        db.execute(
            "SELECT count(*) FROM oauth_states WHERE pending_grant_enc IS NOT NULL"
        ).fetchone()[0]
        == 0
    )


def test_discard_of_an_already_connected_creator_keeps_its_connection(
    db, client, keyring, settings, sandbox, clock
):
    luna = _connect(db, client, keyring, settings, sandbox, clock, "lunakitchen")
    jo, choice = _grant_more_answered_by(
        db, client, keyring, settings, sandbox, clock, "lunakitchen"
    )
    assert choice.returned_is_connected
    message = acc.discard_pending_grant(
        db, client, keyring, choice.pending_id, actor=LOCAL_ACTOR, clock=clock
    )
    assert "stays connected" in message
    assert sandbox.requests("/v2/oauth/revoke/") == []  # revoking would disconnect Luna
    assert {a.open_id: a.status for a in list_accounts(db)} == {
        luna.open_id: "active",
        jo.open_id: "active",
    }
