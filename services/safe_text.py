"""Text from TikTok (names, titles, links) made safe to show: data, never markup.

Three small helpers, one per place outside text ends up:

* :func:`plain_text` — for places that show text as text (dataframe cells, select options):
  one line, no control characters, bidirectional overrides made visible.
* :func:`plot_label` — for plotly titles, tick and legend labels, hover values: plotly reads
  these as pseudo-HTML (``<a href>``, ``<span style>``, ``<b>``, ``<br>``) and as LaTeX when a
  string is wrapped in ``$``; escaped, they show literally
  (https://plotly.com/chart-studio-help/adding-HTML-and-links-to-charts/).
* :func:`safe_tiktok_url` — the only links Reelboard draws from outside data: https URLs on
  tiktok.com, without credentials.

The Markdown helper is ``dashboard.text.md_text`` (Markdown is a Streamlit matter).
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

#: Bidirectional embeddings, overrides and isolates (and the marks): U+202E turns "exe.gpj" into
#: "jpg.exe" on screen. Shown as U+FFFD so a reader sees something was there.
BIDI_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
)
REPLACEMENT = "\ufffd"

_WHITESPACE = re.compile(r"\s+")


def plain_text(value: object) -> str:
    """``value`` as one line of plain text: whitespace runs (newlines, tabs) become one space,
    other control and format characters are dropped, bidi controls become U+FFFD."""
    if value is None:
        return ""
    text = str(value)
    out = []
    for ch in text:
        if ch in BIDI_CONTROLS:
            out.append(REPLACEMENT)
        elif ch.isspace():
            out.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cs"):
            continue  # control characters and lone surrogates: nothing to show
        else:
            out.append(ch)
    return _WHITESPACE.sub(" ", "".join(out)).strip()


def plot_label(value: object) -> str:
    """Text for any plotly string (title, axis/tick/legend label, hover value) that shows
    literally: ``&``, ``<`` and ``>`` become entities (plotly decodes them back for display),
    and ``$`` becomes ``&#36;`` so a ``$…$`` label is not typeset as LaTeX."""
    text = plain_text(value)
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("$", "&#36;")
    )


def safe_tiktok_url(url: object) -> str | None:
    """``url`` if it is an https link to tiktok.com or a subdomain, with no credentials, port
    other than 443, backslash, whitespace or control character; otherwise None.

    TikTok's Video Object ``share_url`` and the profile links are such URLs
    (https://developers.tiktok.com/doc/tiktok-api-v2-video-object); anything else from the
    answer is not drawn as a link (a ``javascript:`` or look-alike host would be).
    """
    if not isinstance(url, str) or not url or len(url) > 2048:
        return None
    if any(ch.isspace() or ch == "\\" or unicodedata.category(ch) in ("Cc", "Cf") for ch in url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if parts.scheme.lower() != "https" or port not in (None, 443):
        return None
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return None
    if host != "tiktok.com" and not host.endswith(".tiktok.com"):
        return None
    return url


__all__ = ["plain_text", "plot_label", "safe_tiktok_url"]
