"""AppTest fixtures: the real entry script (router, sidebar, guard) with a chosen page.

The runtime (settings + embedded sandbox) is a cache_resource singleton keyed by configuration;
each test has its own data directory, so each gets its own runtime, stopped afterwards.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from streamlit.testing.v1 import AppTest

from dashboard import runtime as dashboard_runtime
from services.access import LOCAL_ACTOR
from services.accounts import complete_connect, start_connect
from services.db import open_db

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "dashboard" / "app.py")


@pytest.fixture(autouse=True)
def _fresh_streamlit_caches():
    import streamlit as st

    from dashboard import data

    st.cache_data.clear()
    data._figure.clear()  # figures are cached resources (per data version)
    yield
    dashboard_runtime.shutdown()
    st.cache_data.clear()
    data._figure.clear()


def open_page(name: str, *, query: dict[str, str | list[str]] | None = None,
              state: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["reelboard"] = {"timezone": "UTC"}  # never read a developer's secrets.toml
    for key, value in (state or {}).items():
        at.session_state[key] = value
    at.switch_page(str(Path("..") / "pages" / f"{name}.py"))
    if query:
        for key, value in query.items():
            at.query_params[key] = value
    at.run()
    if query and {"code", "state", "error"} & set(query) and name == "accounts":
        # A TikTok callback takes two runs: the first cleans the browser's address and the
        # browser's rerun from it finishes the connect (dashboard.accounts_flow).
        at.run()
    return at


def current_runtime():
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["reelboard"] = {"timezone": "UTC"}
    at.run()
    return dashboard_runtime._STARTED[-1]


def consent_params(rt, url: str, creator: str = "lunakitchen", approve: bool = True,
                   scopes: list[str] | None = None) -> dict[str, list[str]]:
    """Answer TikTok's consent page through the sandbox control API; the callback's query."""
    body = {"authorize_url": url, "creator": creator, "approve": approve}
    if scopes is not None:
        body["scopes"] = scopes
    redirect = requests.post(f"{rt.settings.api_base_url}/_sandbox/consent", json=body,
                             timeout=10).json()["redirect_url"]
    return parse_qs(urlsplit(redirect).query, keep_blank_values=True)


def connect_demo(rt, creator: str = "lunakitchen", scopes: list[str] | None = None,
                 requested: tuple[str, ...] = ("user.info.basic", "user.info.profile",
                                               "user.info.stats", "video.list")):
    """Connect a demo creator through the real flow (consent via the sandbox control API)."""
    with open_db(rt.settings.database_path) as db:
        url = start_connect(db, rt.settings, rt.keyring, actor=LOCAL_ACTOR, scopes=requested)
        params = consent_params(rt, url, creator, scopes=scopes)
        return complete_connect(db, rt.client(), rt.keyring, params,
                                actor=LOCAL_ACTOR, redirect_uri=rt.settings.redirect_uri)


def texts(at: AppTest) -> str:
    """Everything a person reads on the page, for assertions on wording."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning",
                 "error", "success"):
        parts.extend(str(e.value) for e in getattr(at, kind))
    return "\n".join(parts)
