"""The app's pages in one place, so links and switch_page never spell paths by hand."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent.parent

_PAGES = {
    # name: (title, icon, section)
    "overview": ("Overview", ":material/dashboard:", "Analytics"),
    "videos": ("Videos", ":material/video_library:", "Analytics"),
    "insights": ("Insights", ":material/insights:", "Analytics"),
    "reports": ("Reports", ":material/summarize:", "Share"),
    "publish": ("Publish", ":material/upload:", "Share"),
    # Fixed url_path: TikTok's redirect URI points here (the callback opens a new session).
    "accounts": ("Accounts", ":material/manage_accounts:", "Settings"),
}
DEFAULT_PAGE = "overview"


def page(name: str) -> st.Page:
    title, icon, _ = _PAGES[name]
    return st.Page(
        str(ROOT / "pages" / f"{name}.py"), title=title, icon=icon, url_path=name,
        default=name == DEFAULT_PAGE,
    )


def sections() -> dict[str, list[st.Page]]:
    grouped: dict[str, list[st.Page]] = {}
    for name, (_, _, section) in _PAGES.items():
        grouped.setdefault(section, []).append(page(name))
    return grouped
