"""/v2/auth/authorize/: validation, consent page, approve/deny, partial scopes, control consent."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import requests

from sandbox import DEFAULT_CLIENT_KEY
from tests.sandbox.helpers import ALL_SCOPES, REDIRECT, Client, callback_params


def _get(sb: Client, **params: str) -> requests.Response:
    base = {
        "client_key": DEFAULT_CLIENT_KEY,
        "scope": ALL_SCOPES,
        "redirect_uri": REDIRECT,
        "state": "s1",
        "response_type": "code",
    }
    base.update(params)
    return sb.http.get(sb.server.auth_url, params=base, allow_redirects=False)


def _form(url: str, html: str) -> dict[str, str]:
    """The hidden fields of the consent form, as a browser would submit them."""
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))


def _unescape(value: str) -> str:
    import html

    return html.unescape(value)


def test_unknown_client_key_shows_error_page_without_redirect(sb: Client) -> None:
    r = _get(sb, client_key="nope")
    assert r.status_code == 400
    assert "Location" not in r.headers
    assert "text/html" in r.headers["Content-Type"]
    assert "error_type=client_key" in r.text


def test_client_id_instead_of_client_key_is_rejected(sb: Client) -> None:
    params = {
        "client_id": DEFAULT_CLIENT_KEY,
        "scope": "user.info.basic",
        "redirect_uri": REDIRECT,
        "response_type": "code",
    }
    r = sb.http.get(sb.server.auth_url, params=params, allow_redirects=False)
    assert r.status_code == 400
    assert "client_key" in r.text
    assert "client_id" in r.text


def test_redirect_uri_must_match_exactly(sb: Client) -> None:
    for bad in (REDIRECT + "/", "http://localhost:8501/accounts?x=1", "https://evil.example/", ""):
        r = _get(sb, redirect_uri=bad)
        assert r.status_code == 400, bad
        assert "Location" not in r.headers
        assert "error_type=redirect_uri" in r.text


def test_bad_response_type_redirects_with_error_and_state(sb: Client) -> None:
    r = _get(sb, response_type="token")
    assert r.status_code == 302
    assert r.headers["Location"].startswith(REDIRECT + "?")
    q = callback_params(r.headers["Location"])
    assert q["error"] == "unsupported_response_type"
    assert q["error_description"]
    assert q["state"] == "s1"
    assert "code" not in q


def test_unknown_or_empty_scope_is_invalid_scope(sb: Client) -> None:
    for scope in ("user.info.basic,video.insights", "", " , ", "comment.list"):
        r = _get(sb, scope=scope)
        assert r.status_code == 302, scope
        q = callback_params(r.headers["Location"])
        assert q["error"] == "invalid_scope", scope
        assert q["state"] == "s1"


def test_pkce_method_must_be_s256(sb: Client) -> None:
    r = _get(sb, code_challenge="ab" * 32, code_challenge_method="plain")
    q = callback_params(r.headers["Location"])
    assert q["error"] == "invalid_request"
    r = _get(sb, code_challenge_method="S256")
    assert callback_params(r.headers["Location"])["error"] == "invalid_request"


def test_percent_encoded_commas_are_accepted(sb: Client) -> None:
    url = (
        f"{sb.server.auth_url}?client_key={DEFAULT_CLIENT_KEY}"
        f"&scope=user.info.basic%2Cvideo.list&redirect_uri={REDIRECT}&state=x"
        "&response_type=code"
    )
    r = sb.http.get(url, allow_redirects=False)
    assert r.status_code == 200
    assert 'value="video.list"' in r.text


def test_consent_page_lists_scopes_and_creators(sb: Client) -> None:
    r = _get(sb, scope="user.info.basic,user.info.stats,video.list")
    assert r.status_code == 200
    page = r.text
    assert "Reelboard" in page
    # each optional scope is a ticked checkbox; basic is required and cannot be unticked
    assert re.search(r'name="granted_scope" value="video.list" checked', page)
    assert re.search(r'name="granted_scope" value="user.info.stats" checked', page)
    assert re.search(r'<input type="checkbox" checked disabled[^>]*>.*?user\.info\.basic', page)
    assert 'name="granted_scope" value="user.info.profile"' not in page  # not requested
    for username in ("lunakitchen", "quietpotter", "trailrunnerjo"):
        assert f"@{username}" in page
        assert f"/_sandbox/media/avatar/{username}/100.png" in page
    assert page.count('type="radio" name="creator"') >= 3
    assert 'value="approve"' in page
    assert 'value="deny"' in page
    assert "<link" not in page
    # self-contained: inline CSS, images from this server only, no external assets or links
    assert not re.search(r'(src|href)="(https?:)?//', page)


def test_state_is_html_escaped_on_the_consent_page(sb: Client) -> None:
    evil = '"><script>alert(1)</script>'
    r = _get(sb, state=evil)
    assert r.status_code == 200
    assert "<script>" not in r.text
    assert "&lt;script&gt;" in r.text
    assert _unescape(_form(r.url, r.text)["state"]) == evil


def test_error_page_escapes_nothing_dangerous(sb: Client) -> None:
    r = _get(sb, client_key="<script>x</script>")
    assert r.status_code == 400
    assert "<script>" not in r.text


def _submit(sb: Client, page: str, **fields: str | list[str]) -> requests.Response:
    form: dict[str, str | list[str]] = {k: _unescape(v) for k, v in _form("", page).items()}
    form.update(fields)
    return sb.http.post(sb.server.auth_url, data=form, allow_redirects=False)


def test_approve_through_the_form_redirects_with_code_scopes_and_state(sb: Client) -> None:
    page = _get(sb, state="abc").text
    open_id = sb.control("GET", "creators").json()[1]["open_id"]
    r = _submit(
        sb,
        page,
        action="approve",
        creator=open_id,
        granted_scope=["user.info.profile", "user.info.stats", "video.list"],
    )
    assert r.status_code == 302
    location = r.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    assert "%2A" in location
    assert "%21" in location
    q = callback_params(location)
    assert q["state"] == "abc"
    assert q["scopes"] == ALL_SCOPES
    assert re.fullmatch(r"[A-Za-z0-9_-]+\*\d!\d{4}", q["code"])
    token = sb.exchange(q["code"]).json()
    assert token["open_id"] == open_id
    assert token["scope"] == ALL_SCOPES


def test_unticked_scopes_are_not_granted(sb: Client) -> None:
    page = _get(sb).text
    r = _submit(
        sb, page, action="approve", creator="lunakitchen", granted_scope=["user.info.profile"]
    )
    q = callback_params(r.headers["Location"])
    assert q["scopes"] == "user.info.basic,user.info.profile"
    token = sb.exchange(q["code"]).json()
    assert token["scope"] == "user.info.basic,user.info.profile"
    # video.list was not granted: the endpoint scope check fails
    assert sb.video_list(token["access_token"]).json()["error"]["code"] == "scope_not_authorized"


def test_required_scope_cannot_be_dropped_and_extra_scopes_are_ignored(sb: Client) -> None:
    page = _get(sb, scope="video.list").text
    r = _submit(
        sb, page, action="approve", creator="lunakitchen", granted_scope=["video.publish"]
    )  # tampered: not requested
    assert callback_params(r.headers["Location"])["scopes"] == "user.info.basic"


def test_deny_redirects_with_access_denied(sb: Client) -> None:
    page = _get(sb, state="zz").text
    r = _submit(sb, page, action="deny", creator="lunakitchen")
    q = callback_params(r.headers["Location"])
    assert q == {
        "error": "access_denied",
        "error_description": q["error_description"],
        "state": "zz",
    }


def test_form_post_is_revalidated(sb: Client) -> None:
    page = _get(sb).text
    r = _submit(sb, page, action="approve", creator="lunakitchen", client_key="other")
    assert r.status_code == 400
    assert "Location" not in r.headers
    r = _submit(sb, page, action="approve", creator="lunakitchen", redirect_uri="http://x/")
    assert r.status_code == 400
    assert "Location" not in r.headers
    r = _submit(sb, page, action="approve", creator="nobody")
    assert r.status_code == 400
    assert "Choose an account" in r.text
    r = sb.http.post(
        sb.server.auth_url, json={"client_key": DEFAULT_CLIENT_KEY}, allow_redirects=False
    )
    assert r.status_code == 400


def test_silent_reauthorization_unless_disable_auto_auth(sb: Client) -> None:
    page = _get(sb).text
    r = _submit(
        sb, page, action="approve", creator="trailrunnerjo", granted_scope=ALL_SCOPES.split(",")
    )
    assert "tt_sandbox_session" in r.headers["Set-Cookie"]
    sb.exchange(callback_params(r.headers["Location"])["code"])
    # disable_auto_auth absent (0): already connected -> straight back with a new code
    again = _get(sb)
    assert again.status_code == 302
    assert "code" in callback_params(again.headers["Location"])
    # disable_auto_auth=1 always shows the page, so the user can switch accounts
    assert _get(sb, disable_auto_auth="1").status_code == 200
    # after a reset (no live grant) the page is shown again
    sb.control("POST", "reset")
    sb.set_clock(sb.now())
    assert _get(sb).status_code == 200


def test_consent_control_api(sb: Client) -> None:
    q = sb.consent("quietpotter", scopes=["video.list"])
    assert q["scopes"] == "user.info.basic,video.list"
    assert q["state"] == "st-123"
    token = sb.exchange(q["code"]).json()
    creators = {c["username"]: c for c in sb.control("GET", "creators").json()}
    assert token["open_id"] == creators["quietpotter"]["open_id"]

    denied = sb.consent("lunakitchen", approve=False)
    assert denied["error"] == "access_denied"

    # validation errors TikTok shows on its own page -> 400 JSON
    bad = sb.control(
        "POST",
        "consent",
        {
            "authorize_url": sb.authorize_url().replace(DEFAULT_CLIENT_KEY, "zzz"),
            "creator": "lunakitchen",
        },
    )
    assert bad.status_code == 400
    assert "client_key" in bad.json()["error"]
    for body in (
        {"authorize_url": sb.authorize_url(), "creator": "ghost"},
        {
            "authorize_url": sb.authorize_url("video.list"),
            "creator": "lunakitchen",
            "scopes": ["user.info.stats"],
        },
        {"authorize_url": "http://x/wrong/path", "creator": "lunakitchen"},
        {"creator": "lunakitchen"},
    ):
        assert sb.control("POST", "consent", body).status_code == 400, body
    # errors TikTok redirects with come back as that redirect
    r = sb.control(
        "POST",
        "consent",
        {"authorize_url": sb.authorize_url("bogus.scope"), "creator": "lunakitchen"},
    )
    assert callback_params(r.json()["redirect_url"])["error"] == "invalid_scope"


def test_consent_by_open_id_and_with_pkce_params_carried(sb: Client) -> None:
    open_id = sb.control("GET", "creators").json()[0]["open_id"]
    url = (
        sb.authorize_url()
        + "&"
        + urlencode({"code_challenge": "a" * 64, "code_challenge_method": "S256"})
    )
    r = sb.control("POST", "consent", {"authorize_url": url, "creator": open_id})
    code = callback_params(r.json()["redirect_url"])["code"]
    # the challenge is bound to the code: no verifier -> PKCE error
    assert sb.exchange(code).json()["error"] == "invalid_request"
