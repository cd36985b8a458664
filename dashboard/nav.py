"""The app's pages in one place, so links and switch_page never spell paths by hand."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from services.access import Actor

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
    "audit": ("Audit", ":material/policy:", "Settings"),
}
# Pages a role may not use are not listed for it (the services refuse the actions anyway).
# The Accounts page stays for everyone: TikTok's callback must always find it.
_PAGE_ACTION = {"publish": "publish", "audit": "view_audit"}
DEFAULT_PAGE = "overview"


def page(name: str) -> st.Page:
    title, icon, _ = _PAGES[name]
    return st.Page(
        str(ROOT / "pages" / f"{name}.py"), title=title, icon=icon, url_path=name,
        default=name == DEFAULT_PAGE,
    )


def sections(actor: Actor | None) -> dict[str, list[st.Page]]:
    """The pages ``actor`` may open; ``None`` (nobody admitted yet) lists all of them so any
    URL resolves while the gate keeps every page from running."""
    grouped: dict[str, list[st.Page]] = {}
    for name, (_, _, section) in _PAGES.items():
        action = _PAGE_ACTION.get(name)
        if actor is not None and action is not None and not actor.can(action):
            continue
        grouped.setdefault(section, []).append(page(name))
    return grouped
