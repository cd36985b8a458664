"""Top-level error handling: no traceback ever reaches the browser (the fault catalogue
(tests/faults) A5).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

import streamlit as st

from dashboard.text import md_text
from services.errors import ReelboardError

log = logging.getLogger("reelboard")


def show_error(exc: ReelboardError) -> None:
    """A Reelboard error in words: what happened, what to do, whether retrying is safe."""
    retry = "Trying again is safe." if exc.retry_safe else ""
    # Messages can name an account or quote TikTok: text, not Markdown (line breaks kept).
    message = "  \n".join(md_text(line) for line in exc.message.splitlines())
    st.error(f"**{exc.step.replace('_', ' ').capitalize()}** — {message} {retry}".strip())


def guarded(run: Callable[[], object]) -> None:
    """Run a page; expected errors are shown in words, unexpected ones get a reference id."""
    try:
        run()
    except ReelboardError as exc:
        log.warning("page error (%s): %s", exc.step, exc.message)
        show_error(exc)
    except Exception:
        ref = secrets.token_hex(4)
        log.exception("unexpected error, reference %s", ref)
        st.error(
            "Something went wrong on our side and this page could not finish. "
            f"Reload to try again; if it keeps happening, give your admin reference **{ref}** "
            "(the details are in the server log)."
        )
