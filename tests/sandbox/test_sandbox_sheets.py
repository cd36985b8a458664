"""The fake Google Sheets v4 API and token endpoint, over real HTTP (raw requests and gspread).

Conformance with Google's documented behaviour: Bearer checks, 404/403, atomic batchUpdate,
FieldMasks, grid limits, RAW vs USER_ENTERED, fault injection, the request log, persistence
across a restart, and the escaped read-only HTML view.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gspread
import pytest
import requests
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from sandbox import SandboxServer, start_sandbox
from services.reports.sheets import make_client
from tests.sandbox.sheets_helpers import (
    SheetsControl,
    service_account_info,
    signed_jwt,
    token,
)

GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with start_sandbox(port=0) as srv:
        yield srv


@pytest.fixture
def ctl(server: SandboxServer) -> SheetsControl:
    control = SheetsControl(server.base_url)
    control.clear_faults()
    control.clear_log()
    return control


@pytest.fixture
def account(server: SandboxServer, ctl: SheetsControl) -> dict[str, Any]:
    info = service_account_info(server.base_url)
    ctl.register(info)
    return info


class Api:
    def __init__(self, base: str, bearer: str | None, sid: str) -> None:
        self.url = f"{base}/v4/spreadsheets/{sid}"
        self.http = requests.Session()
        self.http.trust_env = False
        if bearer:
            self.http.headers["Authorization"] = f"Bearer {bearer}"

    def get(self, suffix: str = "", **params: Any) -> requests.Response:
        return self.http.get(self.url + suffix, params=params, timeout=10)

    def batch(self, *requests_: Any) -> requests.Response:
        return self.http.post(
            self.url + ":batchUpdate", json={"requests": list(requests_)}, timeout=10
        )

    def put(self, rng: str, values: Any, option: str | None = "RAW") -> requests.Response:
        from urllib.parse import quote

        params = {"valueInputOption": option} if option else {}
        return self.http.put(
            f"{self.url}/values/{quote(rng, safe='')}",
            params=params,
            json={"values": values, "majorDimension": None},
            timeout=10,
        )

    def values(self, rng: str, render: str = "UNFORMATTED_VALUE") -> dict[str, Any]:
        from urllib.parse import quote

        r = self.http.get(
            f"{self.url}/values/{quote(rng, safe='')}",
            params={"valueRenderOption": render},
            timeout=10,
        )
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture
def api(server, ctl, account) -> Api:
    sid = ctl.create([account["client_email"]])
    return Api(server.base_url, token(server.base_url, account), sid)


def _error(r: requests.Response) -> dict[str, Any]:
    return r.json()["error"]


# --- auth -----------------------------------------------------------------------------------


def test_api_without_or_with_unknown_token_is_401(server, ctl, account):
    sid = ctl.create([account["client_email"]])
    for bearer in (None, "ya29.not-a-token"):
        r = Api(server.base_url, bearer, sid).get()
        assert r.status_code == 401
        assert _error(r)["status"] == "UNAUTHENTICATED"


def test_token_endpoint_verifies_the_rs256_assertion(server, ctl, account):
    good = requests.post(
        f"{server.base_url}/token", data={"grant_type": GRANT, "assertion": signed_jwt(account)}
    )
    assert good.status_code == 200
    assert good.json()["token_type"] == "Bearer" and good.json()["expires_in"] == 3599
    # Signed with another key under the registered key id: the signature does not verify.
    other = service_account_info(server.base_url, account["client_email"], n=1)
    forged = signed_jwt(account, key=load_pem_private_key(other["private_key"].encode(), None))
    for assertion in (forged, signed_jwt(account, aud="https://example.com/token"), "a.b"):
        r = requests.post(
            f"{server.base_url}/token", data={"grant_type": GRANT, "assertion": assertion}
        )
        assert r.status_code == 400
        assert r.json()["error"] in ("invalid_grant", "invalid_request")
    r = requests.post(f"{server.base_url}/token", data={"grant_type": "password"})
    assert r.json()["error"] == "unsupported_grant_type"


def test_unknown_and_revoked_keys_get_invalid_grant(server, ctl, account):
    unknown = service_account_info(server.base_url)  # never registered
    r = requests.post(
        f"{server.base_url}/token", data={"grant_type": GRANT, "assertion": signed_jwt(unknown)}
    )
    assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")
    sid = ctl.create([account["client_email"]])
    bearer = token(server.base_url, account)
    assert Api(server.base_url, bearer, sid).get().status_code == 200
    ctl.revoke(account)
    r = requests.post(
        f"{server.base_url}/token", data={"grant_type": GRANT, "assertion": signed_jwt(account)}
    )
    assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")
    # Tokens of a revoked key stop working too.
    assert Api(server.base_url, bearer, sid).get().status_code == 401


def test_unknown_spreadsheet_404_and_unshared_403(server, ctl, account):
    bearer = token(server.base_url, account)
    r = Api(server.base_url, bearer, "no-such-spreadsheet").get()
    assert r.status_code == 404 and _error(r)["status"] == "NOT_FOUND"
    sid = ctl.create(["someone-else@example.com"])
    r = Api(server.base_url, bearer, sid).get()
    assert r.status_code == 403 and _error(r)["status"] == "PERMISSION_DENIED"
    ctl.share(sid, account["client_email"].upper())  # e-mails compare case-insensitively
    assert Api(server.base_url, bearer, sid).get().status_code == 200


# --- metadata and batchUpdate -----------------------------------------------------------------


def test_metadata_has_what_gspread_needs(api):
    meta = api.get(includeGridData="false").json()
    assert {"title", "locale", "timeZone"} <= set(meta["properties"])
    (sheet,) = meta["sheets"]
    assert sheet["properties"] == {
        "sheetId": 0,
        "title": "Sheet1",
        "index": 0,
        "sheetType": "GRID",
        "gridProperties": {"rowCount": 1000, "columnCount": 26},
    }
    assert "data" not in sheet
    assert meta["spreadsheetUrl"].endswith("/_sandbox/sheets/view/" + meta["spreadsheetId"])


def test_batch_update_is_atomic(api):
    r = api.batch(
        {"addSheet": {"properties": {"title": "New", "sheetId": 5}}},
        {
            "updateSheetProperties": {
                "properties": {"sheetId": 999, "title": "x"},
                "fields": "title",
            }
        },
    )
    assert r.status_code == 400
    assert "requests[1].updateSheetProperties" in _error(r)["message"]
    titles = [s["properties"]["title"] for s in api.get().json()["sheets"]]
    assert titles == ["Sheet1"]  # the first request was not applied either


def test_unknown_request_kind_is_400_and_nested_lists_are_flattened(api):
    r = api.batch({"frobnicate": {}})
    assert r.status_code == 400 and "frobnicate" in _error(r)["message"]
    r = api.batch(
        [{"addSheet": {"properties": {"title": "A"}}}],
        [{"addSheet": {"properties": {"title": "B"}}}],
    )
    assert r.status_code == 200, r.text
    assert [list(x) for x in r.json()["replies"]] == [["addSheet"], ["addSheet"]]
    assert [s["properties"]["title"] for s in api.get().json()["sheets"]] == ["Sheet1", "A", "B"]


def test_add_sheet_rules(api):
    r = api.batch(
        {
            "addSheet": {
                "properties": {
                    "title": "W",
                    "sheetId": 202647,
                    "gridProperties": {"rowCount": 3, "columnCount": 2},
                }
            }
        }
    )
    props = r.json()["replies"][0]["addSheet"]["properties"]
    assert props["sheetId"] == 202647 and props["gridProperties"]["rowCount"] == 3
    dup = api.batch({"addSheet": {"properties": {"title": "w"}}})
    assert (
        dup.status_code == 400
        and 'A sheet with the name "w" already exists' in (_error(dup)["message"])
    )
    same_id = api.batch({"addSheet": {"properties": {"title": "Z", "sheetId": 202647}}})
    assert same_id.status_code == 400
    api.batch({"deleteSheet": {"sheetId": 0}})
    last = api.batch({"deleteSheet": {"sheetId": 202647}})
    assert last.status_code == 400 and "remove all the sheets" in _error(last)["message"]


@pytest.mark.parametrize(
    "fields",
    ["gridProperties/rowCount,gridProperties/columnCount", "gridProperties(rowCount,columnCount)"],
)
def test_shrinking_the_grid_deletes_cut_off_cells(api, fields):
    assert api.put("Sheet1!A1", [["a", "b", "c"], [1, 2, 3], [4, 5, 6]]).status_code == 200
    r = api.batch(
        {
            "updateSheetProperties": {
                "properties": {"sheetId": 0, "gridProperties": {"rowCount": 2, "columnCount": 2}},
                "fields": fields,
            }
        }
    )
    assert r.status_code == 200, r.text
    grid = api.get().json()["sheets"][0]["properties"]["gridProperties"]
    assert grid == {"rowCount": 2, "columnCount": 2}
    # Growing back does not resurrect the cut-off cells.
    api.batch(
        {
            "updateSheetProperties": {
                "properties": {"sheetId": 0, "gridProperties": {"rowCount": 5, "columnCount": 5}},
                "fields": fields,
            }
        }
    )
    assert api.values("Sheet1")["values"] == [["a", "b"], [1, 2]]


def test_frozen_rows_must_leave_one_unfrozen(api):
    r = api.batch(
        {
            "updateSheetProperties": {
                "properties": {
                    "sheetId": 0,
                    "gridProperties": {"rowCount": 1, "frozenRowCount": 1},
                },
                "fields": "gridProperties(rowCount,frozenRowCount)",
            }
        }
    )
    assert r.status_code == 400 and "freeze all visible rows" in _error(r)["message"]


def test_repeat_cell_and_widths_land_in_grid_data(api):
    api.put("Sheet1!A1", [["h1", "h2"], [1, 0.5]])
    r = api.batch(
        {
            "repeatCell": {
                "range": {"sheetId": 0, "startRowIndex": 0, "endRowIndex": 1},
                "cell": {"userEnteredFormat": {"textFormat": {"bold": True}}},
                "fields": "userEnteredFormat(textFormat)",
            }
        },
        {
            "repeatCell": {
                "range": {
                    "sheetId": 0,
                    "startRowIndex": 1,
                    "startColumnIndex": 1,
                    "endColumnIndex": 2,
                },
                "cell": {
                    "userEnteredFormat": {"numberFormat": {"type": "PERCENT", "pattern": "0.00%"}}
                },
                "fields": "userEnteredFormat.numberFormat",
            }
        },
        {
            "updateDimensionProperties": {
                "range": {"sheetId": 0, "dimension": "COLUMNS", "startIndex": 0, "endIndex": 1},
                "properties": {"pixelSize": 140},
                "fields": "pixelSize",
            }
        },
    )
    assert r.status_code == 200, r.text
    meta = api.get(includeGridData="true", ranges="Sheet1!A1:B2").json()
    data = meta["sheets"][0]["data"][0]
    assert data["columnMetadata"] == [{"pixelSize": 140}, {"pixelSize": 100}]
    row0, row1 = data["rowData"]
    assert row0["values"][0]["userEnteredFormat"] == {"textFormat": {"bold": True}}
    assert row1["values"][1]["formattedValue"] == "50.00%"
    filtered = api.get(
        includeGridData="True",
        ranges="Sheet1!A1",
        fields="sheets.data.rowData.values.userEnteredFormat",
    ).json()
    assert filtered == {
        "sheets": [
            {
                "data": [
                    {
                        "rowData": [
                            {"values": [{"userEnteredFormat": {"textFormat": {"bold": True}}}]}
                        ]
                    }
                ]
            }
        ]
    }


def test_charts_are_added_once_updated_and_deleted(api):
    spec = {"title": "T", "basicChart": {"chartType": "LINE"}}
    add = {
        "addChart": {
            "chart": {
                "chartId": 900001,
                "spec": spec,
                "position": {
                    "overlayPosition": {
                        "anchorCell": {"sheetId": 0, "rowIndex": 0, "columnIndex": 3}
                    }
                },
            }
        }
    }
    r = api.batch(add)
    assert r.json()["replies"][0]["addChart"]["chart"]["chartId"] == 900001
    assert api.batch(add).status_code == 400  # duplicate id
    r = api.batch({"updateChartSpec": {"chartId": 900001, "spec": {**spec, "title": "U"}}})
    assert r.status_code == 200
    charts = api.get().json()["sheets"][0]["charts"]
    assert [(c["chartId"], c["spec"]["title"]) for c in charts] == [(900001, "U")]
    assert api.batch({"updateChartSpec": {"chartId": 5, "spec": spec}}).status_code == 400
    assert api.batch({"deleteEmbeddedObject": {"objectId": 900001}}).status_code == 200
    assert "charts" not in api.get().json()["sheets"][0]


# --- values ---------------------------------------------------------------------------------


def test_raw_keeps_text_user_entered_parses(api):
    row = ["=cap", "7312345678901234567", "'007", "2026-11-16"]
    assert api.put("Sheet1!A1", [row], "RAW").status_code == 200
    assert api.put("Sheet1!A2", [row], "USER_ENTERED").status_code == 200
    formula = api.values("Sheet1!A1:D2", "FORMULA")["values"]
    assert formula[0] == row  # RAW: exactly what was sent, all strings
    unformatted = api.values("Sheet1!A1:D2")["values"]
    lost = unformatted[1][1]  # USER_ENTERED made the id a number: it lost its last digits
    assert isinstance(lost, float) and int(lost) != 7312345678901234567
    assert unformatted[1][2] == "007" and unformatted[1][3] == 46342  # date serial
    cells = api.get(includeGridData="true", ranges="Sheet1!A1:A2").json()
    values = [r["values"][0]["userEnteredValue"] for r in cells["sheets"][0]["data"][0]["rowData"]]
    assert values == [{"stringValue": "=cap"}, {"formulaValue": "=cap"}]


def test_value_input_option_is_required(api):
    r = api.put("Sheet1!A1", [["x"]], option=None)
    assert r.status_code == 400 and "valueInputOption" in _error(r)["message"]


def test_grid_limit_and_bounded_range_errors(api):
    r = api.put("Sheet1!A1000", [["x"], ["y"]])
    assert r.status_code == 400
    assert _error(r)["message"] == (
        "Range (Sheet1!A1001) exceeds grid limits. Max rows: 1000, max columns: 26"
    )
    r = api.put("Sheet1!A1:B2", [["a"], ["b"], ["c"]])
    assert r.status_code == 400
    assert (
        "Requested writing within range [Sheet1!A1:B2], but tried writing to row [3]"
        in (_error(r)["message"])
    )
    r = api.put("Sheet1!A1", [["x" * 50_001]])
    assert r.status_code == 400 and "50000 characters" in _error(r)["message"]
    r = api.put("Sheet1!A1", ["not", "rows"])
    assert r.status_code == 400 and "data.values" in _error(r)["message"]
    assert "values" not in api.values("Sheet1")  # nothing was written


def test_values_get_trims_and_normalises_ranges(api):
    api.put("Sheet1!B2", [["x", "", None], ["", "", ""]])
    got = api.values("Sheet1")
    assert got["range"] == "Sheet1!A1:Z1000"
    assert got["values"] == [[], ["", "x"]]
    empty = api.values("Sheet1!D5:E6")
    assert empty == {"range": "Sheet1!D5:E6", "majorDimension": "ROWS"}


def test_gspread_calls_work_against_the_fake(server, ctl, account):
    """gspread's own helpers (update, get, append, clear, freeze, resize) over real HTTP."""
    sid = ctl.create([account["client_email"]])
    gc = make_client(account, api_url=server.base_url)
    sh = gc.open_by_key(sid)
    ws = sh.add_worksheet("Wk 1", rows=10, cols=4)
    ws.update([["id", "n"], ["7312345678901234567", 3]], "A1", value_input_option="RAW")
    ws.append_rows([["x", 4]], value_input_option="RAW")
    assert ws.get("A1:B3", value_render_option="UNFORMATTED_VALUE") == [
        ["id", "n"],
        ["7312345678901234567", 3],
        ["x", 4],
    ]
    ws.freeze(rows=1)
    ws.resize(rows=3)
    ws.batch_clear(["A3:B3"])
    # FORMATTED_VALUE (the default) answers strings only.
    assert sh.values_batch_get(["'Wk 1'!A1:B5"])["valueRanges"][0]["values"] == [
        ["id", "n"],
        ["7312345678901234567", "3"],
    ]
    ws.clear()
    assert "values" not in sh.values_get("'Wk 1'")  # an empty range has no values at all
    with pytest.raises(gspread.exceptions.SpreadsheetNotFound):
        gc.open_by_key("missing-spreadsheet")


