"""The sandbox application: shared state plus request dispatch (no sockets here).

`Sandbox.handle` maps a `Request` to a `Response`; server.py turns HTTP into requests and
responses into bytes. Faults are applied here, before routing, so they hit every TikTok API
route the same way.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sandbox import authorize, control, display, oauth, oidc, posting, upload
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

# TikTok's routes (TikTok's docs); the authorize page lives on www.tiktok.com in reality,
# the rest on open.tiktokapis.com. Paths keep TikTok's trailing slash.
ROUTES: dict[str, dict[str, Handler]] = {
    authorize.AUTHORIZE_PATH: {"GET": authorize.get_authorize, "POST": authorize.post_authorize},
    authorize.AUTHORIZE_ALIAS: {"GET": authorize.get_authorize, "POST": authorize.post_authorize},
    "/v2/oauth/token/": {"POST": oauth.token},
    "/v2/oauth/revoke/": {"POST": oauth.revoke},
    "/v2/user/info/": {"GET": display.user_info},
    "/v2/video/list/": {"POST": display.video_list},
    "/v2/video/query/": {"POST": display.video_query},
    **posting.ROUTES,  # Content Posting API; the upload PUT has its own path below
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
        self._media_dir: Path | None = None
        self._media_tmp = False
        self.sync_world()

    def media_dir(self) -> Path:
        """Where uploaded and pulled media are written while a post is processed: next to the
        state file (shared by processes), else a private temp dir removed by `close`."""
        if self._media_dir is None:
            if self.store.path is not None:
                self._media_dir = self.store.path.parent / "sandbox-media"
                self._media_dir.mkdir(parents=True, exist_ok=True)
            else:
                self._media_dir = Path(tempfile.mkdtemp(prefix="sandbox-media-"))
                self._media_tmp = True
        return self._media_dir

    def close(self) -> None:
        if self._media_tmp and self._media_dir is not None:
            shutil.rmtree(self._media_dir, ignore_errors=True)

    def sync_world(self) -> None:
        """Build synthetic creators that another process (or a restart) stored."""
        with self.store.read() as tx:
            extras = tx.extra_creators()
        self.world.ensure_synthetic((e.username, e.display_name, e.videos) for e in extras)

    def reset(self) -> None:
        """POST /_sandbox/reset: authorizations, posts, faults, log, clock offset, config overrides
        and rate windows go; the world (anchor, extra creators) stays."""
        with self.store.transaction() as tx:
            tx.clear_authorizations()
            tx.clear_posts()
        self.clock.reset()
        self.faults.clear()
        self.log.clear()
        self.config.reset()
        self.limiter.reset()
        self.sheets.reset()
        if self._media_dir is not None:  # half-uploaded media of the posts just removed
            for leftover in self._media_dir.iterdir():
                leftover.unlink(missing_ok=True)

    # --- dispatch -------------------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        if req.path.startswith("/_sandbox/") or req.path in ("/", "/_sandbox"):
            return control.dispatch(self, req)
        if req.path.startswith("/v4/") or req.path == "/token":
            return self.sheets.handle(req, self.base_url)  # Google's paths, not TikTok's
        if req.path.startswith(oidc.OIDC_PREFIX + "/"):  # team sign-in, not a TikTok route
            return oidc.handle(self, req)
        if not req.path.startswith("/v2/") and req.path != upload.UPLOAD_PATH:
            return self._not_found(req)
        delay_ms = self.faults.latency_ms(req.path)
        if delay_ms:
            time.sleep(delay_ms / 1000.0)  # real time: latency is felt by the client
        fault = self.faults.take(req.path)
        if fault is not None and fault.kind == "lose_response":
            # The request takes effect, the answer never arrives (an init that "times out"
            # after TikTok created the post: clients must reconcile, never re-init).
            self._route(req)
            time.sleep((fault.ms or 0) / 1000.0)
            return Response(0, drop=True)
        if fault is not None:
            if fault.kind == "drop" and fault.after_bytes and req.stream is not None:
                req.stream.read(fault.after_bytes)  # the connection dies mid-body
            return self._fault_response(req, fault.kind, fault.status or 500)
        return self._route(req)

    def _route(self, req: Request) -> Response:
        if req.path == upload.UPLOAD_PATH:
            return upload.put(self, req)
        if req.path.startswith(("/v2/video/", "/v2/user/")):
            posting.sync_posts(self)  # videos published through the Content Posting API
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
