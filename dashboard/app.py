"""Reelboard's entry script: page config, start-up checks, access gate, sidebar, navigation.

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

from dashboard import gate, nav, runtime  # noqa: E402
from dashboard.errors import guarded, show_error  # noqa: E402
from dashboard.sidebar import render_sidebar  # noqa: E402
from services.errors import ReelboardError  # noqa: E402

st.set_page_config(
    page_title="Reelboard",
    page_icon=":material/movie:",
    layout="wide",
    # "auto": open on desktops, folded on phones (an open sidebar covers a 390 px screen).
    initial_sidebar_state="auto",
)

# Without sign-in, serve loopback only: nothing else runs on another address.
if gate.refuse_unsafe_start():
    st.navigation(nav.sections(None), position="hidden")
    st.stop()

# Before anything touches the cache: refuse to serve without Reelboard's own Streamlit config
# (`streamlit run` of the bare entry script from another folder).
problems = runtime.serving_problems()
if problems:
    st.navigation(nav.sections(None), position="hidden")
    st.title("Reelboard will not start")
    for problem in problems:
        st.error(problem, icon=":material/block:")
    st.stop()

try:
    runtime.get_runtime()
except ReelboardError as exc:
    st.navigation(nav.sections(None), position="hidden")
    st.title("Reelboard cannot start")
    show_error(exc)
    st.caption("Fix what is said above, then reload this page.")
    st.stop()

# The gate runs before navigation runs any page, the OAuth callback page included, on every
# rerun (Streamlit's security reminders
# (https://docs.streamlit.io/develop/concepts/connections/security-reminders) A1–A3).
try:
    actor = gate.admit_or_stop()
except ReelboardError as exc:  # e.g. a malformed [access] entry: nobody gets in
    actor = None
    show_error(exc)
navigation = st.navigation(nav.sections(actor), position="sidebar" if actor else "hidden")
if actor is None:
    st.stop()

gate.open_banner()
guarded(lambda: render_sidebar(actor))
guarded(navigation.run)
