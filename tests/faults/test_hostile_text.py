"""Fault suite, issue 11 item 1: text from TikTok is shown as text, never Markdown or chart HTML.

Catalogue row proposed to the lead (the fault catalogue (tests/faults), next to X5):

* X7 — a display name, username, video title, hashtag, ``share_url`` or an OAuth callback's
  ``error``/``error_description`` carries Markdown (``![x](https://evil/p.png)``,
  ``[Login](https://evil)``), HTML (``<a href>``, ``<span style>``), LaTeX (``$x$``),
  Streamlit shortcodes (``:red[x]``, ``:material/home:``, ``:smile:``), a formula or an RTL
  override: every page and chart shows the characters; links come only from checked https
  TikTok URLs.

This module holds the unit cases (the two escaping helpers, the URL check, every chart);
``tests/pages/test_hostile_pages.py`` runs every page with the sandbox's hostile creator.
"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime

import pandas as pd
import pytest

from dashboard.text import MARKDOWN_SPECIAL, WORD_JOINER, md_link, md_text
from sandbox.catalog import DEMO_CREATORS, HOSTILE_TEXT
from services.analytics import charts as c
from services.analytics import metrics as m
from services.safe_text import cell_text, plain_text, plot_label, safe_tiktok_url

HOSTILE = DEMO_CREATORS[-1]
PAYLOADS = [
    HOSTILE.display_name,
    HOSTILE.username,
    HOSTILE.bio,
    *HOSTILE_TEXT.subjects,
    "<https://evil.example>",
    "www.evil.example and https://evil.example and a@evil.example",
    "line one\n\n# heading\n    code\n> quote\n- item",
    ":streamlit: :+1: :-1: :material_home: :blue-badge[x] :small[y] :help[z]",
    "&lt;b&gt; &#58;smile&#58; &amp;",
    "\\*not bold\\* \\",
    "x -> y <- z <-> w -- v >= u <= t ~= s",
    "| a | b |\n|---|---|\n| 1 | 2 |",
    "[^1] footnote and ^sup^ and {curly}",
]

_PUNCT = re.escape("\\`*_{}[]()<>#+-.!|~$:&^")


def _all_escaped(text: str) -> bool:
    i = 0
    while i < len(text):
        if text[i] == "\\":
            if i + 1 >= len(text) or text[i + 1] not in MARKDOWN_SPECIAL:
                return False
            i += 2
        elif text[i] in MARKDOWN_SPECIAL:
            return False
        else:
            i += 1
    return True


#: What Streamlit's remark plugins look for in text nodes (mdast-util-gfm-autolink-literal,
#: remark-emoji, Streamlit's material/logo/arrow plugins).
TEXT_LEVEL = (
    r"https?://",
    r"www\.",
    r"[-.+\w]+@[-\w]+\.[-\w]+",
    r":[\w+-][\w+-]*:",
    r":material_\w+:",
    r":streamlit:",
    r"(^|\s)(<->|->|<-|--|>=|<=|~=)(\s|$)",
)


def _text_node(text: str) -> str:
    """The parsed text node of md_text's output: backslash escapes resolved."""
    return re.sub(rf"\\([{_PUNCT}])", r"\1", text)


def _unescape_md(text: str) -> str:
    """What CommonMark makes of md_text's output: backslash escapes dropped (§2.4)."""
    return re.sub(rf"\\([{_PUNCT}])", r"\1", text).replace(WORD_JOINER, "")


@pytest.mark.parametrize("payload", PAYLOADS)
def test_md_text_escapes_everything_markdown_reads(payload):
    out = md_text(payload)
    # No Markdown construct can start: every special character carries its backslash.
    assert _all_escaped(out), out
    # ":material/" is rewritten in the raw source: it must not occur there.
    assert ":material/" not in out
    # The replacements that run on the parsed text (escapes gone, word joiners kept) find
    # nothing: GFM autolink literals, emoji/material/logo shortcodes, arrows.
    node = _text_node(out)
    for pattern in TEXT_LEVEL:
        assert not re.search(pattern, node, re.IGNORECASE), (pattern, node)
    # One line: no paragraph, heading, list, quote or code block can begin.
    assert "\n" not in out and "\r" not in out
    # Nothing is lost: unescaped, it is the text (on one line, bidi controls visible).
    assert _unescape_md(out) == plain_text(payload)


