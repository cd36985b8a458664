from __future__ import annotations

from pathlib import Path

import pytest

from services.config import (
    LIVE_API_BASE_URL,
    LIVE_AUTH_URL,
    check_redirect_uri,
    load_settings,
    read_secrets_file,
)
from services.errors import ConfigError

LIVE = {
    "TIKTOK_CLIENT_KEY": "awlivekey123",
    "TIKTOK_CLIENT_SECRET": "s3cret",
    "TIKTOK_REDIRECT_URI": "https://reelboard.example.com/accounts",
}


def test_no_client_key_means_sandbox_mode(tmp_path):
    s = load_settings({}, {"REELBOARD_DATA_DIR": str(tmp_path)}, app_url="http://localhost:8502")
    assert s.mode == "sandbox" and s.is_sandbox
    assert s.redirect_uri == "http://localhost:8502/accounts"
    assert s.client_key and s.client_secret  # the sandbox's own credentials
    assert s.data_dir == tmp_path


def test_live_mode_defaults_to_tiktok_urls(tmp_path):
    s = load_settings({}, {**LIVE, "REELBOARD_DATA_DIR": str(tmp_path)})
    assert s.mode == "live"
    assert s.auth_url == LIVE_AUTH_URL and s.api_base_url == LIVE_API_BASE_URL
    assert "s3cret" not in repr(s)


def test_env_wins_over_secrets_file(tmp_path):
    secrets = {"tiktok": {**{k.split("_", 1)[1].lower(): v for k, v in LIVE.items()},
                          "api_base_url": "https://from-secrets.example"},
               "reelboard": {"timezone": "Europe/Berlin"}}
    s = load_settings(secrets, {"TIKTOK_API_BASE_URL": "https://from-env.example",
                                "REELBOARD_DATA_DIR": str(tmp_path)})
    assert s.api_base_url == "https://from-env.example"
    assert s.timezone == "Europe/Berlin"
    assert s.client_key == "awlivekey123"


@pytest.mark.parametrize(
    ("uri", "fragment"),
    [
        ("http://reelboard.example.com/accounts", "https"),
        ("https://reelboard.example.com/accounts?x=1", "query"),
        ("https://reelboard.example.com/accounts/", "Accounts page"),
        ("https://reelboard.example.com/callback", "Accounts page"),
        ("", "missing"),
    ],
)
def test_redirect_uri_problems_are_reported_at_startup(uri, fragment, tmp_path):
    env = {**LIVE, "TIKTOK_REDIRECT_URI": uri, "REELBOARD_DATA_DIR": str(tmp_path)}
    with pytest.raises(ConfigError) as info:
        load_settings({}, env)
    assert fragment in str(info.value)


def test_local_http_redirect_is_allowed():
    assert check_redirect_uri("http://localhost:8501/accounts") == []


def test_missing_secret_and_bad_timezone_are_both_listed(tmp_path):
    env = {**LIVE, "TIKTOK_CLIENT_SECRET": "", "REELBOARD_TIMEZONE": "Mars/Olympus",
           "REELBOARD_DATA_DIR": str(tmp_path)}
    with pytest.raises(ConfigError) as info:
        load_settings({}, env)
    assert len(info.value.problems) == 2


def test_invalid_toml_is_a_config_error(tmp_path: Path):
    bad = tmp_path / "secrets.toml"
    bad.write_text("[tiktok\nclient_key=")
    with pytest.raises(ConfigError, match="not valid TOML"):
        read_secrets_file(bad)


def test_sync_pace_setting(tmp_path):
    env = {"REELBOARD_DATA_DIR": str(tmp_path)}
    assert load_settings({}, env).sync_requests_per_minute == 600
    env["REELBOARD_SYNC_REQUESTS_PER_MINUTE"] = "60"
    assert load_settings({}, env).sync_requests_per_minute == 60
    env["REELBOARD_SYNC_REQUESTS_PER_MINUTE"] = "abc"
    with pytest.raises(ConfigError, match="positive whole number"):
        load_settings({}, env)
