"""Team access through the real entry script (AppTest): the gate on every page (the fault catalogue
(tests/faults) A1), strangers and unverified addresses refused (A2), a removal effective on the
next rerun
(A3), what each role sees, the Audit page, the callback binding (C5) and the start-up refusal.

AppTest has no st.user: ``dashboard.identity.signed_in_claims`` is the one function replaced.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from dashboard import identity
from services.access import Actor
from services.accounts import list_accounts, start_connect
from services.db import open_db
from services.sync import sync_accounts
from tests.pages.conftest import APP, connect_demo, consent_params, texts

AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "test-cookie-secret-not-used-by-apptest",
    "client_id": "reelboard-test",
    "client_secret": "test-client-secret",
    "server_metadata_url": "http://127.0.0.1:9/oidc/.well-known/openid-configuration",
}
ACCESS = {
    "admins": ["ana@agency.example"],
    "editors": ["@agency.example"],
    "viewers": ["vic@brand.example"],
}
PEOPLE = {
    "admin": "ana@agency.example",
    "editor": "eddie@agency.example",
    "viewer": "vic@brand.example",
}
PAGES = ["overview", "videos", "insights", "reports", "publish", "accounts", "audit"]


@pytest.fixture
def who(monkeypatch):
    """Set who the identity provider says is signed in (None = nobody)."""
    current: dict = {"claims": None}
    monkeypatch.setattr(identity, "signed_in_claims", lambda: current["claims"])

    def set_(email: str | None, **extra) -> None:
        current["claims"] = (
            None
            if email is None
            else {
                "is_logged_in": True,
                "email": email,
                "email_verified": True,
                "name": email.split("@")[0].title(),
                "sub": f"sub-{email}",
                "provider": "default",
                **extra,
            }
        )

    return set_


def team_app(page: str | None = None, *, access: dict | None = None, query=None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["reelboard"] = {"timezone": "UTC"}
    at.secrets["auth"] = AUTH
    at.secrets["access"] = ACCESS if access is None else access
    if page:
        at.switch_page(str(Path("..") / "pages" / f"{page}.py"))
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    if page == "accounts" and {"code", "state", "error"} & set(query or {}):
        at.run()  # a TikTok callback takes two runs (dashboard.accounts_flow)
    return at


def buttons(at: AppTest) -> set[str]:
    return {b.label for b in at.button}


def audit_rows(rt) -> list[tuple]:
    with open_db(rt.settings.database_path) as db:
        return db.execute(
            "SELECT actor_email, actor_role, action, outcome FROM audit_events ORDER BY id"
        ).fetchall()


def runtime_of(at):
    from dashboard import runtime as dashboard_runtime

    return dashboard_runtime._STARTED[-1]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_asks_to_sign_in_first(who, page):
    who(None)
    at = team_app(page)
    assert not at.exception
    assert "Sign in" in buttons(at)
    assert [t.value for t in at.title] == ["Reelboard"]  # no page ran
    assert "Sign out" not in buttons(at) and not at.sidebar.selectbox


def test_tiktok_callback_reaching_a_signed_out_session_is_dropped(who):
    who(None)
    at = team_app("accounts", query={"code": "abc", "state": "xyz"})
    assert dict(at.query_params) == {}


@pytest.mark.parametrize(
    "claims, words",
    [
        ({"email": "mallory@evil.example"}, "not on this Reelboard's team list"),
        ({"email": "vic@brand.example", "email_verified": False}, "not verified"),
    ],
)
def test_strangers_and_unverified_are_refused_and_audited(who, claims, words):
    extra = dict(claims)
    email = extra.pop("email")
    who(email, **extra)
    at = team_app("overview")
    assert words in at.error[0].value
    assert "Sign out" in buttons(at) and [t.value for t in at.title] == ["Reelboard"]
    at.run()  # a second rerun in the same session does not audit again
    assert audit_rows(runtime_of(at)) == [(email, "none", "sign_in", "refused")]


def test_removal_from_the_allowlist_applies_on_the_next_rerun(who):
    who("vic@brand.example")
    at = team_app("overview")
    assert "Overview" in [t.value for t in at.title]
    started = runtime_of(at)
    at.secrets["access"] = {"admins": ["ana@agency.example"]}  # Vic removed
    at.run()
    assert runtime_of(at) is started  # an allowlist edit does not restart Reelboard
    assert "not on this Reelboard's team list" in at.error[0].value
    assert "Overview" not in [t.value for t in at.title]


def test_sign_in_is_audited_once_per_session_and_sidebar_names_the_person(who):
    who("eddie@agency.example")
    at = team_app("overview")
    at.run()
    assert audit_rows(runtime_of(at)) == [("eddie@agency.example", "editor", "sign_in", "ok")]
    sidebar = " ".join(str(e.value) for e in at.sidebar.text) + texts(at)
    assert "Signed in as Eddie" in sidebar and "eddie@agency.example · editor" in sidebar
    assert "Sign out" in {b.label for b in at.sidebar.button}


# What each role may do on screen (the services refuse the rest: tests/services/test_access.py)
EXPECT = {
    #          connect, disconnect, sync,  audit page, publish page
    "viewer": (False, False, False, False, False),
    "editor": (False, False, True, False, True),
    "admin": (True, True, True, True, True),
}


@pytest.mark.parametrize("role", list(EXPECT))
def test_each_role_sees_only_what_it_may_do(who, role):
    connect, disconnect, sync, audit, publish = EXPECT[role]
    who(PEOPLE[role])
    at = team_app("accounts")
    rt = runtime_of(at)
    account = connect_demo(rt, "trailrunnerjo")
    sync_accounts(rt.settings, [account.open_id], actor=Actor("ana@agency.example", "", "admin"))
    at.run()
    assert not at.exception
    assert ("Connect another account" in buttons(at)) is connect
    assert ("Disconnect" in buttons(at)) is disconnect
    assert ("needs the admin role" in texts(at)) is (not connect)

    overview = team_app("overview")
    assert ("Sync now" in buttons(overview)) is sync
    assert ("Syncing needs the editor role" in texts(overview)) is (not sync)

    page = team_app("audit")
    assert ("Audit" in [t.value for t in page.title]) is audit
    page = team_app("publish")
    assert ("Publish" in [t.value for t in page.title]) is publish

    reports = team_app("reports")  # previews and downloads for all; export for editors up
    assert not reports.exception
    assert len(reports.get("download_button")) == 3
    assert ("Export to Google Sheets" in buttons(reports)) is sync
    assert ("needs the editor role" in texts(reports)) is (not sync)


def test_audit_page_lists_filters_and_downloads(who):
    who("ana@agency.example")
    at = team_app("audit")
    rt = runtime_of(at)
    account = connect_demo(rt, "trailrunnerjo")
    sync_accounts(rt.settings, [account.open_id], actor=Actor("eddie@agency.example", "", "editor"))
    at.run()
    assert not at.exception
    frame = at.dataframe[0].value
    assert set(frame["Action"]) >= {"Sign-in", "Connect", "Sync"}
    assert "eddie@agency.example" in set(frame["Who"])
    at.multiselect(key="audit_people").select("eddie@agency.example").run()
    frame = at.dataframe[0].value
    assert set(frame["Who"]) == {"eddie@agency.example"} and set(frame["Action"]) == {"Sync"}
    assert at.get("download_button")


def test_callback_finished_in_another_persons_session_is_refused(who):
    who("ana@agency.example")
    at = team_app("accounts")
    rt = runtime_of(at)
    with open_db(rt.settings.database_path) as db:
        url = start_connect(
            db,
            rt.settings,
            rt.keyring,
            actor=Actor("ana@agency.example", "Ana", "admin"),
            scopes=["user.info.basic", "video.list"],
        )
    params = consent_params(rt, url, creator="trailrunnerjo")
    who("zoe@agency.example")  # an editor opens Ana's callback link
    at = team_app(
        "accounts",
        access={**ACCESS, "admins": ["ana@agency.example", "zoe@agency.example"]},
        query={k: v[0] for k, v in params.items()},
    )
    assert not at.exception
    assert "started by another Reelboard user" in at.error[0].value
    assert not {"code", "state"} & set(at.query_params)
    with open_db(rt.settings.database_path) as db:
        assert list_accounts(db) == []


def test_local_mode_is_single_user_admin():
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["reelboard"] = {"timezone": "UTC"}
    at.switch_page(str(Path("..") / "pages" / "accounts.py")).run()
    assert "Local mode" in texts(at) and "Connect a TikTok account" in buttons(at)
    assert "Sign in" not in buttons(at)


@pytest.fixture
def served_on(monkeypatch):
    old = st_config.get_option("server.address")

    def set_(address):
        st_config.set_option("server.address", address)

    yield set_
    st_config.set_option("server.address", old)


def test_refuses_to_serve_other_addresses_without_sign_in(served_on, monkeypatch):
    served_on("0.0.0.0")
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["reelboard"] = {"timezone": "UTC"}
    at.switch_page(str(Path("..") / "pages" / "accounts.py")).run()
    assert "will not start" in at.title[0].value
    assert "[auth]" in at.error[0].value and "REELBOARD_ALLOW_UNAUTHENTICATED" in at.error[0].value
    assert "Accounts" not in [t.value for t in at.title]

    monkeypatch.setenv("REELBOARD_ALLOW_UNAUTHENTICATED", "1")
    at.run()
    assert "Accounts" in [t.value for t in at.title]
    assert "No sign-in" in at.error[0].value  # the red banner


@pytest.mark.parametrize("role", list(EXPECT))
def test_reconnect_and_grant_more_are_offered_to_admins_only(who, role):
    from services.accounts import mark_needs_reconnect

    who(PEOPLE[role])
    at = team_app("accounts")
    rt = runtime_of(at)
    partial = connect_demo(rt, "quietpotter", scopes=["user.info.basic", "video.list"])
    broken = connect_demo(rt, "trailrunnerjo")
    with open_db(rt.settings.database_path) as db:
        mark_needs_reconnect(db, broken.open_id, "TikTok refused the refresh token.")
    at.run()
    assert not at.exception
    admin = role == "admin"
    assert ("Grant more" in buttons(at)) is admin  # the partial grant's upgrade
    assert ("Reconnect" in buttons(at)) is admin  # on the broken account's card
    assert any(b.key == "reconnect_banner" for b in at.button) is admin  # every page's banner
    assert "must be reconnected" in texts(at)  # everyone is told; only admins can act
    assert partial.open_id != broken.open_id
