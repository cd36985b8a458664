"""Reelboard's entry script: page config, start-up checks, sidebar, navigation. Nothing else.

Run from the repo root: ``streamlit run dashboard/app.py``.
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

try:
    runtime.get_runtime()
except ReelboardError as exc:
    st.title("Reelboard cannot start")
    show_error(exc)
    st.caption("Fix the configuration above, then reload this page.")
    st.stop()

guarded(render_sidebar)
guarded(navigation.run)
