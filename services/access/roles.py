"""Who may do what: three roles in order, and the minimum role of every action.

viewer  — charts, videos, insights, report preview and downloads;
editor  — also sync, Sheets export, publish and drafts;
admin   — also connect, grant more, reconnect, disconnect, key rotation and the audit page.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import Literal

Role = Literal["viewer", "editor", "admin"]
#: Lowest first: a role may do everything a lower one may.
ROLES: tuple[Role, ...] = ("viewer", "editor", "admin")

#: action → the lowest role allowed to do it. Services check this table, pages only hide.
ACTIONS: dict[str, Role] = {
    "view": "viewer",  # Overview, Videos, Insights, Accounts list
    "view_reports": "viewer",  # weekly report preview and CSV/XLSX download
    "sync": "editor",  # app sync, CLI sync and sandbox demo history
    "export": "editor",  # Google Sheets export
    "publish": "editor",  # post a video
    "draft": "editor",  # send a video to the creator's drafts
    "connect": "admin",
    "grant_more": "admin",
    "reconnect": "admin",
    "disconnect": "admin",
    "rotate_key": "admin",
    "view_audit": "admin",
}


def rank(role: str | None) -> int:
    """-1 for no role (a stranger), else the role's place in ROLES."""
    return ROLES.index(role) if role in ROLES else -1  # type: ignore[arg-type]


def required_role(action: str) -> Role:
    try:
        return ACTIONS[action]
    except KeyError:
        raise ValueError(f"unknown action {action!r}; known: {', '.join(ACTIONS)}") from None


@dataclass(frozen=True)
class Actor:
    """The person (or machine) doing something. ``email`` is lower-case, the identity key."""

    email: str
    name: str
    role: Role

    def can(self, action: str) -> bool:
        return rank(self.role) >= rank(required_role(action))

    @property
    def label(self) -> str:
        return (
            f"{self.name} ({self.email})" if self.name and self.name != self.email else self.email
        )


#: Local mode (no sign-in configured): the single person at the machine owns everything.
LOCAL_ACTOR = Actor(email="local", name="Local user", role="admin")


def cli_actor() -> Actor:
    """``python -m services …`` runs as the machine owner (whoever can read the key file)."""
    try:
        user = getpass.getuser()
    except Exception:  # no login name in a container: still audit something stable
        user = "unknown"
    return Actor(email=f"cli:{user}", name=f"Command line ({user})", role="admin")


def can(actor: Actor, action: str) -> bool:
    return actor.can(action)
