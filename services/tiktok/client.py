"""HTTP client for TikTok's v2 Login Kit token endpoints and Display API.

Configured per instance with an injectable ``requests.Session``, base URLs, ``sleep`` and
``rand`` (the stripe-python client habit), so tests point it at the sandbox and replace waiting.
It holds no tokens: every call takes the token it needs, and account storage/refresh policy live
in services.accounts.

Retry policy (our reliability rules, R7):

* The authorization-code exchange is sent exactly once, whatever happens: a code is single-use
  and a second attempt may make TikTok revoke what the first one obtained.
* Refresh and revoke are retried only when the request provably never left (connect errors).
* Display API reads (user/info GET, video list/query POSTs; they only read, so they are
  idempotent) are also retried on 429, 5xx, read timeouts and dropped connections, with
  full-jitter exponential back-off, honouring ``Retry-After`` when it fits in ``max_backoff``.
* Other 4xx answers are never retried.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

from services.errors import ConfigError
from services.tiktok import urls
from services.tiktok.errors import (
    TikTokError,
    TikTokNetworkError,
    TikTokProtocolError,
    TikTokRateLimited,
    TikTokServerError,
    error_from_api,
    error_from_oauth,
)
from services.tiktok.scopes import format_scopes, parse_scopes

log = logging.getLogger(__name__)

USER_AGENT = "Reelboard/0.1 (+self-hosted TikTok dashboard)"
MAX_VIDEO_PAGE = 20  # https://developers.tiktok.com/doc/tiktok-api-v2-video-list: max_count max 20
# https://developers.tiktok.com/doc/tiktok-api-v2-video-query: at most 20 video ids
MAX_QUERY_IDS = 20
BACKOFF_BASE = 1.0  # seconds; full jitter: uniform(0, min(cap, base * 2**n))


@dataclass(frozen=True)
class TokenGrant:
    """A token response (https://developers.tiktok.com/doc/oauth-user-access-token-management). The
    repr never shows either token.

    ``scopes`` is None only for a refresh response that did not list scopes (the stored ones
    then stay); ``refresh_expires_in`` is None when TikTok did not say.
    """

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    open_id: str
    scopes: frozenset[str] | None
    expires_in: int
    refresh_expires_in: int | None
    token_type: str = "Bearer"


@dataclass(frozen=True)
class VideoPage:
    """One page of /v2/video/list/ (https://developers.tiktok.com/doc/tiktok-api-v2-video-list):
    newest first; pass ``cursor`` on.
    """

    videos: list[dict[str, Any]]
    cursor: int | None
    has_more: bool


@dataclass(frozen=True)
class RequestInfo:
    """What ``on_request`` hears about each HTTP attempt (no URLs' queries, no bodies)."""

    method: str
    path: str
    status: int | None  # None: no HTTP response (network error)
    attempt: int
    elapsed: float


@dataclass(frozen=True)
class _RetryPolicy:
    connect: bool  # the request never left: always safe except for the code exchange
    after_send: bool  # 429 / 5xx / read timeout / dropped connection: only for read-only calls


_NEVER = _RetryPolicy(connect=False, after_send=False)
_CONNECT_ONLY = _RetryPolicy(connect=True, after_send=False)
_READ_ONLY = _RetryPolicy(connect=True, after_send=True)


def build_authorize_url(
    *,
    auth_url: str,
    client_key: str,
    scopes: Iterable[str],
    state: str,
    redirect_uri: str,
    code_challenge: str | None = None,
    disable_auto_auth: bool = False,
) -> str:
    """The Login Kit v2 authorize URL (https://developers.tiktok.com/doc/login-kit-web):
    `client_key` (never `client_id`),
    comma-separated `scope`, `response_type=code`, and the S256 challenge when given."""
    scope = format_scopes(scopes)
    if not scope:
        raise ValueError("at least one scope is required")
    if not state:
        raise ValueError("state is required (the fault catalogue (tests/faults) R1)")
    params = {
        "client_key": client_key,
        "response_type": "code",
        "scope": scope,
        "redirect_uri": redirect_uri,
        "state": state,
    }
    if code_challenge:
        params["code_challenge"] = code_challenge
        params["code_challenge_method"] = "S256"  # §1.2: the only method
    if disable_auto_auth:
        params["disable_auto_auth"] = "1"  # §1.2: always show the consent page
    separator = "&" if "?" in auth_url else "?"
    # safe=",": TikTok accepts raw or encoded commas (§1.2); raw reads better in logs of proxies.
    return auth_url + separator + urlencode(params, safe=",")


class TikTokClient:
    """One configured client; thread-safe for concurrent calls (the counter is locked)."""

    def __init__(
        self,
        *,
        client_key: str,
        client_secret: str,
        auth_url: str,
        api_base_url: str,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (5, 30),
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
        max_attempts: int = 4,
        max_backoff: float = 30,
        on_request: Callable[[RequestInfo], None] | None = None,
    ):
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.client_key = client_key
        self._client_secret = client_secret
        self.auth_url = auth_url
        self.api_base_url = api_base_url.rstrip("/")
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = USER_AGENT
        self.session = session
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.max_backoff = max_backoff
        self.on_request = on_request
        self._sleep = sleep
        self._rand = rand
        self._count_lock = threading.Lock()
        self._requests_made = 0

    @classmethod
    def from_settings(cls, settings, **kwargs) -> TikTokClient:
        """Build from services.config.Settings (endpoints must be filled in, see runtime)."""
        if not settings.auth_url or not settings.api_base_url:
            raise ConfigError([
                "The TikTok endpoints are not set. In sandbox mode start Reelboard through "
                "services.runtime.start_runtime (it starts the embedded sandbox); in live mode "
                "check TIKTOK_AUTH_URL and TIKTOK_API_BASE_URL."
            ])
        return cls(
            client_key=settings.client_key,
            client_secret=settings.client_secret,
            auth_url=settings.auth_url,
            api_base_url=settings.api_base_url,
            **kwargs,
        )

    def __repr__(self) -> str:
        return f"TikTokClient(client_key={self.client_key!r}, api_base_url={self.api_base_url!r})"

    @property
    def requests_made(self) -> int:
        """HTTP attempts sent so far (retries included), for sync statistics."""
        return self._requests_made

    # -- Login Kit ------------------------------------------------------------------------

    def authorize_url(
        self,
        *,
        scopes: Iterable[str],
        state: str,
        redirect_uri: str,
        code_challenge: str | None = None,
        disable_auto_auth: bool = False,
    ) -> str:
        return build_authorize_url(
            auth_url=self.auth_url, client_key=self.client_key, scopes=scopes, state=state,
            redirect_uri=redirect_uri, code_challenge=code_challenge,
            disable_auto_auth=disable_auto_auth,
        )

    def exchange_code(
        self, code: str, *, redirect_uri: str, code_verifier: str | None = None
    ) -> TokenGrant:
        """Trade an authorization code for tokens
        (https://developers.tiktok.com/doc/oauth-user-access-token-management). Sent exactly
        once:
        never retried, not even after a connect error (the fault catalogue (tests/faults) R7, C9,
        C10)."""
        form = {
            "client_key": self.client_key,
            "client_secret": self._client_secret,
            "code": code,  # already URL-decoded by the query parser (§1.3)
            "grant_type": "authorization_code",
            "redirect_uri": redirect_uri,
        }
        if code_verifier:
            form["code_verifier"] = code_verifier
        body = self._oauth_post(urls.OAUTH_TOKEN, form, policy=_NEVER, single_use=True)
        return _token_grant(body, grant_type="authorization_code")

    def refresh(self, refresh_token: str) -> TokenGrant:
        """Refresh grant (https://developers.tiktok.com/doc/oauth-user-access-token-management). The
        returned refresh token replaces the old one
        (rotation, §2.3); only connect errors are retried, since a refresh that reached TikTok
        may already have rotated the token."""
        form = {
            "client_key": self.client_key,
            "client_secret": self._client_secret,  # required in v2 (§2.2)
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        }
        body = self._oauth_post(urls.OAUTH_TOKEN, form, policy=_CONNECT_ONLY)
        return _token_grant(body, grant_type="refresh_token")

    def revoke(self, access_token: str) -> None:
        """Revoke the user's authorization
        (https://developers.tiktok.com/doc/oauth-user-access-token-management: success is an
        empty body).
        """
        form = {
            "client_key": self.client_key,
            "client_secret": self._client_secret,
            "token": access_token,
        }
        self._oauth_post(urls.OAUTH_REVOKE, form, policy=_CONNECT_ONLY, allow_empty=True)

    # -- Display API ----------------------------------------------------------------------

    def user_info(self, access_token: str, fields: Iterable[str]) -> dict[str, Any]:
        """GET /v2/user/info/ (https://developers.tiktok.com/doc/tiktok-api-v2-get-user-info);
        returns ``data.user``.
        """
        fields = _field_list(fields)
        data = self.request_api(
            "GET", urls.USER_INFO, access_token, params={"fields": fields}
        )
        user = data.get("user")
        if not isinstance(user, dict):
            raise _protocol("the user/info answer has no user object")
        return user

    def list_videos(
        self,
        access_token: str,
        fields: Iterable[str],
        *,
        cursor: int | None = None,
        max_count: int = MAX_VIDEO_PAGE,
    ) -> VideoPage:
        """POST /v2/video/list/ (https://developers.tiktok.com/doc/tiktok-api-v2-video-list): public
        videos, newest first.
        """
        if not 1 <= max_count <= MAX_VIDEO_PAGE:
            raise ValueError(f"max_count must be 1..{MAX_VIDEO_PAGE}, got {max_count}")
        body: dict[str, Any] = {"max_count": max_count}
        if cursor is not None:
            body["cursor"] = int(cursor)  # epoch ms (§3.2)
        data = self.request_api(
            "POST", urls.VIDEO_LIST, access_token,
            params={"fields": _field_list(fields)}, json=body,
        )
        videos, has_more, next_cursor = data.get("videos"), data.get("has_more"), data.get("cursor")
        if not isinstance(videos, list) or not all(isinstance(v, dict) for v in videos):
            raise _protocol("the video/list answer has no list of videos")
        if not isinstance(has_more, bool):
            raise _protocol("the video/list answer has no has_more flag")
        if next_cursor is not None and (
            not isinstance(next_cursor, int) or isinstance(next_cursor, bool)
        ):
            raise _protocol("the video/list answer's cursor is not a number")
        return VideoPage(videos=videos, cursor=next_cursor, has_more=has_more)

    def query_videos(
        self, access_token: str, video_ids: Iterable[str], fields: Iterable[str]
    ) -> list[dict[str, Any]]:
        """POST /v2/video/query/ (https://developers.tiktok.com/doc/tiktok-api-v2-video-query) for
        at most 20 ids of this user.
        """
        ids = list(video_ids)
        if len(ids) > MAX_QUERY_IDS:
            raise ValueError(f"video/query takes at most {MAX_QUERY_IDS} ids, got {len(ids)}")
        if not all(isinstance(i, str) and i for i in ids):
            raise ValueError("video ids must be non-empty strings (they are 19-digit ids)")
        if not ids:
            return []  # nothing to ask: spend no request
        data = self.request_api(
            "POST", urls.VIDEO_QUERY, access_token,
            params={"fields": _field_list(fields)}, json={"filters": {"video_ids": ids}},
        )
        videos = data.get("videos")
        if not isinstance(videos, list) or not all(isinstance(v, dict) for v in videos):
            raise _protocol("the video/query answer has no list of videos")
        return videos

    # -- Content Posting helpers (read-only ones; services.publishing builds on request_api) --

    def creator_info(self, access_token: str) -> dict[str, Any]:
        """POST creator_info/query
        (https://developers.tiktok.com/doc/content-posting-api-reference-query-creator-info);
        empty JSON body.
        """
        return self.request_api("POST", urls.CREATOR_INFO, access_token, json={})

    def publish_status(self, access_token: str, publish_id: str) -> dict[str, Any]:
        """POST status/fetch
        (https://developers.tiktok.com/doc/content-posting-api-reference-get-video-status).
        """
        return self.request_api(
            "POST", urls.STATUS_FETCH, access_token, json={"publish_id": publish_id}
        )

    def request_api(
        self,
        method: str,
        path: str,
        access_token: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        retry: bool | None = None,
    ) -> dict[str, Any]:
        """One v2 API call in the `{data, error}` envelope
        (https://developers.tiktok.com/doc/tiktok-api-v2-error-handling); returns ``data``.

        ``retry=None`` retries fully only for endpoints in ``urls.READ_ONLY``; anything else
        (e.g. posting init) is retried only when it never left (our reliability rules step 3).
        """
        read_only = path in urls.READ_ONLY if retry is None else retry
        headers = {"Authorization": f"Bearer {access_token}"}
        if method.upper() != "GET":
            headers["Content-Type"] = "application/json; charset=UTF-8"

        def attempt(n: int) -> dict[str, Any]:
            response = self._send(
                method, path, n, headers=headers, params=params, json=json
            )
            return _api_data(response)

        return self._with_retries(attempt, _READ_ONLY if read_only else _CONNECT_ONLY)

    # -- plumbing --------------------------------------------------------------------------

    def _oauth_post(
        self,
        path: str,
        form: Mapping[str, str],
        *,
        policy: _RetryPolicy,
        single_use: bool = False,
        allow_empty: bool = False,
    ) -> dict[str, Any]:
        # https://developers.tiktok.com/doc/tiktok-api-v2-error-handling,
        # https://developers.tiktok.com/doc/oauth-user-access-token-management: OAuth endpoints take
        # form bodies only (JSON is rejected).
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cache-Control": "no-cache",
        }

        def attempt(n: int) -> dict[str, Any]:
            response = self._send("POST", path, n, headers=headers, data=dict(form))
            return _oauth_body(response, single_use=single_use, allow_empty=allow_empty)

        return self._with_retries(attempt, policy)

    def _send(self, method: str, path: str, attempt: int, **kwargs) -> requests.Response:
        url = urls.join(self.api_base_url, path)
        started = time.monotonic()
        status: int | None = None
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
            status = response.status_code
            return response
        except requests.RequestException as exc:
            sent = _maybe_sent(exc)
            # Only the exception's class: its text carries URLs and pool details, never needed.
            log.warning("%s %s: %s (attempt %d)", method, path, type(exc).__name__, attempt)
            raise TikTokNetworkError(
                explanation=(
                    "The connection to TikTok failed before an answer arrived"
                    if sent else "Reelboard could not reach TikTok"
                ) + f" ({type(exc).__name__}).",
                fix="Check this server's internet connection and try again.",
                maybe_sent=sent,
                retry_safe=not sent,
            ) from exc
        finally:
            with self._count_lock:
                self._requests_made += 1
            elapsed = time.monotonic() - started
            log.debug("%s %s -> %s in %.3fs (attempt %d)", method, path, status, elapsed, attempt)
            if self.on_request is not None:
                self.on_request(RequestInfo(method.upper(), path, status, attempt, elapsed))

    def _with_retries(self, attempt: Callable[[int], Any], policy: _RetryPolicy) -> Any:
        for n in range(1, self.max_attempts + 1):
            try:
                return attempt(n)
            except TikTokNetworkError as exc:
                allowed = policy.after_send if exc.maybe_sent else policy.connect
                if not allowed or n == self.max_attempts:
                    raise
                delay = self._backoff(n)
            except (TikTokRateLimited, TikTokServerError) as exc:
                if not policy.after_send or n == self.max_attempts:
                    raise
                if exc.retry_after is not None:
                    if exc.retry_after > self.max_backoff:
                        raise  # longer than we wait in-line: the caller defers the job
                    delay = exc.retry_after
                else:
                    delay = self._backoff(n)
            self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int) -> float:
        # Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"; our reliability
        # rules).
        return self._rand() * min(self.max_backoff, BACKOFF_BASE * 2 ** (attempt - 1))


def _field_list(fields: Iterable[str]) -> str:
    names = [f for f in fields if f]
    if not names:
        raise ValueError(
            "at least one field is required "
            "(https://developers.tiktok.com/doc/tiktok-api-v2-get-user-info: fields is required)"
        )
    return ",".join(names)


def _maybe_sent(exc: requests.RequestException) -> bool:
    """False only when the request certainly never reached the server (connect failures)."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    if isinstance(exc, requests.ConnectionError) and exc.args:
        inner = exc.args[0]
        if isinstance(inner, MaxRetryError) and isinstance(
            inner.reason, NewConnectionError | ConnectTimeoutError
        ):
            return False
    return True


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """RFC 9110 §10.2.3: delta-seconds or an HTTP-date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


def _protocol(what: str, http_status: int | None = None) -> TikTokProtocolError:
    return TikTokProtocolError(
        explanation=f"TikTok sent an answer Reelboard cannot read: {what}.",
        fix="Nothing was saved. Try again later; if it keeps happening, TikTok may have "
            "changed its API.",
        http_status=http_status,
        retry_safe=False,
    )


def _json_or_none(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _log_id(response: requests.Response, body: Any = None) -> str | None:
    if isinstance(body, Mapping):
        for key in ("log_id", "logid"):  # §11: `log_id` in practice, `logid` in some tables
            if isinstance(body.get(key), str):
                return body[key]
    return response.headers.get("x-tt-logid")


def _api_data(response: requests.Response) -> dict[str, Any]:
    """Unwrap `{data, error}`: success iff error.code == "ok"
    (https://developers.tiktok.com/doc/tiktok-api-v2-error-handling).
    """
    status = response.status_code
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    body = _json_or_none(response)
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("code"), str):
        if status == 429 or status >= 500:
            # An HTML 502 from a proxy, or a bare 429: the status says enough.
            raise error_from_api(status, None, None, _log_id(response), retry_after=retry_after)
        raise _protocol(f"HTTP {status} without the {{data, error}} envelope", status)
    code = error["code"]
    log_id = _log_id(response, error)
    if code == "ok":
        data = body.get("data")
        if not isinstance(data, dict):
            raise _protocol("a success without a data object", status)
        return data
    message = error.get("message") if isinstance(error.get("message"), str) else None
    raise error_from_api(status, code, message, log_id, retry_after=retry_after)


def _oauth_body(
    response: requests.Response, *, single_use: bool, allow_empty: bool
) -> dict[str, Any]:
    """Flat OAuth JSON (https://developers.tiktok.com/doc/oauth-user-access-token-management,
    https://developers.tiktok.com/doc/oauth-error-handling): an `error` key means failure
    whatever the
    HTTP status (TikTok answers 200 for OAuth errors, §11)."""
    status = response.status_code
    body = _json_or_none(response)
    if body is None and allow_empty and 200 <= status < 300 and not response.content.strip():
        return {}  # revoke: "Success returns an empty body or {}" (§2.4)
    if not isinstance(body, dict):
        kind = response.headers.get("Content-Type", "no content type").split(";")[0]
        err = _protocol(f"HTTP {status} with a non-JSON body ({kind})", status)
        err.retry_safe = False
        raise err
    error = body.get("error")
    if error:
        if not isinstance(error, str):
            raise _protocol("an OAuth error that is not a string", status)
        description = body.get("error_description")
        raise error_from_oauth(
            status, error,
            description if isinstance(description, str) else None,
            _log_id(response, body),
            single_use=single_use,
        )
    if status >= 400:
        raise _protocol(f"HTTP {status} without an OAuth error", status)
    return body


def _positive_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    return value


def _token_grant(body: Mapping[str, Any], *, grant_type: str) -> TokenGrant:
    """Validate a token response before anything is stored (the fault catalogue (tests/faults) C11):
    nothing of a
    malformed answer is kept, and the error names the field, never its value."""
    access, refresh = body.get("access_token"), body.get("refresh_token")
    if not isinstance(access, str) or not access:
        raise _protocol("the token answer has no access_token")
    if not isinstance(refresh, str) or not refresh:
        raise _protocol("the token answer has no refresh_token")
    expires_in = _positive_int(body.get("expires_in"))
    if expires_in is None:
        raise _protocol("the token answer has no whole-number expires_in")
    refresh_expires_in = body.get("refresh_expires_in")
    if refresh_expires_in is not None:
        refresh_expires_in = _positive_int(refresh_expires_in)
        if refresh_expires_in is None:
            raise _protocol("the token answer's refresh_expires_in is not a whole number")
    open_id = body.get("open_id")
    if open_id is not None and not isinstance(open_id, str):
        raise _protocol("the token answer's open_id is not a string")
    scope = body.get("scope")
    if scope is not None and not isinstance(scope, str):
        raise _protocol("the token answer's scope is not a string")
    if grant_type == "authorization_code":
        # A new connection must say who it is and what was granted (R6).
        if not open_id:
            raise _protocol("the token answer has no open_id")
        if scope is None:
            raise _protocol("the token answer does not list the granted scopes")
    token_type = body.get("token_type")
    return TokenGrant(
        access_token=access,
        refresh_token=refresh,
        open_id=open_id or "",
        scopes=parse_scopes(scope) if scope is not None else None,
        expires_in=expires_in,
        refresh_expires_in=refresh_expires_in,
        token_type=token_type if isinstance(token_type, str) and token_type else "Bearer",
    )


__all__ = [
    "RequestInfo",
    "TikTokClient",
    "TikTokError",
    "TokenGrant",
    "VideoPage",
    "build_authorize_url",
    "parse_retry_after",
]
