"""TikTokClient against the sandbox over loopback, plus the error table and the scope catalogue.

Only faults the sandbox cannot produce (malformed token JSON, an HTML 502 from a proxy, a 429
with Retry-After) use a tiny fake session.
"""

from __future__ import annotations

import pickle
import re
import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from services.tiktok import errors as tte
from services.tiktok import scopes as sc
from services.tiktok import urls
from services.tiktok.client import TikTokClient, TokenGrant, parse_retry_after
from services.tiktok.errors import (
    OAuthError,
    TikTokAuthError,
    TikTokError,
    TikTokNetworkError,
    TikTokProtocolError,
    TikTokRateLimited,
    TikTokScopeError,
    TikTokServerError,
)

ALL = list(sc.LOGIN_KIT_SCOPES)
USER_FIELDS = ["open_id", "display_name", "avatar_url"]
VIDEO_FIELDS = ["id", "create_time", "view_count", "like_count"]


def _auth_url(client: TikTokClient, scopes=ALL, **kwargs) -> str:
    return client.authorize_url(scopes=scopes, state="s" * 43,
                                redirect_uri="http://localhost:8501/accounts", **kwargs)


def _grant(client, sandbox, creator="lunakitchen", scopes=None, **kwargs) -> TokenGrant:
    params = sandbox.callback_params(_auth_url(client, **kwargs), creator=creator, scopes=scopes)
    return client.exchange_code(params["code"][0],
                                redirect_uri="http://localhost:8501/accounts")


# -- authorize URL ----------------------------------------------------------------------


def test_authorize_url_follows_login_kit_v2(client, settings):
    url = client.authorize_url(scopes=["video.list", "user.info.stats"], state="abc",
                               redirect_uri=settings.redirect_uri, code_challenge="ff" * 32,
                               disable_auto_auth=True)
    parts = urlsplit(url)
    assert url.startswith(settings.auth_url + "?")
    query = parse_qs(parts.query)
    assert query["client_key"] == [settings.client_key]
    assert "client_id" not in query
    assert query["response_type"] == ["code"]
    assert query["scope"] == ["user.info.stats,video.list"]  # comma-separated, catalogue order
    assert ",video.list" in parts.query  # commas stay readable
    assert query["redirect_uri"] == [settings.redirect_uri]
    assert query["state"] == ["abc"]
    assert query["code_challenge"] == ["ff" * 32]
    assert query["code_challenge_method"] == ["S256"]
    assert query["disable_auto_auth"] == ["1"]


def test_authorize_url_omits_optional_params(client):
    query = parse_qs(urlsplit(_auth_url(client)).query)
    assert "disable_auto_auth" not in query and "code_challenge" not in query
    with pytest.raises(ValueError):
        client.authorize_url(scopes=[], state="x", redirect_uri="http://localhost:8501/accounts")
    with pytest.raises(ValueError):
        client.authorize_url(scopes=ALL, state="", redirect_uri="http://localhost:8501/accounts")


def test_sandbox_accepts_the_authorize_url(client, sandbox):
    redirect = sandbox.consent(_auth_url(client))
    query = parse_qs(urlsplit(redirect).query)
    assert query["state"] == ["s" * 43] and query["code"]


# -- token endpoint ---------------------------------------------------------------------


def test_exchange_code_returns_a_validated_grant(client, sandbox):
    grant = _grant(client, sandbox)
    assert grant.access_token.startswith("act.") and grant.refresh_token.startswith("rft.")
    assert grant.open_id.startswith("-000")
    assert grant.scopes == frozenset(ALL)
    assert grant.expires_in == 7200 and grant.refresh_expires_in == 15552000
    assert grant.token_type == "Bearer"
    shown = repr(grant)
    assert grant.access_token not in shown and grant.refresh_token not in shown
    assert sandbox.token_requests("authorization_code")[0]["status"] == 200


def test_partial_consent_reports_granted_scopes(client, sandbox):
    grant = _grant(client, sandbox, scopes=["user.info.basic", "video.list"])
    assert grant.scopes == frozenset({"user.info.basic", "video.list"})


