"""The sandbox application: shared state plus request dispatch (no sockets here).

`Sandbox.handle` maps a `Request` to a `Response`; server.py turns HTTP into requests and
responses into bytes. Faults are applied here, before routing, so they hit every TikTok API
route the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from sandbox import authorize, control, display, oauth
from sandbox.clock import SimClock, parse_instant
from sandbox.config import ConfigHolder, SandboxConfig
from sandbox.faults import FaultBoard
from sandbox.ratelimit import RateLimiter
from sandbox.reqlog import RequestLog
from sandbox.sheets import SheetsFake
from sandbox.state import StateStore
from sandbox.web import Request, Response, api_error, oauth_error
from sandbox.world import World

Handler = Callable[["Sandbox", Request], Response]

# TikTok's routes (tiktok-api.md §0-§3); the authorize page lives on www.tiktok.com in reality,
# the rest on open.tiktokapis.com. Paths keep TikTok's trailing slash.
ROUTES: dict[str, dict[str, Handler]] = {
    authorize.AUTHORIZE_PATH: {"GET": authorize.get_authorize, "POST": authorize.post_authorize},
    "/v2/oauth/token/": {"POST": oauth.token},
    "/v2/oauth/revoke/": {"POST": oauth.revoke},
    "/v2/user/info/": {"GET": display.user_info},
    "/v2/video/list/": {"POST": display.video_list},
    "/v2/video/query/": {"POST": display.video_query},
}
_ANCHOR_KEY = "world_anchor"


def resolve_anchor(store: StateStore, anchor: datetime | float | int | None, now: float) -> float:
    """The world's time origin: given (and then stored, so a second process started without
    one builds the same world), else stored, else today 00:00 UTC (then stored), so a world
    never shifts between restarts."""
    with store.transaction() as tx:
        if anchor is not None:
            value = parse_instant(anchor)
            tx.set_meta(_ANCHOR_KEY, repr(value))
            return value
        stored = tx.get_meta(_ANCHOR_KEY)
        if stored is not None:
            return float(stored)
        day = datetime.fromtimestamp(now, tz=UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        value = day.timestamp()
        tx.set_meta(_ANCHOR_KEY, repr(value))
        return value


class Sandbox:
    def __init__(
        self, *, seed: int, store: StateStore, anchor: float, config: SandboxConfig, base_url: str
    ) -> None:
        self.seed = seed
        self.store = store
        self.clock = SimClock(store)
        self.anchor = anchor
        self.world = World(seed, anchor)
        self.config = ConfigHolder(config)
        self.faults = FaultBoard()
        self.limiter = RateLimiter()
        self.log = RequestLog()
        self.base_url = base_url
        self.sheets = SheetsFake(store)  # Google Sheets v4 + token endpoint (sandbox/sheets/)
        self.sync_world()

    def sync_world(self) -> None:
        """Build synthetic creators that another process (or a restart) stored."""
        with self.store.read() as tx:
            extras = tx.extra_creators()
        self.world.ensure_synthetic((e.username, e.display_name, e.videos) for e in extras)

    def reset(self) -> None:
        """POST /_sandbox/reset: authorizations, faults, log, clock offset, config overrides and
        rate windows go; the world (anchor, extra creators) stays."""
        with self.store.transaction() as tx:
            tx.clear_authorizations()
        self.clock.reset()
        self.faults.clear()
        self.log.clear()
        self.config.reset()
        self.limiter.reset()
        self.sheets.reset()

    # --- dispatch -------------------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        if req.path.startswith("/_sandbox/") or req.path in ("/", "/_sandbox"):
            return control.dispatch(self, req)
        if req.path.startswith("/v4/") or req.path == "/token":
            return self.sheets.handle(req, self.base_url)  # Google's paths, not TikTok's
        if not req.path.startswith("/v2/"):
            return self._not_found(req)
        delay_ms = self.faults.latency_ms(req.path)
        if delay_ms:
            time.sleep(delay_ms / 1000.0)  # real time: latency is felt by the client
        fault = self.faults.take(req.path)
        if fault is not None:
            return self._fault_response(req, fault.kind, fault.status or 500)
        methods = ROUTES.get(req.path)
        if methods is None:
            return self._not_found(req)
        handler = methods.get(req.method)
        if handler is None:
            return api_error(
                req,
                405,
                "invalid_params",
                f"{req.method} is not allowed on {req.path}; use {' or '.join(methods)}.",
            )
        response = handler(self, req)
        if response.status == 200 and response.body:  # rewrite faults: a hostile TikTok
            response.body = self.faults.rewrite(req.path, response.body)
        return response

    def _not_found(self, req: Request) -> Response:
        # Not a TikTok route: 404 with the usual envelope and `invalid_params`, the closest
        # code TikTok documents, and a message that names the mistake (see README).
        hint = ""
        if req.path.rstrip("/") + "/" in ROUTES:
            hint = " TikTok API paths end with a slash."
        return api_error(req, 404, "invalid_params", f"Unknown endpoint {req.path}.{hint}")

    def _fault_response(self, req: Request, kind: str, status: int) -> Response:
        if kind == "drop":
            return Response(0, drop=True)
        oauth_route = req.path.startswith("/v2/oauth/")
        if kind == "rate_limit":
            if oauth_route:
                return oauth_error(
                    req, 429, "temporarily_unavailable", "Too many requests, please retry later."
                )
            return api_error(req, 429, "rate_limit_exceeded")
        if oauth_route:
            return oauth_error(req, status, "server_error", "Internal server error.")
        return api_error(req, status, "internal_error")
