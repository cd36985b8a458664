"""Control routes of the fake Sheets under /_sandbox/sheets/ (not part of Google's API).

Tests and the offline demo use them to create a spreadsheet (what a person does in the Sheets
UI), share it with a service account, register or revoke a service-account key (the public half;
what the Cloud console does), inject faults, read the request log, dump a spreadsheet, and view
it read-only in a browser (`/_sandbox/sheets/view/<id>`).
"""

from __future__ import annotations

import re
import secrets
from html import escape
from typing import TYPE_CHECKING, Any

from sandbox.sheets import auth, model
from sandbox.sheets.a1 import col_letters, format_range
from sandbox.sheets.store import SheetsStore
from sandbox.web import Request, Response, html_response, json_response

if TYPE_CHECKING:
    from sandbox.core import Sandbox

ROOT = "/_sandbox/sheets"
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
_SS_RE = re.compile(r"^/_sandbox/sheets/spreadsheets/([A-Za-z0-9_-]+)(/share)?$")
_VIEW_RE = re.compile(r"^/_sandbox/sheets/view/([A-Za-z0-9_-]+)$")


def _error(status: int, message: str) -> Response:
    return json_response(status, {"error": message})


def _body(req: Request) -> dict[str, Any]:
    try:
        body = req.json_body()
    except ValueError:
        raise ValueError("the body must be JSON") from None
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


def _base(sb: Sandbox, req: Request) -> str:
    host = req.header("host")
    return f"http://{host}" if host else sb.base_url


def _summary(sb: Sandbox, req: Request, doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "spreadsheetId": doc["spreadsheetId"],
        "title": doc["properties"]["title"],
        "shared_with": list(doc.get("shares", [])),
        "tabs": model.titles(doc),
        "view_url": f"{_base(sb, req)}{ROOT}/view/{doc['spreadsheetId']}",
    }


def create_spreadsheet(sb: Sandbox, req: Request) -> Response:
    body = _body(req)
    title = body.get("title", "Untitled spreadsheet")
    sid = body.get("id") or secrets.token_urlsafe(33)[:44]
    share = body.get("share_with") or []
    if not isinstance(title, str) or not 1 <= len(title) <= 200:
        raise ValueError("title must be a string of 1-200 characters")
    if not isinstance(sid, str) or not _ID_RE.match(sid):
        raise ValueError("id must be 1-100 characters of A-Z, a-z, 0-9, '-' or '_'")
    if isinstance(share, str):
        share = [share]
    if not isinstance(share, list) or not all(isinstance(e, str) and "@" in e for e in share):
        raise ValueError("share_with must be a list of e-mail addresses")
    with sb.store.transaction() as tx:
        existing = SheetsStore.get_doc(tx, sid)
        if existing is not None:
            if body.get("exist_ok") is True:
                doc = existing
                doc["shares"] = sorted({*doc.get("shares", []), *(e.lower() for e in share)})
                SheetsStore.put_doc(tx, doc)
                return json_response(200, _summary(sb, req, doc))
            return _error(409, f"spreadsheet {sid!r} already exists")
        doc = model.new_document(sid, title)
        doc["shares"] = sorted({e.lower() for e in share})
        SheetsStore.put_doc(tx, doc)
    return json_response(201, _summary(sb, req, doc))


def spreadsheets(sb: Sandbox, req: Request) -> Response:
    if req.method == "POST":
        return create_spreadsheet(sb, req)
    with sb.store.read() as tx:
        docs = [SheetsStore.get_doc(tx, i) for i in SheetsStore.ids(tx)]
    return json_response(200, [_summary(sb, req, d) for d in docs if d is not None])


def one_spreadsheet(sb: Sandbox, req: Request, sid: str, share: bool) -> Response:
    if share:
        if req.method != "POST":
            return _error(405, "use POST")
        email = _body(req).get("email")
        if not isinstance(email, str) or "@" not in email:
            raise ValueError("email must be an e-mail address")
        with sb.store.transaction() as tx:
            doc = SheetsStore.get_doc(tx, sid)
            if doc is None:
                return _error(404, f"no spreadsheet {sid!r}")
            doc["shares"] = sorted({*doc.get("shares", []), email.lower()})
            SheetsStore.put_doc(tx, doc)
        return json_response(200, _summary(sb, req, doc))
    if req.method != "GET":
        return _error(405, "use GET")
    with sb.store.read() as tx:
        doc = SheetsStore.get_doc(tx, sid)
    if doc is None:
        return _error(404, f"no spreadsheet {sid!r}")
    return json_response(200, doc)  # the full document: tests compare dumps


