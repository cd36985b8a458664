"""One fake spreadsheet as a JSON document, and the Sheets v4 operations on it.

The document (stored as JSON, see store.py) keeps each tab's properties, its cells as
``{"row:col": {"v": userEnteredValue, "f": userEnteredFormat}}``, column/row pixel sizes and
its charts. Operations raise `ApiError`, which api.py turns into Google's error envelope
(https://cloud.google.com/apis/design/errors). batchUpdate applies every request to a deep
copy and the caller stores the copy only when all succeeded, which makes it atomic as the
real API is (https://developers.google.com/sheets/api/guides/batchupdate).

Formulas are stored, never evaluated; number formats are rendered only for the few patterns
Reelboard uses (tests assert on UNFORMATTED_VALUE and userEnteredFormat, not on strings).
"""

from __future__ import annotations

import copy
import math
import re
from datetime import date, timedelta
from typing import Any

from sandbox.sheets import fieldmask
from sandbox.sheets.a1 import GridSpan, RangeError, col_letters, format_range, parse_range

DEFAULT_ROWS = 1000
DEFAULT_COLS = 26
DEFAULT_COL_PX = 100
DEFAULT_ROW_PX = 21
MAX_CELLS = 10_000_000  # per spreadsheet, counted by grid size (Sheets limits page)
MAX_COLS = 18_278
MAX_CELL_CHARS = 50_000
SERIAL_EPOCH = date(1899, 12, 30)

_NUMBER_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_DATE_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_PERCENT_RE = re.compile(r"^([+-]?(\d+\.?\d*|\.\d+))%$")


class ApiError(Exception):
    """An error the API answers with: HTTP status, Google status name, message."""

    def __init__(self, code: int, message: str, status: str = "INVALID_ARGUMENT") -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message


def bad(message: str) -> ApiError:
    return ApiError(400, message, "INVALID_ARGUMENT")


# --- documents -----------------------------------------------------------------------------


def new_sheet(sheet_id: int, title: str, index: int, rows: int, cols: int) -> dict[str, Any]:
    return {
        "properties": {
            "sheetId": sheet_id,
            "title": title,
            "index": index,
            "sheetType": "GRID",
            "gridProperties": {"rowCount": rows, "columnCount": cols},
        },
        "cells": {},
        "columns": {},
        "rows": {},
        "charts": [],
    }


def new_document(spreadsheet_id: str, title: str) -> dict[str, Any]:
    return {
        "spreadsheetId": spreadsheet_id,
        "properties": {
            "title": title,
            "locale": "en_US",
            "autoRecalc": "ON_CHANGE",
            "timeZone": "Etc/GMT",
            "defaultFormat": {
                "backgroundColor": {"red": 1, "green": 1, "blue": 1},
                "verticalAlignment": "BOTTOM",
                "wrapStrategy": "OVERFLOW_CELL",
                "textFormat": {"fontFamily": "arial,sans,sans-serif", "fontSize": 10},
            },
        },
        "sheets": [new_sheet(0, "Sheet1", 0, DEFAULT_ROWS, DEFAULT_COLS)],
        "shares": [],
    }


def titles(doc: dict[str, Any]) -> list[str]:
    return [s["properties"]["title"] for s in doc["sheets"]]


def sheet_by_title(doc: dict[str, Any], title: str) -> dict[str, Any]:
    for s in doc["sheets"]:
        if s["properties"]["title"] == title:
            return s
    raise bad(f"Unable to parse range: {title}")


def sheet_by_id(doc: dict[str, Any], sheet_id: object, where: str = "") -> dict[str, Any]:
    for s in doc["sheets"]:
        if s["properties"]["sheetId"] == sheet_id:
            return s
    raise bad(f"{where}No grid with id: {sheet_id}")


def grid(sheet: dict[str, Any]) -> tuple[int, int]:
    g = sheet["properties"]["gridProperties"]
    return int(g["rowCount"]), int(g["columnCount"])


