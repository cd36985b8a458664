"""Fault suite, issue 11 item 8: a web page must not drive the sandbox's control API.

A page on any site can make a browser POST a "simple" request (text/plain, no CORS preflight) to
a loopback port; the sandbox's /_sandbox/ routes change state (revoke an authorization, move the
clock), so they refuse foreign origins and anything that is not application/json.
"""

from __future__ import annotations

import json

from tests.sandbox.helpers import Client


def test_a_cross_origin_text_plain_post_cannot_revoke_an_account(sb: Client) -> None:
    """What a <form enctype=text/plain> or fetch(no-cors) on another site can send: refused,
    and the creator's tokens keep working."""
    tokens = sb.connect()
    body = json.dumps({"kind": "revoke", "creator": "lunakitchen"})
    for headers in (
        {"Content-Type": "text/plain", "Origin": "https://evil.example"},
        {"Content-Type": "application/json", "Origin": "https://evil.example"},
        {"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"},
        {"Content-Type": "application/json", "Origin": "null"},
    ):
        r = sb.http.post(f"{sb.base}/_sandbox/faults", data=body, headers=headers)
        assert r.status_code == 403, (headers, r.text)
        assert "error" in r.json()
    assert sb.user_info(tokens["access_token"], "open_id").status_code == 200


def test_control_posts_need_a_json_content_type(sb: Client) -> None:
    before = sb.now()  # frozen at START by the fixture
    r = sb.http.post(
        f"{sb.base}/_sandbox/clock",
        data='{"advance": 3600}',
        headers={"Content-Type": "text/plain"},
    )
    assert r.status_code == 415
    assert "application/json" in r.json()["error"]
    assert sb.now() == before


def test_same_origin_control_posts_still_work(sb: Client) -> None:
    r = sb.http.post(
        f"{sb.base}/_sandbox/clock",
        json={"advance": 60},
        headers={"Origin": sb.base, "Sec-Fetch-Site": "same-origin"},
    )
    assert r.status_code == 200, r.text


def test_the_fake_sheets_control_routes_refuse_a_web_page_too(sb: Client) -> None:
    """/_sandbox/sheets/ (register or revoke a service-account key, share a spreadsheet, inject
    faults) went straight to its own dispatcher, past the origin and content-type checks."""
    body = json.dumps({"status": 429, "count": 5})
    for headers in (
        {"Content-Type": "text/plain"},
        {"Content-Type": "text/plain", "Origin": "https://evil.example"},
        {"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"},
    ):
        r = sb.http.post(f"{sb.base}/_sandbox/sheets/faults", data=body, headers=headers)
        assert r.status_code in (403, 415), (headers, r.status_code, r.text)
    r = sb.http.post(f"{sb.base}/_sandbox/sheets/spreadsheets", json={"title": "ok"})
    assert r.status_code == 201, r.text
    assert sb.http.get(f"{sb.base}/_sandbox/sheets/view/{r.json()['spreadsheetId']}").ok