def test_code_reuse_is_invalid_grant_and_sent_once(client, sandbox):
    params = sandbox.callback_params(_auth_url(client))
    code = params["code"][0]
    client.exchange_code(code, redirect_uri="http://localhost:8501/accounts")
    sandbox.clear_requests()
    with pytest.raises(OAuthError) as info:
        client.exchange_code(code, redirect_uri="http://localhost:8501/accounts")
    assert info.value.error == "invalid_grant"
    assert info.value.retry_safe is False
    assert info.value.http_status == 200  # TikTok answers OAuth errors with 200 (§2.5)
    assert code not in str(info.value)
    assert len(sandbox.token_requests()) == 1


@pytest.mark.parametrize("kind", ["server_error", "rate_limit", "drop"])
def test_exchange_is_never_retried(client, sandbox, sleeps, kind):
    params = sandbox.callback_params(_auth_url(client))
    sandbox.clear_requests()
    sandbox.fault(kind, count=3, path="/v2/oauth/token/")
    with pytest.raises(TikTokError) as info:
        client.exchange_code(params["code"][0], redirect_uri="http://localhost:8501/accounts")
    assert info.value.retry_safe is False
    assert len(sandbox.token_requests()) == 1
    assert sleeps == []
    if kind == "drop":
        assert isinstance(info.value, TikTokNetworkError) and info.value.maybe_sent


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_exchange_not_retried_even_on_connect_error(settings, sleeps):
    client = TikTokClient(client_key="k", client_secret="s", auth_url=settings.auth_url,
                          api_base_url=f"http://127.0.0.1:{_closed_port()}", sleep=sleeps.append)
    with pytest.raises(TikTokNetworkError) as info:
        client.exchange_code("code*1!2345", redirect_uri="http://localhost:8501/accounts")
    assert info.value.maybe_sent is False
    assert client.requests_made == 1 and sleeps == []


def test_refresh_retries_connect_errors_only(settings, sleeps):
    client = TikTokClient(client_key="k", client_secret="s", auth_url=settings.auth_url,
                          api_base_url=f"http://127.0.0.1:{_closed_port()}", sleep=sleeps.append,
                          rand=lambda: 1.0, max_attempts=4)
    with pytest.raises(TikTokNetworkError):
        client.refresh("rft.x")
    assert client.requests_made == 4
    assert sleeps == [1.0, 2.0, 4.0]  # full jitter upper bounds: base * 2**n


def test_refresh_rotates_and_old_token_dies(client, sandbox):
    first = _grant(client, sandbox)
    second = client.refresh(first.refresh_token)
    assert second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token
    assert second.open_id == first.open_id and second.scopes == first.scopes
    with pytest.raises(OAuthError) as info:
        client.refresh(first.refresh_token)
    assert info.value.error == "invalid_grant"
    assert [e["grant_type"] for e in sandbox.token_requests()] == [
        "authorization_code", "refresh_token", "refresh_token"]


def test_refresh_after_dropped_answer_is_not_resent(client, sandbox):
    grant = _grant(client, sandbox)
    sandbox.clear_requests()
    sandbox.fault("drop", count=1, path="/v2/oauth/token/")
    with pytest.raises(TikTokNetworkError):
        client.refresh(grant.refresh_token)
    assert len(sandbox.token_requests()) == 1  # it may have rotated: never sent twice


def test_oauth_rate_limit_is_an_oauth_error(client, sandbox):
    grant = _grant(client, sandbox)
    sandbox.fault("rate_limit", count=1, path="/v2/oauth/token/")
    with pytest.raises(OAuthError) as info:
        client.refresh(grant.refresh_token)
    assert info.value.error == "temporarily_unavailable" and info.value.http_status == 429


def test_invalid_client(sandbox, settings):
    bad = TikTokClient(client_key=settings.client_key, client_secret="wrong",
                       auth_url=settings.auth_url, api_base_url=settings.api_base_url)
    params = sandbox.callback_params(_auth_url(bad))
    with pytest.raises(OAuthError) as info:
        bad.exchange_code(params["code"][0], redirect_uri="http://localhost:8501/accounts")
    assert info.value.error == "invalid_client"
    assert "TIKTOK_CLIENT_SECRET" in info.value.fix
    assert "wrong" not in str(info.value)