def resolve(doc: dict[str, Any], text: str) -> tuple[dict[str, Any], GridSpan]:
    try:
        span = parse_range(text, titles(doc))
    except RangeError:
        raise bad(f"Unable to parse range: {text}") from None
    return sheet_by_title(doc, span.title), span


def _key(r: int, c: int) -> str:
    return f"{r}:{c}"


def _rc(key: str) -> tuple[int, int]:
    r, c = key.split(":")
    return int(r), int(c)


def total_cells(doc: dict[str, Any]) -> int:
    return sum(grid(s)[0] * grid(s)[1] for s in doc["sheets"])


# --- values --------------------------------------------------------------------------------


def to_user_value(value: object, option: str) -> tuple[dict[str, Any] | None, dict | None]:
    """(userEnteredValue or None to clear, number format implied by USER_ENTERED parsing)."""
    if isinstance(value, bool):
        return {"boolValue": value}, None
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise bad("Invalid JSON payload received. Unexpected token.")
        return {"numberValue": float(value)}, None
    text = str(value)
    if text == "":
        return None, None
    if len(text) > MAX_CELL_CHARS:
        raise bad(
            f"Your input contains more than the maximum of {MAX_CELL_CHARS} characters in a "
            "single cell."
        )
    if option == "RAW":
        return {"stringValue": text}, None
    # USER_ENTERED: parsed as if typed into the UI
    # (https://developers.google.com/sheets/api/reference/rest/v4/ValueInputOption).
    if text.startswith("'"):
        return {"stringValue": text[1:]}, None
    if text.startswith("="):
        return {"formulaValue": text}, None
    if text.upper() in ("TRUE", "FALSE"):
        return {"boolValue": text.upper() == "TRUE"}, None
    if _NUMBER_RE.match(text.strip()):
        return {"numberValue": float(text.strip())}, None
    m = _PERCENT_RE.match(text.strip())
    if m:
        return {"numberValue": float(m.group(1)) / 100}, {"type": "PERCENT", "pattern": "0.00%"}
    m = _DATE_RE.match(text.strip())
    if m:
        try:
            d = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return {"stringValue": text}, None
        return {"numberValue": float((d - SERIAL_EPOCH).days)}, {
            "type": "DATE",
            "pattern": "yyyy-mm-dd",
        }
    return {"stringValue": text}, None


def _number(v: float) -> int | float:
    return int(v) if v.is_integer() and abs(v) < 2**53 else v


def render(cell: dict[str, Any] | None, option: str) -> object:
    if not cell or "v" not in cell:
        return ""
    v = cell["v"]
    if "formulaValue" in v:
        return v["formulaValue"]  # not evaluated (see module docstring)
    if "stringValue" in v:
        return v["stringValue"]
    if "boolValue" in v:
        return v["boolValue"] if option != "FORMATTED_VALUE" else str(v["boolValue"]).upper()
    number = float(v.get("numberValue", 0))
    if option != "FORMATTED_VALUE":
        return _number(number)
    return format_number(number, (cell.get("f") or {}).get("numberFormat"))


def format_number(number: float, fmt: dict[str, Any] | None) -> str:
    kind = (fmt or {}).get("type")
    pattern = (fmt or {}).get("pattern", "")
    decimals = len(pattern.split(".", 1)[1].rstrip("%")) if "." in pattern else 0
    if kind == "PERCENT":
        return f"{number * 100:.{decimals}f}%"
    if kind in ("DATE", "DATE_TIME"):
        try:
            return (SERIAL_EPOCH + timedelta(days=int(number))).isoformat()
        except OverflowError:
            return str(number)
    if kind in ("NUMBER", "CURRENCY") and pattern:
        grouping = "," if "," in pattern else ""
        return f"{number:{grouping}.{decimals}f}"
    n = _number(number)
    return str(n) if isinstance(n, int) else f"{n:.10g}"