def test_md_text_examples():
    assert md_text("![x](https://e.vl/p)") == (
        "\\!\\[x\\]\\(https\\:" + WORD_JOINER + "//e\\.vl/p\\)"
    )
    assert md_text("$5 and :red[x]") == "\\$5 and \\:" + WORD_JOINER + "red\\[x\\]"
    assert md_text("Luna's Kitchen") == "Luna's Kitchen"
    assert md_text("Demo history: 14 days") == "Demo history\\: 14 days"  # no joiner needed
    assert md_text("www.x.io a@b.io") == (
        "www" + WORD_JOINER + "\\.x\\.io a@" + WORD_JOINER + "b\\.io"
    )
    assert md_text(None) == ""


def test_bidi_overrides_are_made_visible():
    assert plain_text("\u202eexe.gpj\u202c") == "\ufffdexe.gpj\ufffd"
    assert "\u202e" not in md_text("\u202ex") and "\u202e" not in plot_label("\u202ex")


@pytest.mark.parametrize("payload", PAYLOADS)
def test_plot_label_shows_text_literally(payload):
    out = plot_label(payload)
    assert "<" not in out and ">" not in out and "$" not in out and "\n" not in out
    # plotly decodes entities for display: what it shows is the text itself.
    assert html.unescape(out) == plain_text(payload)


@pytest.mark.parametrize(
    "value, shown",
    [
        ('=HYPERLINK("https://evil.example","x")', '\u2060=HYPERLINK("https://evil.example","x")'),
        ("+1 555", "\u2060+1 555"),
        ("-5 tips", "\u2060-5 tips"),
        ("@luna", "\u2060@luna"),
        ("Soup = love", "Soup = love"),
        ("\n=1+1", "\u2060=1+1"),
    ],
)
def test_cell_text_never_starts_a_formula(value, shown):
    """X6 for the dataframe's "Download as CSV": a spreadsheet opens these cells as text."""
    assert cell_text(value) == shown


@pytest.mark.parametrize(
    "url, ok",
    [
        ("https://www.tiktok.com/@luna/video/7300000000000000001", True),
        ("https://tiktok.com/@luna", True),
        ("https://vm.tiktok.com/ZMabc/", True),
        ("https://www.tiktok.com:443/@luna", True),
        ("http://www.tiktok.com/@luna", False),
        ("javascript:alert(1)//www.tiktok.com", False),
        ("https://www.tiktok.com.evil.example/@luna", False),
        ("https://eviltiktok.com/@luna", False),
        ("https://www.tiktok.com@evil.example/", False),
        ("https://user:pw@www.tiktok.com/", False),
        ("https://evil.example\\@www.tiktok.com/", False),
        ("https://www.tiktok.com:8443/@luna", False),
        ("https://www.tiktok.com/@luna\n", False),
        ("//www.tiktok.com/@luna", False),
        ("", False),
        (None, False),
        (42, False),
    ],
)
def test_safe_tiktok_url(url, ok):
    assert safe_tiktok_url(url) == (url if ok else None)


def test_md_link_only_for_checked_urls():
    good = "https://www.tiktok.com/@luna/video/1"
    assert md_link("open on TikTok", good) == f"[open on TikTok]({good})"
    assert md_link("open on TikTok", "https://e.vl/p") == "open on TikTok"
    assert md_link("[x](y)", "javascript:x") == md_text("[x](y)")


# -- charts --------------------------------------------------------------------------------

TITLES = list(HOSTILE_TEXT.subjects)
NAME = HOSTILE.display_name


def ts(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp())