# --- faults, log, persistence, view -------------------------------------------------------


def test_fault_injection_and_request_log(api, ctl):
    ctl.fault(429, count=1, retry_after=7)
    r = api.get()
    assert r.status_code == 429 and r.headers["Retry-After"] == "7"
    assert _error(r)["status"] == "RESOURCE_EXHAUSTED"
    ctl.fault(503)
    assert api.get().status_code == 503
    ctl.fault(403)
    assert _error(api.get())["status"] == "PERMISSION_DENIED"
    assert api.get().status_code == 200  # faults are used up
    api.put("Sheet1!A1", [["x"]])
    put = ctl.log("/v4/")[-1]
    assert put["method"] == "PUT" and put["query"] == {"valueInputOption": ["RAW"]}
    assert put["body"] == {"values": [["x"]], "majorDimension": None}
    assert put["range"] == "Sheet1!A1" and put["status"] == 200
    token_entries = ctl.log("/token")
    assert all(e["body"] == {"grant_type": GRANT} for e in token_entries)  # never the JWT


def test_spreadsheets_survive_a_restart(tmp_path, account):
    state = tmp_path / "state.db"
    with start_sandbox(port=0, state_path=state) as first:
        ctl = SheetsControl(first.base_url)
        info = service_account_info(first.base_url)
        ctl.register(info)
        sid = ctl.create([info["client_email"]])
        Api(first.base_url, token(first.base_url, info), sid).put("Sheet1!A1", [["kept"]])
    with start_sandbox(port=0, state_path=state) as second:
        info["token_uri"] = f"{second.base_url}/token"
        api = Api(second.base_url, token(second.base_url, info), sid)
        assert api.values("Sheet1!A1")["values"] == [["kept"]]