def service_accounts(sb: Sandbox, req: Request, revoke: bool) -> Response:
    body = _body(req)
    if revoke:
        try:
            return json_response(200, auth.revoke(sb.store, body))
        except LookupError as exc:
            return _error(404, str(exc))
    return json_response(200, auth.register(sb.store, body))


def faults(sb: Sandbox, req: Request) -> Response:
    if req.method == "DELETE":
        sb.sheets.clear_faults()
    elif req.method == "POST":
        sb.sheets.add_fault(_body(req))
    return json_response(200, {"faults": sb.sheets.faults()})


def requests_log(sb: Sandbox, req: Request) -> Response:
    if req.method == "DELETE":
        sb.sheets.clear_log()
        return json_response(200, [])
    return json_response(200, sb.sheets.log(req.arg("path")))


def dispatch(sb: Sandbox, req: Request) -> Response:
    path = req.path.rstrip("/")
    try:
        if path == f"{ROOT}/spreadsheets" and req.method in ("GET", "POST"):
            return spreadsheets(sb, req)
        m = _SS_RE.match(path)
        if m:
            return one_spreadsheet(sb, req, m.group(1), bool(m.group(2)))
        if path == f"{ROOT}/service-accounts" and req.method == "POST":
            return service_accounts(sb, req, revoke=False)
        if path == f"{ROOT}/service-accounts/revoke" and req.method == "POST":
            return service_accounts(sb, req, revoke=True)
        if path == f"{ROOT}/faults" and req.method in ("GET", "POST", "DELETE"):
            return faults(sb, req)
        if path == f"{ROOT}/requests" and req.method in ("GET", "DELETE"):
            return requests_log(sb, req)
        if path in (ROOT, f"{ROOT}/view") and req.method == "GET":
            return view_index(sb, req)
        m = _VIEW_RE.match(path)
        if m and req.method == "GET":
            return view(sb, req, m.group(1))
    except ValueError as exc:
        return _error(400, str(exc))
    return _error(404, f"unknown control endpoint {req.method} {req.path}")


# --- read-only HTML view -------------------------------------------------------------------

_CSP = [("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")]
_STYLE = (
    "body{font-family:sans-serif;margin:24px}table{border-collapse:collapse;table-layout:fixed}"
    "td,th{border:1px solid #ccc;padding:2px 6px;overflow:hidden;white-space:nowrap;"
    "text-overflow:ellipsis;font-size:13px}thead td{position:sticky;top:0;background:#eee}"
    "th{background:#f8f8f8;color:#666;font-weight:normal}nav a{margin-right:12px}"
    ".num{text-align:right}.note{color:#555;font-size:13px}section{margin-bottom:32px}"
)


def view_index(sb: Sandbox, req: Request) -> Response:
    with sb.store.read() as tx:
        docs = [SheetsStore.get_doc(tx, i) for i in SheetsStore.ids(tx)]
    items = "".join(
        f"<li><a href='{ROOT}/view/{escape(d['spreadsheetId'])}'>"
        f"{escape(d['properties']['title'])}</a></li>"
        for d in docs
        if d is not None
    )
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Sandbox spreadsheets</title>"
        f"<style>{_STYLE}</style></head><body><h1>Sandbox spreadsheets</h1>"
        f"<ul>{items or '<li>none yet</li>'}</ul></body></html>"
    )
    return html_response(200, page, list(_CSP))


