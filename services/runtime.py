"""Start-up shared by the app and the CLI: settings → (embedded sandbox) → migrated cache → keys.

Everything that can be wrong with an installation is found here, before any page or command
runs, and reported in words (ConfigError / StorageError / CryptoError).

Sandbox mode: one origin per data directory
-------------------------------------------
Every Reelboard process (the Streamlit app, each CLI command) may embed a sandbox, and they all
share ``data/sandbox/state.db``. The sandbox's avatar and cover URLs contain its port and syncs
store them in the cache, so a random port per process would leave every stored image pointing
at a dead port after a restart, or after the CLI synced. So the data directory remembers its
sandbox's port in ``data/sandbox/port`` and at most one process at a time serves it:

* The process that serves the sandbox (the *owner*) holds an exclusive ``flock`` on
  ``data/sandbox/owner.lock`` for as long as its server runs. It starts the server on the
  remembered port (a free one if that is taken, and then rewrites ``port``), and writes the
  port it is serving into the lock file itself; it empties that file before it stops.
* A process that finds the lock held (a *guest*) reuses the port written in the lock file once
  ``GET /_sandbox/health`` answers there. It never stops that server. If the owner goes away
  first, the guest notices (it polls the lock) and takes over on the same port, so the URLs it
  handed out keep working.

How a guest knows the server is really ours: nothing the control API returns identifies the
state file (``/_sandbox/config``, the creators' open_ids and an unshifted ``/_sandbox/clock``
are the same for every data dir with the default seed and key, and the world anchor is not
exposed), so an HTTP fingerprint would be a guess. A lock on a file next to state.db, though,
can only be held by a process using this data directory; the kernel drops it when the process
dies; and the holder empties the file as soon as it takes the lock and writes a port into it
only once its own server is listening. So "lock held by someone else + a port in the lock file
+ health answers there" means the server on that port is this data dir's sandbox, even when the
remembered port has since been taken by another program or another data dir's sandbox.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from services.config import Settings
from services.crypto import KeyRing, load_keyring
from services.db import apply_migrations, connect, sqlite_error_sentence
from services.errors import StorageError
from services.tiktok.client import TikTokClient

try:
    import fcntl
except ImportError:  # Windows: no flock; each process then serves its own sandbox
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

SANDBOX_HOST = "127.0.0.1"  # the sandbox has no authentication: loopback only
PORT_FILE = "port"  # in data/sandbox/, next to state.db
LOCK_FILE = "owner.lock"
HEALTH_PATH = "/_sandbox/health"
AUTHORIZE_PATH = "/v2/auth/authorize/"
APP_NAME = "Reelboard"  # what start_sandbox registers; a guest registers the same
#: How long a starting process waits for another one that holds the lock but is still bringing
#: its sandbox up (both started at once); after that it serves a private sandbox.
OWNER_WAIT_SECONDS = 10.0
#: How often a guest checks whether the owner went away (one non-blocking flock per tick).
WATCH_INTERVAL_SECONDS = 0.25
HEALTH_TIMEOUT_SECONDS = 1.0


@dataclass
class Runtime:
    settings: Settings
    keyring: KeyRing = field(repr=False)
    sandbox: Any | None = None  # the sandbox.SandboxServer this runtime started (and stops)
    # Sandbox mode only: this runtime's side of the data dir's shared sandbox (see the module
    # docstring). None in live mode and for a private sandbox.
    _share: _Share | None = field(default=None, repr=False, compare=False)

    def client(self) -> TikTokClient:
        """A fresh client per unit of work (its HTTP session is not shared across threads)."""
        return TikTokClient.from_settings(self.settings)

    def stop(self) -> None:
        """Stop what this runtime started. A guest leaves the owner's sandbox running."""
        share, self._share = self._share, None
        if share is not None:
            share.stopping.set()
            if share.watcher is not None and share.watcher is not threading.current_thread():
                share.watcher.join(timeout=10)
        mutex: contextlib.AbstractContextManager[Any] = (
            share.mutex if share is not None else contextlib.nullcontext()
        )
        with mutex:  # a takeover in flight has finished (or will not start) once we hold it
            if share is not None and self.sandbox is not None:
                share.lock.set_serving(None)  # guests stop trusting this port from now on
            if self.sandbox is not None:
                self.sandbox.stop()
                self.sandbox = None
            if share is not None:
                # After the server: a guest that takes over must find the port free.
                share.lock.close()

    def _watch_owner(self, share: _Share) -> None:
        """Guest thread: when the owner's lock frees up, serve the sandbox on the same port."""
        while not share.stopping.wait(WATCH_INTERVAL_SECONDS):
            try:
                if not share.lock.try_acquire():
                    continue
            except OSError:
                log.exception("sandbox: cannot watch the owner lock; not taking over")
                return
            with share.mutex:
                if share.stopping.is_set():
                    return  # stop() closes the lock
                try:
                    server = _start_owned_sandbox(self.settings, share.lock,
                                                  _base_port(self.settings))
                except Exception:
                    log.exception("sandbox: could not take over the shared sandbox")
                    share.lock.release()
                    return
                self.sandbox = server
                if server.base_url != self.settings.api_base_url:
                    # The old port was taken: follow the new one (stored images of this
                    # data dir now point at a dead port until the next sync or cover refresh).
                    self.settings = _with_sandbox(self.settings, server.base_url)
            log.info("sandbox: the previous owner stopped; now serving %s", server.base_url)
            return


