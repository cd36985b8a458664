"""The designed placeholder for screens whose issue has not landed yet."""

from __future__ import annotations

import streamlit as st

from dashboard import nav


def coming_soon(title: str, icon: str, intro: str, bullets: list[str], needs: str) -> None:
    st.title(f"{icon} {title}")
    st.markdown(intro)
    with st.container(border=True):
        st.markdown("**What this screen will do**")
        st.markdown("\n".join(f"- {b}" for b in bullets))
    st.caption(f"Needs: {needs}")
    st.page_link(nav.page("accounts"), label="Connect accounts to get ready",
                 icon=":material/link:")