def test_redirect_uri_mismatch_is_invalid_request(client, sandbox):
    params = sandbox.callback_params(_auth_url(client))
    with pytest.raises(OAuthError) as info:
        client.exchange_code(params["code"][0], redirect_uri="http://localhost:8501/accounts/")
    assert info.value.error == "invalid_request"


def test_revoke_ends_the_authorization(client, sandbox):
    grant = _grant(client, sandbox)
    client.revoke(grant.access_token)
    with pytest.raises(TikTokAuthError) as info:
        client.user_info(grant.access_token, USER_FIELDS)
    assert info.value.code == "access_token_invalid" and info.value.http_status == 401
    with pytest.raises(OAuthError):
        client.refresh(grant.refresh_token)


# -- Display API ------------------------------------------------------------------------


def test_user_info(client, sandbox):
    grant = _grant(client, sandbox)
    user = client.user_info(grant.access_token, [*USER_FIELDS, "follower_count", "username"])
    assert user["open_id"] == grant.open_id
    assert user["username"] == "lunakitchen"
    assert isinstance(user["follower_count"], int)


def test_field_without_scope_is_a_scope_error(client, sandbox):
    grant = _grant(client, sandbox, scopes=["user.info.basic", "video.list"])
    with pytest.raises(TikTokScopeError) as info:
        client.user_info(grant.access_token, ["open_id", "follower_count"])
    assert info.value.code == "scope_permission_missed"
    assert info.value.retry_safe is False


def test_endpoint_without_scope_is_a_scope_error(client, sandbox):
    grant = _grant(client, sandbox, scopes=["user.info.basic"])
    with pytest.raises(TikTokScopeError) as info:
        client.list_videos(grant.access_token, VIDEO_FIELDS)
    assert info.value.code == "scope_not_authorized"


def test_list_and_query_videos(client, sandbox):
    grant = _grant(client, sandbox)
    page = client.list_videos(grant.access_token, VIDEO_FIELDS, max_count=20)
    assert len(page.videos) == 20 and page.has_more
    times = [v["create_time"] for v in page.videos]
    assert times == sorted(times, reverse=True)  # newest first (§3.2)
    nxt = client.list_videos(grant.access_token, VIDEO_FIELDS, cursor=page.cursor, max_count=5)
    assert len(nxt.videos) == 5 and nxt.videos[0]["create_time"] <= times[-1]
    ids = [v["id"] for v in page.videos]
    assert all(isinstance(i, str) and len(i) == 19 for i in ids)
    queried = client.query_videos(grant.access_token, ids, ["id", "view_count"])
    assert {v["id"] for v in queried} == set(ids)


def test_query_and_list_limits(client):
    with pytest.raises(ValueError):
        client.query_videos("act.x", [str(10**18 + i) for i in range(21)], ["id"])
    with pytest.raises(ValueError):
        client.list_videos("act.x", ["id"], max_count=21)
    with pytest.raises(ValueError):
        client.list_videos("act.x", ["id"], max_count=0)
    before = client.requests_made
    assert client.query_videos("act.x", [], ["id"]) == []
    assert client.requests_made == before  # no ids, no request


def test_expired_access_token_is_auth_error_not_retried(client, sandbox, sleeps):
    grant = _grant(client, sandbox)
    sandbox.fault("expire_token", open_id=grant.open_id)
    sandbox.clear_requests()
    with pytest.raises(TikTokAuthError):
        client.user_info(grant.access_token, USER_FIELDS)
    assert len(sandbox.requests("/v2/user/info/")) == 1 and sleeps == []


def test_429_then_success(client, sandbox, sleeps):
    grant = _grant(client, sandbox)
    sandbox.fault("rate_limit", count=1, path="/v2/user/info/")
    sandbox.clear_requests()
    before = client.requests_made
    assert client.user_info(grant.access_token, USER_FIELDS)["open_id"] == grant.open_id
    assert [e["status"] for e in sandbox.requests("/v2/user/info/")] == [429, 200]
    assert client.requests_made - before == 2
    assert sleeps == [0.5]  # rand 0.5 x min(cap, 1 s)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retried_a_bounded_number_of_times(client, sandbox, sleeps, status):
    grant = _grant(client, sandbox)
    sandbox.fault("server_error", count=50, status=status, path="/v2/video/list/")
    sandbox.clear_requests()
    with pytest.raises(TikTokServerError) as info:
        client.list_videos(grant.access_token, VIDEO_FIELDS)
    assert info.value.http_status == status and info.value.retry_safe
    assert len(sandbox.requests("/v2/video/list/")) == client.max_attempts == 4
    assert sleeps == [0.5, 1.0, 2.0]


