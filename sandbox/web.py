"""Request/response values and the response shapes of v2 conventions and OAuth errors.

Handlers are plain functions from a `Request` to a `Response`; the HTTP plumbing in server.py
adds the `x-tt-logid` / `x-tt-trace-id` headers (v2 conventions) and writes the bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs

JSON = "application/json; charset=utf-8"
HTML = "text/html; charset=utf-8"

# Messages for the Display API error codes (error codes). Where TikTok's exact wording is
# known from captures it is used; the others are plain descriptions.
API_MESSAGES: dict[str, str] = {
    "ok": "",
    "access_token_invalid": "The access token is invalid or not found in the request.",
    "scope_not_authorized": "The user did not authorize the scope required for completing "
    "this request.",
    "scope_permission_missed": "The requested fields need additional scopes the user did not "
    "authorize.",
    "invalid_params": "The request parameters are invalid.",
    "rate_limit_exceeded": "API rate limit exceeded, please retry later.",
    "internal_error": "Something went wrong. Please try again later.",
}


class BodyStream:
    """A request body not yet read (upload PUTs): read in blocks, straight to disk."""

    def __init__(self, rfile: object, length: int) -> None:
        self._rfile = rfile
        self.remaining = length

    def read(self, size: int) -> bytes:
        """Up to `size` bytes; ConnectionError if the client stops sending mid-body."""
        size = min(size, self.remaining)
        if size <= 0:
            return b""
        data = self._rfile.read(size)  # type: ignore[attr-defined]
        self.remaining -= len(data)
        if len(data) < size:
            self.remaining = 0
            raise ConnectionError("the client closed the connection mid-body")
        return data


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    now: float  # simulated time when the request arrived
    log_id: str
    stream: BodyStream | None = None  # set instead of `body` for upload PUTs

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";", 1)[0].strip().lower()

    def cookie(self, name: str) -> str | None:
        raw = self.header("cookie")
        if not raw:
            return None
        jar = SimpleCookie()
        try:
            jar.load(raw)
        except CookieError:
            return None
        morsel = jar.get(name)
        return morsel.value if morsel else None

    def form(self) -> dict[str, list[str]]:
        """The body as application/x-www-form-urlencoded; ValueError when it is not decodable."""
        text = self.body.decode("utf-8")  # UnicodeDecodeError is a ValueError
        return parse_qs(text, keep_blank_values=True)

    def json_body(self) -> object:
        """The body as JSON (empty body → {}); ValueError when malformed."""
        if not self.body.strip():
            return {}
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = JSON
    headers: list[tuple[str, str]] = field(default_factory=list)
    # for the request log only
    open_id: str | None = None
    grant_type: str | None = None
    drop: bool = False  # close the socket without answering (fault injection)


def json_response(
    status: int, payload: object, *, open_id: str | None = None, grant_type: str | None = None
) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(status, body, JSON, open_id=open_id, grant_type=grant_type)


def api_ok(req: Request, data: dict[str, object], open_id: str | None = None) -> Response:
    """Display/Posting success envelope (v2 conventions)."""
    return json_response(
        200,
        {"data": data, "error": {"code": "ok", "message": "", "log_id": req.log_id}},
        open_id=open_id,
    )


def api_error(
    req: Request, status: int, code: str, message: str | None = None, open_id: str | None = None
) -> Response:
    """Error envelope: `data` is `{}` on error (v2 conventions, real capture)."""
    return json_response(
        status,
        {
            "data": {},
            "error": {
                "code": code,
                "message": message or API_MESSAGES.get(code, code),
                "log_id": req.log_id,
            },
        },
        open_id=open_id,
    )


def oauth_error(
    req: Request, status: int, error: str, description: str, grant_type: str | None = None
) -> Response:
    """Flat OAuth error (OAuth errors); status is configurable (200 by default, undocumented)."""
    return json_response(
        status,
        {"error": error, "error_description": description, "log_id": req.log_id},
        grant_type=grant_type,
    )


def html_response(status: int, page: str, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, page.encode(), HTML, headers or [])


def redirect(
    location: str, headers: list[tuple[str, str]] | None = None, open_id: str | None = None
) -> Response:
    return Response(302, b"", None, [("Location", location), *(headers or [])], open_id=open_id)