@dataclass(eq=False)
class _Share:
    lock: _OwnerLock
    mutex: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)
    watcher: threading.Thread | None = None


def start_runtime(settings: Settings) -> Runtime:
    """Bring the installation up; raises a ReelboardError subclass with the fix on failure."""
    sandbox_server = None
    share = None
    if settings.is_sandbox:
        sandbox_server, base_url, share = _attach_sandbox(settings)
        settings = _with_sandbox(settings, base_url)
    try:
        try:
            db = connect(settings.database_path)
            try:
                apply_migrations(db)
                # Refuse to start on a wrong or missing key now, not mid-flow (the token-storage
                # design (README, 'Tokens at rest')).
                keyring = load_keyring(settings, db)
            finally:
                db.close()
        except sqlite3.Error as exc:  # a full disk, a damaged file, another process's upgrade
            raise StorageError(sqlite_error_sentence(exc, settings.database_path)) from exc
    except BaseException:
        if share is not None and sandbox_server is not None:
            share.lock.set_serving(None)
        if sandbox_server is not None:
            sandbox_server.stop()
        if share is not None:
            share.lock.close()
        raise
    rt = Runtime(settings=settings, keyring=keyring, sandbox=sandbox_server, _share=share)
    if share is not None and sandbox_server is None:
        share.watcher = threading.Thread(
            target=rt._watch_owner, args=(share,), name="reelboard-sandbox-watch", daemon=True
        )
        share.watcher.start()
    return rt


# -- the shared sandbox ----------------------------------------------------------------------


def remembered_port(settings: Settings) -> int | None:
    """The port this data dir's sandbox is served on (or was, last time), if any."""
    try:
        text = (settings.sandbox_state_path.parent / PORT_FILE).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return None
    text = text.strip()
    return int(text) if text.isdigit() and 0 < int(text) < 65536 else None


def sandbox_answers(port: int, timeout: float = HEALTH_TIMEOUT_SECONDS) -> bool:
    """True if a sandbox answers ``GET /_sandbox/health`` on loopback ``port``.

    http.client rather than requests: it ignores HTTP(S)_PROXY, which must never see loopback.
    """
    conn = http.client.HTTPConnection(SANDBOX_HOST, port, timeout=timeout)
    try:
        conn.request("GET", HEALTH_PATH)
        response = conn.getresponse()
        body = response.read(1024)
        return response.status == 200 and json.loads(body).get("ok") is True
    except (OSError, http.client.HTTPException, ValueError, AttributeError):
        return False
    finally:
        conn.close()


def _attach_sandbox(settings: Settings) -> tuple[Any | None, str, _Share | None]:
    """(server we started or None, base URL to use, share) — see the module docstring."""
    sandbox_dir = settings.sandbox_state_path.parent
    sandbox_dir.mkdir(parents=True, exist_ok=True)
    lock_path = sandbox_dir / LOCK_FILE
    try:
        lock = _OwnerLock(lock_path)
    except OSError as exc:
        log.warning("sandbox: cannot open %s (%s); serving a sandbox of our own", lock_path, exc)
        server = _start_owned_sandbox(settings, None, remembered_port(settings))
        return server, server.base_url, None
    deadline = time.monotonic() + OWNER_WAIT_SECONDS
    while True:
        try:
            acquired = lock.try_acquire()
        except OSError as exc:  # no flock here (Windows, some network filesystems)
            log.warning("sandbox: file locks unavailable (%s); serving a sandbox of our own", exc)
            lock.close()
            server = _start_owned_sandbox(settings, None, remembered_port(settings))
            return server, server.base_url, None
        if acquired:
            try:
                server = _start_owned_sandbox(settings, lock, remembered_port(settings))
            except BaseException:
                lock.close()
                raise
            log.info("sandbox mode: embedded TikTok sandbox at %s", server.base_url)
            return server, server.base_url, _Share(lock)
        port = _OwnerLock.serving_port(lock_path)
        if port is not None and sandbox_answers(port):
            base_url = _base_url(port)
            try:
                _register_app(settings)
            except BaseException:
                lock.close()
                raise
            log.info("sandbox mode: reusing this data dir's sandbox at %s", base_url)
            return None, base_url, _Share(lock)
        if time.monotonic() >= deadline:
            # The owner is stuck starting: serve a private sandbox rather than not start.
            lock.close()
            log.warning(
                "sandbox: another process holds %s but its sandbox does not answer; serving a "
                "private one (images synced by this process break after it exits)", lock_path,
            )
            server = _start_sandbox(settings, 0)
            return server, server.base_url, None
        time.sleep(0.05)  # the owner is starting (both processes started at once)