def test_dropped_connection_on_a_read_is_retried(client, sandbox):
    grant = _grant(client, sandbox)
    sandbox.fault("drop", count=2, path="/v2/video/query/")
    sandbox.clear_requests()
    ids = [v["id"] for v in client.list_videos(grant.access_token, ["id"], max_count=3).videos]
    assert len(client.query_videos(grant.access_token, ids, ["id"])) == 3
    assert [e["status"] for e in sandbox.requests("/v2/video/query/")] == [None, None, 200]


def test_read_timeout_on_a_read_is_retried(sandbox, settings, sleeps):
    client = TikTokClient.from_settings(settings, timeout=(2, 0.3), sleep=sleeps.append)
    grant = _grant(client, sandbox)
    sandbox.fault("latency", ms=800, count=1, path="/v2/user/info/")
    assert client.user_info(grant.access_token, USER_FIELDS)["open_id"] == grant.open_id
    assert len(sleeps) == 1


def test_on_request_hook_sees_paths_and_statuses_only(sandbox, settings):
    seen = []
    client = TikTokClient.from_settings(settings, on_request=seen.append)
    grant = _grant(client, sandbox)
    client.user_info(grant.access_token, USER_FIELDS)
    assert [(i.method, i.path, i.status) for i in seen] == [
        ("POST", urls.OAUTH_TOKEN, 200), ("GET", urls.USER_INFO, 200)]
    assert client.requests_made == 2
    assert grant.access_token not in repr(seen)


def test_from_settings_requires_endpoints(settings):
    from dataclasses import replace

    from services.errors import ConfigError

    with pytest.raises(ConfigError):
        TikTokClient.from_settings(replace(settings, auth_url="", api_base_url=""))
    assert settings.client_secret not in repr(TikTokClient.from_settings(settings))


# -- answers the sandbox cannot produce: a tiny fake session ------------------------------


class _FakeSession(requests.Session):
    def __init__(self, responses):
        super().__init__()
        self.responses = list(responses)
        self.calls = 0

    def request(self, method, url, **kwargs):
        self.calls += 1
        status, body, headers = self.responses.pop(0)
        response = requests.Response()
        response.status_code = status
        response._content = body if isinstance(body, bytes) else body.encode()
        response.headers.update(headers)
        response.url = url
        return response


def _fake_client(responses, sleeps=None, **kwargs) -> tuple[TikTokClient, _FakeSession]:
    session = _FakeSession(responses)
    client = TikTokClient(client_key="k", client_secret="s", auth_url="http://t/a",
                          api_base_url="http://t", session=session,
                          sleep=(sleeps if sleeps is not None else []).append, **kwargs)
    return client, session


GOOD = {"access_token": "act.PLANTED-A", "refresh_token": "rft.PLANTED-R", "open_id": "-000x",
        "scope": "user.info.basic", "expires_in": 7200, "refresh_expires_in": 100,
        "token_type": "Bearer"}
JSON = {"Content-Type": "application/json"}


def _json(obj) -> str:
    import json

    return json.dumps(obj)


