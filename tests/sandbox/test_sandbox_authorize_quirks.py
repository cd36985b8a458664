"""How real third-party clients reach TikTok: the authorize page without its trailing slash, and
an RFC 7636 base64url PKCE challenge on a web (https, non-loopback) redirect URI."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
import requests

from sandbox import DEFAULT_CLIENT_KEY, DEFAULT_CLIENT_SECRET, SandboxServer, start_sandbox
from tests.sandbox.helpers import ANCHOR, REDIRECT, START, Client, callback_params

WEB_REDIRECT = "https://reelboard.example.com/accounts"


@pytest.fixture(scope="module")
def web_server() -> Iterator[SandboxServer]:
    with start_sandbox(port=0, anchor=ANCHOR, redirect_uris=(WEB_REDIRECT, REDIRECT)) as srv:
        yield srv


@pytest.fixture
def web(web_server: SandboxServer) -> Iterator[Client]:
    with requests.Session() as http:
        client = Client(web_server, http)
        assert client.control("POST", "reset").status_code == 200
        client.set_clock(START)
        yield client


def _authorize_url(sb: Client, redirect: str, challenge: str, slash: bool = True) -> str:
    params = {
        "client_key": DEFAULT_CLIENT_KEY,
        "scope": "user.info.basic",
        "redirect_uri": redirect,
        "state": "s1",
        "response_type": "code",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    path = "/v2/auth/authorize/" if slash else "/v2/auth/authorize"
    return f"{sb.base}{path}?{urlencode(params)}"


def _code_for(sb: Client, url: str) -> str:
    r = sb.control("POST", "consent", {"authorize_url": url, "creator": "lunakitchen"})
    assert r.status_code == 200, r.text
    return callback_params(r.json()["redirect_url"])["code"]


def _exchange(sb: Client, code: str, redirect: str, verifier: str) -> requests.Response:
    return sb.token(
        client_key=DEFAULT_CLIENT_KEY,
        client_secret=DEFAULT_CLIENT_SECRET,
        code=code,
        grant_type="authorization_code",
        redirect_uri=redirect,
        code_verifier=verifier,
    )


def _b64url(verifier: str) -> str:
    return (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )


def _hex(verifier: str) -> str:
    return hashlib.sha256(verifier.encode()).hexdigest()


def test_authorize_page_answers_without_trailing_slash(sb: Client) -> None:
    with_slash = sb.http.get(sb.authorize_url(), allow_redirects=False)
    without = sb.http.get(
        sb.authorize_url().replace("/v2/auth/authorize/?", "/v2/auth/authorize?"),
        allow_redirects=False,
    )
    assert with_slash.status_code == without.status_code == 200
    assert "lunakitchen" in without.text and "Authorize" in without.text
    # the consent form of the slash-less page completes like the other
    url = sb.authorize_url().replace("/v2/auth/authorize/?", "/v2/auth/authorize?")
    r = sb.control("POST", "consent", {"authorize_url": url, "creator": "lunakitchen"})
    assert r.status_code == 200
    assert "code" in callback_params(r.json()["redirect_url"])


def test_base64url_challenge_accepted_for_web_redirect(web: Client) -> None:
    verifier = secrets.token_urlsafe(48)
    code = _code_for(web, _authorize_url(web, WEB_REDIRECT, _b64url(verifier), slash=False))
    r = _exchange(web, code, WEB_REDIRECT, verifier)
    assert "access_token" in r.json(), r.text


def test_hex_challenge_still_works_for_web_redirect(web: Client) -> None:
    verifier = secrets.token_urlsafe(48)
    code = _code_for(web, _authorize_url(web, WEB_REDIRECT, _hex(verifier)))
    assert "access_token" in _exchange(web, code, WEB_REDIRECT, verifier).json()


def test_base64url_challenge_refused_for_loopback_redirect(web: Client) -> None:
    verifier = secrets.token_urlsafe(48)
    code = _code_for(web, _authorize_url(web, REDIRECT, _b64url(verifier)))
    body = _exchange(web, code, REDIRECT, verifier).json()
    assert body["error"] == "invalid_request"
    assert body["error_description"] == "Code verifier or code challenge is invalid."
    verifier = secrets.token_urlsafe(48)
    code = _code_for(web, _authorize_url(web, REDIRECT, _hex(verifier)))
    assert "access_token" in _exchange(web, code, REDIRECT, verifier).json()


def test_wrong_verifier_fails_in_both_forms(web: Client) -> None:
    verifier = secrets.token_urlsafe(48)
    code = _code_for(web, _authorize_url(web, WEB_REDIRECT, _b64url(verifier)))
    body = _exchange(web, code, WEB_REDIRECT, secrets.token_urlsafe(48)).json()
    assert body["error"] == "invalid_request"