def _strings(fig) -> list[str]:
    """Every string plotly will draw or put in a hover: layout and trace text fields."""
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

    walk(json.loads(fig.to_json()))
    return out


def _assert_no_markup_from(fig, needles=("<a", "<span", "<b>bold", "$x$", "<img")) -> None:
    strings = _strings(fig)
    for s in strings:
        for needle in needles:
            assert needle not in s, (needle, s)


def _videos(n: int) -> pd.DataFrame:
    posted = [ts(2024, 1, 1, 2) + i * 7 * 86_400 for i in range(n)]
    return pd.DataFrame(
        {
            "video_id": [f"v{i}" for i in range(n)],
            "open_id": "a",
            "create_time": posted,
            "title": [TITLES[i % len(TITLES)] + " #__bold__" for i in range(n)],
            "description": "",
            "captured_at": pd.array([ts(2024, 6, 1)] * n, dtype="Int64"),
            "view_count": pd.array([100 * (i + 1) for i in range(n)], dtype="Int64"),
        }
    )


def test_top_movers_labels_are_escaped():
    n = len(TITLES)
    gains = pd.DataFrame(
        {
            "video_id": [f"73{i:017d}" for i in range(n)],
            "open_id": "a",
            "create_time": [0] * n,
            "title": TITLES,
            "share_url": "",
            "cover_image_url": "",
            "from_at": ts(2024, 5, 1),
            "to_at": ts(2024, 5, 8),
            "views_start": pd.array([100] * n, dtype="Int64"),
            "views_end": pd.array([200 + n - i for i in range(n)], dtype="Int64"),
            "views_gained": pd.array(
                [100 + n - i for i in range(n)], dtype="Int64"
            ),  # first biggest
            "baseline": "snapshot",
            "unmeasured": 0,
        }
    )
    fig = c.top_movers_bar(m.top_movers(gains), tz="UTC")
    labels = list(fig.data[0].y)
    assert any(
        html.unescape(label).startswith('<a href="//evil.example">x</a>') for label in labels
    )
    assert any("&lt;span style=" in label for label in labels)
    _assert_no_markup_from(fig)


def test_legend_and_hover_names_are_escaped():
    series = pd.DataFrame(
        {
            "open_id": ["a", "a"],
            "captured_at": [ts(2024, 5, 1), ts(2024, 5, 2)],
            "follower_count": pd.array([1, 2], dtype="Int64"),
        }
    )
    name = '<a href="//evil.example">x</a> $x$'
    fig = c.follower_trend(series, tz="UTC", names={"a": name})
    assert fig.data[0].name == '&lt;a href="//evil.example"&gt;x&lt;/a&gt; &#36;x&#36;'
    assert "%{fullData.name}" in fig.data[0].hovertemplate  # hover shows the escaped name
    _assert_no_markup_from(fig)


def test_velocity_outlier_and_hashtag_charts_escape_titles():
    videos = _videos(12)
    curves = pd.DataFrame(
        {
            "video_id": ["v0", "v0", "v1", "v1"],
            "open_id": "a",
            "create_time": [ts(2024, 5, 1)] * 4,
            "captured_at": [ts(2024, 5, 1) + h * 3600 for h in (12, 48, 12, 48)],
            "view_count": pd.array([10, 40, 5, 50], dtype="Int64"),
        }
    )
    titles = {"v0": TITLES[0], "v1": TITLES[1]}
    for fig in (
        c.velocity_curves(m.growth_curves(curves), titles=titles),
        c.outlier_scatter(m.outliers(videos)),
        c.hashtag_bars(m.hashtag_performance(videos)),
    ):
        _assert_no_markup_from(fig)
    names = [t.name for t in c.velocity_curves(m.growth_curves(curves), titles=titles).data]
    assert html.unescape(names[0]).startswith("<a href=")
    texts = [t for trace in c.outlier_scatter(m.outliers(videos)).data for t in trace.text]
    assert any(html.unescape(t).startswith("<span style=") for t in texts)
