"""Outside text inside Streamlit Markdown, shown literally: the one Markdown helper.

Every Streamlit text element (``st.markdown``, ``st.caption``, alerts, toasts, widget labels,
``help``, ``st.metric`` labels, progress text) renders its string as GitHub-flavored Markdown
plus Streamlit's own syntax (https://docs.streamlit.io/develop/api-reference/text/st.markdown):

* CommonMark/GFM: links and images (``[x](url)``, ``![x](url)``, ``<https://…>``, and bare
  ``www.…``/``https://…``/``a@b.c`` autolinks), emphasis, code, headings, lists, tables,
  strikethrough;
* LaTeX between ``$``; colored text and badges (``:red[…]``, ``:blue-badge[…]``) through
  remark-directive; Material icons ``:material/name:``, emoji shortcodes ``:smile:`` and
  ``:streamlit:``, and arrows (``->`` → "→"), all replaced in the parsed *text*.

A display name such as ``![](//e.vl/p)[Login](https://e.vl)`` must show as those characters,
not as a tracking pixel and a phishing link. So :func:`md_text`:

1. makes the text one line (``services.safe_text.plain_text``: no block structure can start,
   bidi overrides visible);
2. backslash-escapes every character CommonMark, GFM, remark-math and remark-directive give a
   meaning to (any ASCII punctuation may be escaped, CommonMark §2.4);
3. puts an invisible WORD JOINER (U+2060) where a replacement that runs on the *parsed* text
   (where a backslash no longer is) would start: shortcodes after ``:``, GFM's autolink
   literals (``https://``, ``www.``, ``a@b.c`` — mdast-util-gfm-autolink-literal finds them
   in text nodes) and ``->``-like arrows. ``:material/`` is rewritten in the raw source,
   where the escaped slash stops it.

Use it for every piece of outside text placed in a Markdown string; our own formatting around
it stays Markdown. Plain-text places (``st.text``, dataframe cells, select options) need only
``plain_text``.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from services.safe_text import plain_text, safe_tiktok_url

#: Escaped with a backslash. "'", '"', ",", ";", "?", "%", "/", "=" and "@" carry no meaning
#: once the characters below are escaped and the text is one line, so they stay readable.
MARKDOWN_SPECIAL = frozenset("\\`*_{}[]()<>#+-.!|~$:&^")
WORD_JOINER = "\u2060"
_ARROW_PAIRS = re.compile(r"(?<=[-<>~])(?=[-<>=])")
#: Where text-level replacements would start, broken with a WORD JOINER: a ":" before a name
#: or "/" (":smile:", ":red[", ":material_x:", "https://"), "www" before "." and "@" before a
#: domain (GFM's autolink literals, found in the parsed text). A colon before a space is left
#: alone, so "Demo history: 14 days" reads and searches as written.
_TEXT_TRIGGERS = re.compile(r"(?<=:)(?=[\w+/-])|(?i:(?<=www))(?=\.)|(?<=@)(?=[\w-])")


def md_text(value: object) -> str:
    """``value`` as Markdown that renders exactly as the text (one line)."""
    text = _TEXT_TRIGGERS.sub(WORD_JOINER, _ARROW_PAIRS.sub(WORD_JOINER, plain_text(value)))
    return "".join("\\" + ch if ch in MARKDOWN_SPECIAL else ch for ch in text)


def md_link(label: object, url: object) -> str:
    """A Markdown link to ``url`` when it is an https TikTok URL (``safe_tiktok_url``), else
    just the label as text: outside data never decides where a link goes."""
    checked = safe_tiktok_url(url)
    text = md_text(label)
    return f"[{text}]({checked})" if checked else text


__all__ = ["md_link", "md_text"]


def is_web_url(text: str, schemes: tuple[str, ...] = ("http", "https")) -> bool:
    """Whether st.image/st.video will fetch ``text`` as a link rather than open it as a file
    on this server (they do that with any string that is not a URL)."""
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme in schemes and bool(parts.hostname) and text.isprintable()