def _cell_html(cell: dict[str, Any] | None) -> str:
    text = str(model.render(cell, "FORMATTED_VALUE"))
    fmt = (cell or {}).get("f") or {}
    classes = []
    if "numberValue" in ((cell or {}).get("v") or {}):
        classes.append("num")
    fmt = fmt if isinstance(fmt, dict) else {}
    text_format = fmt.get("textFormat")
    style = "font-weight:bold;" if isinstance(text_format, dict) and text_format.get("bold") else ""
    align = fmt.get("horizontalAlignment")
    if align in ("LEFT", "CENTER", "RIGHT"):
        style += f"text-align:{align.lower()};"
    # Only a colour that was set: a cell without one shows Sheets' default white (an absent
    # field, unlike an explicit Color{}, is not black).
    bg = fmt.get("backgroundColor")
    if isinstance(bg, dict) and all(
        isinstance(bg.get(k, 0), int | float) for k in ("red", "green", "blue")
    ):
        rgb = [max(0, min(255, round(float(bg.get(k, 0)) * 255))) for k in ("red", "green", "blue")]
        style += f"background:rgb({rgb[0]},{rgb[1]},{rgb[2]});"
    cls = f" class='{' '.join(classes)}'" if classes else ""
    return f"<td{cls} style='{style}' title='{escape(text)}'>{escape(text)}</td>"


def _chart_note(doc: dict[str, Any], chart: dict[str, Any]) -> str:
    spec = chart.get("spec") or {}
    basic = spec.get("basicChart") or {}
    ranges = []
    for part in (basic.get("domains") or []) + (basic.get("series") or []):
        src = (part.get("domain") or part.get("series") or {}).get("sourceRange") or {}
        for r in src.get("sources") or []:
            try:
                sheet = model.sheet_by_id(doc, r.get("sheetId"))
                ranges.append(
                    format_range(
                        sheet["properties"]["title"],
                        int(r.get("startRowIndex") or 0),
                        int(r.get("startColumnIndex") or 0),
                        int(r.get("endRowIndex") or model.grid(sheet)[0]),
                        int(r.get("endColumnIndex") or model.grid(sheet)[1]),
                    )
                )
            except model.ApiError:
                ranges.append("(a deleted tab)")
    return (
        f"<p class='note'>Chart #{escape(str(chart.get('chartId')))}: "
        f"{escape(str(basic.get('chartType', 'chart')))} “{escape(str(spec.get('title', '')))}”"
        f" from {escape(', '.join(ranges) or 'no data')}</p>"
    )


def view(sb: Sandbox, req: Request, sid: str) -> Response:
    with sb.store.read() as tx:
        doc = SheetsStore.get_doc(tx, sid)
    if doc is None:
        return html_response(404, "<!doctype html><p>No such spreadsheet.</p>", list(_CSP))
    nav = "".join(
        f"<a href='#gid={s['properties']['sheetId']}'>{escape(s['properties']['title'])}</a>"
        for s in doc["sheets"]
    )
    sections = []
    for s in doc["sheets"]:
        props = s["properties"]
        rows, cols = model.grid(s)
        frozen = int(props["gridProperties"].get("frozenRowCount", 0))
        last = max((int(k.split(":")[0]) for k in s["cells"]), default=-1)
        shown = min(rows, max(last + 1, frozen, 1), 2000)
        widths = "".join(
            f"<col style='width:{int(s['columns'].get(str(c), model.DEFAULT_COL_PX))}px'>"
            for c in range(min(cols, 60))
        )
        head = "<tr><th></th>" + "".join(f"<th>{col_letters(c)}</th>" for c in range(min(cols, 60)))
        body_rows = []
        for r in range(shown):
            cells = "".join(_cell_html(s["cells"].get(f"{r}:{c}")) for c in range(min(cols, 60)))
            body_rows.append(f"<tr><th>{r + 1}</th>{cells}</tr>")
        thead = head + "</tr>" + "".join(body_rows[:frozen])
        tbody = "".join(body_rows[frozen:])
        charts = "".join(_chart_note(doc, ch) for ch in s["charts"])
        sections.append(
            f"<section id='gid={props['sheetId']}'><h2>{escape(props['title'])}</h2>"
            f"<p class='note'>{rows} × {cols} grid, {frozen} frozen row(s)"
            f"{', showing the first 2000 rows' if shown < rows and shown == 2000 else ''}</p>"
            f"{charts}<table><colgroup><col style='width:40px'>{widths}</colgroup>"
            f"<thead>{thead}</thead><tbody>{tbody}</tbody></table></section>"
        )
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{escape(doc['properties']['title'])} (sandbox)</title><style>{_STYLE}</style>"
        f"</head><body><h1>{escape(doc['properties']['title'])}</h1>"
        "<p class='note'>A read-only view of the Reelboard sandbox's fake Google Sheets.</p>"
        f"<nav>{nav}</nav>{''.join(sections)}</body></html>"
    )
    return html_response(200, page, list(_CSP))
