"""/v2/oauth/token/ and /v2/oauth/revoke/ (token docs)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import urlencode

import pytest

from sandbox import DEFAULT_CLIENT_KEY, DEFAULT_CLIENT_SECRET
from tests.sandbox.helpers import REDIRECT, Client, callback_params

TOKEN_KEYS = {
    "access_token",
    "expires_in",
    "open_id",
    "refresh_expires_in",
    "refresh_token",
    "scope",
    "token_type",
}


def _error(r: object) -> tuple[str, str]:
    body = r.json()  # type: ignore[attr-defined]
    assert set(body) == {"error", "error_description", "log_id"}, body
    return body["error"], body["error_description"]


def test_success_is_flat_and_exactly_shaped(sb: Client) -> None:
    code = sb.consent()["code"]
    r = sb.exchange(code)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == TOKEN_KEYS
    assert body["access_token"].startswith("act.")
    assert body["refresh_token"].startswith("rft.")
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 7200
    assert body["refresh_expires_in"] == 15552000
    assert body["open_id"].startswith("-000")
    assert len(body["open_id"]) == 36
    assert "x-tt-logid" in r.headers


def test_json_body_is_rejected(sb: Client) -> None:
    code = sb.consent()["code"]
    r = sb.http.post(
        f"{sb.base}/v2/oauth/token/",
        json={
            "client_key": DEFAULT_CLIENT_KEY,
            "client_secret": DEFAULT_CLIENT_SECRET,
            "code": code,
            "grant_type": "authorization_code",
            "redirect_uri": REDIRECT,
        },
    )
    assert r.status_code == 200
    assert _error(r) == ("invalid_request", "The request parameters are malformed.")
    # the code was not consumed by the malformed call
    assert "access_token" in sb.exchange(code).json()


@pytest.mark.parametrize(
    "missing", ["client_key", "client_secret", "grant_type", "code", "redirect_uri"]
)
def test_missing_field_is_invalid_request(sb: Client, missing: str) -> None:
    form = {
        "client_key": DEFAULT_CLIENT_KEY,
        "client_secret": DEFAULT_CLIENT_SECRET,
        "code": sb.consent()["code"],
        "grant_type": "authorization_code",
        "redirect_uri": REDIRECT,
    }
    del form[missing]
    error, description = _error(sb.token(**form))
    assert error == "invalid_request"
    if missing == "client_secret":
        assert description == "Client secret is missed in request."


def test_wrong_client_credentials_are_invalid_client(sb: Client) -> None:
    code = sb.consent()["code"]
    for key, secret in ((DEFAULT_CLIENT_KEY, "wrong"), ("unknown", DEFAULT_CLIENT_SECRET)):
        r = sb.token(
            client_key=key,
            client_secret=secret,
            code=code,
            grant_type="authorization_code",
            redirect_uri=REDIRECT,
        )
        assert _error(r)[0] == "invalid_client"


def test_unknown_grant_type(sb: Client) -> None:
    r = sb.token(
        client_key=DEFAULT_CLIENT_KEY, client_secret=DEFAULT_CLIENT_SECRET, grant_type="password"
    )
    assert _error(r)[0] == "unsupported_grant_type"


def test_reused_code_fails_and_revokes_its_tokens(sb: Client) -> None:
    code = sb.consent()["code"]
    first = sb.exchange(code).json()
    assert sb.user_info(first["access_token"], "open_id").status_code == 200
    assert _error(sb.exchange(code)) == ("invalid_grant", "Authorization code is expired.")
    r = sb.user_info(first["access_token"], "open_id")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "access_token_invalid"
    assert _error(sb.refresh(first["refresh_token"]))[0] == "invalid_grant"


def test_unknown_and_expired_codes(sb: Client) -> None:
    assert _error(sb.exchange("made-up*0!1234")) == (
        "invalid_grant",
        "Authorization code is expired.",
    )
    code = sb.consent()["code"]
    sb.advance(301)  # code_ttl is 300 s of simulated time
    assert _error(sb.exchange(code)) == ("invalid_grant", "Authorization code is expired.")
    sb.config(code_ttl=3600)
    code = sb.consent()["code"]
    sb.advance(301)
    assert "access_token" in sb.exchange(code).json()


def test_redirect_uri_mismatch(sb: Client) -> None:
    code = sb.consent()["code"]
    r = sb.exchange(code, redirect_uri=REDIRECT + "/")
    assert _error(r) == (
        "invalid_request",
        "Redirect_uri is not matched with the uri when requesting code.",
    )


def _pkce_code(sb: Client, challenge: str) -> str:
    url = (
        sb.authorize_url()
        + "&"
        + urlencode({"code_challenge": challenge, "code_challenge_method": "S256"})
    )
    r = sb.control("POST", "consent", {"authorize_url": url, "creator": "lunakitchen"})
    return callback_params(r.json()["redirect_url"])["code"]


def test_pkce_hex_sha256_succeeds(sb: Client) -> None:
    verifier = secrets.token_urlsafe(48)
    challenge = hashlib.sha256(verifier.encode()).hexdigest()
    code = _pkce_code(sb, challenge)
    assert "access_token" in sb.exchange(code, code_verifier=verifier).json()


def test_pkce_failures(sb: Client) -> None:
    verifier = secrets.token_urlsafe(48)
    hex_challenge = hashlib.sha256(verifier.encode()).hexdigest()
    expected = ("invalid_request", "Code verifier or code challenge is invalid.")
    code = _pkce_code(sb, hex_challenge)
    assert _error(sb.exchange(code, code_verifier=secrets.token_urlsafe(48))) == expected
    assert _error(sb.exchange(code)) == expected  # verifier missing
    # RFC 7636 base64url challenges fail: TikTok's S256 is hex (Login Kit)
    b64 = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    code = _pkce_code(sb, b64.decode())
    assert _error(sb.exchange(code, code_verifier=verifier)) == expected
    # a verifier without a challenge is ignored (Postiz does this)
    assert "access_token" in sb.exchange(sb.consent()["code"], code_verifier=verifier).json()


def test_refresh_rotates_and_old_refresh_token_dies(sb: Client) -> None:
    first = sb.connect()
    sb.advance(1000)
    r = sb.refresh(first["refresh_token"])
    second = r.json()
    assert set(second) == TOKEN_KEYS
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["refresh_expires_in"] == 15552000  # a fresh lifetime on each refresh
    assert second["open_id"] == first["open_id"]
    assert second["scope"] == first["scope"]
    assert _error(sb.refresh(first["refresh_token"]))[0] == "invalid_grant"
    assert sb.user_info(second["access_token"], "open_id").status_code == 200
    third = sb.refresh(second["refresh_token"]).json()
    assert "access_token" in third


def test_refresh_without_rotation_when_configured(sb: Client) -> None:
    sb.config(rotate_refresh_tokens=False)
    first = sb.connect()
    sb.advance(100)
    second = sb.refresh(first["refresh_token"]).json()
    assert second["refresh_token"] == first["refresh_token"]
    assert second["refresh_expires_in"] == 15552000 - 100


def test_refresh_token_expires(sb: Client) -> None:
    sb.config(refresh_ttl=600)
    tokens = sb.connect()
    sb.advance(601)
    assert _error(sb.refresh(tokens["refresh_token"]))[0] == "invalid_grant"


def test_access_token_expires_with_the_clock(sb: Client) -> None:
    tokens = sb.connect()
    sb.advance(7199)
    assert sb.user_info(tokens["access_token"], "open_id").status_code == 200
    sb.advance(2)
    r = sb.user_info(tokens["access_token"], "open_id")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "access_token_invalid"
    assert "access_token" in sb.refresh(tokens["refresh_token"]).json()


def test_revoke(sb: Client) -> None:
    tokens = sb.connect()
    other = sb.connect("quietpotter")
    url = f"{sb.base}/v2/oauth/revoke/"
    bad = sb.http.post(
        url,
        data={
            "client_key": DEFAULT_CLIENT_KEY,
            "client_secret": "x",
            "token": tokens["access_token"],
        },
    )
    assert _error(bad)[0] == "invalid_client"
    r = sb.http.post(
        url,
        data={
            "client_key": DEFAULT_CLIENT_KEY,
            "client_secret": DEFAULT_CLIENT_SECRET,
            "token": tokens["access_token"],
        },
    )
    assert r.status_code == 200
    assert r.json() == {}
    assert sb.user_info(tokens["access_token"], "open_id").status_code == 401
    assert _error(sb.refresh(tokens["refresh_token"]))[0] == "invalid_grant"
    # other users are untouched; unknown tokens succeed quietly (RFC 7009)
    assert sb.user_info(other["access_token"], "open_id").status_code == 200
    r = sb.http.post(
        url,
        data={
            "client_key": DEFAULT_CLIENT_KEY,
            "client_secret": DEFAULT_CLIENT_SECRET,
            "token": "act.nope",
        },
    )
    assert r.json() == {}
    assert _error(sb.http.post(url, json={"token": "x"}))[0] == "invalid_request"


def test_oauth_error_status_is_configurable(sb: Client) -> None:
    assert sb.exchange("nope").status_code == 200
    sb.config(oauth_error_status=400)
    r = sb.exchange("nope")
    assert r.status_code == 400
    assert _error(r)[0] == "invalid_grant"
    assert sb.control("POST", "config", {"oauth_error_status": 418}).status_code == 400


def test_client_credentials_token_is_not_a_user_token(sb: Client) -> None:
    r = sb.token(
        client_key=DEFAULT_CLIENT_KEY,
        client_secret=DEFAULT_CLIENT_SECRET,
        grant_type="client_credentials",
    )
    body = r.json()
    assert body["access_token"].startswith("clt.")
    assert body["expires_in"] == 7200
    assert sb.user_info(body["access_token"], "open_id").status_code == 401