def values_get(
    doc: dict[str, Any], text: str, render_option: str = "FORMATTED_VALUE", major: str = "ROWS"
) -> dict[str, Any]:
    sheet, span = resolve(doc, text)
    rows, cols = grid(sheet)
    r0, c0, r1, c1 = span.bounded(rows, cols)
    r1, c1 = min(r1, rows), min(c1, cols)
    title = span.title
    if r1 <= r0 or c1 <= c0:
        return {"range": format_range(title, r0, c0, r0 + 1, c0 + 1), "majorDimension": major}
    matrix: list[list[object]] = []
    for r in range(r0, r1):
        matrix.append(
            [render(sheet["cells"].get(_key(r, c)), render_option) for c in range(c0, c1)]
        )
    # Trailing empty cells and rows are trimmed, as the real API does.
    matrix = [_trim(row) for row in matrix]
    while matrix and not matrix[-1]:
        matrix.pop()
    if major == "COLUMNS" and matrix:
        width = max(len(row) for row in matrix)
        padded = [row + [""] * (width - len(row)) for row in matrix]
        matrix = [_trim(list(col)) for col in zip(*padded, strict=True)]
        while matrix and not matrix[-1]:
            matrix.pop()
    out: dict[str, Any] = {"range": format_range(title, r0, c0, r1, c1), "majorDimension": major}
    if matrix:
        out["values"] = matrix
    return out


def _trim(row: list[object]) -> list[object]:
    while row and row[-1] == "":
        row.pop()
    return row


def _check_matrix(values: object, field: str) -> list[list[object]]:
    if not isinstance(values, list) or not all(isinstance(r, list) for r in values):
        raise bad(
            f"Invalid value at '{field}' (type.googleapis.com/google.protobuf.ListValue), "
            f"{str(values)[:60]!r}"
        )
    for row in values:
        for v in row:
            if v is not None and not isinstance(v, str | int | float | bool):
                raise bad(
                    f"Invalid value at '{field}' (type.googleapis.com/google.protobuf.ListValue)"
                )
    return values


def values_write(
    doc: dict[str, Any],
    text: str,
    values: object,
    option: str | None,
    major: str | None = None,
    field: str = "data.values",
) -> dict[str, Any]:
    if option not in ("RAW", "USER_ENTERED"):
        if option is None:
            raise bad("'valueInputOption' is required but not specified")
        raise bad(f"Invalid value at 'value_input_option' ({option!r})")
    matrix = _check_matrix(values, field)
    if major == "COLUMNS" and matrix:
        width = max(len(r) for r in matrix)
        matrix = [[col[i] if i < len(col) else None for col in matrix] for i in range(width)]
    sheet, span = resolve(doc, text)
    rows, cols = grid(sheet)
    r0, c0 = span.r0 or 0, span.c0 or 0
    height = len(matrix)
    width = max((len(r) for r in matrix), default=0)
    quoted = format_range(span.title, r0, c0, r0 + 1, c0 + 1).rsplit("!", 1)[0]
    if not span.single and span.r1 is not None and r0 + height > span.r1 and span.r0 is not None:
        requested = format_range(span.title, r0, c0, span.r1, span.c1 or cols)
        raise bad(
            f"Requested writing within range [{requested}], but tried writing to row "
            f"[{r0 + height}]"
        )
    if not span.single and span.c1 is not None and c0 + width > span.c1 and span.c0 is not None:
        requested = format_range(span.title, r0, c0, span.r1 or rows, span.c1)
        raise bad(
            f"Requested writing within range [{requested}], but tried writing to column "
            f"[{col_letters(c0 + width - 1)}]"
        )
    if r0 + height > rows or c0 + width > cols:
        cell = (
            f"{col_letters(c0)}{rows + 1}" if r0 + height > rows else f"{col_letters(cols)}{r0 + 1}"
        )
        raise bad(
            f"Range ({quoted}!{cell}) exceeds grid limits. Max rows: {rows}, max columns: {cols}"
        )
    updated = 0
    touched_rows: set[int] = set()
    touched_cols: set[int] = set()
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            if value is None:
                continue  # JSON null leaves the cell unchanged
            key = _key(r0 + i, c0 + j)
            user_value, implied = to_user_value(value, option)
            cell = sheet["cells"].setdefault(key, {})
            if user_value is None:
                cell.pop("v", None)
            else:
                cell["v"] = user_value
            if implied is not None and not (cell.get("f") or {}).get("numberFormat"):
                cell.setdefault("f", {})["numberFormat"] = implied
            if not cell:
                del sheet["cells"][key]
            updated += 1
            touched_rows.add(i)
            touched_cols.add(j)
    out: dict[str, Any] = {"spreadsheetId": doc["spreadsheetId"]}
    if height and width:
        out["updatedRange"] = format_range(span.title, r0, c0, r0 + height, c0 + width)
        out["updatedRows"] = len(touched_rows)
        out["updatedColumns"] = len(touched_cols)
        out["updatedCells"] = updated
    return out


