"""Idempotent export of one ISO week to Google Sheets, with gspread.

Public surface (what the Reports page, the CLI and ``services.reports.export`` use)::

    SheetColumn(name, kind, width=12)
        kind: "text" | "link" | "url" | "int" | "number" | "percent" | "date" | "datetime";
        width in characters, as in the XLSX file (about 7 px each in Sheets).
    SheetTable(title, columns: list[SheetColumn], rows: list[list])
    ExportResult(spreadsheet_url, tab_url, calls_made, rows_written, week, spreadsheet_key)
        .url == tab_url (the week's tab; opens in a browser, the sandbox's viewer offline)
    SheetsTarget(client_factory, spreadsheet_key, destination, client_email, api_url)
    sheets_target(runtime_or_settings) -> SheetsTarget      (raises SheetsNotConfigured)
    make_client(sa_info, *, api_url=..., session=None, sleep=None, max_tries=5) -> gspread.Client
    export_week(target, *, week, tables, summary, summary_columns=None, chart_column=None,
                on_progress=None) -> ExportResult         (raises a SheetsError subclass)

What an export does (https://developers.google.com/sheets/api/guides/batchupdate), whatever
the size, in at most 4 Sheets API calls (plus retries; the OAuth token call is not one):

1. ``GET spreadsheets/{key}`` once: tabs, their ids, charts.
2. ``GET values/'Summary'!A2:…`` (UNFORMATTED) when the Summary tab exists, to merge its rows.
3. One atomic ``batchUpdate``: add the week's tab (``sheetId`` = year*100+week) and the Summary
   tab if missing, resize both grids exactly (shrinking drops rows of a longer earlier run),
   reset and set formats (bold frozen header, number/percent/date formats, widths), and one
   chart with a fixed id, added once and then only ``updateChartSpec``'d.
4. One ``values:batchUpdate`` with ``valueInputOption=RAW``: both tabs' full rectangles, so
   19-digit video ids and captions starting with ``=`` stay text.

The Summary keeps exactly one row per (week, account): existing rows are read back, replaced by
key, sorted, and the whole table is rewritten — never appended. A Google error is turned into a
:class:`~services.reports.sheets_errors.SheetsError` that says what to do; no message or log
line ever holds the service-account key.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import gspread
import requests
from google.auth.transport.requests import AuthorizedSession
from google.auth.transport.requests import Request as AuthRequest
from google.oauth2 import service_account
from gspread.exceptions import APIError
from requests.adapters import HTTPAdapter

from services.config import LIVE_SHEETS_API_URL, Settings, SheetsSettings
from services.reports.sheets_errors import (
    SheetsError,
    SheetsKeyMalformed,
    SheetsNotConfigured,
    SheetsRejected,
    SheetsUnavailable,
    from_exception,
)

log = logging.getLogger("reelboard.sheets")

#: Only the Sheets scope: the spreadsheet is opened by key, Drive is never needed.
SCOPES = ("https://www.googleapis.com/auth/spreadsheets",)
SUMMARY_TITLE = "Summary"
SUMMARY_SHEET_ID = 100  # week tabs use year*100+week (>= 100_001), so this never clashes
CHART_ID = 900001
TIMEOUT = (10, 60)  # (connect, read) seconds; gspread's default is no timeout at all
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")
SERIAL_EPOCH = date(
    1899, 12, 30
)  # Sheets' day 0 (https://developers.google.com/sheets/api/guides/formats)
HEADER_GREY = {"red": 0.9, "green": 0.9, "blue": 0.9}

Progress = Callable[[int, int | None, str], None]

_NUMBER_FORMATS: dict[str, dict[str, str]] = {
    "int": {"type": "NUMBER", "pattern": "#,##0"},
    "number": {"type": "NUMBER", "pattern": "#,##0.00"},
    "percent": {"type": "PERCENT", "pattern": "0.00%"},
    "date": {"type": "DATE", "pattern": "yyyy-mm-dd"},
    "datetime": {"type": "DATE_TIME", "pattern": "yyyy-mm-dd hh:mm"},
    "text": {"type": "TEXT"},
    "link": {"type": "TEXT"},
    "url": {"type": "TEXT"},
}
KINDS = tuple(_NUMBER_FORMATS)


# --- what the other modules hand over -----------------------------------------------------


@dataclass(frozen=True)
class SheetColumn:
    name: str
    kind: str = "text"
    width: int = 12  # characters

    def __post_init__(self) -> None:
        if self.kind not in _NUMBER_FORMATS:
            raise ValueError(f"unknown column kind {self.kind!r}; use one of {KINDS}")

    @property
    def pixels(self) -> int:
        return max(40, min(int(self.width) * 7 + 12, 1000))


@dataclass(frozen=True)
class SheetTable:
    title: str
    columns: list[SheetColumn]
    rows: list[list[Any]] = field(default_factory=list)


@dataclass(frozen=True)
class ExportResult:
    spreadsheet_url: str
    tab_url: str
    calls_made: int
    rows_written: int
    week: str = ""
    spreadsheet_key: str = ""

    @property
    def url(self) -> str:
        return self.tab_url


@dataclass(frozen=True)
class SheetsTarget:
    """Where an export goes: a client factory (one client per export), the spreadsheet key and
    a human-readable destination for the page, the CLI and the export history."""

    client_factory: Callable[[], gspread.Client] = field(repr=False)
    spreadsheet_key: str
    destination: str
    client_email: str
    api_url: str = LIVE_SHEETS_API_URL


# --- HTTP: base URL, retries ----------------------------------------------------------------


class BaseURLAdapter(HTTPAdapter):
    """Sends ``https://sheets.googleapis.com/…`` to another base URL (a proxy, a test server,
    the sandbox). gspread's URLs are constants, so this transport adapter is the supported way
    to point it elsewhere; nothing else in the client knows where requests go."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        url = request.url or ""
        if url.startswith(LIVE_SHEETS_API_URL + "/"):
            request.url = self.base_url + url[len(LIVE_SHEETS_API_URL) :]
        return super().send(request, **kwargs)


