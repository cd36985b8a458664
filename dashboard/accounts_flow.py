"""The Accounts page's connect flow: TikTok's callback, its outcome, and the first sync.

TikTok's redirect arrives in a brand-new Streamlit session, so everything the callback needs
lives server-side (services.accounts); session state keeps plain text and ids only.
"""

from __future__ import annotations

import streamlit as st

from dashboard import gate, runtime
from dashboard.text import md_text
from services.access import AccessDenied
from services.accounts import (
    CALLBACK_KEYS,
    AccountError,
    AlreadyConnected,
    ConnectError,
    DifferentCreator,
    complete_connect,
    discard_pending_grant,
    keep_pending_grant,
)
from services.sync import sync_accounts

FLASH_KEY = "accounts_flash"
CHOICE_KEY = "accounts_other_creator"
FIRST_SYNC_KEY = "accounts_first_sync"

STASH_KEY = "_accounts_callback"  # code and state, for one rerun at most (popped at once)

# Streamlit records a query-parameter change with history.pushState, so clearing the callback's
# parameters server-side would leave the one-time code and state in the entry Back returns to.
# Instead the browser first *replaces* that entry with the bare address, then fires popstate,
# which makes Streamlit rerun the page from the clean address (a history navigation, so the
# view's own parameters are written with replaceState too); that rerun finishes the connect.
_SCRUB_URL = (
    "<script>(() => { const u = new URL(window.location.href); "
    + "".join(f"u.searchParams.delete({key!r}); " for key in CALLBACK_KEYS)
    + "window.history.replaceState(window.history.state, '', u.pathname + u.search + u.hash);"
    " window.dispatchEvent(new PopStateEvent('popstate')); })();</script>"
)


def _friendly_features(account) -> str:
    limited = [
        f.reason
        for f in account.features.values()
        if not f.available and set(f.missing) & account.declined_scopes
    ]
    return " ".join(limited)


def handle_callback() -> None:
    """TikTok sent the browser back here: finish the connection once, then clean the URL."""
    in_url = set(CALLBACK_KEYS) & set(st.query_params)
    params = st.session_state.pop(STASH_KEY, None)
    if params is None:
        if not in_url:
            return
        # First pass: keep the answer in server memory for the next run, clean the address.
        st.session_state[STASH_KEY] = {k: st.query_params.get_all(k) for k in st.query_params}
        st.html(_SCRUB_URL, unsafe_allow_javascript=True)
        st.caption("Finishing the connection…")
        st.stop()
    # Second pass (the browser's rerun from the clean address, or any rerun if its script did
    # not run): finish the connect once.
    actor = gate.current_actor()
    try:
        with runtime.database() as db:
            account = complete_connect(
                db,
                runtime.client(),
                runtime.keyring(),
                params,
                actor=actor,
                redirect_uri=runtime.settings().redirect_uri,
            )
        # Names come from TikTok: shown as text, never as Markdown (the fault catalogue
        # (tests/faults) X5).
        st.session_state[FLASH_KEY] = ("success", f"Connected **{md_text(account.label)}**.")
        if account.declined_scopes:
            st.session_state[FLASH_KEY] = (
                "warning",
                f"Connected **{md_text(account.label)}**, but the creator did not "
                "approve everything asked for. " + _friendly_features(account),
            )
        if actor.can("sync"):
            st.session_state[FIRST_SYNC_KEY] = account.open_id
    except AlreadyConnected as exc:
        st.session_state[FLASH_KEY] = (
            "info",
            f"**{md_text(exc.account.label)}** is already connected.",
        )
    except DifferentCreator as exc:
        st.session_state[CHOICE_KEY] = {
            "id": exc.pending_id,
            "expected": exc.expected,
            "returned": exc.returned,
            "connected": exc.returned_is_connected,
            "purpose": exc.purpose,
        }
    except ConnectError as exc:
        if exc.step == "access_denied" and params.get("error") == ["access_denied"]:
            # The person chose Cancel on TikTok's consent screen: a choice, not a failure.
            st.session_state[FLASH_KEY] = (
                "info",
                "Not connected — you cancelled on TikTok. Nothing was stored.",
            )
        else:
            # Session state keeps plain text only (the architecture notes in README.md), never the
            # exception object.
            st.session_state[FLASH_KEY] = ("error", (exc.step, exc.explanation, exc.fix))
    except AccessDenied as exc:
        st.session_state[FLASH_KEY] = ("error", (exc.step, exc.message, ""))
    # Never leave the code or state in the address bar or history (the fault catalogue
    # (tests/faults) R10, C13): only
    # if the browser's script did not already remove them (then Streamlit pushes an entry).
    for key in in_url:
        del st.query_params[key]
    st.rerun()