def values_clear(doc: dict[str, Any], text: str) -> str:
    sheet, span = resolve(doc, text)
    rows, cols = grid(sheet)
    r0, c0, r1, c1 = span.bounded(rows, cols)
    r1, c1 = min(r1, rows), min(c1, cols)
    for key in list(sheet["cells"]):
        r, c = _rc(key)
        if r0 <= r < r1 and c0 <= c < c1:
            sheet["cells"][key].pop("v", None)
            if not sheet["cells"][key]:
                del sheet["cells"][key]
    return format_range(span.title, r0, c0, max(r1, r0 + 1), max(c1, c0 + 1))


def values_append(
    doc: dict[str, Any], text: str, values: object, option: str | None
) -> dict[str, Any]:
    """Append after the last row holding a value in the range's columns (grows the grid)."""
    matrix = _check_matrix(values, "data.values")
    sheet, span = resolve(doc, text)
    rows, cols = grid(sheet)
    r0, c0, _, c1 = span.bounded(rows, cols)
    last = r0 - 1
    for key, cell in sheet["cells"].items():
        r, c = _rc(key)
        if "v" in cell and c0 <= c < c1 and r >= r0:
            last = max(last, r)
    start = last + 1
    need_rows = start + len(matrix)
    need_cols = c0 + max((len(r) for r in matrix), default=0)
    g = sheet["properties"]["gridProperties"]
    g["rowCount"] = max(rows, need_rows)
    g["columnCount"] = max(cols, need_cols)
    target = format_range(span.title, start, c0, start + 1, c0 + 1)
    updates = values_write(doc, target, matrix, option)
    out: dict[str, Any] = {"spreadsheetId": doc["spreadsheetId"], "updates": updates}
    if last >= r0:
        out["tableRange"] = format_range(span.title, r0, c0, last + 1, c1)
    return out


# --- batchUpdate ---------------------------------------------------------------------------


def flatten(requests: object) -> list[dict[str, Any]]:
    """gspread-formatting sends `[[{…}], [{…}]]`; the API accepts nested lists."""
    out: list[dict[str, Any]] = []
    if not isinstance(requests, list):
        raise bad("Invalid JSON payload received. 'requests' must be a list.")
    for item in requests:
        if isinstance(item, list):
            out.extend(flatten(item))
        elif isinstance(item, dict):
            out.append(item)
        else:
            raise bad("Invalid JSON payload received. Each request must be an object.")
    return out