@pytest.mark.parametrize("status, body, headers", [
    (200, "not json", {"Content-Type": "text/plain"}),
    (502, "<html><body><h1>502 Bad Gateway</h1></body></html>", {"Content-Type": "text/html"}),
    (200, "", {}),
    (200, _json([GOOD]), JSON),
    (200, _json({k: v for k, v in GOOD.items() if k != "refresh_token"}), JSON),
    (200, _json({k: v for k, v in GOOD.items() if k != "access_token"}), JSON),
    (200, _json({k: v for k, v in GOOD.items() if k != "expires_in"}), JSON),
    (200, _json({**GOOD, "expires_in": "abc"}), JSON),
    (200, _json({**GOOD, "expires_in": "7200"}), JSON),
    (200, _json({**GOOD, "expires_in": True}), JSON),
    (200, _json({**GOOD, "expires_in": -5}), JSON),
    (200, _json({**GOOD, "refresh_expires_in": "x"}), JSON),
    (200, _json({**GOOD, "open_id": None}), JSON),
    (200, _json({k: v for k, v in GOOD.items() if k != "scope"}), JSON),
    (200, _json({"data": GOOD, "error_code": 0}), JSON),  # the stale v1 shape (§2.3)
    (400, _json({"message": "nope"}), JSON),
])
def test_malformed_token_answers_are_protocol_errors(status, body, headers):
    client, session = _fake_client([(status, body, headers)])
    with pytest.raises(TikTokProtocolError) as info:
        client.exchange_code("c", redirect_uri="http://localhost:8501/accounts")
    assert session.calls == 1
    assert info.value.retry_safe is False
    assert "PLANTED" not in str(info.value) and "PLANTED" not in repr(info.value.__dict__)


def test_extra_fields_in_token_answer_are_fine():
    client, _ = _fake_client([(200, _json({**GOOD, "captcha": "", "extra": 1}), JSON)])
    grant = client.exchange_code("c", redirect_uri="http://localhost:8501/accounts")
    assert grant.refresh_expires_in == 100


def test_refresh_tolerates_missing_scope_and_open_id():
    body = {k: v for k, v in GOOD.items() if k not in ("scope", "open_id",
                                                       "refresh_expires_in")}
    client, _ = _fake_client([(200, _json(body), JSON)])
    grant = client.refresh("rft.old")
    assert grant.scopes is None and grant.open_id == "" and grant.refresh_expires_in is None


@pytest.mark.parametrize("status", [200, 400, 401, 500])
def test_oauth_error_key_wins_whatever_the_status(status):
    body = _json({"error": "invalid_grant", "error_description": "Authorization code is "
                  "expired.", "log_id": "20261120LOG"})
    client, _ = _fake_client([(status, body, JSON)])
    with pytest.raises(OAuthError) as info:
        client.exchange_code("c", redirect_uri="http://localhost:8501/accounts")
    assert info.value.error == "invalid_grant" and info.value.log_id == "20261120LOG"
    assert info.value.description == "Authorization code is expired."


def test_revoke_accepts_an_empty_body():
    client, _ = _fake_client([(200, b"", {})])
    client.revoke("act.x")


def test_retry_after_is_honoured(sleeps):
    ok = _json({"data": {"user": {"open_id": "-000x"}}, "error": {"code": "ok"}})
    client, session = _fake_client(
        [(429, _json({"data": {}, "error": {"code": "rate_limit_exceeded"}}),
          {**JSON, "Retry-After": "3"}), (200, ok, JSON)], sleeps)
    assert client.user_info("act.x", ["open_id"]) == {"open_id": "-000x"}
    assert sleeps == [3.0] and session.calls == 2


def test_retry_after_beyond_the_cap_raises_for_the_caller_to_defer(sleeps):
    client, session = _fake_client(
        [(429, _json({"data": {}, "error": {"code": "rate_limit_exceeded"}}),
          {**JSON, "Retry-After": "600"})], sleeps, max_backoff=30)
    with pytest.raises(TikTokRateLimited) as info:
        client.user_info("act.x", ["open_id"])
    assert info.value.retry_after == 600 and sleeps == [] and session.calls == 1


def test_html_502_on_a_read_is_a_retried_server_error(sleeps):
    html = "<html><h1>502 Bad Gateway</h1></html>"
    client, session = _fake_client([(502, html, {"Content-Type": "text/html"})] * 4, sleeps)
    with pytest.raises(TikTokServerError):
        client.user_info("act.x", ["open_id"])
    assert session.calls == 4 and len(sleeps) == 3