def show_flash() -> None:
    flash = st.session_state.pop(FLASH_KEY, None)
    if not flash:
        return
    kind, payload = flash
    if kind == "error":
        step, explanation, fix = payload
        st.error(
            # The explanation can quote the callback's own `error` parameter: text, not Markdown.
            f"**Connecting failed ({step.replace('_', ' ')})** — {md_text(explanation)}\n\n"
            f"{md_text(fix)}",
            icon=":material/error:",
        )
    elif kind == "warning":
        st.warning(payload, icon=":material/warning:")  # built with md_text where it quotes TikTok
    elif kind == "info":
        st.info(payload, icon=":material/info:")
    else:
        st.success(payload, icon=":material/check_circle:")


def other_creator_choice() -> None:
    """A grant-more/reconnect came back for another creator: say so, keep it or discard it."""
    choice = st.session_state.get(CHOICE_KEY)
    if not choice:
        return
    expected, returned = md_text(choice["expected"]), md_text(choice["returned"])
    action = "Grant more" if choice["purpose"] == "grant_more" else "Reconnect"
    with st.container(border=True):
        st.warning(
            f"**TikTok signed in as {returned}, not {expected}.** You pressed {action} on "
            f"{expected}'s card, but the TikTok consent screen was answered as {returned} "
            f"(it offers whoever is logged in to TikTok in this browser). {expected} is "
            "unchanged; nothing has been stored yet.",
            icon=":material/person_alert:",
        )
        keep_label = (
            f"Update {choice['returned']}'s permissions"
            if choice["connected"]
            else f"Keep {choice['returned']} as a new account"
        )
        keep, discard = st.columns(2)
        if keep.button(keep_label, key="other_creator_keep", type="primary"):
            _decide(keep=True)
        if discard.button(
            "Discard it",
            key="other_creator_discard",
            help="Stores nothing. A creator that is not connected also has "
            "this new permission removed at TikTok.",
        ):
            _decide(keep=False)
        st.caption(
            f"To change {expected}, log in to TikTok as {expected} first, then press "
            f"{action} again."
        )


def _decide(*, keep: bool) -> None:
    choice = st.session_state.pop(CHOICE_KEY)
    actor = gate.current_actor()
    try:
        with runtime.database() as db:
            if keep:
                account = keep_pending_grant(db, runtime.keyring(), choice["id"], actor=actor)
                st.session_state[FLASH_KEY] = (
                    "success",
                    f"Connected **{md_text(account.label)}**.",
                )
                if actor.can("sync"):
                    st.session_state[FIRST_SYNC_KEY] = account.open_id
            else:
                message = discard_pending_grant(
                    db, runtime.client(), runtime.keyring(), choice["id"], actor=actor
                )
                st.session_state[FLASH_KEY] = ("info", md_text(message))
    except (AccountError, ConnectError, AccessDenied) as exc:
        st.session_state[FLASH_KEY] = ("error", (exc.step, str(exc), ""))
    st.rerun()


def first_sync() -> None:
    """Right after a connect: sync that account once, with progress, as the person connecting
    (the sync checks their role and takes the account's sync lease like any other sync)."""
    open_id = st.session_state.pop(FIRST_SYNC_KEY, None)
    if not open_id:
        return
    bar = st.progress(0.0, text="First sync: reading followers and videos…")

    def on_progress(done: int, total: int | None, message: str) -> None:
        bar.progress(
            min(done / total, 1.0) if total else 0.0,
            text=md_text(message) if message else "First sync…",
        )

    try:
        results = sync_accounts(
            runtime.settings(), [open_id], actor=gate.current_actor(), on_progress=on_progress
        )
    except AccessDenied:
        bar.empty()
        return
    bar.empty()
    for result in results:
        if result.ok:
            st.success(
                f"First sync done: **{md_text(result.label)}** is on Overview now "
                f"({result.videos_seen:,} videos).",
                icon=":material/sync:",
            )
        elif result.status == "partial" and result.missing_scopes:
            # Only what the grant allows was read; the connect note above already says what
            # is missing, so this is not a second warning.
            st.info(
                f"First sync done for what **{md_text(result.label)}** allows.",
                icon=":material/sync:",
            )
        elif result.already_running:
            st.info(
                f"A sync of **{md_text(result.label)}** is already running; Overview "
                "fills in when it finishes.",
                icon=":material/sync:",
            )
        else:
            st.warning(
                f"First sync of **{md_text(result.label)}** did not finish: "
                f"{md_text(result.error or result.status)} Press Sync now on Overview "
                "to try again.",
                icon=":material/sync_problem:",
            )
