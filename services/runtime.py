"""Start-up shared by the app and the CLI: settings → (embedded sandbox) → migrated cache → keys.

Everything that can be wrong with an installation is found here, before any page or command
runs, and reported in words (ConfigError / StorageError / CryptoError).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from services.config import Settings
from services.crypto import KeyRing, load_keyring
from services.db import apply_migrations, connect
from services.tiktok.client import TikTokClient

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    keyring: KeyRing = field(repr=False)
    sandbox: Any | None = None  # sandbox.SandboxServer in sandbox mode

    def client(self) -> TikTokClient:
        """A fresh client per unit of work (its HTTP session is not shared across threads)."""
        return TikTokClient.from_settings(self.settings)

    def stop(self) -> None:
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None


def start_runtime(settings: Settings) -> Runtime:
    """Bring the installation up; raises a ReelboardError subclass with the fix on failure."""
    sandbox_server = None
    if settings.is_sandbox:
        from sandbox import start_sandbox

        # The sandbox keeps its tokens and clock in data/sandbox/state.db, so accounts stay
        # connected across restarts and the CLI (its own embedded server) shares them.
        settings.sandbox_state_path.parent.mkdir(parents=True, exist_ok=True)
        sandbox_server = start_sandbox(
            port=0,
            state_path=str(settings.sandbox_state_path),
            client_key=settings.client_key,
            client_secret=settings.client_secret,
            redirect_uris=(settings.redirect_uri,),
        )
        settings = settings.with_endpoints(
            auth_url=sandbox_server.auth_url, api_base_url=sandbox_server.base_url
        )
        log.info("sandbox mode: embedded TikTok sandbox at %s", sandbox_server.base_url)
    try:
        db = connect(settings.database_path)
        try:
            apply_migrations(db)
            # Refuse to start on a wrong or missing key now, not mid-flow (security.md §2.3).
            keyring = load_keyring(settings, db)
        finally:
            db.close()
    except BaseException:
        if sandbox_server is not None:
            sandbox_server.stop()
        raise
    return Runtime(settings=settings, keyring=keyring, sandbox=sandbox_server)