def retry_after_seconds(response: requests.Response | None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date, RFC 9110 §10.2.3)."""
    if response is None:
        return None
    raw = (response.headers.get("Retry-After") or "").strip()
    if not raw:
        return None
    if raw.isdigit():
        return float(raw)
    with contextlib.suppress(TypeError, ValueError):
        when = parsedate_to_datetime(raw)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    return None


class RetryHTTPClient(gspread.HTTPClient):
    """gspread's HTTP client with a bounded retry.

    gspread's own ``BackOffHTTPClient`` (6.2.1) never gives up, ignores ``Retry-After`` and
    keeps its counter across calls. Here: at most ``max_tries`` tries on 408/429/5xx, full-jitter
    exponential backoff (https://cloud.google.com/storage/docs/retry-strategy#exponential-backoff)
    capped at ``cap`` seconds, a server's ``Retry-After`` honoured (up to ``max_wait``), and
    ``sleep`` / ``rng`` injectable so tests never wait. ``calls`` counts every request sent.
    """

    max_tries = 5
    base_delay = 1.0
    cap = 32.0
    max_wait = 120.0

    def __init__(self, auth: Any, session: requests.Session | None = None) -> None:
        super().__init__(auth, session)
        self.timeout = TIMEOUT
        self.calls = 0
        self.sleep: Callable[[float], None] = time.sleep
        self.rng = random.Random()
        self.waits: list[float] = []

    def backoff(self, attempt: int, response: requests.Response | None) -> float:
        hinted = retry_after_seconds(response)
        jitter = self.rng.uniform(0, min(self.cap, self.base_delay * 2**attempt))
        return min(self.max_wait, max(hinted, jitter) if hinted is not None else jitter)

    def request(self, method: str, endpoint: str, *args: Any, **kwargs: Any) -> requests.Response:
        for attempt in range(self.max_tries):
            self.calls += 1
            try:
                return super().request(method, endpoint, *args, **kwargs)
            except APIError as exc:
                if exc.code not in RETRY_STATUSES or attempt + 1 >= self.max_tries:
                    raise
                wait = self.backoff(attempt, exc.response)
            except requests.ConnectionError:
                # Refused or reset: safe to resend, as every request of the export is
                # idempotent (fixed ids, whole-range writes). A read timeout is not retried.
                if attempt + 1 >= self.max_tries:
                    raise
                wait = self.backoff(attempt, None)
            log.info("Sheets %s retry %d in %.1f s", method.upper(), attempt + 1, wait)
            self.waits.append(wait)
            self.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover


def make_client(
    sa_info: Mapping[str, Any],
    *,
    api_url: str = LIVE_SHEETS_API_URL,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] | None = None,
    max_tries: int = 5,
) -> gspread.Client:
    """A gspread client for a service-account key (the "B" wiring of gspread's docs: our own
    ``AuthorizedSession``, gspread given ``session=``).

    The key's own ``token_uri`` decides where tokens come from. ``api_url`` other than Google's
    mounts :class:`BaseURLAdapter`. ``session`` (optional) carries the token requests.
    Raises :class:`SheetsKeyMalformed` (never quoting the key) if google-auth cannot read it.
    """
    try:
        creds = service_account.Credentials.from_service_account_info(
            dict(sa_info), scopes=list(SCOPES)
        )
    except (ValueError, KeyError, TypeError):
        missing = [k for k in ("client_email", "token_uri", "private_key") if k not in sa_info]
        detail = f"it lacks {', '.join(missing)}" if missing else "its private key cannot be read"
        raise SheetsKeyMalformed(
            f"The Google service-account key is malformed ({detail}). Download a new JSON key "
            "in Google Cloud (IAM > Service accounts > Keys) and configure it. Nothing was "
            "changed."
        ) from None
    token_session = session or requests.Session()
    authed = AuthorizedSession(creds, auth_request=AuthRequest(token_session))
    if api_url.rstrip("/") != LIVE_SHEETS_API_URL:
        authed.mount(LIVE_SHEETS_API_URL + "/", BaseURLAdapter(api_url))
    client = gspread.Client(auth=None, session=authed, http_client=RetryHTTPClient)
    http = client.http_client
    assert isinstance(http, RetryHTTPClient)
    http.max_tries = max(1, min(int(max_tries), 10))
    if sleep is not None:
        http.sleep = sleep
    return client


# --- targets --------------------------------------------------------------------------------

DEMO_SPREADSHEET_ID = "reelboard-demo-weekly-report"
DEMO_CLIENT_EMAIL = "reelboard-demo@reelboard-sandbox.iam.gserviceaccount.com"
DEMO_KEY_FILE = "sheets-demo-key.json"


def sheets_target(runtime_or_settings: Any, **client_options: Any) -> SheetsTarget:
    """Where this installation exports: the configured spreadsheet, or in sandbox mode with
    nothing configured, the sandbox's fake Google Sheets with a generated demo key.

    Accepts a ``services.runtime.Runtime`` or ``Settings``. ``client_options`` go to
    :func:`make_client` (tests pass ``sleep``). Raises :class:`SheetsNotConfigured`.
    """
    settings: Settings = getattr(runtime_or_settings, "settings", runtime_or_settings)
    sheets = settings.sheets
    if sheets is not None and sheets.configured:
        return _configured_target(sheets, **client_options)
    if settings.is_sandbox and settings.api_base_url:
        return _sandbox_target(settings, **client_options)
    raise SheetsNotConfigured(
        "Google Sheets export is not configured. Create a service account in Google Cloud, "
        "download its JSON key, set GOOGLE_APPLICATION_CREDENTIALS (or a [gcp_service_account] "
        "table in secrets.toml) and REELBOARD_SHEETS_SPREADSHEET (the spreadsheet's key or "
        "URL), share that spreadsheet with the service account's e-mail as Editor, and "
        'restart. See the README\'s "Google Sheets export".'
    )


def _configured_target(sheets: SheetsSettings, **options: Any) -> SheetsTarget:
    info = dict(sheets.service_account or {})

    def factory() -> gspread.Client:
        return make_client(info, api_url=sheets.api_url, **options)

    return SheetsTarget(
        factory,
        sheets.spreadsheet_key,
        f"Google Sheets spreadsheet {sheets.spreadsheet_key}",
        sheets.client_email,
        sheets.api_url,
    )


def _sandbox_target(settings: Settings, **options: Any) -> SheetsTarget:
    base = settings.api_base_url.rstrip("/")
    info = demo_key(settings.sandbox_state_path.parent / DEMO_KEY_FILE)
    info["token_uri"] = f"{base}/token"  # the sandbox's port may differ from the last run's
    _sandbox_setup(base, info)

    def factory() -> gspread.Client:
        return make_client(info, api_url=base, **options)

    return SheetsTarget(
        factory,
        DEMO_SPREADSHEET_ID,
        "the sandbox's demo spreadsheet (fake Google Sheets, offline)",
        info["client_email"],
        base,
    )


def demo_key(path: Path) -> dict[str, Any]:
    """The sandbox demo's service-account key: generated once (RSA 2048), kept 0600 in the
    data dir (never in the repository). Only the sandbox ever accepts it."""
    if path.exists():
        with contextlib.suppress(ValueError, OSError):
            info = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(info, dict) and info.get("private_key"):
                return info
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "reelboard-sandbox",
        "private_key_id": "demo-" + os.urandom(8).hex(),
        "private_key": pem,
        "client_email": DEMO_CLIENT_EMAIL,
        "client_id": "100000000000000000001",
        "token_uri": "http://127.0.0.1/token",  # replaced by the running sandbox's on load
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(info, fh)
    os.replace(tmp, path)
    return info


def _public_pem(info: Mapping[str, Any]) -> str:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(str(info["private_key"]).encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _sandbox_setup(base: str, info: Mapping[str, Any]) -> None:
    """Register the demo key's public half and the demo spreadsheet (shared with it) through
    the sandbox's control API — what a person does in Google Cloud and the Sheets UI."""
    try:
        with requests.Session() as http:
            http.trust_env = False  # loopback only
            r = http.post(
                f"{base}/_sandbox/sheets/service-accounts",
                json={
                    "client_email": info["client_email"],
                    "private_key_id": info["private_key_id"],
                    "public_key_pem": _public_pem(info),
                },
                timeout=10,
            )
            r.raise_for_status()
            r = http.post(
                f"{base}/_sandbox/sheets/spreadsheets",
                json={
                    "id": DEMO_SPREADSHEET_ID,
                    "title": "Reelboard weekly report (sandbox)",
                    "share_with": [info["client_email"]],
                    "exist_ok": True,
                },
                timeout=10,
            )
            r.raise_for_status()
    except requests.RequestException as exc:
        raise SheetsUnavailable(
            f"The sandbox's fake Google Sheets at {base} did not answer ({type(exc).__name__}). "
            "Restart Reelboard; exporting again is safe."
        ) from None


# --- building the export ----------------------------------------------------------------


def cell_value(value: Any, kind: str) -> Any:
    """A JSON-safe RAW value: numpy → python, NaN/None → "", dates → serial numbers, text → str
    (so ids keep every digit and a caption starting with "=" is never a formula)."""
    if value is None:
        return ""
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, str | bytes):
        with contextlib.suppress(ValueError, TypeError):
            value = item()
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    if type(value).__name__ in ("NaTType", "NAType"):
        return ""
    if kind in ("text", "link", "url"):
        return str(value)
    if isinstance(value, datetime):
        # naive datetimes are taken as UTC (all stored times are UTC)
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        delta = aware - datetime(1899, 12, 30, tzinfo=UTC)
        return round(delta.days + delta.seconds / 86400, 8)
    if isinstance(value, date):
        return (value - SERIAL_EPOCH).days
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, bool | int | float):
        if isinstance(value, float) and kind == "int" and value.is_integer():
            return int(value)
        return value
    return str(value)


