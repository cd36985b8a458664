"""HTTP response headers that keep Reelboard's pages from being framed or leaking URLs.

Streamlit sends none of these itself; since 1.67 an ``st.App`` wrapper may add ASGI middleware
(``streamlit_app.py`` does). They are set on every HTTP response (the page, static files,
``/_stcore/*``); the websocket is left alone.

* ``X-Frame-Options`` and CSP ``frame-ancestors``: no other site can frame the app and trick a
  user into clicking *Disconnect* or *Connect* (clickjacking; the CSP form wins in browsers that
  know it, the old header covers the rest).
* ``Referrer-Policy: no-referrer``: the OAuth callback's query (code, state) never leaves in a
  Referer header when the page loads images or links out.
* ``X-Content-Type-Options: nosniff``: files are only ever what their content type says.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.datastructures import MutableHeaders

SECURITY_HEADERS: dict[str, str] = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


class SecurityHeadersMiddleware:
    """Pure ASGI middleware (no response buffering, websockets pass through untouched)."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
