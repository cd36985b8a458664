"""The sandbox's OpenID Connect provider, checked with Authlib's own relying-party code: the
discovery document, JWKS, the code flow with PKCE and nonce, and the ID token's signature."""

from __future__ import annotations

import re
import secrets
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.integrations.base_client import BaseApp, OAuth2Mixin, OpenIDMixin
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.discovery import OpenIDProviderMetadata
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet, RSAKey

from sandbox.oidc import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, TEAM

REDIRECT = "http://localhost:8501/oauth2callback"


class RelyingParty(OAuth2Mixin, OpenIDMixin, BaseApp):
    """Authlib's synchronous OIDC client, as Flask's integration assembles it."""

    client_cls = OAuth2Session

    def _on_update_token(self, token, refresh_token=None, access_token=None):
        pass


@pytest.fixture
def rp(server):
    return RelyingParty(
        None,
        "sandbox",
        client_id=DEMO_CLIENT_ID,
        client_secret=DEMO_CLIENT_SECRET,
        server_metadata_url=f"{server.base_url}/oidc/.well-known/openid-configuration",
        client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256"},
    )


def _sign_in(rp, person: str | None, *, nonce=None, verifier="v" * 64, redirect=REDIRECT):
    """Open the sign-in page, pick ``person`` (None = Cancel); the redirect's query."""
    nonce = nonce or secrets.token_urlsafe(16)  # a reused nonce is refused as a replay
    started = rp.create_authorization_url(redirect, nonce=nonce, code_verifier=verifier)
    page = requests.get(started["url"], timeout=10)
    assert page.status_code == 200, page.text
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    hidden = {k: unescape(v) for k, v in hidden.items()}
    answer = requests.post(
        started["url"].split("?")[0],
        data={**hidden, "person": person or ""},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert location.startswith(redirect)
    return started, page.text, parse_qs(urlsplit(location).query)


def test_discovery_document_is_valid_and_advertises_pkce(server, rp):
    meta = rp.load_server_metadata()
    OpenIDProviderMetadata(meta).validate()
    assert meta["issuer"] == f"{server.base_url}/oidc"
    assert meta["code_challenge_methods_supported"] == ["S256"]  # st.login then sends PKCE
    assert meta["end_session_endpoint"].endswith("/oidc/logout")
    keys = requests.get(meta["jwks_uri"], timeout=10).json()["keys"]
    assert keys and all("d" not in k and k["kty"] == "RSA" for k in keys)  # public only


def test_sign_in_page_lists_the_demo_team(rp):
    started = rp.create_authorization_url(REDIRECT, nonce="abc", code_verifier="v" * 64)
    assert "code_challenge=" in started["url"] and "nonce=abc" in started["url"]
    page = requests.get(started["url"], timeout=10).text
    for member in TEAM:
        assert member.email in page and member.email.endswith(("@example.com", "@example.net"))


@pytest.mark.parametrize("member", TEAM, ids=lambda m: m.sub)
def test_code_flow_issues_a_verifiable_id_token(rp, member):
    started, _, query = _sign_in(rp, member.sub, nonce=f"nonce-{member.sub}")
    assert query["state"] == [started["state"]]
    token = rp.fetch_access_token(REDIRECT, code=query["code"][0], code_verifier="v" * 64)
    claims = rp.parse_id_token(token, nonce=f"nonce-{member.sub}")  # signature, iss, aud,
    assert claims["email"] == member.email  # exp, nonce and at_hash all checked by Authlib
    assert claims["email_verified"] is True and claims["sub"] == member.sub
    assert claims["name"] == member.name
    header = jwt.decode(token["id_token"], KeySet.import_key_set(rp.fetch_jwk_set())).header
    assert header["alg"] == "RS256" and header["kid"]
    info = requests.get(
        rp.load_server_metadata()["userinfo_endpoint"],
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=10,
    ).json()
    assert info["email"] == member.email


def test_id_token_signed_by_another_key_fails_verification(rp):
    _, _, query = _sign_in(rp, TEAM[0].sub)
    token = rp.fetch_access_token(REDIRECT, code=query["code"][0], code_verifier="v" * 64)
    stranger = KeySet(
        [
            RSAKey.generate_key(
                2048,
                parameters={
                    "kid": jwt.decode(
                        token["id_token"], KeySet.import_key_set(rp.fetch_jwk_set())
                    ).header["kid"]
                },
            )
        ]
    )
    with pytest.raises(BadSignatureError):
        jwt.decode(token["id_token"], stranger)


def test_wrong_nonce_is_rejected_by_the_client(rp):
    _, _, query = _sign_in(rp, TEAM[0].sub, nonce="the-real-one")
    token = rp.fetch_access_token(REDIRECT, code=query["code"][0], code_verifier="v" * 64)
    with pytest.raises(Exception, match="nonce"):
        rp.parse_id_token(token, nonce="a-replayed-one")


def test_pkce_verifier_must_match_and_codes_work_once(rp, server):
    _, _, query = _sign_in(rp, TEAM[1].sub, verifier="a" * 64)
    token_url = rp.load_server_metadata()["token_endpoint"]
    body = {
        "grant_type": "authorization_code",
        "code": query["code"][0],
        "redirect_uri": REDIRECT,
        "code_verifier": "b" * 64,
    }
    wrong = requests.post(
        token_url, data=body, auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET), timeout=10
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    assert create_s256_code_challenge("a" * 64) != create_s256_code_challenge("b" * 64)
    ok = requests.post(
        token_url,
        data={**body, "code_verifier": "a" * 64},
        auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
        timeout=10,
    )
    assert ok.status_code == 200 and "id_token" in ok.json()
    again = requests.post(
        token_url,
        data={**body, "code_verifier": "a" * 64},
        auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
        timeout=10,
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_bad_client_secret_and_foreign_redirects_are_refused(rp, server):
    _, _, query = _sign_in(rp, TEAM[0].sub)
    token_url = rp.load_server_metadata()["token_endpoint"]
    bad = requests.post(
        token_url,
        data={
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": REDIRECT,
            "code_verifier": "v" * 64,
        },
        auth=(DEMO_CLIENT_ID, "guessed"),
        timeout=10,
    )
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    evil = rp.create_authorization_url(
        "https://evil.example/oauth2callback", nonce="x", code_verifier="v" * 64
    )
    page = requests.get(evil["url"], allow_redirects=False, timeout=10)
    assert page.status_code == 400 and "evil.example" not in page.headers.get("Location", "")


def test_cancel_sends_access_denied(rp):
    _, _, query = _sign_in(rp, None)
    assert query["error"] == ["access_denied"] and "code" not in query


def test_a_nonce_already_used_is_a_replay(rp):
    _sign_in(rp, TEAM[0].sub, nonce="used-once")
    started = rp.create_authorization_url(REDIRECT, nonce="used-once", code_verifier="v" * 64)
    answer = requests.get(started["url"], allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    assert parse_qs(urlsplit(answer.headers["Location"]).query)["error"] == ["invalid_request"]


def test_nonce_is_required(rp, server):
    started = rp.create_authorization_url(REDIRECT, code_verifier="v" * 64)
    url = re.sub(r"[&?]nonce=[^&]*", "", started["url"])
    answer = requests.get(url, allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    assert parse_qs(urlsplit(answer.headers["Location"]).query)["error"] == ["invalid_request"]


def test_end_session_redirects_back_with_a_valid_hint(rp):
    _, _, query = _sign_in(rp, TEAM[2].sub)
    token = rp.fetch_access_token(REDIRECT, code=query["code"][0], code_verifier="v" * 64)
    logout = rp.load_server_metadata()["end_session_endpoint"]
    answer = requests.get(
        logout,
        params={
            "id_token_hint": token["id_token"],
            "client_id": DEMO_CLIENT_ID,
            "post_logout_redirect_uri": REDIRECT,
        },
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302 and answer.headers["Location"] == REDIRECT
    userinfo = requests.get(
        rp.load_server_metadata()["userinfo_endpoint"],
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=10,
    )
    assert userinfo.status_code == 401  # the session's tokens ended with it
    plain = requests.get(logout, timeout=10)
    assert plain.status_code == 200 and "signed out" in plain.text
