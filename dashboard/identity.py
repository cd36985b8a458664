"""Who is signed in to this browser session, as the identity provider said it.

The one place that reads ``st.user`` (the project's code habits: AppTest has no ``st.user``; tests
replace
``signed_in_claims``). Tokens are never returned, even if someone enables ``expose_tokens``.
"""

from __future__ import annotations

from typing import Any

import streamlit as st


def signed_in_claims() -> dict[str, Any] | None:
    """The ID-token claims Streamlit keeps (email, email_verified, name, sub, …), or None."""
    try:
        info = st.user.to_dict()
    except Exception:  # no runtime context, or auth not configured
        return None
    if not info.get("is_logged_in"):
        return None
    return {k: v for k, v in info.items() if k != "tokens" and isinstance(v, str | bool | int)}


def sign_in(provider: str | None = None) -> None:
    st.login(provider) if provider else st.login()


def sign_out() -> None:
    st.logout()
