"""The access gate the entry script runs before navigation runs any page (Streamlit's security
reminders (https://docs.streamlit.io/develop/concepts/connections/security-reminders)).

Local mode (no ``[auth]`` in secrets): one person at the machine, who is admin; the app serves on
loopback only unless REELBOARD_ALLOW_UNAUTHENTICATED=1 (then a red banner on every page).
Team mode (``[auth]``): sign in with the configured OIDC provider; the allowlist (``[access]``)
and ``email_verified`` are checked on every rerun, so a removal takes effect at once.
"""

from __future__ import annotations

import logging

import streamlit as st

from dashboard import identity, runtime
from services import access
from services.access import LOCAL_ACTOR, Actor
from services.config import allow_unauthenticated, check_bind_address
from services.errors import ReelboardError

log = logging.getLogger("reelboard")

_AUDITED_KEY = "access_signin_audited"  # (e-mail, outcome) this session has recorded
_TIKTOK_CALLBACK_KEYS = ("code", "state", "scopes", "error", "error_description", "error_type")


def team_mode() -> bool:
    return bool(runtime.secrets_section("auth"))


def bind_problems() -> list[str]:
    return check_bind_address(st.get_option("server.address"), auth_configured=team_mode())


def providers() -> list[str]:
    """Named providers (``[auth.google]`` …); empty list means the single default one."""
    auth = runtime.secrets_section("auth")
    return [
        name for name, value in auth.items() if isinstance(value, dict) and "client_id" in value
    ]


def resolve() -> access.Admission:
    """This rerun's answer: who is here, or why they may not enter. No drawing."""
    if not team_mode():
        return access.Admission(LOCAL_ACTOR)
    policy = access.load_policy({"access": runtime.secrets_section("access")})
    return access.admit(policy, identity.signed_in_claims())


def current_actor() -> Actor:
    """The admitted person for page code (the gate has already stopped anyone else)."""
    admission = resolve()
    if admission.actor is None:  # only if a page runs without the entry script
        st.stop()
    return admission.actor


def _audit_sign_in(actor: Actor | None, claims: dict, admitted: bool) -> None:
    email = str(claims.get("email") or claims.get("sub") or "unknown")
    outcome = "ok" if admitted else "refused"
    if st.session_state.get(_AUDITED_KEY) == (email, outcome):
        return
    login_at = claims.get("iat") if isinstance(claims.get("iat"), int) else None
    try:
        with runtime.database() as db:
            access.record_sign_in(
                db,
                actor,
                email=email,
                login_at=login_at,
                outcome=outcome,
                details={
                    "provider": claims.get("provider"),
                    "email_verified": claims.get("email_verified"),
                },
            )
        st.session_state[_AUDITED_KEY] = (email, outcome)
    except ReelboardError as exc:  # never let the audit write lock someone out
        log.warning("sign-in audit failed: %s", exc.message)


def _sign_in_screen(reason: str, *, signed_in: bool) -> None:
    # A TikTok callback that reaches a signed-out session is not kept in the address bar.
    if any(key in st.query_params for key in _TIKTOK_CALLBACK_KEYS):
        st.query_params.clear()
    st.title("Reelboard")
    if signed_in:
        st.error(reason, icon=":material/block:")
        if st.button("Sign out", key="gate_sign_out", icon=":material/logout:"):
            identity.sign_out()
        return
    st.markdown("This Reelboard is shared by a team. Sign in with your work account to continue.")
    names = providers()
    for name in names or [None]:
        label = f"Sign in with {name.capitalize()}" if name else "Sign in"
        if st.button(
            label, key=f"gate_sign_in_{name or 'default'}", type="primary", icon=":material/login:"
        ):
            identity.sign_in(name)


def admit_or_stop() -> Actor | None:
    """Return the admitted Actor, or draw the sign-in / refusal screen and return None."""
    admission = resolve()
    if not team_mode():
        return admission.actor
    claims = identity.signed_in_claims()
    if claims is not None:
        _audit_sign_in(admission.actor, claims, admission.admitted)
    if admission.actor is None:
        _sign_in_screen(admission.reason, signed_in=claims is not None)
    return admission.actor


def refuse_unsafe_start() -> bool:
    """Draw the refusal and return True when this address may not be served without sign-in."""
    problems = bind_problems()
    if not problems:
        return False
    log.error("refusing to serve: %s", problems[0])
    st.title("Reelboard will not start on this address")
    for problem in problems:
        st.error(problem, icon=":material/gpp_bad:")
    return True


def open_banner() -> None:
    """Red banner on every page when running unauthenticated on a non-loopback address."""
    if team_mode() or not allow_unauthenticated():
        return
    from services.config import is_loopback

    if not is_loopback(st.get_option("server.address")):
        st.error(
            "**No sign-in.** This Reelboard is reachable from the network without sign-in "
            "(REELBOARD_ALLOW_UNAUTHENTICATED=1): anyone who can open it may connect, "
            "disconnect and post for your accounts. Configure team sign-in (README 'Team "
            "access').",
            icon=":material/lock_open:",
        )