def test_api_success_needs_the_envelope():
    client, _ = _fake_client([(200, _json({"user": {}}), JSON)])
    with pytest.raises(TikTokProtocolError):
        client.user_info("act.x", ["open_id"])
    client, _ = _fake_client([(200, _json({"data": {"videos": "x"}, "error": {"code": "ok"}}),
                               JSON)])
    with pytest.raises(TikTokProtocolError):
        client.list_videos("act.x", ["id"])


def test_backoff_is_full_jitter_within_the_cap():
    client, _ = _fake_client([], rand=lambda: 1.0, max_backoff=5)
    assert [client._backoff(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    client, _ = _fake_client([], rand=lambda: 0.0)
    assert client._backoff(3) == 0.0


def test_parse_retry_after():
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=42), usegmt=True),
                             now) == 42.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=42), usegmt=True),
                             now) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


# -- the error table ------------------------------------------------------------------------

# https://developers.tiktok.com/doc/oauth-error-handling,
# https://developers.tiktok.com/doc/tiktok-api-v2-error-handling,
# https://developers.tiktok.com/doc/content-posting-api-reference-get-video-status, copied here so a
# missing entry fails loudly.
OAUTH_CODES = ["access_denied", "invalid_client", "invalid_grant", "invalid_request",
               "invalid_scope", "unauthorized_client", "unsupported_grant_type",
               "unsupported_response_type", "server_error", "temporarily_unavailable"]
API_CODES = ["access_token_invalid", "scope_not_authorized", "scope_permission_missed",
             "invalid_params", "invalid_param", "invalid_file_upload", "rate_limit_exceeded",
             "internal_error", "spam_risk_too_many_posts", "spam_risk_user_banned_from_posting",
             "reached_active_user_cap", "spam_risk_too_many_pending_share",
             "unaudited_client_can_only_post_to_private_accounts", "url_ownership_unverified",
             "privacy_level_option_mismatch", "app_version_check_failed", "invalid_publish_id",
             "token_not_authorized_for_specified_publish_id", "publish_not_cancellable"]
FAIL_REASONS = ["file_format_check_failed", "duration_check_failed", "frame_rate_check_failed",
                "picture_size_check_failed", "internal", "video_pull_failed",
                "photo_pull_failed", "publish_cancelled", "auth_removed",
                "spam_risk_too_many_posts", "spam_risk_user_banned_from_posting",
                "spam_risk_text", "spam_risk"]


@pytest.mark.parametrize("table, codes", [(tte.OAUTH_ERRORS, OAUTH_CODES),
                                          (tte.API_ERRORS, API_CODES),
                                          (tte.FAIL_REASONS, FAIL_REASONS)])
def test_every_documented_code_has_plain_advice(table, codes):
    assert set(codes) <= set(table)
    for code in codes:
        advice = table[code]
        assert advice.code == code
        assert advice.explanation.endswith(".") and advice.fix.endswith(".")
        assert isinstance(advice.retry_safe, bool)


def test_retry_safety_follows_the_docs():
    assert tte.API_ERRORS["rate_limit_exceeded"].retry_safe
    assert tte.API_ERRORS["internal_error"].retry_safe
    assert not tte.API_ERRORS["spam_risk_too_many_posts"].retry_safe
    assert tte.FAIL_REASONS["internal"].retry_safe
    assert not tte.FAIL_REASONS["spam_risk_text"].retry_safe
    assert not tte.OAUTH_ERRORS["invalid_grant"].retry_safe


@pytest.mark.parametrize("status, code, cls", [
    (401, "access_token_invalid", tte.TikTokAuthError),
    (401, "scope_not_authorized", tte.TikTokScopeError),
    (400, "scope_permission_missed", tte.TikTokScopeError),
    (429, "rate_limit_exceeded", tte.TikTokRateLimited),
    (500, "internal_error", tte.TikTokServerError),
    (503, "brand_new_code", tte.TikTokServerError),
    (403, "privacy_level_option_mismatch", tte.TikTokPostingError),
    (200, "spam_risk_too_many_posts", tte.TikTokPostingError),  # creator_info: 200 (§4.1)
    (400, "invalid_params", tte.TikTokRequestError),
    (400, "brand_new_code", tte.TikTokRequestError),
])
def test_error_mapping(status, code, cls):
    err = tte.error_from_api(status, code, "msg act.SECRETTOKEN", "LOG1")
    assert type(err) is cls
    assert err.code == code and err.http_status == status and err.log_id == "LOG1"
    assert "SECRETTOKEN" not in (err.tiktok_message or "")
    assert err.explanation in err.message and err.fix in err.message