def _week_sheet_id(week: str) -> int:
    m = WEEK_RE.match(week)
    if not m:
        raise ValueError(week)
    return int(m.group(1)) * 100 + int(m.group(2))


def _free_id(preferred: int, used: set[int]) -> int:
    candidate = preferred
    while candidate in used:  # taken by a tab with another title: a deterministic fallback
        candidate += 10_000_000
    return candidate


@dataclass
class _Layout:
    """A tab's rectangle: values, which rows are headers/titles, each region's column kinds."""

    columns: int
    values: list[list[Any]] = field(default_factory=list)
    header_rows: list[int] = field(default_factory=list)
    title_rows: list[int] = field(default_factory=list)
    # (first data row, end row, columns) of every table
    regions: list[tuple[int, int, list[SheetColumn]]] = field(default_factory=list)
    widths: list[int] = field(default_factory=list)
    data_rows: int = 0


def _layout(tables: Sequence[SheetTable]) -> _Layout:
    ncols = max((len(t.columns) for t in tables), default=1) or 1
    out = _Layout(ncols, widths=[0] * ncols)
    for i, table in enumerate(tables):
        if i:
            out.values.append([""] * ncols)  # a blank row between tables
            out.title_rows.append(len(out.values))
            out.values.append([table.title] + [""] * (ncols - 1))
        out.header_rows.append(len(out.values))
        out.values.append([c.name for c in table.columns] + [""] * (ncols - len(table.columns)))
        start = len(out.values)
        for row in table.rows:
            cells = [cell_value(v, c.kind) for v, c in zip(row, table.columns, strict=False)]
            cells += [""] * (ncols - len(cells))
            out.values.append(cells[:ncols])
        out.regions.append((start, len(out.values), list(table.columns)))
        out.data_rows += len(table.rows)
        for j, c in enumerate(table.columns):
            out.widths[j] = max(out.widths[j], c.pixels)
    out.widths = [w or SheetColumn("").pixels for w in out.widths]
    return out


