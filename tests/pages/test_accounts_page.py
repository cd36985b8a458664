"""The Accounts page with AppTest: callbacks, partial consent, cards, disconnect."""

from __future__ import annotations

from dashboard.text import md_text
from services.accounts import list_accounts, start_connect
from services.db import open_db
from tests.pages.conftest import connect_demo, consent_params, current_runtime, open_page, texts

ANALYTICS = ["user.info.basic", "user.info.profile", "user.info.stats", "video.list"]


def _authorize_url(rt, scopes=ANALYTICS):
    with open_db(rt.settings.database_path) as db:
        return start_connect(db, rt.settings, rt.keyring, scopes=scopes)


def test_empty_state_offers_connect_with_analytics_preselected():
    at = open_page("accounts")
    assert "No accounts yet" in texts(at)
    assert at.checkbox(key="feature_analytics").value is True
    assert at.checkbox(key="feature_publishing").value is False
    assert at.button(key="connect").disabled is False
    at.checkbox(key="feature_analytics").uncheck().run()
    assert at.button(key="connect").disabled is True


def test_connect_button_stores_state_and_redirects_to_tiktok():
    rt = current_runtime()
    at = open_page("accounts")
    at.button(key="connect").click().run()
    assert not at.exception
    assert "Opening TikTok" in texts(at)
    with open_db(rt.settings.database_path) as db:
        assert db.execute("SELECT count(*) FROM oauth_states").fetchone()[0] == 1


def test_callback_connects_and_clears_the_query_string():
    rt = current_runtime()
    params = consent_params(rt, _authorize_url(rt), creator="trailrunnerjo")
    at = open_page("accounts", query={k: v[0] for k, v in params.items()})
    assert not at.exception
    assert dict(at.query_params) == {}
    page = texts(at)
    # The name comes from TikTok, so it is escaped (shown as text, not Markdown).
    assert f"Connected **{md_text('Jo on the Trails (@trailrunnerjo)')}**" in page
    assert "Token health" in page
    assert "code" not in at.query_params


def test_partial_consent_is_explained_and_offers_grant_more():
    rt = current_runtime()
    params = consent_params(rt, _authorize_url(rt), creator="quietpotter",
                            scopes=["user.info.basic", "video.list"])
    params = {k: v[0] for k, v in params.items()}
    at = open_page("accounts", query=params)
    page = texts(at)
    assert "did not grant user.info.profile, user.info.stats" in page
    assert "Analytics is limited: this account's grant lacks" in page
    assert any(b.label == "Grant more" for b in at.button)


def test_replayed_callback_names_the_step():
    rt = current_runtime()
    params = consent_params(rt, _authorize_url(rt))
    query = {k: v[0] for k, v in params.items()}
    open_page("accounts", query=query)
    at = open_page("accounts", query=query)
    assert not at.exception
    assert "Connecting failed (invalid state)" in at.error[0].value
    assert dict(at.query_params) == {}


def test_access_denied_callback_is_explained():
    rt = current_runtime()
    params = consent_params(rt, _authorize_url(rt), approve=False)
    at = open_page("accounts", query={k: v[0] for k, v in params.items()})
    assert "Connecting failed (access denied)" in at.error[0].value
    with open_db(rt.settings.database_path) as db:
        assert list_accounts(db) == []


def test_missing_state_is_refused():
    at = open_page("accounts", query={"code": "abc*0!1"})
    assert "Connecting failed (missing parameters)" in at.error[0].value


def test_disconnect_asks_for_confirmation_then_revokes():
    rt = current_runtime()
    account = connect_demo(rt, "lunakitchen")
    at = open_page("accounts")
    assert "Luna's Kitchen" in texts(at)
    at.button(key=f"disconnect_{account.open_id}").click().run()
    assert "Disconnect? Reelboard revokes" in texts(at)
    at.button(key=f"disconnect_yes_{account.open_id}").click().run()
    assert not at.exception
    assert "is disconnected" in texts(at)
    with open_db(rt.settings.database_path) as db:
        (row,) = db.execute("SELECT status, access_token_enc FROM accounts").fetchall()
    assert row == ("disconnected", None)


def test_needs_reconnect_is_shown_on_every_page():
    rt = current_runtime()
    account = connect_demo(rt, "lunakitchen")
    from services.accounts import mark_needs_reconnect

    with open_db(rt.settings.database_path) as db:
        mark_needs_reconnect(db, account.open_id, "TikTok refused the refresh.")
    for name in ("overview", "accounts"):
        at = open_page(name)
        assert any("must be reconnected" in w.value for w in at.warning)
        assert any(b.label.startswith("Reconnect") for b in at.button)


def test_reconnect_banner_starts_a_reconnect_flow_for_that_account():
    rt = current_runtime()
    account = connect_demo(rt, "lunakitchen")
    from services.accounts import mark_needs_reconnect

    with open_db(rt.settings.database_path) as db:
        mark_needs_reconnect(db, account.open_id, "TikTok refused the refresh.")
    at = open_page("videos")
    at.button(key="reconnect_banner").click().run()
    assert "Opening TikTok" in texts(at)
    with open_db(rt.settings.database_path) as db:
        rows = db.execute("SELECT purpose, target_open_id FROM oauth_states "
                          "WHERE consumed_at IS NULL").fetchall()
    assert rows == [("reconnect", account.open_id)]
