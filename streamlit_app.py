"""Reelboard's server entry: ``streamlit run streamlit_app.py`` (from any folder).

Two things the plain entry script (dashboard/app.py, the router) cannot do for itself:

* Streamlit reads ``.streamlit/config.toml`` and ``secrets.toml`` from the folder it is started
  in, plus the folder of the script it runs. This file lives in the repo root, so Reelboard's
  own config and secrets are found whatever the current folder is.
* It adds security headers to every HTTP response through ``st.App`` middleware
  (dashboard/security_headers.py); Streamlit has no setting for them.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from dashboard.security_headers import SecurityHeadersMiddleware  # noqa: E402

app = st.App(str(ROOT / "dashboard" / "app.py"),
             middleware=[Middleware(SecurityHeadersMiddleware)])
