"""The reports package's one base error (``ReportError``) and the failures it names.

Every error says what happened, what to do next and whether trying again is safe; the page shows
it with ``dashboard.errors.show_error`` and the CLI prints it and exits non-zero.
"""

from __future__ import annotations

from services.errors import ReelboardError


class ReportError(ReelboardError):
    """Base class for every error of the weekly report and its exports."""

    step = "report"


class BadWeek(ReportError):
    """The week asked for cannot be read (``last``, ``this`` or ``2026-W47``)."""

    step = "bad_week"


class BadAccount(ReportError):
    """An ``--account`` value names no connected account (or more than one)."""

    step = "bad_account"


class ExportBusy(ReportError):
    """Another export holds the lease; this one changed nothing."""

    step = "export_running"
    retry_safe = True
