"""The app's view of services.runtime: one Runtime per server process, one DB per unit of work.

This is the only module that reads ``st.secrets`` (the architecture notes in README.md). The Runtime
(settings + embedded
sandbox) is a ``cache_resource`` singleton; SQLite connections are never cached — each page run
opens its own and closes it (the project's code habits "Caches are global across users").
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
    check_streamlit_options,
    load_settings,
)
from services.db import open_db
from services.runtime import Runtime, start_runtime
from services.schedule import SyncScheduler

log = logging.getLogger("reelboard")


def _secrets_dict() -> dict[str, Any]:
    try:
        return st.secrets.to_dict()
    except Exception:  # no secrets.toml at all: sandbox defaults
        return {}


def secrets_section(name: str) -> dict[str, Any]:
    """One table of the secrets (``auth``, ``access``), read fresh on every call: Streamlit
    reloads secrets.toml when it changes, so an allowlist edit applies on the next rerun."""
    value = _secrets_dict().get(name)
    return dict(value) if isinstance(value, dict) else {}


def _app_url() -> str:
    port = st.get_option("server.port") or 8501
    return f"http://localhost:{port}"


def serving_problems() -> list[str]:
    """Why this server must not serve Reelboard: Streamlit did not read Reelboard's config
    (started from another folder). Where it may listen is the gate's check (dashboard.gate)."""
    options = {name: st.get_option(name) for name in REQUIRED_STREAMLIT_OPTIONS}
    return check_streamlit_options(options)


_STARTED: list[Runtime] = []
#: The automatic sync's scheduler of each runtime (by id), stopped with it.
_SCHEDULERS: dict[int, SyncScheduler] = {}


@st.cache_resource(show_spinner="Starting Reelboard…")
def _runtime(fingerprint: str) -> Runtime:
    redaction.install()
    settings = load_settings(_secrets_dict(), app_url=_app_url())
    rt = start_runtime(settings)
    _STARTED.append(rt)
    # One scheduler per process: a configuration change replaces the old runtime's one (its
    # lease is handed back, so this one takes over at once). Which process of the data dir
    # actually runs the syncs is decided by the schedule's lease (services.schedule).
    for old in list(_SCHEDULERS):
        _SCHEDULERS.pop(old).stop()
    scheduler = SyncScheduler(rt.settings)
    scheduler.start()
    _SCHEDULERS[id(rt)] = scheduler
    return rt


def shutdown() -> None:
    """Stop every runtime this process started (tests; a config change leaves old ones)."""
    _runtime.clear()
    while _SCHEDULERS:
        _SCHEDULERS.popitem()[1].stop()
    while _STARTED:
        _STARTED.pop().stop()


def get_runtime() -> Runtime:
    # Keyed by the configuration, so editing secrets.toml takes effect on the next rerun.
    env = {k: v for k, v in os.environ.items() if k.startswith(("TIKTOK_", "REELBOARD_"))}
    # Sign-in and the allowlist are read per rerun by dashboard.gate, not by Settings: editing
    # them must not restart the runtime (and its sandbox).
    secrets = {k: v for k, v in _secrets_dict().items() if k not in ("auth", "access")}
    env = {k: v for k, v in env.items() if not k.startswith("REELBOARD_ACCESS_")}
    fingerprint = repr((sorted(secrets.items()), sorted(env.items()), _app_url()))
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