def _format_requests(sheet_id: int, layout: _Layout, rows: int) -> list[dict[str, Any]]:
    whole = {
        "sheetId": sheet_id,
        "startRowIndex": 0,
        "endRowIndex": rows,
        "startColumnIndex": 0,
        "endColumnIndex": layout.columns,
    }
    reqs: list[dict[str, Any]] = [
        # Reset every format first, so a row that was a header last run is plain data now.
        {"repeatCell": {"range": whole, "cell": {}, "fields": "userEnteredFormat"}}
    ]
    for r in layout.header_rows:
        reqs.append(
            {
                "repeatCell": {
                    "range": {**whole, "startRowIndex": r, "endRowIndex": r + 1},
                    "cell": {
                        "userEnteredFormat": {
                            "textFormat": {"bold": True},
                            "backgroundColor": HEADER_GREY,
                            "horizontalAlignment": "CENTER",
                            "wrapStrategy": "WRAP",
                        }
                    },
                    "fields": "userEnteredFormat(textFormat,backgroundColor,horizontalAlignment,"
                    "wrapStrategy)",
                }
            }
        )
    for r in layout.title_rows:
        reqs.append(
            {
                "repeatCell": {
                    "range": {**whole, "startRowIndex": r, "endRowIndex": r + 1},
                    "cell": {"userEnteredFormat": {"textFormat": {"bold": True, "fontSize": 12}}},
                    "fields": "userEnteredFormat.textFormat",
                }
            }
        )
    for start, end, columns in layout.regions:
        if end <= start:
            continue
        for j, column in enumerate(columns):
            reqs.append(
                {
                    "repeatCell": {
                        "range": {
                            **whole,
                            "startRowIndex": start,
                            "endRowIndex": end,
                            "startColumnIndex": j,
                            "endColumnIndex": j + 1,
                        },
                        "cell": {
                            "userEnteredFormat": {"numberFormat": _NUMBER_FORMATS[column.kind]}
                        },
                        "fields": "userEnteredFormat.numberFormat",
                    }
                }
            )
    for j, px in enumerate(layout.widths):
        reqs.append(
            {
                "updateDimensionProperties": {
                    "range": {
                        "sheetId": sheet_id,
                        "dimension": "COLUMNS",
                        "startIndex": j,
                        "endIndex": j + 1,
                    },
                    "properties": {"pixelSize": px},
                    "fields": "pixelSize",
                }
            }
        )
    return reqs


