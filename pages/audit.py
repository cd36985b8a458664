"""Audit: who did what, when, to which account — admins only (checked by the service too)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
import streamlit as st

from dashboard import gate, runtime
from services.access import AuditFilter, events_csv, filter_choices, list_events

ACTION_LABELS = {
    "sign_in": "Sign-in",
    "connect": "Connect",
    "grant_more": "Grant more",
    "reconnect": "Reconnect",
    "disconnect": "Disconnect",
    "sync": "Sync",
    "export": "Sheets export",
    "publish": "Publish",
    "draft": "Draft",
    "rotate_key": "Key rotation",
    "view_audit": "Audit page",
    "view": "View",
    "view_reports": "Reports",
}


def _utc_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    return (
        datetime.combine(first, time.min, UTC),
        datetime.combine(last + timedelta(days=1), time.min, UTC),
    )


def render() -> None:
    actor = gate.current_actor()
    st.title("Audit")
    st.caption(
        "Every sign-in, connect, grant, reconnect, disconnect, sync, export, publish, "
        "draft and key rotation, and every refused attempt. Rows are never changed or "
        "deleted. Times in UTC."
    )
    with runtime.database() as db:
        choices = filter_choices(db, actor)
        names = {oid: (name or oid) for oid, name in choices["accounts"]}
        c1, c2, c3, c4 = st.columns([2, 2, 2, 2])
        people = c1.multiselect("Person", choices["people"], key="audit_people")
        accounts = c2.multiselect(
            "Account",
            list(names),
            key="audit_accounts",
            format_func=lambda oid: names.get(oid, oid),
        )
        actions = c3.multiselect(
            "Action",
            choices["actions"],
            key="audit_actions",
            format_func=lambda a: ACTION_LABELS.get(a, a),
        )
        today = datetime.now(UTC).date()
        period = c4.date_input(
            "Period (UTC)",
            value=(today - timedelta(days=30), today),
            max_value=today,
            key="audit_period",
        )
        since = until = None
        if isinstance(period, tuple | list) and len(period) == 2:
            since, until = _utc_bounds(period[0], period[1])
        elif isinstance(period, tuple | list) and len(period) == 1:
            since, until = _utc_bounds(period[0], period[0])
        events = list_events(
            db,
            actor,
            AuditFilter(
                people=people, open_ids=accounts, actions=actions, since=since, until=until
            ),
        )
    if not events:
        st.info("No audit events match these filters.")
        return
    frame = pd.DataFrame(
        {
            "When (UTC)": [e.at.strftime("%Y-%m-%d %H:%M:%S") for e in events],
            "Who": [e.actor_email for e in events],
            "Role": [e.actor_role for e in events],
            "Action": [ACTION_LABELS.get(e.action, e.action) for e in events],
            "Account": [e.account_name or e.open_id or "" for e in events],
            "Outcome": [e.outcome for e in events],
            "Details": [e.details for e in events],
        }
    )
    # Plain text columns only: names and details come from outside and are never Markdown.
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        key="audit_table",
        column_config={c: st.column_config.TextColumn(c) for c in frame.columns},
    )
    st.caption(f"{len(events)} event(s).")
    st.download_button(
        "Download CSV",
        events_csv(events),
        file_name="reelboard-audit.csv",
        mime="text/csv",
        icon=":material/download:",
        key="audit_csv",
    )


render()
