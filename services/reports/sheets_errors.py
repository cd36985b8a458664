"""Google Sheets export failures: one class per thing a person can act on.

Every message says what happened, what to do and whether exporting again is safe; none ever
contains any part of the service-account key (only its e-mail, which the person needs in order
to share the spreadsheet). Mapped in one place, :func:`from_exception`, from gspread's
``APIError`` (Google's JSON error: https://cloud.google.com/apis/design/errors), google-auth's
``RefreshError`` (the OAuth token endpoint's answer) and network errors.
"""

from __future__ import annotations

import re

import requests
from google.auth import exceptions as auth_exceptions
from gspread.exceptions import APIError

from services.redaction import redact
from services.reports.errors import ReportError


class SheetsError(ReportError):
    """Base class of every Google Sheets export failure."""

    step = "sheets_export"
    #: Sheets API requests sent before the failure (retries included).
    calls_made: int = 0


class SheetsNotConfigured(SheetsError):
    step = "sheets_not_configured"


class SheetsKeyMalformed(SheetsError):
    step = "sheets_key_malformed"


class SheetsKeyRejected(SheetsError):
    """``invalid_grant``: the key was revoked, deleted or disabled (or the clock is wrong)."""

    step = "sheets_key_revoked"


class SheetsNotShared(SheetsError):
    step = "sheets_not_shared"


class SheetsNotFound(SheetsError):
    step = "sheets_not_found"


class SheetsQuotaExceeded(SheetsError):
    step = "sheets_quota"
    retry_safe = True


class SheetsUnavailable(SheetsError):
    """Google answered 5xx, or could not be reached, after the bounded retries."""

    step = "sheets_unavailable"
    retry_safe = True


class SheetsRejected(SheetsError):
    """Google refused a request as invalid (400): a Reelboard bug or a changed spreadsheet."""

    step = "sheets_rejected"


_AGAIN = "Exporting again is safe: the week's tab is replaced, never duplicated."


def _google_message(exc: APIError) -> str:
    message = str((exc.error or {}).get("message", "")) if isinstance(exc.error, dict) else ""
    return redact(message)[:300]


def from_exception(
    exc: BaseException, *, spreadsheet: str, client_email: str, api_url: str
) -> SheetsError | None:
    """The SheetsError for a failure of the export, or None if it is not a known kind."""
    if isinstance(exc, SheetsError):
        return exc
    if isinstance(exc, APIError):
        code = int(exc.code)
        if code == 403 and re.search(
            r"has not been used|is disabled|SERVICE_DISABLED", _google_message(exc) + str(exc.error)
        ):
            return SheetsNotConfigured(
                "The Google Sheets API is not enabled for the service account's project. "
                "Enable it in Google Cloud (APIs & Services > Library > Google Sheets API), "
                "wait a few minutes, then export again. Nothing was changed."
            )
        if code == 403:
            return SheetsNotShared(
                f"The spreadsheet {spreadsheet} is not shared with Reelboard's service account "
                f"{client_email}. In Google Sheets open the spreadsheet, click Share, share it "
                f"with {client_email} as Editor, then export again. Nothing was changed."
            )
        if code == 404:
            return SheetsNotFound(
                f"Google Sheets has no spreadsheet {spreadsheet}: the key or URL is wrong, or "
                "the spreadsheet was deleted. Check REELBOARD_SHEETS_SPREADSHEET ([sheets] "
                "spreadsheet) against the spreadsheet's address bar. Nothing was changed."
            )
        if code == 429:
            return SheetsQuotaExceeded(
                "Google Sheets' per-minute request quota is used up (429), and it still was "
                "after several tries. Wait a minute, then export again. " + _AGAIN
            )
        if code == 401:
            return SheetsKeyRejected(
                f"Google Sheets did not accept the access token of {client_email}. Check that "
                "the Google Sheets API is enabled for the key's project and the key is still "
                "valid. " + _AGAIN
            )
        if code >= 500 or code in (408, -1):
            return SheetsUnavailable(
                f"Google Sheets had a server error ({code}) and still did after several tries. "
                "Try again in a few minutes. " + _AGAIN
            )
        return SheetsRejected(
            f"Google Sheets refused the export ({code}): {_google_message(exc)} "
            "This is likely a Reelboard bug or a spreadsheet changed by hand; report it with "
            "the week. " + _AGAIN
        )
    if isinstance(exc, auth_exceptions.RefreshError):
        text = str(exc.args[0] if exc.args else exc)
        grant = re.match(r"^\s*([a-z_]+)\s*:", text)
        code = grant.group(1) if grant else "error"
        if code in ("invalid_grant", "unauthorized_client", "invalid_client"):
            return SheetsKeyRejected(
                f"Google refused the service-account key of {client_email} ({code}): the key "
                "was revoked, deleted or disabled, or this machine's clock is wrong. Create a "
                "new key for the service account in Google Cloud (IAM > Service accounts > "
                "Keys) and configure it (GOOGLE_APPLICATION_CREDENTIALS or "
                "[gcp_service_account]). Nothing was changed."
            )
        if getattr(exc, "retryable", False):
            return SheetsUnavailable(
                "Google's token service is unavailable. Try again in a few minutes. " + _AGAIN
            )
        return SheetsKeyRejected(
            f"Google's token service refused the service-account key of {client_email} "
            f"({code}). Check the key in Google Cloud and configure a valid one. Nothing was "
            "changed."
        )
    if isinstance(exc, requests.RequestException | auth_exceptions.TransportError):
        return SheetsUnavailable(
            f"Could not reach Google Sheets at {api_url} ({type(exc).__name__}). Check the "
            "network (and REELBOARD_SHEETS_API_URL), then export again. " + _AGAIN
        )
    return None
