"""Reelboard's entry script: page config, start-up checks, sidebar, navigation. Nothing else.

Served through ``streamlit_app.py`` (security headers, config found from any folder):
``streamlit run streamlit_app.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # Streamlit only puts dashboard/ on sys.path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboard import nav, runtime  # noqa: E402
from dashboard.errors import guarded, show_error  # noqa: E402
from dashboard.sidebar import render_sidebar  # noqa: E402
from services.errors import ReelboardError  # noqa: E402

st.set_page_config(
    page_title="Reelboard",
    page_icon=":material/movie:",
    layout="wide",
    initial_sidebar_state="expanded",
)


navigation = st.navigation(nav.sections())

# Before anything touches the cache: refuse to serve on every interface without sign-in, or
# without Reelboard's own Streamlit config (issue: `streamlit run` from another folder).
problems = runtime.serving_problems()
if problems:
    st.title("Reelboard will not start")
    for problem in problems:
        st.error(problem, icon=":material/block:")
    st.stop()
if runtime.exposed_without_sign_in():
    st.error(
        "Anyone who can reach this address can use Reelboard: it listens beyond this machine "
        "without sign-in (REELBOARD_ALLOW_UNAUTHENTICATED=1). Bind it to localhost behind a "
        "TLS proxy, or configure sign-in.", icon=":material/warning:")

try:
    runtime.get_runtime()
except ReelboardError as exc:
    st.title("Reelboard cannot start")
    show_error(exc)
    st.caption("Fix the configuration above, then reload this page.")
    st.stop()

guarded(render_sidebar)
guarded(navigation.run)
