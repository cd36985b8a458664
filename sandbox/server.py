"""HTTP plumbing: a threaded HTTP/1.1 server with keep-alive around `Sandbox.handle`.

Stdlib only (http.server). Every response carries an exact Content-Length so keep-alive works,
plus TikTok's `x-tt-logid` and `x-tt-trace-id` headers (v2 conventions).
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import sys
import threading
import traceback
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

from sandbox.clock import SimClock
from sandbox.config import SandboxConfig
from sandbox.core import Sandbox, resolve_anchor
from sandbox.ids import new_log_id, new_trace_id
from sandbox.reqlog import LoggedRequest
from sandbox.state import StateStore
from sandbox.upload import UPLOAD_PATH
from sandbox.web import BodyStream, Request, Response, api_error

DEFAULT_CLIENT_KEY = "sbawreelboarddemo"
DEFAULT_CLIENT_SECRET = "sandbox-secret-not-for-production"
MAX_BODY_BYTES = 256 * 1024 * 1024


class _BadRequestError(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; needs a correct Content-Length everywhere
    server: _SandboxHTTPServer
    timeout = 120  # seconds an idle keep-alive connection may wait for its next request
    # Headers and body go out in separate writes; without TCP_NODELAY, Nagle plus the
    # client's delayed ACK adds ~40 ms to every keep-alive response.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        raw = self.headers.get("Content-Length")
        if raw is None:
            return b""
        try:
            length = int(raw)
        except ValueError as exc:
            raise _BadRequestError("bad Content-Length") from exc
        if length < 0 or length > MAX_BODY_BYTES:
            raise _BadRequestError("Content-Length out of range")
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError as exc:
                raise _BadRequestError("bad chunk size") from exc
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            total += size
            if total > MAX_BODY_BYTES:
                raise _BadRequestError("body too large")
            parts.append(self.rfile.read(size))
            self.rfile.readline(8)  # CRLF after each chunk

    def _serve(self, head: bool = False) -> None:
        sb = self.server.sandbox
        now = sb.clock.now()
        log_id = new_log_id(now)
        url = urlsplit(self.path)
        method = "GET" if head else self.command
        req = Request(
            method=method,
            path=url.path,
            query=parse_qs(url.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=b"",
            now=now,
            log_id=log_id,
        )
        try:
            if self.command == "PUT" and url.path == UPLOAD_PATH:
                # Upload chunks (up to 128 MiB) are streamed to disk by the handler, never
                # read whole here; the handler checks Content-Length itself.
                raw = self.headers.get("Content-Length") or ""
                req.stream = BodyStream(self.rfile, int(raw) if raw.isdigit() else 0)
                if not raw.isdigit() or self.headers.get("Transfer-Encoding"):
                    self.close_connection = True  # a body we cannot delimit is never read
            else:
                req.body = self._read_body()
        except _BadRequestError as exc:
            self.close_connection = True
            self._write(req, api_error(req, 400, "invalid_params", str(exc)), head)
            return
        try:
            resp = sb.handle(req)
        except Exception:  # a bug in the sandbox must not kill the connection silently
            traceback.print_exc(file=sys.stderr)
            resp = api_error(req, 500, "internal_error")
        if req.stream is not None and req.stream.remaining:
            self.close_connection = True  # an unread body cannot be skipped on keep-alive
        if resp.drop:
            self._log(req, None, resp)
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._write(req, resp, head)

    def _write(self, req: Request, resp: Response, head: bool) -> None:
        # Log first: a test that reads /_sandbox/requests right after this response must see it.
        self._log(req, resp.status, resp)
        self.send_response(resp.status)
        if resp.content_type:
            self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(resp.body)))
        self.send_header("x-tt-logid", req.log_id)
        self.send_header("x-tt-trace-id", new_trace_id())
        for name, value in resp.headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if not head and resp.body:
            self.wfile.write(resp.body)

    def _log(self, req: Request, status: int | None, resp: Response) -> None:
        # Never the query string, headers or body: they may carry codes, tokens or secrets.
        # Control calls are not logged, so tests count only what a TikTok client does.
        if req.path.startswith("/_sandbox/") and not req.path.startswith("/_sandbox/media/"):
            return
        grant_type = resp.grant_type
        self.server.sandbox.log.add(
            LoggedRequest(
                ts=req.now,
                method=self.command,
                path=req.path,
                status=status,
                open_id=resp.open_id,
                grant_type=grant_type,
            )
        )

    def log_message(self, format: str, *args: object) -> None:
        if self.server.access_log:
            # BaseHTTPRequestHandler logs the request line, which includes the query string
            # (codes, state): log the path only.
            path = urlsplit(getattr(self, "path", "")).path
            sys.stderr.write(
                f"[sandbox] {self.command} {path} {args[1] if len(args) > 1 else ''}\n"
            )


class _SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    sandbox: Sandbox
    access_log = False

    def __init__(self, address: tuple[str, int], family: socket.AddressFamily) -> None:
        self.address_family = family
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls getfqdn(), which can stall on DNS; skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def get_request(self) -> tuple[socket.socket, object]:
        conn, addr = super().get_request()
        with self._open_lock:
            self._open.add(conn)
        return conn, addr

    def shutdown_request(self, request: socket.socket) -> None:  # type: ignore[override]
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_open_connections(self) -> None:
        """Wake handler threads parked on idle keep-alive connections so they exit."""
        with self._open_lock:
            conns = list(self._open)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class SandboxServer:
    """A running sandbox on a daemon thread. Use `stop()` or a `with` block."""

    def __init__(
        self, httpd: _SandboxHTTPServer, sandbox: Sandbox, client_key: str, client_secret: str
    ) -> None:
        self._httpd = httpd
        self.sandbox = sandbox
        self.base_url: str = sandbox.base_url
        self.auth_url: str = self.base_url + "/v2/auth/authorize/"
        self.client_key = client_key
        self.client_secret = client_secret
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sandbox{self.base_url[6:]}",
            daemon=True,
        )
        self._stopped = False

    @property
    def port(self) -> int:
        return self._httpd.server_port

    @property
    def access_log(self) -> bool:
        return self._httpd.access_log

    @access_log.setter
    def access_log(self, value: bool) -> None:
        self._httpd.access_log = value

    def _start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, join the thread, close the listening and open sockets."""
        if self._stopped:
            return
        self._stopped = True
        self._httpd.shutdown()
        self._thread.join(timeout=5)
        self._httpd.close_open_connections()
        self._httpd.server_close()
        self.sandbox.close()
        self.sandbox.store.close()

    def __enter__(self) -> SandboxServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"SandboxServer({self.base_url!r})"