def test_html_view_escapes_cells_and_lists_charts(server, api, ctl):
    api.put("Sheet1!A1", [["<script>alert(1)</script>", '=HYPERLINK("x")']])
    spec = {"title": "<b>T</b>", "basicChart": {"chartType": "LINE"}}
    api.batch({"addChart": {"chart": {"chartId": 7, "spec": spec}}})
    sid = api.url.rsplit("/", 1)[1]
    r = requests.get(f"{server.base_url}/_sandbox/sheets/view/{sid}", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert "<script>" not in r.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    assert "Chart #7" in r.text and "&lt;b&gt;T&lt;/b&gt;" in r.text
    assert "default-src 'none'" in r.headers["Content-Security-Policy"]
    assert requests.get(f"{server.base_url}/_sandbox/sheets/view/nope").status_code == 404


def test_html_view_leaves_unformatted_cells_readable(server, api, ctl):
    # A cell without a backgroundColor has Sheets' default (white), not Color{} = black: the
    # view painted every value cell black, hiding the exported report.
    api.put("Sheet1!A1", [["plain", 42]])
    white = {"red": 1, "green": 1, "blue": 1}
    api.batch(
        {
            "repeatCell": {
                "range": {
                    "sheetId": 0,
                    "startRowIndex": 1,
                    "endRowIndex": 2,
                    "startColumnIndex": 0,
                    "endColumnIndex": 1,
                },
                "cell": {"userEnteredFormat": {"backgroundColor": white}},
                "fields": "userEnteredFormat.backgroundColor",
            }
        }
    )
    sid = api.url.rsplit("/", 1)[1]
    html = requests.get(f"{server.base_url}/_sandbox/sheets/view/{sid}", timeout=10).text
    assert "background:rgb(0,0,0)" not in html
    assert "title='plain'>plain</td>" in html and "style=''" in html
    assert "background:rgb(255,255,255)" in html