def batch_update(doc: dict[str, Any], body: object) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Apply every request to a copy; return (new document, replies). Nothing changes on error."""
    if not isinstance(body, dict):
        raise bad("Invalid JSON payload received.")
    requests = flatten(body.get("requests") or [])
    if not requests:
        raise bad("Must specify at least one request.")
    work = copy.deepcopy(doc)
    replies: list[dict[str, Any]] = []
    for i, request in enumerate(requests):
        if len(request) != 1:
            raise bad(f"Invalid requests[{i}]: exactly one kind of request must be set.")
        ((kind, params),) = request.items()
        handler = _HANDLERS.get(kind)
        if handler is None:
            raise bad(
                f"Invalid JSON payload received. Unknown name \"{kind}\" at 'requests[{i}]': "
                "Cannot find field."
            )
        if not isinstance(params, dict):
            raise bad(f"Invalid requests[{i}].{kind}: the request must be an object.")
        try:
            replies.append(handler(work, params))
        except ApiError as exc:
            raise ApiError(
                exc.code, f"Invalid requests[{i}].{kind}: {exc.message}", exc.status
            ) from None
    if total_cells(work) > MAX_CELLS:
        raise bad(
            "This action would increase the number of cells in the workbook above the limit "
            f"of {MAX_CELLS:,} cells."
        )
    return work, replies


def _reindex(doc: dict[str, Any]) -> None:
    for i, s in enumerate(doc["sheets"]):
        s["properties"]["index"] = i


def _check_grid(props: dict[str, Any]) -> None:
    g = props.get("gridProperties") or {}
    rows, cols = int(g.get("rowCount", 0)), int(g.get("columnCount", 0))
    if rows < 1 or cols < 1:
        raise bad("The grid must have at least one row and one column.")
    if cols > MAX_COLS:
        raise bad(f"The grid can have at most {MAX_COLS} columns.")
    if int(g.get("frozenRowCount", 0)) >= rows:
        raise bad("You can't freeze all visible rows on the sheet.")
    if int(g.get("frozenColumnCount", 0)) >= cols:
        raise bad("You can't freeze all visible columns on the sheet.")


def _title_taken(doc: dict[str, Any], title: str, except_id: object = None) -> bool:
    return any(
        s["properties"]["title"].lower() == title.lower()
        and s["properties"]["sheetId"] != except_id
        for s in doc["sheets"]
    )


def _int_field(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise bad(f"Invalid value at '{name}': {value!r}")
    return int(value)


def add_sheet(doc: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    props = dict(params.get("properties") or {})
    ids = {s["properties"]["sheetId"] for s in doc["sheets"]}
    if "sheetId" in props and props["sheetId"] is not None:
        sheet_id = _int_field(props["sheetId"], "sheetId")
        if sheet_id < 0:
            raise bad(f"Invalid sheetId: {sheet_id}. It must be non-negative.")
        if sheet_id in ids:
            raise bad(f"Sheet with id {sheet_id} already exists.")
    else:
        sheet_id = max(ids, default=0) + 1
    title = props.get("title") or f"Sheet{len(doc['sheets']) + 1}"
    if _title_taken(doc, title):
        raise bad(f'A sheet with the name "{title}" already exists. Please enter another name.')
    g = dict(props.get("gridProperties") or {})
    rows = _int_field(g.get("rowCount", DEFAULT_ROWS), "rowCount")
    cols = _int_field(g.get("columnCount", DEFAULT_COLS), "columnCount")
    index = props.get("index")
    index = len(doc["sheets"]) if index is None else max(0, min(int(index), len(doc["sheets"])))
    sheet = new_sheet(sheet_id, title, index, rows, cols)
    for extra in ("frozenRowCount", "frozenColumnCount", "hideGridlines"):
        if extra in g:
            sheet["properties"]["gridProperties"][extra] = g[extra]
    for extra in ("hidden", "tabColor", "tabColorStyle", "rightToLeft"):
        if extra in props:
            sheet["properties"][extra] = props[extra]
    _check_grid(sheet["properties"])
    doc["sheets"].insert(index, sheet)
    _reindex(doc)
    return {"addSheet": {"properties": copy.deepcopy(sheet["properties"])}}


def delete_sheet(doc: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    sheet = sheet_by_id(doc, params.get("sheetId"))
    if len(doc["sheets"]) == 1:
        raise bad("You can't remove all the sheets in a document.")
    doc["sheets"].remove(sheet)
    _reindex(doc)
    return {}


_SHEET_FIELDS = {
    "sheetId",
    "title",
    "index",
    "gridProperties",
    "hidden",
    "tabColor",
    "tabColorStyle",
    "rightToLeft",
    "*",
}
_GRID_FIELDS = {
    "rowCount",
    "columnCount",
    "frozenRowCount",
    "frozenColumnCount",
    "hideGridlines",
    "rowGroupControlAfter",
    "columnGroupControlAfter",
}


def update_sheet_properties(doc: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    props = params.get("properties") or {}
    fields = params.get("fields")
    if not fields:
        raise bad("At least one field must be updated; 'fields' is required.")
    try:
        tree = fieldmask.parse(str(fields))
    except fieldmask.FieldMaskError as exc:
        raise bad(str(exc)) from None
    for top, sub in tree.items():
        if top not in _SHEET_FIELDS:
            raise bad(f"Invalid field mask: unknown field '{top}'.")
        if top == "gridProperties" and any(k not in _GRID_FIELDS for k in sub):
            raise bad(f"Invalid field mask: unknown field in gridProperties '{fields}'.")
    sheet = sheet_by_id(doc, props.get("sheetId"))
    old_rows, old_cols = grid(sheet)
    target = sheet["properties"]
    before_title = target["title"]
    if "sheetId" in tree:
        raise bad("sheetId cannot be changed.")
    fieldmask.apply_update(target, props, tree)
    target["sheetId"] = props.get("sheetId")
    target.setdefault("title", before_title)
    target.setdefault("sheetType", "GRID")
    g = target.setdefault("gridProperties", {})
    g.setdefault("rowCount", old_rows)
    g.setdefault("columnCount", old_cols)
    if target["title"] != before_title and _title_taken(doc, target["title"], target["sheetId"]):
        raise bad(
            f'A sheet with the name "{target["title"]}" already exists. Please enter another name.'
        )
    _check_grid(target)
    new_rows, new_cols = grid(sheet)
    if new_rows < old_rows or new_cols < old_cols:
        # Shrinking the grid deletes the cut-off cells (and their formats).
        for key in list(sheet["cells"]):
            r, c = _rc(key)
            if r >= new_rows or c >= new_cols:
                del sheet["cells"][key]
        sheet["columns"] = {k: v for k, v in sheet["columns"].items() if int(k) < new_cols}
        sheet["rows"] = {k: v for k, v in sheet["rows"].items() if int(k) < new_rows}
    if "index" in tree and props.get("index") is not None:
        doc["sheets"].remove(sheet)
        doc["sheets"].insert(max(0, min(int(props["index"]), len(doc["sheets"]))), sheet)
        _reindex(doc)
    return {}


def _grid_range(doc: dict[str, Any], rng: object) -> tuple[dict[str, Any], int, int, int, int]:
    if not isinstance(rng, dict):
        raise bad("range is required.")
    sheet = sheet_by_id(doc, rng.get("sheetId", 0))
    rows, cols = grid(sheet)
    r0 = int(rng.get("startRowIndex") or 0)
    r1 = int(rng["endRowIndex"]) if rng.get("endRowIndex") is not None else rows
    c0 = int(rng.get("startColumnIndex") or 0)
    c1 = int(rng["endColumnIndex"]) if rng.get("endColumnIndex") is not None else cols
    if r0 < 0 or c0 < 0 or r1 < r0 or c1 < c0:
        raise bad("Invalid range: start must not be after end.")
    if r1 > rows or c1 > cols:
        title = sheet["properties"]["title"]
        raise bad(
            f"Range ({format_range(title, r0, c0, r1, c1)}) exceeds grid limits. "
            f"Max rows: {rows}, max columns: {cols}"
        )
    return sheet, r0, c0, r1, c1


def repeat_cell(doc: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    sheet, r0, c0, r1, c1 = _grid_range(doc, params.get("range"))
    fields = params.get("fields")
    if not fields:
        raise bad("'fields' is required.")
    try:
        tree = fieldmask.parse(str(fields))
    except fieldmask.FieldMaskError as exc:
        raise bad(str(exc)) from None
    source = params.get("cell") or {}
    if not isinstance(source, dict) or not isinstance(source.get("userEnteredFormat", {}), dict):
        raise bad("Invalid value at 'cell': userEnteredFormat must be an object.")
    for top in tree:
        if top not in ("userEnteredFormat", "userEnteredValue", "note", "*"):
            raise bad(f"Invalid field mask: unknown field '{top}'.")
    for r in range(r0, r1):
        for c in range(c0, c1):
            key = _key(r, c)
            cell = sheet["cells"].get(key, {})
            view = {"userEnteredFormat": cell.get("f", {}), "userEnteredValue": cell.get("v")}
            if "note" in cell:
                view["note"] = cell["note"]
            view = {k: v for k, v in view.items() if v is not None}
            fieldmask.apply_update(view, source, tree)
            new = {}
            if view.get("userEnteredValue"):
                new["v"] = view["userEnteredValue"]
            if view.get("userEnteredFormat"):
                new["f"] = view["userEnteredFormat"]
            if view.get("note"):
                new["note"] = view["note"]
            if new:
                sheet["cells"][key] = new
            else:
                sheet["cells"].pop(key, None)
    return {}


def update_dimension_properties(doc: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    rng = params.get("range") or {}
    sheet = sheet_by_id(doc, rng.get("sheetId", 0))
    rows, cols = grid(sheet)
    dimension = rng.get("dimension")
    if dimension not in ("ROWS", "COLUMNS"):
        raise bad("range.dimension must be ROWS or COLUMNS.")
    limit = rows if dimension == "ROWS" else cols
    start = int(rng.get("startIndex") or 0)
    end = int(rng["endIndex"]) if rng.get("endIndex") is not None else limit
    if start < 0 or end > limit or end < start:
        raise bad(
            f"Invalid dimension range {start}:{end}; the sheet has {limit} {dimension.lower()}."
        )
    fields = params.get("fields")
    if not fields:
        raise bad("'fields' is required.")
    tree = fieldmask.parse(str(fields))
    props = params.get("properties") or {}
    store = sheet["rows" if dimension == "ROWS" else "columns"]
    if "pixelSize" in tree or "*" in tree:
        size = props.get("pixelSize")
        for i in range(start, end):
            if size is None:
                store.pop(str(i), None)
            else:
                store[str(i)] = _int_field(size, "pixelSize")
    return {}


def auto_resize_dimensions(doc: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    dims = params.get("dimensions") or {}
    sheet_by_id(doc, dims.get("sheetId", 0))
    return {}  # the fake has no fonts to measure


def _all_charts(doc: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(s, ch) for s in doc["sheets"] for ch in s["charts"]]


def add_chart(doc: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    chart = copy.deepcopy(params.get("chart") or {})
    if not isinstance(chart.get("spec"), dict):
        raise bad("chart.spec is required.")
    existing = {ch["chartId"] for _, ch in _all_charts(doc)}
    if chart.get("chartId") is not None:
        chart_id = _int_field(chart["chartId"], "chartId")
        if chart_id in existing:
            raise bad(f"An object with id {chart_id} already exists.")
    else:
        chart_id = max(existing, default=1_000_000) + 1
    chart["chartId"] = chart_id
    position = chart.get("position") or {}
    anchor = (position.get("overlayPosition") or {}).get("anchorCell") or {}
    sheet_id = anchor.get(
        "sheetId", position.get("sheetId", doc["sheets"][0]["properties"]["sheetId"])
    )
    sheet = sheet_by_id(doc, sheet_id)
    chart.setdefault("position", {"overlayPosition": {"anchorCell": {"sheetId": sheet_id}}})
    sheet["charts"].append(chart)
    return {"addChart": {"chart": copy.deepcopy(chart)}}


def update_chart_spec(doc: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    chart_id = params.get("chartId")
    if not isinstance(params.get("spec"), dict):
        raise bad("spec is required.")
    for _, ch in _all_charts(doc):
        if ch["chartId"] == chart_id:
            ch["spec"] = copy.deepcopy(params["spec"])
            return {}
    raise bad(f"No chart with id: {chart_id}")


def delete_embedded_object(doc: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    object_id = params.get("objectId")
    for sheet, ch in _all_charts(doc):
        if ch["chartId"] == object_id:
            sheet["charts"].remove(ch)
            return {}
    raise bad(f"No object with id: {object_id}")


def update_spreadsheet_properties(doc: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    fields = params.get("fields")
    if not fields:
        raise bad("'fields' is required.")
    tree = fieldmask.parse(str(fields))
    fieldmask.apply_update(doc["properties"], params.get("properties") or {}, tree)
    doc["properties"].setdefault("title", "Untitled spreadsheet")
    return {}


_HANDLERS = {
    "addSheet": add_sheet,
    "deleteSheet": delete_sheet,
    "updateSheetProperties": update_sheet_properties,
    "repeatCell": repeat_cell,
    "updateDimensionProperties": update_dimension_properties,
    "autoResizeDimensions": auto_resize_dimensions,
    "addChart": add_chart,
    "updateChartSpec": update_chart_spec,
    "deleteEmbeddedObject": delete_embedded_object,
    "updateSpreadsheetProperties": update_spreadsheet_properties,
}


# --- metadata (GET spreadsheet) ------------------------------------------------------------


def _cell_data(cell: dict[str, Any] | None) -> dict[str, Any]:
    if not cell:
        return {}
    out: dict[str, Any] = {}
    if "v" in cell:
        out["userEnteredValue"] = copy.deepcopy(cell["v"])
        value = render(cell, "UNFORMATTED_VALUE")
        if "formulaValue" not in cell["v"]:
            key = (
                "stringValue"
                if isinstance(value, str)
                else "boolValue"
                if isinstance(value, bool)
                else "numberValue"
            )
            out["effectiveValue"] = {key: value}
        out["formattedValue"] = str(render(cell, "FORMATTED_VALUE"))
    if cell.get("f"):
        out["userEnteredFormat"] = copy.deepcopy(cell["f"])
    if cell.get("note"):
        out["note"] = cell["note"]
    return out


def _grid_data(sheet: dict[str, Any], r0: int, c0: int, r1: int, c1: int) -> dict[str, Any]:
    cells = sheet["cells"]
    last_row = max((r for r, c in map(_rc, cells) if r0 <= r < r1 and c0 <= c < c1), default=r0 - 1)
    row_data = []
    for r in range(r0, last_row + 1):
        values = [_cell_data(cells.get(_key(r, c))) for c in range(c0, c1)]
        while values and not values[-1]:
            values.pop()
        row_data.append({"values": values} if values else {})
    data: dict[str, Any] = {
        "rowMetadata": [
            {"pixelSize": sheet["rows"].get(str(r), DEFAULT_ROW_PX)} for r in range(r0, r1)
        ],
        "columnMetadata": [
            {"pixelSize": sheet["columns"].get(str(c), DEFAULT_COL_PX)} for c in range(c0, c1)
        ],
    }
    if r0:
        data["startRow"] = r0
    if c0:
        data["startColumn"] = c0
    if row_data:
        data["rowData"] = row_data
    return data


def metadata(
    doc: dict[str, Any],
    view_url: str,
    *,
    include_grid: bool = False,
    ranges: list[str] | None = None,
    fields: str | None = None,
) -> dict[str, Any]:
    wanted: dict[str, list[GridSpan]] | None = None
    if ranges:
        wanted = {}
        for text in ranges:
            _, span = resolve(doc, text)
            wanted.setdefault(span.title, []).append(span)
    sheets = []
    for s in doc["sheets"]:
        title = s["properties"]["title"]
        if wanted is not None and title not in wanted:
            continue
        entry: dict[str, Any] = {"properties": copy.deepcopy(s["properties"])}
        if s["charts"]:
            entry["charts"] = copy.deepcopy(s["charts"])
        if include_grid:
            rows, cols = grid(s)
            spans = (
                wanted[title] if wanted is not None else [GridSpan(title, None, None, None, None)]
            )
            entry["data"] = []
            for span in spans:
                r0, c0, r1, c1 = span.bounded(rows, cols)
                entry["data"].append(_grid_data(s, r0, c0, min(r1, rows), min(c1, cols)))
        sheets.append(entry)
    out = {
        "spreadsheetId": doc["spreadsheetId"],
        "properties": copy.deepcopy(doc["properties"]),
        "sheets": sheets,
        "spreadsheetUrl": view_url,
    }
    if fields:
        try:
            out = fieldmask.filter_response(out, fieldmask.parse(fields))
        except fieldmask.FieldMaskError as exc:
            raise bad(str(exc)) from None
    return out