def _start_owned_sandbox(settings: Settings, lock: _OwnerLock | None, port: int | None) -> Any:
    """Serve on the remembered ``port`` (a free one if it is taken) and remember where.

    ``lock`` is the owner lock we hold (None when locks are unavailable): guests learn the port
    from it only once the server is listening.
    """
    if lock is not None:
        lock.set_serving(None)  # a crashed owner may have left its port in the file
    server = None
    if port is not None:
        try:
            server = _start_sandbox(settings, port)
        except OSError as exc:  # taken by another program (or another data dir's sandbox)
            log.warning("sandbox: port %s is not available (%s); using a free port", port, exc)
    if server is None:
        server = _start_sandbox(settings, 0)
    try:
        if server.port != port:
            _write_port(settings, server.port)
        if lock is not None:
            lock.set_serving(server.port)
    except BaseException:
        server.stop()
        raise
    return server


def _start_sandbox(settings: Settings, port: int) -> Any:
    from sandbox import start_sandbox

    # The sandbox keeps its tokens and clock in data/sandbox/state.db, so accounts stay
    # connected across restarts and every process of this data dir sees the same world.
    return start_sandbox(
        host=SANDBOX_HOST,
        port=port,
        state_path=str(settings.sandbox_state_path),
        client_key=settings.client_key,
        client_secret=settings.client_secret,
        redirect_uris=(settings.redirect_uri,),
        app_name=APP_NAME,
    )


def _register_app(settings: Settings) -> None:
    """A guest registers its own redirect URI (a second app on another port has another one).

    The sandbox reads the app registration from the shared state on every authorize and token
    request, so writing it there (the merge that start_sandbox does) is enough.
    """
    from sandbox.state import StateStore

    store = StateStore(settings.sandbox_state_path)
    try:
        with store.transaction() as tx:
            tx.upsert_app(settings.client_key, settings.client_secret, APP_NAME,
                          (settings.redirect_uri,))
    finally:
        store.close()


def _write_port(settings: Settings, port: int) -> None:
    # Write-then-rename: a process starting right now reads the old or the new port, never "".
    path = settings.sandbox_state_path.parent / PORT_FILE
    tmp = path.with_name(f"{PORT_FILE}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(f"{port}\n", encoding="ascii")
    os.replace(tmp, path)


def _base_url(port: int) -> str:
    return f"http://{SANDBOX_HOST}:{port}"  # what start_sandbox reports for this host


def _base_port(settings: Settings) -> int | None:
    """The port of the URL this runtime hands out (a takeover keeps it)."""
    try:
        return urlsplit(settings.api_base_url).port
    except ValueError:
        return remembered_port(settings)


def _with_sandbox(settings: Settings, base_url: str) -> Settings:
    return settings.with_endpoints(auth_url=base_url + AUTHORIZE_PATH, api_base_url=base_url)


class _OwnerLock:
    """An exclusive, non-blocking flock on ``owner.lock``; its content is the port served.

    flock (not lockf): its locks belong to the open file, so two runtimes in one process (tests,
    a config change in the app) exclude each other as two processes do. The descriptor is not
    inherited by child processes (PEP 446), so a subprocess cannot keep a dead owner's lock.
    """

    def __init__(self, path: Path) -> None:
        self._fd: int | None = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self.held = False

    def try_acquire(self) -> bool:
        """True if we hold it now; False if another holder has it. OSError: no locks here."""
        if self._fd is None:
            raise OSError("the lock file is closed")
        if fcntl is None:
            raise OSError("fcntl.flock is not available on this platform")
        if not self.held:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            self.held = True
        return True

    def set_serving(self, port: int | None) -> None:
        """Publish (or withdraw) the port this owner serves; only the holder writes."""
        if self._fd is None or not self.held:
            return
        os.ftruncate(self._fd, 0)
        if port is not None:
            os.pwrite(self._fd, f"{port}\n".encode("ascii"), 0)

    @staticmethod
    def serving_port(path: Path) -> int | None:
        try:
            text = path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return int(text) if text.isdigit() and 0 < int(text) < 65536 else None

    def release(self) -> None:
        if self._fd is not None and self.held and fcntl is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self.held = False

    def close(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            self.release()
        os.close(self._fd)  # closing drops a flock anyway
        self._fd = None
