"""Team mode's allowlist: ``[access]`` in secrets (or REELBOARD_ACCESS_* variables).

    [access]
    admins  = ["ana@agency.example"]
    editors = ["@agency.example"]          # everyone with a verified address at that domain
    viewers = ["client@brand.example"]

An entry is an exact e-mail address or ``@domain`` (that exact domain, not its subdomains).
The highest matching role wins. ``REELBOARD_ACCESS_ADMINS`` / ``_EDITORS`` / ``_VIEWERS``
(comma-separated) replace the matching list from the file.

Two optional keys tighten sign-in further (the fault catalogue (tests/faults)-style hardening, both
off by default):
``google_hosted_domain = "agency.example"`` requires Google's ``hd`` claim (a Workspace
account of that domain), and ``max_sign_in_hours = 12`` asks for a fresh sign-in once the ID
token's ``iat`` is older than that (Streamlit's own cookie lasts 30 days).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from services.access.roles import ROLES, Actor, Role
from services.errors import ConfigError

ENV_NAMES: dict[Role, str] = {
    "admin": "REELBOARD_ACCESS_ADMINS",
    "editor": "REELBOARD_ACCESS_EDITORS",
    "viewer": "REELBOARD_ACCESS_VIEWERS",
}
_KEYS: dict[Role, str] = {"admin": "admins", "editor": "editors", "viewer": "viewers"}


@dataclass(frozen=True)
class AccessPolicy:
    """Entries per role, lower-cased. Empty everywhere = nobody may sign in."""

    admins: frozenset[str] = frozenset()
    editors: frozenset[str] = frozenset()
    viewers: frozenset[str] = frozenset()
    google_hosted_domain: str = ""
    max_sign_in_hours: float = 0  # 0 = no limit beyond the provider's cookie

    def entries(self, role: Role) -> frozenset[str]:
        return getattr(self, _KEYS[role])

    @property
    def is_empty(self) -> bool:
        return not (self.admins or self.editors or self.viewers)

    def role_for(self, email: str | None) -> Role | None:
        """The highest role whose list names this address or its domain; None for strangers."""
        if not email or "@" not in email:
            return None
        email = email.strip().lower()
        domain = "@" + email.rsplit("@", 1)[1]
        for role in reversed(ROLES):
            entries = self.entries(role)
            if email in entries or domain in entries:
                return role
        return None


def _entries(value: Any, where: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    items: Iterable[Any]
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, list | tuple):
        items = value
    else:
        raise ConfigError([f"{where} must be a list of e-mail addresses or @domain entries."])
    found = set()
    problems = []
    for item in items:
        text = str(item).strip().lower()
        if not text:
            continue
        local, _, domain = text.rpartition("@")
        if not domain or "." not in domain or " " in text or text.count("@") != 1:
            problems.append(
                f"{where}: {item!r} is neither an e-mail address nor an @domain "
                "entry (for example 'ana@agency.example' or '@agency.example')."
            )
            continue
        found.add(text if local else "@" + domain)
    if problems:
        raise ConfigError(problems)
    return frozenset(found)


def load_policy(
    secrets: Mapping[str, Any] | None, environ: Mapping[str, str] | None = None
) -> AccessPolicy:
    """Build the allowlist; raises ConfigError naming every malformed entry."""
    environ = os.environ if environ is None else environ
    table = (secrets or {}).get("access") or {}
    if not isinstance(table, Mapping):
        raise ConfigError(["[access] must be a table with admins, editors and viewers lists."])
    lists = {}
    for role in ROLES:
        env = environ.get(ENV_NAMES[role])
        if env is not None:
            lists[_KEYS[role]] = _entries(env, ENV_NAMES[role])
        else:
            lists[_KEYS[role]] = _entries(table.get(_KEYS[role]), f"[access] {_KEYS[role]}")
    hd = str(table.get("google_hosted_domain") or "").strip().lower().lstrip("@")
    hours = table.get("max_sign_in_hours") or 0
    if isinstance(hours, bool) or not isinstance(hours, int | float) or hours < 0:
        raise ConfigError(["[access] max_sign_in_hours must be a number of hours (0 = off)."])
    return AccessPolicy(**lists, google_hosted_domain=hd, max_sign_in_hours=float(hours))


@dataclass(frozen=True)
class Admission:
    """The gate's answer for one set of identity claims: an Actor, or why not."""

    actor: Actor | None
    reason: str = ""  # "" when admitted; otherwise words for the person at the gate

    @property
    def admitted(self) -> bool:
        return self.actor is not None


def admit(
    policy: AccessPolicy, claims: Mapping[str, Any] | None, now: float | None = None
) -> Admission:
    """Decide from the provider's ID-token claims (what ``st.user`` holds) — on every rerun,
    so removing someone from the allowlist takes effect at once (the sign-in cookie lasts 30
    days and does not follow the provider). ``now`` is epoch seconds (default: the clock)."""
    claims = claims or {}
    if not claims.get("is_logged_in"):
        return Admission(None, "Sign in to use Reelboard.")
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        return Admission(
            None,
            "Your identity provider did not share an e-mail address, so "
            "Reelboard cannot check the allowlist. Ask your admin to allow "
            "the 'email' scope for Reelboard.",
        )
    verified = claims.get("email_verified", True)  # absent: the provider vouches (Entra)
    if verified is not True and str(verified).lower() != "true":
        return Admission(
            None,
            f"The address {email} is not verified with your identity "
            "provider. Verify it there, then sign in again.",
        )
    if policy.google_hosted_domain and claims.get("hd") != policy.google_hosted_domain:
        return Admission(
            None,
            f"{email} is not a Google Workspace account of {policy.google_hosted_domain}. "
            "Sign in with your work account.",
        )
    if policy.max_sign_in_hours:
        issued = claims.get("iat")
        now = time.time() if now is None else now
        if not isinstance(issued, int | float) or now - issued > policy.max_sign_in_hours * 3600:
            return Admission(
                None,
                f"Your sign-in is older than {policy.max_sign_in_hours:g} hours. Sign out, "
                "then sign in again.",
            )
    role = policy.role_for(email)
    if role is None:
        return Admission(
            None,
            f"{email} is not on this Reelboard's team list. Ask an admin to "
            "add you to [access] in the settings, then reload.",
        )
    name = claims.get("name") if isinstance(claims.get("name"), str) else ""
    return Admission(Actor(email=email.strip().lower(), name=name or email, role=role))