def start_sandbox(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    seed: int = 7,
    state_path: str | Path | None = None,
    anchor: datetime | float | int | None = None,
    client_key: str = DEFAULT_CLIENT_KEY,
    client_secret: str = DEFAULT_CLIENT_SECRET,
    redirect_uris: tuple[str, ...] | list[str] = ("http://localhost:8501/accounts",),
    app_name: str = "Reelboard",
    access_ttl: int = 7200,
    refresh_ttl: int = 15552000,
    code_ttl: int = 300,
    rate_limit_per_minute: int = 600,
) -> SandboxServer:
    """Start a sandbox on a daemon thread; it accepts connections when this returns."""
    if isinstance(anchor, datetime) and anchor.tzinfo is None:
        raise ValueError("anchor must be timezone-aware (or epoch seconds)")
    config = SandboxConfig(
        access_ttl=access_ttl,
        refresh_ttl=refresh_ttl,
        code_ttl=code_ttl,
        rate_limit_per_minute=rate_limit_per_minute,
    )
    store = StateStore(state_path)
    try:
        with store.transaction() as tx:
            tx.upsert_app(client_key, client_secret, app_name, tuple(redirect_uris))
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        httpd = _SandboxHTTPServer((host, port), family)
    except BaseException:
        store.close()
        raise
    shown = (
        "127.0.0.1"
        if host in ("", "0.0.0.0")
        else (f"[{host}]" if ":" in host and host != "::" else "[::1]" if host == "::" else host)
    )
    base_url = f"http://{shown}:{httpd.server_port}"
    try:
        sb = Sandbox(
            seed=seed,
            store=store,
            anchor=resolve_anchor(store, anchor, _real_now(store)),
            config=config,
            base_url=base_url,
        )
    except BaseException:
        httpd.server_close()
        store.close()
        raise
    httpd.sandbox = sb
    server = SandboxServer(httpd, sb, client_key, client_secret)
    server._start()
    return server


def _real_now(store: StateStore) -> float:
    """Simulated now for the default anchor: today 00:00 UTC of the (possibly shifted) clock."""
    return SimClock(store).now()
