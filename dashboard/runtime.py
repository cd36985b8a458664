"""The app's view of services.runtime: one Runtime per server process, one DB per unit of work.

This is the only module that reads ``st.secrets`` (DESIGN.md). The Runtime (settings + embedded
sandbox) is a ``cache_resource`` singleton; SQLite connections are never cached — each page run
opens its own and closes it (STYLE.md "Caches are global across users").
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlite_utils
import streamlit as st

from services import redaction
from services.config import (
    REQUIRED_STREAMLIT_OPTIONS,
    Settings,
    allow_unauthenticated,
    check_bind_address,
    check_streamlit_options,
    is_loopback_address,
    load_settings,
)
from services.db import open_db
from services.runtime import Runtime, start_runtime

log = logging.getLogger("reelboard")


def _secrets_dict() -> dict[str, Any]:
    try:
        return st.secrets.to_dict()
    except Exception:  # no secrets.toml at all: sandbox defaults
        return {}


def _app_url() -> str:
    port = st.get_option("server.port") or 8501
    return f"http://localhost:{port}"


def _auth_configured() -> bool:
    # Sign-in is not built yet (its own issue); when it is, return whether it is enforced here,
    # and check_bind_address lets a signed-in deployment listen beyond loopback.
    return False


def serving_problems() -> list[str]:
    """Why this server must not serve Reelboard (wrong config, exposed without sign-in)."""
    options = {name: st.get_option(name) for name in REQUIRED_STREAMLIT_OPTIONS}
    return check_streamlit_options(options) + check_bind_address(
        st.get_option("server.address"), auth_configured=_auth_configured(),
        allow_unauthenticated=allow_unauthenticated())


def exposed_without_sign_in() -> bool:
    """True when REELBOARD_ALLOW_UNAUTHENTICATED=1 let the app listen beyond loopback."""
    return not _auth_configured() and not is_loopback_address(st.get_option("server.address"))


_STARTED: list[Runtime] = []


@st.cache_resource(show_spinner="Starting Reelboard…")
def _runtime(fingerprint: str) -> Runtime:
    redaction.install()
    settings = load_settings(_secrets_dict(), app_url=_app_url())
    rt = start_runtime(settings)
    _STARTED.append(rt)
    return rt


def shutdown() -> None:
    """Stop every runtime this process started (tests; a config change leaves old ones)."""
    _runtime.clear()
    while _STARTED:
        _STARTED.pop().stop()


def get_runtime() -> Runtime:
    # Keyed by the configuration, so editing secrets.toml takes effect on the next rerun.
    env = {k: v for k, v in os.environ.items() if k.startswith(("TIKTOK_", "REELBOARD_"))}
    fingerprint = repr((sorted(_secrets_dict().items()), sorted(env.items()), _app_url()))
    return _runtime(fingerprint)


def settings() -> Settings:
    return get_runtime().settings


@contextmanager
def database() -> Iterator[sqlite_utils.Database]:
    """A connection for this script run only."""
    with open_db(settings().database_path) as db:
        yield db


def keyring():
    return get_runtime().keyring


def client():
    return get_runtime().client()
