"""HTTP side of the fake Google Sheets API: routing, auth, faults and the request log.

Routes follow https://developers.google.com/sheets/api/reference/rest (spreadsheets.get,
spreadsheets.batchUpdate, spreadsheets.values.*) and the OAuth token endpoint `POST /token`.
The range in `/values/{range}` arrives percent-encoded (its own `:` is `%3A`), so the raw path
is split on `:append` / `:clear` *before* the range is decoded.
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
import traceback
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from sandbox.sheets import auth, model
from sandbox.sheets.model import ApiError
from sandbox.sheets.store import SheetsStore
from sandbox.web import Request, Response, json_response

if TYPE_CHECKING:
    from sandbox.state import StateStore

PREFIX = "/v4/spreadsheets/"
TOKEN_PATH = "/token"
VIEW_PATH = "/_sandbox/sheets/view/"
MAX_LOG = 5000
FAULT_STATUSES = (403, 429, 500, 502, 503)

_FAULT_BODIES = {
    403: ("The caller does not have permission", "PERMISSION_DENIED"),
    429: (
        "Quota exceeded for quota metric 'Write requests' and limit 'Write requests per minute "
        "per user' of service 'sheets.googleapis.com' for consumer 'project_number:0'.",
        "RESOURCE_EXHAUSTED",
    ),
    500: ("Internal error encountered.", "INTERNAL"),
    502: ("Bad gateway.", "UNAVAILABLE"),
    503: ("The service is currently unavailable.", "UNAVAILABLE"),
}
_UNAUTHENTICATED = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)


def google_error(code: int, message: str, status: str, headers=None) -> Response:
    resp = json_response(code, {"error": {"code": code, "message": message, "status": status}})
    resp.headers.extend(headers or [])
    return resp


@dataclass
class SheetsFault:
    id: int
    status: int
    remaining: int
    retry_after: int | None = None
    path: str | None = None  # prefix of the raw path, e.g. "/v4/spreadsheets/abc:batchUpdate"
    method: str | None = None


@dataclass
class SheetsLogEntry:
    ts: float
    method: str
    path: str  # raw (still percent-encoded) path
    query: dict[str, list[str]]
    body: Any  # parsed JSON; the token request logs only its grant_type
    status: int = 0
    range: str | None = None  # the decoded range of a /values/{range} call
    extra: dict[str, Any] = field(default_factory=dict)


class SheetsFake:
    """The fake Sheets service inside one sandbox (shares its state store)."""

    def __init__(self, store: StateStore) -> None:
        self.store = SheetsStore(store)
        self._lock = threading.Lock()
        self._log: deque[SheetsLogEntry] = deque(maxlen=MAX_LOG)
        self._faults: list[SheetsFault] = []
        self._ids = itertools.count(1)

    # --- test hooks ----------------------------------------------------------------------
    def reset(self) -> None:
        """Faults and the log go; spreadsheets, keys and tokens stay (like the TikTok world)."""
        with self._lock:
            self._log.clear()
            self._faults.clear()

    def log(self, path_prefix: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            entries = list(self._log)
        return [asdict(e) for e in entries if not path_prefix or e.path.startswith(path_prefix)]

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()

    def add_fault(self, body: dict[str, Any]) -> SheetsFault:
        status = body.get("status")
        count = body.get("count", 1)
        retry_after = body.get("retry_after")
        path = body.get("path")
        method = body.get("method")
        if status not in FAULT_STATUSES:
            raise ValueError(f"status must be one of {FAULT_STATUSES}")
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 10_000:
            raise ValueError("count must be an integer from 1 to 10000")
        if retry_after is not None and (
            isinstance(retry_after, bool) or not isinstance(retry_after, int) or retry_after < 0
        ):
            raise ValueError("retry_after must be a whole number of seconds")
        if path is not None and (not isinstance(path, str) or not path.startswith("/v4/")):
            raise ValueError("path must be a prefix starting with /v4/")
        if method is not None and method not in ("GET", "POST", "PUT"):
            raise ValueError("method must be GET, POST or PUT")
        with self._lock:
            fault = SheetsFault(next(self._ids), status, count, retry_after, path, method)
            self._faults.append(fault)
        return fault

    def faults(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self._faults]

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_fault(self, req: Request) -> SheetsFault | None:
        with self._lock:
            for f in self._faults:
                if (f.path is None or req.path.startswith(f.path)) and f.method in (
                    None,
                    req.method,
                ):
                    f.remaining -= 1
                    if f.remaining <= 0:
                        self._faults.remove(f)
                    return f
        return None

    # --- dispatch ------------------------------------------------------------------------
    def handle(self, req: Request, base_url: str) -> Response:
        entry = SheetsLogEntry(time.time(), req.method, req.path, req.query, None)
        try:
            if req.path == TOKEN_PATH:
                form = req.form() if req.method == "POST" else {}
                entry.body = {"grant_type": (form.get("grant_type") or [""])[0]}
                resp = self._token(req, form)
            else:
                try:
                    entry.body = req.json_body() if req.body.strip() else None
                except ValueError:
                    entry.body = "<not JSON>"
                resp = self._api(req, base_url, entry)
        except ApiError as exc:
            resp = google_error(exc.code, exc.message, exc.status)
        except Exception:  # a fake bug answers 500 JSON instead of dropping the connection
            traceback.print_exc()
            resp = google_error(500, "Internal error encountered.", "INTERNAL")
        entry.status = resp.status
        with self._lock:
            self._log.append(entry)
        return resp

    def _token(self, req: Request, form: dict[str, list[str]]) -> Response:
        if req.method != "POST":
            return json_response(405, {"error": "invalid_request", "error_description": "POST"})
        try:
            return json_response(200, auth.exchange(self.store, form))
        except auth.GrantError as exc:
            return json_response(
                exc.status, {"error": exc.error, "error_description": exc.description}
            )

    def _api(self, req: Request, base_url: str, entry: SheetsLogEntry) -> Response:
        route = parse_path(req.path)
        if route is None:
            raise ApiError(404, f"Unknown endpoint {req.path}.", "NOT_FOUND")
        spreadsheet_id, op, rng = route
        entry.range = rng
        record = auth.bearer(self.store, req.header("authorization"))
        if record is None:
            raise ApiError(401, _UNAUTHENTICATED, "UNAUTHENTICATED")
        fault = self._take_fault(req)
        if fault is not None:
            message, status = _FAULT_BODIES[fault.status]
            headers = (
                [("Retry-After", str(fault.retry_after))] if fault.retry_after is not None else []
            )
            return google_error(fault.status, message, status, headers)
        writes = not (
            op in ("get", "values.batchGet") or (op == "values.range" and req.method == "GET")
        )
        scopes = set(record["scopes"])
        allowed = {auth.SHEETS_SCOPES[0], auth.SHEETS_SCOPES[1]}
        if not writes:
            allowed |= {auth.SHEETS_SCOPES[0] + ".readonly", auth.SHEETS_SCOPES[1] + ".readonly"}
        if not scopes & allowed:
            raise ApiError(
                403, "Request had insufficient authentication scopes.", "PERMISSION_DENIED"
            )
        body = _json(req) if writes else {}
        if not writes:
            with self.store.store.read() as tx:
                doc = self._doc(tx, spreadsheet_id, record)
            return json_response(200, _read(doc, op, rng, req, _view_url(req, base_url, doc)))
        with self.store.store.transaction() as tx:
            doc = self._doc(tx, spreadsheet_id, record)
            new_doc, payload = _write(doc, op, rng, req, body)
            if new_doc is not None:
                SheetsStore.put_doc(tx, new_doc)
        return json_response(200, payload)

    @staticmethod
    def _doc(tx, spreadsheet_id: str, record: dict[str, Any]) -> dict[str, Any]:
        doc = SheetsStore.get_doc(tx, spreadsheet_id)
        if doc is None:
            raise ApiError(404, "Requested entity was not found.", "NOT_FOUND")
        if record["client_email"].lower() not in doc.get("shares", []):
            raise ApiError(403, "The caller does not have permission", "PERMISSION_DENIED")
        return doc


def _json(req: Request) -> Any:
    try:
        return req.json_body()
    except ValueError:
        raise ApiError(400, "Invalid JSON payload received.", "INVALID_ARGUMENT") from None


def _view_url(req: Request, base_url: str, doc: dict[str, Any]) -> str:
    # The real API answers docs.google.com/…/edit; the fake answers its own read-only viewer so
    # the link an exporter shows opens offline. The Host header follows the sandbox's real port.
    host = (req.header("x-original-host") and None) or req.header("host")
    base = f"http://{host}" if host else base_url
    return f"{base}{VIEW_PATH}{doc['spreadsheetId']}"


def parse_path(path: str) -> tuple[str, str, str | None] | None:
    """(spreadsheet id, operation, decoded range or None) for a Sheets v4 path."""
    if not path.startswith(PREFIX):
        return None
    rest = path[len(PREFIX) :]
    if "/values" not in rest:
        if rest.endswith(":batchUpdate"):
            return unquote(rest[: -len(":batchUpdate")]), "batchUpdate", None
        if "/" in rest or ":" in rest or not rest:
            return None
        return unquote(rest), "get", None
    sid, _, tail = rest.partition("/values")
    for suffix, op in (
        (":batchGet", "values.batchGet"),
        (":batchUpdate", "values.batchUpdate"),
        (":batchClear", "values.batchClear"),
    ):
        if tail == suffix:
            return unquote(sid), op, None
    if not tail.startswith("/") or len(tail) < 2:
        return None
    raw = tail[1:]
    for suffix, op in ((":append", "values.append"), (":clear", "values.clear")):
        if raw.endswith(suffix):
            return unquote(sid), op, unquote(raw[: -len(suffix)])
    if ":" in raw:
        return None
    return unquote(sid), "values.range", unquote(raw)


def _flag(req: Request, name: str) -> bool:
    # requests sends Python booleans as True/False; gspread also sends "true".
    return (req.arg(name) or "").lower() == "true"


def _render_option(req: Request) -> str:
    option = req.arg("valueRenderOption") or "FORMATTED_VALUE"
    if option not in ("FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA"):
        raise ApiError(400, f"Invalid valueRenderOption: {option}", "INVALID_ARGUMENT")
    return option


def _major(value: object) -> str:
    major = value or "ROWS"
    if major not in ("ROWS", "COLUMNS"):
        raise ApiError(400, f"Invalid majorDimension: {major}", "INVALID_ARGUMENT")
    return str(major)


def _read(doc: dict, op: str, rng: str | None, req: Request, view_url: str) -> dict[str, Any]:
    if op == "get":
        return model.metadata(
            doc,
            view_url,
            include_grid=_flag(req, "includeGridData"),
            ranges=req.query.get("ranges"),
            fields=req.arg("fields"),
        )
    if op == "values.range":
        if req.method != "GET":
            raise ApiError(404, "Unknown method.", "NOT_FOUND")
        return model.values_get(
            doc, rng or "", _render_option(req), _major(req.arg("majorDimension"))
        )
    ranges = req.query.get("ranges") or []
    render_option, major = _render_option(req), _major(req.arg("majorDimension"))
    return {
        "spreadsheetId": doc["spreadsheetId"],
        "valueRanges": [model.values_get(doc, r, render_option, major) for r in ranges],
    }


def _write(
    doc: dict, op: str, rng: str | None, req: Request, body: Any
) -> tuple[dict | None, dict[str, Any]]:
    if not isinstance(body, dict):
        raise ApiError(400, "Invalid JSON payload received.", "INVALID_ARGUMENT")
    sid = doc["spreadsheetId"]
    if op == "batchUpdate":
        if req.method != "POST":
            raise ApiError(404, "Unknown method.", "NOT_FOUND")
        new_doc, replies = model.batch_update(doc, body)
        return new_doc, {"spreadsheetId": sid, "replies": replies}
    work = copy.deepcopy(doc)  # value writes are atomic too: all ranges or none
    if op == "values.range":
        if req.method != "PUT":
            raise ApiError(404, "Unknown method.", "NOT_FOUND")
        out = model.values_write(
            work,
            rng or "",
            body.get("values"),
            req.arg("valueInputOption"),
            _major(body.get("majorDimension")),
        )
        return work, out
    if op == "values.append":
        return work, model.values_append(
            work, rng or "", body.get("values"), req.arg("valueInputOption")
        )
    if op == "values.clear":
        return work, {"spreadsheetId": sid, "clearedRange": model.values_clear(work, rng or "")}
    if op == "values.batchClear":
        ranges = body.get("ranges") or []
        if not isinstance(ranges, list):
            raise ApiError(400, "Invalid value at 'ranges'.", "INVALID_ARGUMENT")
        cleared = [model.values_clear(work, str(r)) for r in ranges]
        return work, {"spreadsheetId": sid, "clearedRanges": cleared}
    if op == "values.batchUpdate":
        data = body.get("data")
        if not isinstance(data, list):
            raise ApiError(400, "Invalid value at 'data'.", "INVALID_ARGUMENT")
        responses = []
        for i, item in enumerate(data):
            if not isinstance(item, dict) or not isinstance(item.get("range"), str):
                raise ApiError(400, f"Invalid value at 'data[{i}].range'.", "INVALID_ARGUMENT")
            responses.append(
                model.values_write(
                    work,
                    item["range"],
                    item.get("values"),
                    body.get("valueInputOption"),
                    _major(item.get("majorDimension")),
                    field=f"data[{i}].values",
                )
            )
        out = {
            "spreadsheetId": sid,
            "totalUpdatedRows": sum(r.get("updatedRows", 0) for r in responses),
            "totalUpdatedColumns": sum(r.get("updatedColumns", 0) for r in responses),
            "totalUpdatedCells": sum(r.get("updatedCells", 0) for r in responses),
            "totalUpdatedSheets": len(
                {r["updatedRange"].rsplit("!", 1)[0] for r in responses if "updatedRange" in r}
            ),
            "responses": responses,
        }
        return work, out
    raise ApiError(404, "Unknown method.", "NOT_FOUND")
