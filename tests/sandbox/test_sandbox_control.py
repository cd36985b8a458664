"""The control API, the request log, persistence across processes, and the CLI."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import requests

from sandbox import DEFAULT_CLIENT_KEY, DEFAULT_CLIENT_SECRET, start_sandbox
from tests.sandbox.helpers import ANCHOR, ANCHOR_TS, START, Client, callback_params

REPO = Path(__file__).resolve().parents[2]


def test_health(sb: Client) -> None:
    r = sb.control("GET", "health")
    assert r.status_code == 200
    assert r.json() == {"ok": True}


def test_clock_set_advance_reset_freeze(sb: Client) -> None:
    body = sb.control("GET", "clock").json()
    assert body["now"] == START
    assert body["frozen"] is True
    assert body["iso"] == "2026-03-01T01:00:00.000Z"
    r = sb.control("POST", "clock", {"set": "2026-04-01T12:00:00Z"})
    assert r.json()["iso"] == "2026-04-01T12:00:00.000Z"
    r = sb.control("POST", "clock", {"advance": 90})
    assert r.json()["iso"] == "2026-04-01T12:01:30.000Z"
    r = sb.control("POST", "clock", {"freeze": False})
    assert r.json()["frozen"] is False
    assert abs(r.json()["now"] - datetime(2026, 4, 1, 12, 1, 30, tzinfo=UTC).timestamp()) < 5
    r = sb.control("POST", "clock", {"reset": True})
    assert abs(r.json()["now"] - datetime.now(UTC).timestamp()) < 5
    assert abs(r.json()["offset_seconds"]) < 1
    for bad in ({}, {"set": "yesterday"}, {"advance": "10"}, {"bogus": 1}, {"freeze": 1}):
        assert sb.control("POST", "clock", bad).status_code == 400, bad


def test_config_get_post_and_validation(sb: Client) -> None:
    cfg = sb.control("GET", "config").json()
    assert cfg["access_ttl"] == 7200
    assert cfg["refresh_ttl"] == 15552000
    assert cfg["code_ttl"] == 300
    assert cfg["oauth_error_status"] == 200
    r = sb.control("POST", "config", {"access_ttl": 60, "rate_limit_per_minute": 3})
    assert r.json()["access_ttl"] == 60
    assert sb.connect()["expires_in"] == 60
    for bad in (
        {"access_ttl": "60"},
        {"access_ttl": 0},
        {"nope": 1},
        {"code_ttl": True},
        {"oauth_error_status": 500},
    ):
        assert sb.control("POST", "config", bad).status_code == 400, bad
    sb.control("POST", "reset")
    assert sb.control("GET", "config").json()["access_ttl"] == 7200


def test_reset_clears_authorizations_faults_log_and_clock(sb: Client) -> None:
    tokens = sb.connect()
    sb.control("POST", "faults", {"kind": "latency", "ms": 1})
    assert sb.control("POST", "reset").json() == {"ok": True}
    assert sb.user_info(tokens["access_token"], "open_id").status_code == 401
    assert sb.control("GET", "faults").json()["faults"] == []
    log = sb.control("GET", "requests").json()
    assert [e["path"] for e in log] == ["/v2/user/info/"]
    assert abs(sb.now() - datetime.now(UTC).timestamp()) < 5
    assert sb.server.sandbox.anchor == ANCHOR_TS  # the world stays


def test_request_log_has_no_secrets(sb: Client) -> None:
    consent = sb.consent(state="very-secret-state")
    tokens = sb.exchange(consent["code"]).json()
    fresh = sb.refresh(tokens["refresh_token"]).json()
    sb.user_info(fresh["access_token"], "open_id")
    sb.video_list(fresh["access_token"])
    sb.http.get(sb.authorize_url(state="very-secret-state"))
    sb.http.post(
        f"{sb.base}/v2/oauth/revoke/",
        data={
            "client_key": DEFAULT_CLIENT_KEY,
            "client_secret": DEFAULT_CLIENT_SECRET,
            "token": fresh["access_token"],
        },
    )
    log = sb.control("GET", "requests").json()
    text = json.dumps(log)
    for secret in (
        consent["code"],
        tokens["access_token"],
        tokens["refresh_token"],
        fresh["access_token"],
        fresh["refresh_token"],
        DEFAULT_CLIENT_SECRET,
        "very-secret-state",
    ):
        assert secret not in text
    assert all(set(e) == {"ts", "method", "path", "status", "open_id", "grant_type"} for e in log)
    token_calls = [e for e in log if e["path"] == "/v2/oauth/token/"]
    assert [e["grant_type"] for e in token_calls] == ["authorization_code", "refresh_token"]
    assert all(e["open_id"] == tokens["open_id"] for e in token_calls)
    assert all(e["ts"] == START for e in log)
    only = sb.control("GET", "requests?path=/v2/video/").json()
    assert [e["path"] for e in only] == ["/v2/video/list/"]
    assert sb.control("DELETE", "requests").json() == []
    assert sb.control("GET", "requests").json() == []


def test_unknown_control_routes(sb: Client) -> None:
    assert sb.control("GET", "nope").status_code == 404
    assert sb.control("DELETE", "health").status_code == 405
    r = sb.http.post(f"{sb.base}/_sandbox/config", data=b"not json",
                     headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert "error" in r.json()


def _flow_token(base: str, creator: str = "lunakitchen") -> dict[str, str]:
    http = requests.Session()
    url = (
        f"{base}/v2/auth/authorize/?client_key={DEFAULT_CLIENT_KEY}&scope=user.info.basic,"
        "video.list&redirect_uri=http://localhost:8501/accounts&response_type=code"
    )
    redirect = http.post(
        f"{base}/_sandbox/consent", json={"authorize_url": url, "creator": creator}
    ).json()
    code = callback_params(redirect["redirect_url"])["code"]
    return {
        "code": code,
        **http.post(
            f"{base}/v2/oauth/token/",
            data={
                "client_key": DEFAULT_CLIENT_KEY,
                "client_secret": DEFAULT_CLIENT_SECRET,
                "code": code,
                "grant_type": "authorization_code",
                "redirect_uri": "http://localhost:8501/accounts",
            },
        ).json(),
    }


def test_two_servers_share_one_state_file(tmp_path: Path) -> None:
    state = tmp_path / "state" / "sandbox.sqlite"
    with (
        start_sandbox(state_path=state, anchor=ANCHOR) as a,
        start_sandbox(state_path=state, redirect_uris=("http://127.0.0.1:9/cb",)) as b,
    ):
        assert b.sandbox.anchor == ANCHOR_TS  # read from the store
        requests.post(f"{a.base_url}/_sandbox/clock", json={"set": START, "freeze": True})
        assert requests.get(f"{b.base_url}/_sandbox/clock").json()["now"] == START
        tokens = _flow_token(a.base_url)
        h = {"Authorization": f"Bearer {tokens['access_token']}"}
        r = requests.get(f"{b.base_url}/v2/user/info/", params={"fields": "open_id"}, headers=h)
        assert r.json()["data"]["user"]["open_id"] == tokens["open_id"]
        # the code is single-use across processes, and reuse on B revokes A's tokens
        reuse = requests.post(
            f"{b.base_url}/v2/oauth/token/",
            data={
                "client_key": DEFAULT_CLIENT_KEY,
                "client_secret": DEFAULT_CLIENT_SECRET,
                "code": tokens["code"],
                "grant_type": "authorization_code",
                "redirect_uri": "http://localhost:8501/accounts",
            },
        ).json()
        assert reuse["error"] == "invalid_grant"
        r = requests.get(f"{a.base_url}/v2/user/info/", params={"fields": "open_id"}, headers=h)
        assert r.status_code == 401
        # refresh rotation seen by both
        tokens = _flow_token(b.base_url)
        rotated = requests.post(
            f"{a.base_url}/v2/oauth/token/",
            data={
                "client_key": DEFAULT_CLIENT_KEY,
                "client_secret": DEFAULT_CLIENT_SECRET,
                "grant_type": "refresh_token",
                "refresh_token": tokens["refresh_token"],
            },
        ).json()
        again = requests.post(
            f"{b.base_url}/v2/oauth/token/",
            data={
                "client_key": DEFAULT_CLIENT_KEY,
                "client_secret": DEFAULT_CLIENT_SECRET,
                "grant_type": "refresh_token",
                "refresh_token": tokens["refresh_token"],
            },
        ).json()
        assert "access_token" in rotated
        assert again["error"] == "invalid_grant"
        # both redirect URIs are registered for the shared client key
        url = (
            f"{a.base_url}/v2/auth/authorize/?client_key={DEFAULT_CLIENT_KEY}"
            "&scope=video.list&redirect_uri=http://127.0.0.1:9/cb&response_type=code"
        )
        assert requests.get(url, allow_redirects=False).status_code == 200
        # an extra creator added on A is usable on B
        assert (
            requests.post(
                f"{a.base_url}/_sandbox/creators", json={"username": "shared_bench", "videos": 25}
            ).status_code
            == 201
        )
        names = [c["username"] for c in requests.get(f"{b.base_url}/_sandbox/creators").json()]
        assert "shared_bench" in names
        tokens = _flow_token(a.base_url, "shared_bench")
        r = requests.post(
            f"{b.base_url}/v2/video/list/",
            params={"fields": "id"},
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
            json={"max_count": 20},
        )
        assert r.json()["data"]["has_more"] is True
    # a restart keeps the anchor, the clock and the extra creators
    with start_sandbox(state_path=state) as c:
        assert c.sandbox.anchor == ANCHOR_TS
        assert requests.get(f"{c.base_url}/_sandbox/clock").json()["now"] == START
        assert "shared_bench" in c.sandbox.world.creators
    raw = state.read_bytes()
    assert tokens["access_token"].encode() not in raw
    assert DEFAULT_CLIENT_SECRET.encode() not in raw


def test_default_anchor_is_midnight_utc_and_stored(tmp_path: Path) -> None:
    state = tmp_path / "s.sqlite"
    with start_sandbox(state_path=state) as a:
        anchor = a.sandbox.anchor
        assert anchor % 86400 == 0
        assert 0 <= datetime.now(UTC).timestamp() - anchor < 86400 + 60
    with start_sandbox(state_path=state) as b:
        assert b.sandbox.anchor == anchor


def test_stop_closes_keepalive_connections() -> None:
    srv = start_sandbox()
    http = requests.Session()
    assert http.get(f"{srv.base_url}/_sandbox/health").status_code == 200
    srv.stop()
    srv.stop()  # idempotent
    try:
        http.get(f"{srv.base_url}/_sandbox/health", timeout=2)
    except requests.ConnectionError:
        pass
    else:
        raise AssertionError("server still answering after stop()")


def test_cli_help() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "sandbox", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert r.returncode == 0
    for option in (
        "--port",
        "--host",
        "--seed",
        "--state",
        "--redirect-uri",
        "--client-key",
        "--client-secret",
    ):
        assert option in r.stdout


def test_cli_runs_in_the_foreground(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "sandbox", "--port", "0", "--quiet"]
    cmd += ["--state", str(tmp_path / "cli.sqlite")]
    with subprocess.Popen(
        cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            base = first.strip().rsplit(" ", 1)[-1]
            assert base.startswith("http://127.0.0.1:"), first
            banner = "".join(proc.stdout.readline() for _ in range(4))
            assert "sbawreelboarddemo" in banner
            assert requests.get(f"{base}/_sandbox/health", timeout=5).json() == {"ok": True}
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=10)
    assert proc.returncode == 0

