"""Shared by the publishing tests: connect a sandbox creator for posting, build a Runtime."""

from __future__ import annotations

from services.accounts import complete_connect, start_connect
from services.publishing import FileSource, PostRequest
from services.runtime import Runtime
from services.tiktok.client import TikTokClient
from services.tiktok.scopes import ANALYTICS, DRAFTS, PUBLISHING

ALL_POSTING = (*ANALYTICS, *PUBLISHING, *DRAFTS)


def connect(db, settings, keyring, sandbox, creator="lunakitchen", scopes=ALL_POSTING) -> str:
    """Connect ``creator`` through the real flow (authorize URL → consent → callback)."""
    client = TikTokClient.from_settings(settings)
    try:
        url = start_connect(db, settings, keyring, scopes=scopes)
        params = sandbox.callback_params(url, creator=creator, scopes=list(scopes))
        return complete_connect(db, client, keyring, params,
                                redirect_uri=settings.redirect_uri).open_id
    finally:
        client.session.close()


def runtime(settings, keyring) -> Runtime:
    return Runtime(settings=settings, keyring=keyring)


def direct(open_id, path, **changes) -> PostRequest:
    values = {"open_id": open_id, "mode": "direct", "source": FileSource(path),
              "caption": "Tomato season #recipe 🍅", "privacy_level": "PUBLIC_TO_EVERYONE"}
    values.update(changes)
    return PostRequest(**values)