def test_errors_pickle_with_their_attributes():
    samples = [
        tte.error_from_api(429, "rate_limit_exceeded", "m", "L", retry_after=4.0),
        tte.error_from_api(401, "access_token_invalid", "m", "L"),
        tte.error_from_oauth(200, "invalid_grant", "Authorization code is expired.", "L",
                             single_use=True),
        TikTokNetworkError(explanation="x.", fix="y.", maybe_sent=False),
        TikTokProtocolError(explanation="x.", fix="y.", http_status=502),
    ]
    for err in samples:
        copy = pickle.loads(pickle.dumps(err))
        assert type(copy) is type(err)
        assert all(getattr(copy, k) == v for k, v in err.__dict__.items())
        assert (copy.step, copy.retry_safe, str(copy)) == (err.step, err.retry_safe, str(err))
    assert pickle.loads(pickle.dumps(samples[2])).error == "invalid_grant"
    assert pickle.loads(pickle.dumps(samples[0])).retry_after == 4.0


def test_unknown_codes_still_explain():
    assert "brand_new" in tte.advice_for_api_code("brand_new").explanation
    assert tte.advice_for_oauth_error("weird").fix
    assert tte.advice_for_fail_reason(None).explanation


# -- scopes ---------------------------------------------------------------------------------


def test_scopes_for_features():
    assert sc.scopes_for(["publishing"]) == ("user.info.basic", "video.publish")
    assert sc.scopes_for(["analytics", "drafts"]) == (
        "user.info.basic", "user.info.profile", "user.info.stats", "video.list", "video.upload")
    assert sc.scopes_for([]) == ("user.info.basic",)
    with pytest.raises(ValueError):
        sc.scopes_for(["insights"])


def test_feature_status_after_partial_consent():
    status = sc.feature_status({"user.info.basic", "video.list", "video.publish"})
    assert status["publishing"].available and status["publishing"].reason == ""
    analytics = status["analytics"]
    assert not analytics.available
    assert analytics.missing == ("user.info.profile", "user.info.stats")
    assert "follower" in analytics.reason and "Grant more" in analytics.reason
    assert not status["drafts"].available and status["drafts"].missing == ("video.upload",)


def test_user_fields_follow_granted_scopes():
    assert set(sc.user_fields_for({"user.info.basic"})) == {
        "open_id", "union_id", "avatar_url", "display_name"}
    fields = sc.user_fields_for({"user.info.basic", "user.info.stats"})
    assert "follower_count" in fields and "username" not in fields
    assert sc.user_fields_for(set()) == ()


def test_check_bundles_ok_for_the_shipped_bundles():
    ok, lines = sc.check_bundles()
    assert ok
    assert any(line.startswith("ok   analytics") for line in lines)
    assert any("video.insights" in line and "Business" in line for line in lines)


def test_check_bundles_explains_business_scopes():
    ok, lines = sc.check_bundles({"insights": ["video.insights", "comment.list", "video.list"],
                                  "odd": ["research.data.basic", "nonsense.scope"]})
    text = "\n".join(lines)
    assert not ok
    assert "FAIL insights: video.insights, comment.list" in text
    assert "TikTok API for Business" in text and "not a Login Kit v2 scope" in text
    assert "Research API" in text and "nonsense.scope is not a TikTok v2 scope" in text


def test_scope_catalogue_matches_the_docs():
    assert set(sc.LOGIN_KIT_SCOPES) == {"user.info.basic", "user.info.profile",
                                        "user.info.stats", "video.list", "video.publish",
                                        "video.upload"}
    for scope in ("video.insights", "comment.list", "comment.manage", "comment.list.manage",
                  "user.insights"):
        assert scope in sc.BUSINESS_API_SCOPES and scope not in sc.LOGIN_KIT_SCOPES
    assert all(re.fullmatch(r"user\.info\.\w+|video\.\w+", s) for s in sc.USER_FIELD_SCOPES
               .values())
