"""Fault suite, issue 11 item 1 (catalogue X7, see test_hostile_text.py): every page with the
sandbox's hostile creator connected and synced.

The creator ``@__h4x__.md`` (sandbox/catalog.py) has a display name that is a Markdown tracking
pixel plus a phishing link, a Markdown-bold username, and titles made of HTML links and styles,
LaTeX, Streamlit shortcodes, a formula and an RTL override. AppTest gives each element's
Markdown source (``.value``/``.label``/``.help``): none may contain the payload unescaped, and
the name must be there, escaped (shown as text). Charts are checked in the figure JSON the
browser receives.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from dashboard.text import md_text
from sandbox.catalog import DEMO_CREATORS
from services.access import LOCAL_ACTOR
from services.accounts import start_connect
from services.db import open_db
from services.demo_history import load_demo_history
from services.safe_text import safe_tiktok_url
from tests.pages.conftest import (  # noqa: F401  (the autouse fixture clears Streamlit caches)
    _fresh_streamlit_caches,
    connect_demo,
    current_runtime,
    open_page,
)

HOSTILE = DEMO_CREATORS[-1]
#: Fragments that would render as markup if they reached Streamlit's Markdown unescaped.
RAW_MARKUP = (
    "](https://e.vl",
    "](//e.vl",
    "](https://evil",
    "![",
    "<a ",
    "<span",
    "<img",
    "<b>",
    "$x$",
    ":red[",
    ":material/home",
    ":smile:",
    "**b**",
    "__u__",
    "~~s~~",
    "\u202e",
    HOSTILE.display_name,
    HOSTILE.username,
)
#: ... and what plotly's pseudo-HTML and LaTeX would read (Markdown means nothing to plotly).
RAW_PLOTLY = ("<a ", "<span", "<img", "<b>bold", "<br>new", "$x$", "$$y", "\u202e")


def _markdown_sources(at) -> list[str]:
    """Every string Streamlit renders as Markdown on this page."""
    out: list[str] = []
    for kind in (
        "title",
        "header",
        "subheader",
        "markdown",
        "caption",
        "info",
        "warning",
        "error",
        "success",
        "toast",
    ):
        out.extend(str(e.value) for e in getattr(at, kind))
    for kind in (
        "button",
        "metric",
        "expander",
        "tabs",
        "checkbox",
        "selectbox",
        "multiselect",
        "text_input",
        "number_input",
    ):
        for e in getattr(at, kind):
            out.extend(str(x) for x in (getattr(e, "label", None), getattr(e, "help", None)) if x)
    return out


def _figure_strings(at) -> list[str]:
    out: list[str] = []

    def walk(node):
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for chart in at.get("plotly_chart"):
        walk(json.loads(chart.proto.spec))
    return out


def _assert_no_raw_markup(strings: list[str], fragments=RAW_MARKUP) -> None:
    for text in strings:
        for fragment in fragments:
            assert fragment not in text, (fragment, text)


@pytest.fixture
def hostile():
    rt = current_runtime()
    account = connect_demo(rt, HOSTILE.username)
    result = load_demo_history(rt.settings, days=10, actor=LOCAL_ACTOR)
    assert not result.failures
    return rt, account


def test_accounts_page_shows_the_hostile_name_as_text(hostile):
    at = open_page("accounts")
    assert not at.exception
    sources = _markdown_sources(at)
    _assert_no_raw_markup(sources)
    assert any(md_text(HOSTILE.display_name) in s for s in sources)
    assert any(f"@{md_text(HOSTILE.username)}" in s for s in sources)


def test_connected_message_shows_the_hostile_name_as_text():
    rt = current_runtime()
    with open_db(rt.settings.database_path) as db:
        url = start_connect(
            db,
            rt.settings,
            rt.keyring,
            scopes=["user.info.basic", "user.info.profile", "video.list"],
            actor=LOCAL_ACTOR,
        )
    from tests.pages.conftest import consent_params

    params = consent_params(rt, url, creator=HOSTILE.username)
    at = open_page("accounts", query={k: v[0] for k, v in params.items()})
    assert not at.exception
    flash = [s.value for s in at.success] + [w.value for w in at.warning]
    assert any(md_text(f"{HOSTILE.display_name} (@{HOSTILE.username})") in f for f in flash)
    _assert_no_raw_markup(_markdown_sources(at))


def test_oauth_error_parameters_are_shown_as_text():
    """The callback's `error` (and `error_description`) come from the address bar: anyone can
    send a link with them."""
    rt = current_runtime()
    with open_db(rt.settings.database_path) as db:
        url = start_connect(
            db, rt.settings, rt.keyring, scopes=["user.info.basic"], actor=LOCAL_ACTOR
        )
    state = parse_qs(urlsplit(url).query)["state"][0]
    hostile_error = "![x](https://e.vl/p)[Login](//e.vl)"
    at = open_page(
        "accounts",
        query={
            "state": state,
            "error": hostile_error,
            "error_description": '<a href="//e.vl">x</a> :red[$x$]',
        },
    )
    assert not at.exception
    (error,) = at.error
    assert "Connecting failed" in error.value
    assert md_text(hostile_error) in error.value
    _assert_no_raw_markup(_markdown_sources(at))


def test_overview_shows_the_hostile_name_as_text(hostile):
    at = open_page("overview")
    assert not at.exception
    sources = _markdown_sources(at)
    _assert_no_raw_markup(sources)
    assert any(f"**{md_text(HOSTILE.display_name)}" in s for s in sources)  # the sync line
    _assert_no_raw_markup(_figure_strings(at), RAW_PLOTLY)
    at.button(key="sync_now").click().run()
    assert not at.exception
    _assert_no_raw_markup(_markdown_sources(at))
    assert any(md_text(HOSTILE.display_name) in s.value for s in at.success)


def test_videos_page_shows_titles_as_plain_cells_and_links_only_to_tiktok(hostile):
    at = open_page("videos")
    assert not at.exception
    _assert_no_raw_markup(_markdown_sources(at))
    table = at.dataframe[0].value
    titles = set(table["title"])
    # Dataframe cells are plain text: the title is there, character for character.
    assert '<a href="//evil.example">x</a> tutorial' in titles
    assert "$x$ and $$y$$ math tricks" in titles
    # A formula-like title keeps its characters but cannot run in a downloaded CSV.
    assert '\u2060=HYPERLINK("https://evil.example","x")' in titles
    assert all(link is None or safe_tiktok_url(link) == link for link in table["link"])
    assert table["link"].notna().any()


@pytest.mark.parametrize("tab", ["Top movers", "Velocity", "Outliers", "When to post",
                                 "Hashtags"])
def test_insights_charts_escape_the_hostile_titles(hostile, tab):
    at = open_page("insights", state={"period_preset": "Last 7 days"}, query={"tab": tab})
    assert not at.exception
    _assert_no_raw_markup(_markdown_sources(at))
    strings = _figure_strings(at)
    _assert_no_raw_markup(strings, RAW_PLOTLY)
    if tab == "Top movers":  # titles as tick labels (the other tabs may have none this week)
        assert any("&lt;a href=" in s or "&lt;span style=" in s for s in strings)


def test_error_messages_are_shown_as_text():
    """A ReelboardError's message can name an account: the page's error box escapes it."""
    from streamlit.testing.v1 import AppTest

    def page():
        from dashboard.errors import show_error
        from services.errors import ReelboardError

        show_error(
            ReelboardError(
                "Account ![x](https://e.vl/p)[Login](//e.vl) failed.\n- fix", step="needs_reconnect"
            )
        )

    at = AppTest.from_function(page).run()
    (error,) = at.error
    assert error.value.startswith("**Needs reconnect** — Account ")
    assert md_text("![x](https://e.vl/p)[Login](//e.vl)") in error.value
    assert "  \n\\- fix" in error.value  # the line break kept, the list marker escaped
    _assert_no_raw_markup([error.value])


def test_sync_now_with_overflowing_counters_says_so_and_the_page_survives():
    """N10/N11 in the app: TikTok sends 2^62 three times and 10^30 (the old run crashed into
    "Something went wrong" and stayed 'running'); now the run ends partial with a sentence."""
    import requests

    rt = current_runtime()
    connect_demo(rt, "quietpotter")
    requests.post(
        f"{rt.settings.api_base_url}/_sandbox/faults",
        json={
            "kind": "counter_override",
            "field": "view_count",
            "path": "/v2/video/list/",
            "values": [2**62, 2**62, 2**62, 10**30],
        },
        timeout=10,
    ).raise_for_status()
    at = open_page("overview")
    at.button(key="sync_now").click().run()
    assert not at.exception
    assert not any("Something went wrong" in e.value for e in at.error)
    (warning,) = [w for w in at.warning if "partly synced" in w.value]
    assert "4 number\\(s\\) TikTok sent" in warning.value
    with open_db(rt.settings.database_path) as db:
        assert db.execute("SELECT status FROM sync_runs").fetchall() == [("partial",)]
        assert (
            db.execute("SELECT count(*) FROM video_snapshots WHERE view_count IS NULL").fetchone()[
                0
            ]
            == 4
        )