def _tab_requests(
    title: str, sheet_id: int, exists: bool, layout: _Layout, index: int | None = None
) -> list[dict[str, Any]]:
    rows = max(len(layout.values), 2)  # a frozen header needs one more row
    grid = {"rowCount": rows, "columnCount": layout.columns, "frozenRowCount": 1}
    if exists:
        first: dict[str, Any] = {
            "updateSheetProperties": {
                "properties": {"sheetId": sheet_id, "gridProperties": grid},
                "fields": "gridProperties(rowCount,columnCount,frozenRowCount)",
            }
        }
    else:
        props: dict[str, Any] = {
            "sheetId": sheet_id,
            "title": title,
            "sheetType": "GRID",
            "gridProperties": grid,
        }
        if index is not None:
            props["index"] = index
        first = {"addSheet": {"properties": props}}
    return [first, *_format_requests(sheet_id, layout, rows)]


def _quoted(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


def _chart_spec(sheet_id: int, rows: int, series_col: int, label: str) -> dict[str, Any]:
    def source(col: int) -> dict[str, Any]:
        return {
            "sourceRange": {
                "sources": [
                    {
                        "sheetId": sheet_id,
                        "startRowIndex": 0,
                        "endRowIndex": rows,
                        "startColumnIndex": col,
                        "endColumnIndex": col + 1,
                    }
                ]
            }
        }

    return {
        "title": f"{label} by week",
        "basicChart": {
            "chartType": "COLUMN",
            "legendPosition": "BOTTOM_LEGEND",
            "axis": [
                {"position": "BOTTOM_AXIS", "title": "ISO week"},
                {"position": "LEFT_AXIS", "title": label},
            ],
            "domains": [{"domain": source(0)}],
            "series": [{"series": source(series_col), "targetAxis": "LEFT_AXIS"}],
            "headerCount": 1,
        },
    }


def _merge_summary(
    existing: Sequence[Sequence[Any]],
    new_rows: Sequence[Sequence[Any]],
    columns: Sequence[SheetColumn],
    key_idx: Sequence[int],
    sort_idx: Sequence[int],
) -> list[list[Any]]:
    """One row per key: existing rows (also merging duplicates left by older code), replaced
    by the new ones, sorted. ISO week keys sort correctly as text (2024-W52 < 2025-W01)."""
    width = len(columns)
    merged: dict[tuple[str, ...], list[Any]] = {}
    for row in existing:
        cells = (list(row) + [""] * width)[:width]
        if all(cells[i] == "" for i in key_idx):
            continue
        merged[tuple(str(cells[i]) for i in key_idx)] = cells
    for row in new_rows:
        cells = [cell_value(v, c.kind) for v, c in zip(row, columns, strict=False)]
        cells = (cells + [""] * width)[:width]
        merged[tuple(str(cells[i]) for i in key_idx)] = cells
    return sorted(merged.values(), key=lambda r: tuple(str(r[i]) for i in sort_idx))


def _pick(columns: Sequence[SheetColumn], names: Sequence[str]) -> list[int]:
    lowered = [c.name.lower() for c in columns]
    return [lowered.index(n.lower()) for n in names if n.lower() in lowered]


def export_week(
    target: SheetsTarget | Settings | Any,
    *,
    week: str,
    tables: Sequence[SheetTable],
    summary: Sequence[Sequence[Any]],
    summary_columns: Sequence[SheetColumn] | None = None,
    chart_column: str | None = None,
    on_progress: Progress | None = None,
    client: gspread.Client | None = None,
) -> ExportResult:
    """Write ``week`` (``2026-W47``) to its own tab and merge ``summary`` into the Summary tab.

    ``target`` is a :class:`SheetsTarget`, or Settings / a Runtime (then
    :func:`sheets_target` decides). ``tables`` are stacked on the week's tab (the first
    table's header is the frozen row). ``summary`` rows follow ``summary_columns`` (default:
    the first table's columns); their identity is (Week, Open ID) when those columns exist,
    else the first two columns. ``chart_column`` names the Summary column charted by week
    (default: the first column whose name starts with "Views", else the first ``int`` one).
    """
    if not isinstance(target, SheetsTarget):
        target = sheets_target(target)
    progress = on_progress or (lambda done, total, message: None)
    if not WEEK_RE.match(week):
        raise SheetsRejected(f"{week!r} is not an ISO week key like 2026-W47; nothing was sent.")
    if not tables:
        raise SheetsRejected("There is no table to export for the week; nothing was sent.")
    columns = list(summary_columns or tables[0].columns)
    key_idx = _pick(columns, ("Week", "Open ID"))
    if len(key_idx) < 2:
        key_idx = [0, 1][: len(columns)]
    sort_idx = _pick(columns, ("Week", "Account", "Open ID")) or key_idx
    chart_idx = _chart_index(columns, chart_column)
    key = target.spreadsheet_key
    http: RetryHTTPClient | None = None
    try:
        gc = client or target.client_factory()
        http = gc.http_client  # type: ignore[assignment]
        progress(0, 4, "Opening the spreadsheet…")
        meta = gc.http_client.fetch_sheet_metadata(key)
        # Sheets compares tab titles case-insensitively ("summary" blocks adding "Summary").
        tabs = {s["properties"]["title"].lower(): s for s in meta.get("sheets", [])}
        summary_tab = tabs.get(SUMMARY_TITLE.lower())
        week_tab = tabs.get(week.lower())
        summary_title = summary_tab["properties"]["title"] if summary_tab else SUMMARY_TITLE
        week_title = week_tab["properties"]["title"] if week_tab else week
        used_ids = {int(s["properties"]["sheetId"]) for s in meta.get("sheets", [])}
        chart_ids = {
            int(c.get("chartId", -1)) for s in meta.get("sheets", []) for c in s.get("charts", [])
        }
        existing: list[list[Any]] = []
        if summary_tab is not None:
            progress(1, 4, "Reading the Summary tab…")
            last = _col_letters(len(columns) - 1)
            got = gc.http_client.values_get(
                key,
                f"{_quoted(summary_title)}!A2:{last}",
                params={
                    "valueRenderOption": "UNFORMATTED_VALUE",
                    "dateTimeRenderOption": "SERIAL_NUMBER",
                },
            )
            existing = got.get("values", [])
        summary_rows = _merge_summary(existing, summary, columns, key_idx, sort_idx)

        week_layout = _layout(tables)
        summary_layout = _layout([SheetTable(SUMMARY_TITLE, columns, [])])
        summary_layout.values.extend(summary_rows)
        start, _, cols = summary_layout.regions[0]
        summary_layout.regions[0] = (start, len(summary_layout.values), cols)

        requests_: list[dict[str, Any]] = []
        if summary_tab is not None:
            summary_id = int(summary_tab["properties"]["sheetId"])
        else:
            summary_id = _free_id(SUMMARY_SHEET_ID, used_ids)
            used_ids.add(summary_id)
        requests_ += _tab_requests(
            summary_title, summary_id, summary_tab is not None, summary_layout, index=0
        )
        if week_tab is not None:
            week_id = int(week_tab["properties"]["sheetId"])
        else:
            week_id = _free_id(_week_sheet_id(week), used_ids)
        requests_ += _tab_requests(week_title, week_id, week_tab is not None, week_layout, index=1)
        if chart_idx is not None:
            summary_grid_rows = max(len(summary_layout.values), 2)
            spec = _chart_spec(summary_id, summary_grid_rows, chart_idx, columns[chart_idx].name)
            if CHART_ID in chart_ids:
                requests_.append({"updateChartSpec": {"chartId": CHART_ID, "spec": spec}})
            else:
                anchor_col = len(columns) - 1
                requests_.append(
                    {
                        "addChart": {
                            "chart": {
                                "chartId": CHART_ID,
                                "spec": spec,
                                "position": {
                                    "overlayPosition": {
                                        "anchorCell": {
                                            "sheetId": summary_id,
                                            "rowIndex": 0,
                                            "columnIndex": anchor_col,
                                        },
                                        "offsetXPixels": summary_layout.widths[anchor_col] + 16,
                                        "widthPixels": 600,
                                        "heightPixels": 320,
                                    }
                                },
                            }
                        }
                    }
                )
        progress(2, 4, "Laying out the tabs…")
        gc.http_client.batch_update(key, {"requests": requests_})
        progress(3, 4, "Writing the values…")
        gc.http_client.values_batch_update(
            key,
            {
                "valueInputOption": "RAW",
                "data": [
                    {
                        "range": f"{_quoted(week_title)}!A1",
                        "majorDimension": "ROWS",
                        "values": week_layout.values,
                    },
                    {
                        "range": f"{_quoted(summary_title)}!A1",
                        "majorDimension": "ROWS",
                        "values": summary_layout.values,
                    },
                ],
            },
        )
    except Exception as exc:
        error = from_exception(
            exc, spreadsheet=key, client_email=target.client_email, api_url=target.api_url
        )
        if error is None:
            raise
        error.calls_made = getattr(http, "calls", 0)
        log.warning("Sheets export of %s failed: %s", week, error.step)
        raise error from None
    calls = int(getattr(http, "calls", 0))
    base_url = str(
        meta.get("spreadsheetUrl") or f"https://docs.google.com/spreadsheets/d/{key}/edit"
    )
    progress(4, 4, f"Exported {week} in {calls} Sheets API calls.")
    return ExportResult(
        spreadsheet_url=base_url,
        tab_url=f"{base_url}#gid={week_id}",
        calls_made=calls,
        rows_written=week_layout.data_rows + len(summary_rows),
        week=week,
        spreadsheet_key=key,
    )


def _chart_index(columns: Sequence[SheetColumn], name: str | None) -> int | None:
    if name is not None:
        found = _pick(columns, (name,))
        if not found:
            raise SheetsRejected(f"The chart column {name!r} is not a Summary column.")
        return found[0]
    for i, c in enumerate(columns):
        if c.name.lower().startswith("views") and c.kind in ("int", "number"):
            return i
    for i, c in enumerate(columns):
        if c.kind == "int":
            return i
    return None


def _col_letters(index: int) -> str:
    out = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


__all__ = [
    "CHART_ID",
    "ExportResult",
    "RetryHTTPClient",
    "SheetColumn",
    "SheetTable",
    "SheetsError",
    "SheetsTarget",
    "export_week",
    "make_client",
    "sheets_target",
]
