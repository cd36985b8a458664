"""The Accounts page with AppTest: callbacks, partial consent, cards, disconnect."""

from __future__ import annotations

import re

from dashboard.text import md_text
from services.access import LOCAL_ACTOR
from services.accounts import CALLBACK_KEYS, list_accounts, start_connect
from services.db import open_db
from tests.pages.conftest import connect_demo, consent_params, current_runtime, open_page, texts

ANALYTICS = ["user.info.basic", "user.info.profile", "user.info.stats", "video.list"]


SCOPE_CODE = re.compile(r"(user\\?\.info\\?\.\w+|video\\?\.(list|publish|upload))")
PERMISSION_ITEM = re.compile(r"^- .+ \(`[a-z.]+`\)$")


def scope_codes_outside_permission_lists(page: str) -> list[str]:
    """Lines naming a raw TikTok scope code anywhere but a permissions list item."""
    return [line for line in page.splitlines()
            if SCOPE_CODE.search(line) and not PERMISSION_ITEM.match(line)]


def list_accounts_for(rt):
    with open_db(rt.settings.database_path) as db:
        return list_accounts(db)


def _authorize_url(rt, scopes=ANALYTICS):
    with open_db(rt.settings.database_path) as db:
        return start_connect(db, rt.settings, rt.keyring, actor=LOCAL_ACTOR, scopes=scopes)


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
    assert not set(CALLBACK_KEYS) & set(at.query_params)  # the view's own keys may stay
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
    assert "did not approve everything asked for" in page
    assert "Analytics is limited: username, bio and verified badge are not shown" in page
    assert scope_codes_outside_permission_lists(page) == []
    # Grant more asks only for what is ticked: nothing ticked, nothing to ask.
    oid = list_accounts_for(rt)[0].open_id
    at.button(key=f"grant_more_{oid}").click().run()
    assert at.button(key=f"grant_{oid}").disabled


def test_replayed_successful_callback_lands_quietly_as_already_connected():
    # Reload during the callback, Back after connecting, or the link in another tab.
    rt = current_runtime()
    params = consent_params(rt, _authorize_url(rt))
    query = {k: v[0] for k, v in params.items()}
    open_page("accounts", query=query)
    at = open_page("accounts", query=query)
    assert not at.exception
    assert not at.error
    assert any("is already connected" in i.value for i in at.info)
    assert not set(CALLBACK_KEYS) & set(at.query_params)


def test_replayed_failed_callback_names_the_step():
    rt = current_runtime()
    params = consent_params(rt, _authorize_url(rt))
    query = {k: v[0] for k, v in params.items()}
    query["error"] = "server_error"
    query.pop("code")
    open_page("accounts", query=query)
    at = open_page("accounts", query=query)
    assert "Connecting failed (invalid state)" in at.error[0].value


def test_cancel_on_consent_screen_is_neutral_not_an_error():
    rt = current_runtime()
    params = consent_params(rt, _authorize_url(rt), approve=False)
    at = open_page("accounts", query={k: v[0] for k, v in params.items()})
    assert not at.error
    assert any("Not connected — you cancelled on TikTok" in i.value for i in at.info)
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


def test_an_avatar_that_is_not_a_web_link_is_never_opened_as_a_server_file(tmp_path):
    """st.image reads any non-URL string as a local file and serves it: an avatar_url such as
    a path must not leak a file from the server (found by hand, after the same hole on Publish)."""
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    rt = current_runtime()
    account = connect_demo(rt, "lunakitchen")
    at = open_page("accounts")
    assert len(at.get("image")) == 1  # the real avatar (a web link) is shown
    with open_db(rt.settings.database_path) as db:
        db.execute("UPDATE accounts SET avatar_url = ? WHERE open_id = ?",
                   (str(secret), account.open_id))
        db.conn.commit()
    at = open_page("accounts")
    assert not at.exception
    assert len(at.get("image")) == 0
