"""Connecting as a marketer lives it (issue 10: items 2, 4, 9, 13, 16), through AppTest."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.access import LOCAL_ACTOR
from services.accounts import list_accounts, start_connect
from services.db import open_db
from services.demo_history import load_demo_history
from services.sync import sync_accounts
from services.tiktok.scopes import parse_scopes
from tests.pages.conftest import connect_demo, consent_params, current_runtime, open_page, texts
from tests.pages.test_accounts_page import scope_codes_outside_permission_lists

ANALYTICS = ["user.info.basic", "user.info.profile", "user.info.stats", "video.list"]
ALL_PAGES = sorted(p.stem for p in (Path(__file__).resolve().parents[2] / "pages").glob("*.py"))
# Engineering words a marketer should never read (issue 10 item 16).
BANNED = [
    re.compile(r"\d[\d,]* requests?\b"),
    re.compile(r"\d[\d,]* rows?\b"),
    re.compile(r"run\(s\)"),
    re.compile(r"account-day"),
    re.compile(r"day\(s\)"),
]


def _accounts(rt):
    with open_db(rt.settings.database_path) as db:
        return list_accounts(db)


def _callback(rt, creator, *, scopes=ANALYTICS, purpose="connect", target=None):
    with open_db(rt.settings.database_path) as db:
        url = start_connect(
            db,
            rt.settings,
            rt.keyring,
            actor=LOCAL_ACTOR,
            scopes=scopes,
            purpose=purpose,
            target_open_id=target,
            add_another=True,
        )
    return {k: v[0] for k, v in consent_params(rt, url, creator).items()}


def test_connecting_runs_the_first_sync_and_accounts_matches_overview():
    rt = current_runtime()
    at = open_page("accounts", query=_callback(rt, "lunakitchen"))
    assert not at.exception
    page = texts(at)
    assert "First sync done" in page
    followers = int(re.search(r"· ([\d,]+) followers", page).group(1).replace(",", ""))
    assert re.search(r"Followers as of \d+ \w+ \d{4} \d\d:\d\d", page)
    overview = open_page("overview")
    assert not overview.exception
    assert "never synced" not in texts(overview)
    shown = next(m for m in overview.metric if m.label == "Followers")
    assert int(shown.value.replace(",", "")) == followers


def test_grant_more_answered_by_another_creator_offers_keep_or_discard():
    rt = current_runtime()
    jo = connect_demo(rt, "trailrunnerjo", requested=("user.info.basic",))
    query = _callback(rt, "lunakitchen", purpose="grant_more", target=jo.open_id)
    at = open_page("accounts", query=query)
    assert not at.exception
    warning = " ".join(w.value for w in at.warning)
    assert "TikTok signed in as Luna" in warning and "not Jo on the Trails" in warning
    assert "Connected" not in " ".join(s.value for s in at.success)
    assert [a.open_id for a in _accounts(rt)] == [jo.open_id]  # nothing stored yet
    at.button(key="other_creator_discard").click().run()
    assert any("nothing was stored" in i.value for i in at.info)
    assert [a.open_id for a in _accounts(rt)] == [jo.open_id]
    assert _accounts(rt)[0].granted_scopes == frozenset({"user.info.basic"})


def test_grant_more_keep_adds_the_other_creator_as_a_new_account():
    rt = current_runtime()
    jo = connect_demo(rt, "trailrunnerjo", requested=("user.info.basic",))
    at = open_page(
        "accounts", query=_callback(rt, "lunakitchen", purpose="grant_more", target=jo.open_id)
    )
    at.button(key="other_creator_keep").click().run()
    assert not at.exception
    assert {a.display_name for a in _accounts(rt)} == {"Jo on the Trails", "Luna's Kitchen"}


def test_grant_more_asks_only_for_the_ticked_feature():
    rt = current_runtime()
    jo = connect_demo(rt, "trailrunnerjo", scopes=["user.info.basic", "video.list"])
    at = open_page("accounts")
    at.button(key=f"grant_more_{jo.open_id}").click().run()
    assert at.button(key=f"grant_{jo.open_id}").disabled  # nothing ticked, nothing asked
    at.checkbox(key=f"grant_drafts_{jo.open_id}").check().run()
    at.button(key=f"grant_{jo.open_id}").click().run()
    assert "Opening TikTok" in texts(at)
    with open_db(rt.settings.database_path) as db:
        (raw,) = db.execute(
            "SELECT requested_scopes FROM oauth_states "
            "WHERE consumed_at IS NULL AND purpose = 'grant_more'"
        ).fetchone()
    assert parse_scopes(raw) == {"user.info.basic", "video.list", "video.upload"}


@pytest.mark.parametrize("name", ["overview", "videos", "insights"])
def test_missing_stats_permission_is_named_instead_of_run_a_sync(name):
    rt = current_runtime()
    account = connect_demo(rt, "quietpotter", scopes=["user.info.basic", "user.info.profile"])
    for _ in range(2):
        sync_accounts(rt.settings, [account.open_id], actor=LOCAL_ACTOR)
    at = open_page(name)
    assert not at.exception
    page = texts(at)
    assert "has not allowed Reelboard to read" in page
    assert "No snapshots yet" not in page and "run a sync" not in page
    assert any(link.label == "Grant more on Accounts" for link in at.get("page_link"))


@pytest.fixture
def synced_runtime():
    rt = current_runtime()
    account = connect_demo(rt, "lunakitchen")
    load_demo_history(rt.settings, actor=LOCAL_ACTOR, days=3)
    sync_accounts(rt.settings, [account.open_id], actor=LOCAL_ACTOR)
    return rt


@pytest.mark.parametrize("name", ALL_PAGES)
def test_every_page_speaks_the_marketers_language_after_a_sync(synced_runtime, name):
    at = open_page(name)
    assert not at.exception
    page = texts(at)
    # Item 13: Reports and Publish are built; nothing asks to connect what is connected.
    assert "Connect accounts to get ready" not in page
    assert [p.pattern for p in BANNED if p.search(page)] == []
    assert scope_codes_outside_permission_lists(page) == []


def test_sync_now_and_demo_history_summaries_speak_the_marketers_language(synced_runtime):
    at = open_page("overview")
    at.button(key="sync_now").click().run()
    summary = " ".join(
        e.value for kind in ("success", "warning", "info") for e in getattr(at, kind)
    )
    assert "Luna" in summary
    at.number_input(key="demo_days").set_value(2).run()
    at.button(key="demo_history").click().run()
    summary += " ".join(
        e.value for kind in ("success", "warning", "info") for e in getattr(at, kind)
    )
    assert "Demo history" in summary
    assert [p.pattern for p in BANNED if p.search(summary)] == []
