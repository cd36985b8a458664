"""Rate limits (rate-limit docs) and injected faults (control API)."""

from __future__ import annotations

import time

import pytest
import requests

from sandbox import DEFAULT_CLIENT_KEY, DEFAULT_CLIENT_SECRET
from tests.sandbox.helpers import Client


def _code(r: requests.Response) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


def test_rate_limit_sliding_window_in_simulated_time(sb: Client) -> None:
    sb.config(rate_limit_per_minute=5)
    token = sb.connect()["access_token"]
    for _ in range(3):
        assert sb.user_info(token, "open_id").status_code == 200
    sb.advance(30)
    for _ in range(2):
        assert sb.user_info(token, "open_id").status_code == 200
    assert _code(sb.user_info(token, "open_id")) == (429, "rate_limit_exceeded")
    # other endpoints have their own window; so does another user
    assert sb.video_list(token).status_code == 200
    other = sb.connect("quietpotter")["access_token"]
    assert sb.user_info(other, "open_id").status_code == 200
    # after 31 s more the first three have slid out of the window, the last two have not
    sb.advance(31)
    for _ in range(3):
        assert sb.user_info(token, "open_id").status_code == 200
    assert _code(sb.user_info(token, "open_id")) == (429, "rate_limit_exceeded")


def test_rate_limit_comes_after_token_and_scope_checks(sb: Client) -> None:
    sb.config(rate_limit_per_minute=1)
    token = sb.connect(scope="user.info.basic")["access_token"]
    assert sb.user_info(token, "open_id").status_code == 200
    assert _code(sb.user_info(token, "open_id")) == (429, "rate_limit_exceeded")
    assert _code(sb.user_info("act.bad", "open_id")) == (401, "access_token_invalid")
    assert _code(sb.video_list(token)) == (401, "scope_not_authorized")


def test_default_limit_is_600_per_minute(sb: Client) -> None:
    assert sb.control("GET", "config").json()["rate_limit_per_minute"] == 600


def test_rate_limit_fault_counts_and_path_filter(sb: Client) -> None:
    token = sb.connect()["access_token"]
    r = sb.control("POST", "faults", {"kind": "rate_limit", "count": 2, "path": "/v2/video/list/"})
    assert r.status_code == 200
    assert sb.user_info(token, "open_id").status_code == 200  # filtered out
    assert _code(sb.video_list(token)) == (429, "rate_limit_exceeded")
    assert _code(sb.video_list(token)) == (429, "rate_limit_exceeded")
    assert sb.video_list(token).status_code == 200
    assert sb.control("GET", "faults").json()["faults"] == []


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_error_fault(sb: Client, status: int) -> None:
    token = sb.connect()["access_token"]
    sb.control("POST", "faults", {"kind": "server_error", "count": 1, "status": status})
    r = sb.user_info(token, "open_id")
    assert _code(r) == (status, "internal_error")
    assert r.json()["data"] == {}
    assert sb.user_info(token, "open_id").status_code == 200


def test_faults_on_oauth_routes_use_the_oauth_shape(sb: Client) -> None:
    code = sb.consent()["code"]
    sb.control("POST", "faults", {"kind": "server_error", "count": 1, "path": "/v2/oauth/token/"})
    r = sb.exchange(code)
    assert r.status_code == 500
    assert r.json()["error"] == "server_error"
    sb.control("POST", "faults", {"kind": "rate_limit", "count": 1, "path": "/v2/oauth/"})
    r = sb.exchange(code)
    assert r.status_code == 429
    assert r.json()["error"] == "temporarily_unavailable"
    assert "access_token" in sb.exchange(code).json()  # the faults did not burn the code


def test_drop_fault_closes_the_connection(sb: Client) -> None:
    token = sb.connect()["access_token"]
    sb.control("POST", "faults", {"kind": "drop", "count": 1})
    with pytest.raises(requests.ConnectionError):
        requests.get(
            f"{sb.base}/v2/user/info/",
            params={"fields": "open_id"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )
    assert sb.user_info(token, "open_id").status_code == 200
    log = sb.control("GET", "requests?path=/v2/user/info/").json()
    assert [e["status"] for e in log] == [None, 200]


def test_latency_fault(sb: Client) -> None:
    token = sb.connect()["access_token"]
    sb.control("POST", "faults", {"kind": "latency", "ms": 150, "path": "/v2/user/"})
    t0 = time.perf_counter()
    assert sb.user_info(token, "open_id").status_code == 200
    assert time.perf_counter() - t0 >= 0.15
    t0 = time.perf_counter()
    sb.video_list(token)
    assert time.perf_counter() - t0 < 0.15
    assert sb.control("DELETE", "faults").json() == {"faults": []}
    t0 = time.perf_counter()
    sb.user_info(token, "open_id")
    assert time.perf_counter() - t0 < 0.15


def test_expire_token_fault(sb: Client) -> None:
    tokens = sb.connect()
    r = sb.control("POST", "faults", {"kind": "expire_token", "open_id": tokens["open_id"]})
    assert r.json()["affected"] == 1
    assert _code(sb.user_info(tokens["access_token"], "open_id")) == (401, "access_token_invalid")
    fresh = sb.refresh(tokens["refresh_token"]).json()
    assert sb.user_info(fresh["access_token"], "open_id").status_code == 200


def test_revoke_fault(sb: Client) -> None:
    tokens = sb.connect()
    other = sb.connect("trailrunnerjo")
    r = sb.control("POST", "faults", {"kind": "revoke", "creator": "lunakitchen"})
    assert r.json()["open_id"] == tokens["open_id"]
    assert sb.user_info(tokens["access_token"], "open_id").status_code == 401
    assert sb.refresh(tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert sb.user_info(other["access_token"], "open_id").status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "nope"},
        {"kind": "latency"},
        {"kind": "server_error", "status": 404},
        {"kind": "drop", "count": 0},
        {"kind": "rate_limit", "path": "v2"},
        {"kind": "revoke", "open_id": "ghost"},
        [1],
    ],
)
def test_bad_fault_specs_are_400(sb: Client, body: object) -> None:
    assert sb.control("POST", "faults", body).status_code == 400


def test_faults_never_hit_the_control_api(sb: Client) -> None:
    sb.control("POST", "faults", {"kind": "server_error", "count": 5})
    assert sb.control("GET", "health").json() == {"ok": True}
    assert len(sb.control("GET", "faults").json()["faults"]) == 1
    sb.control("DELETE", "faults")
    r = sb.token(
        client_key=DEFAULT_CLIENT_KEY, client_secret=DEFAULT_CLIENT_SECRET, grant_type="nope"
    )
    assert r.json()["error"] == "unsupported_grant_type"
