"""Team access: roles, the allowlist gate, the permission check and the audit trail.

Public surface (everything else is private to this package):

- ``Actor(email, name, role)``, ``LOCAL_ACTOR`` (local mode: admin), ``cli_actor()``
- ``ROLES``, ``ACTIONS`` (action → minimum role), ``can(actor, action)``
- ``AccessPolicy``, ``load_policy(secrets, environ)``, ``admit(policy, claims) -> Admission``
- ``authorize(db, actor, action, open_id=None)`` — raises ``AccessDenied`` and audits it
- ``record(db, actor, action, *, open_id=None, outcome, details)`` — one audit row
- ``record_sign_in(db, actor, *, email, login_at, outcome)`` — once per sign-in
- ``audited(db, actor, action, *, open_id=None, details=None)`` — authorize + record around a
  block (``ok``, or ``failed`` with the error)
- ``list_events``, ``filter_choices``, ``events_csv``, ``AuditFilter``, ``AuditEvent``
"""

from services.access.audit import (
    OUTCOMES,
    SIGN_IN,
    AccessDenied,
    AuditedAction,
    AuditEvent,
    AuditFilter,
    audited,
    authorize,
    details_json,
    events_csv,
    filter_choices,
    list_events,
    record,
    record_sign_in,
)
from services.access.policy import AccessPolicy, Admission, admit, load_policy
from services.access.roles import (
    ACTIONS,
    LOCAL_ACTOR,
    ROLES,
    Actor,
    Role,
    can,
    cli_actor,
    required_role,
)

__all__ = [
    "ACTIONS",
    "LOCAL_ACTOR",
    "OUTCOMES",
    "ROLES",
    "SIGN_IN",
    "AccessDenied",
    "AccessPolicy",
    "Actor",
    "Admission",
    "AuditEvent",
    "AuditFilter",
    "AuditedAction",
    "Role",
    "admit",
    "audited",
    "authorize",
    "can",
    "cli_actor",
    "details_json",
    "events_csv",
    "filter_choices",
    "list_events",
    "load_policy",
    "record",
    "record_sign_in",
    "required_role",
]
