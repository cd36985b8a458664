"""Shared helpers for the sandbox tests (imported as `tests.sandbox.helpers`).

Kept out of conftest.py so test modules never `import conftest` (ambiguous once other test
folders have their own conftest).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from sandbox import DEFAULT_CLIENT_KEY, DEFAULT_CLIENT_SECRET, SandboxServer

ANCHOR = datetime(2026, 3, 1, tzinfo=UTC)
ANCHOR_TS = ANCHOR.timestamp()
START = ANCHOR_TS + 3600  # where each test's clock starts
REDIRECT = "http://localhost:8501/accounts"
ALL_SCOPES = "user.info.basic,user.info.profile,user.info.stats,video.list"
USER_FIELDS = (
    "open_id,union_id,avatar_url,avatar_url_100,avatar_large_url,display_name,"
    "bio_description,profile_deep_link,profile_web_link,is_verified,username,"
    "follower_count,following_count,likes_count,video_count"
)
VIDEO_FIELDS = (
    "id,create_time,cover_image_url,share_url,video_description,duration,height,"
    "width,title,embed_html,embed_link,like_count,comment_count,share_count,"
    "view_count,is_aigc"
)


def callback_params(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


@dataclass
class Client:
    """Small helpers over one sandbox; every call is real HTTP."""

    server: SandboxServer
    http: requests.Session

    @property
    def base(self) -> str:
        return self.server.base_url

    # --- control ---------------------------------------------------------------------------
    def control(self, method: str, path: str, body: Any = None) -> requests.Response:
        if body is None and method == "POST":
            body = {}  # control POSTs must be application/json (the CSRF guard)
        return self.http.request(method, f"{self.base}/_sandbox/{path}", json=body)

    def set_clock(self, ts: float) -> None:
        r = self.control("POST", "clock", {"set": ts, "freeze": True})
        assert r.status_code == 200, r.text

    def advance(self, seconds: float) -> None:
        r = self.control("POST", "clock", {"advance": seconds})
        assert r.status_code == 200, r.text

    def now(self) -> float:
        return float(self.control("GET", "clock").json()["now"])

    def config(self, **changes: Any) -> None:
        r = self.control("POST", "config", changes)
        assert r.status_code == 200, r.text

    # --- OAuth -----------------------------------------------------------------------------
    def authorize_url(self, scope: str = ALL_SCOPES, state: str = "st-123", **extra: str) -> str:
        params = {
            "client_key": DEFAULT_CLIENT_KEY,
            "scope": scope,
            "redirect_uri": REDIRECT,
            "state": state,
            "response_type": "code",
            **extra,
        }
        return f"{self.server.auth_url}?{urlencode(params)}"

    def consent(
        self,
        creator: str = "lunakitchen",
        scope: str = ALL_SCOPES,
        scopes: list[str] | None = None,
        approve: bool = True,
        **extra: str,
    ) -> dict[str, str]:
        body: dict[str, Any] = {
            "authorize_url": self.authorize_url(scope, **extra),
            "creator": creator,
            "approve": approve,
        }
        if scopes is not None:
            body["scopes"] = scopes
        r = self.control("POST", "consent", body)
        assert r.status_code == 200, r.text
        return callback_params(r.json()["redirect_url"])

    def token(self, **form: str) -> requests.Response:
        return self.http.post(f"{self.base}/v2/oauth/token/", data=form)

    def exchange(self, code: str, **extra: str) -> requests.Response:
        form = {
            "client_key": DEFAULT_CLIENT_KEY,
            "client_secret": DEFAULT_CLIENT_SECRET,
            "code": code,
            "grant_type": "authorization_code",
            "redirect_uri": REDIRECT,
        }
        return self.token(**{**form, **extra})

    def refresh(self, refresh_token: str) -> requests.Response:
        return self.token(
            client_key=DEFAULT_CLIENT_KEY,
            client_secret=DEFAULT_CLIENT_SECRET,
            grant_type="refresh_token",
            refresh_token=refresh_token,
        )

    def connect(self, creator: str = "lunakitchen", scope: str = ALL_SCOPES) -> dict[str, Any]:
        """Consent + code exchange; returns the token response."""
        code = self.consent(creator, scope)["code"]
        r = self.exchange(code)
        payload = r.json()
        assert "access_token" in payload, payload
        return payload

    # --- Display API -----------------------------------------------------------------------
    def user_info(self, token: str | None, fields: str | None = USER_FIELDS) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        params = {"fields": fields} if fields is not None else {}
        return self.http.get(f"{self.base}/v2/user/info/", params=params, headers=headers)

    def video_list(
        self, token: str | None, body: Any = None, fields: str = "id,create_time"
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.http.post(
            f"{self.base}/v2/video/list/",
            params={"fields": fields},
            headers=headers,
            json=body if body is not None else {},
        )

    def video_query(
        self, token: str | None, ids: Any, fields: str = "id,create_time"
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.http.post(
            f"{self.base}/v2/video/query/",
            params={"fields": fields},
            headers=headers,
            json={"filters": {"video_ids": ids}},
        )

    def all_videos(self, token: str, fields: str = "id,create_time") -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        body: dict[str, Any] = {"max_count": 20}
        while True:
            data = self.video_list(token, body, fields).json()["data"]
            out += data["videos"]
            if not data["has_more"]:
                return out
            body["cursor"] = data["cursor"]
