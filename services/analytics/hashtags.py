"""Hashtags in a video's title and description: parsed once at sync, stored in ``video_hashtags``.

The same parser serves the sync (services.sync), the migration that fills the table for videos
synced before it existed, and Insights' hashtag chart (analytics.metrics), so all three agree.
"""

from __future__ import annotations

import re
import unicodedata

_TAG = re.compile(r"#(\w+)")
# A `#` inside a link is a fragment (https://example.com/page#top), not a hashtag.
_URL = re.compile(r"(?:[a-z][a-z0-9+.-]*://|www\.)\S*", re.IGNORECASE)


def _tag_char(ch: str) -> bool:
    # Letters, digits, "_" and combining marks (Devanagari vowel signs, accents written as
    # separate code points): what TikTok keeps inside a hashtag.
    return ch.isalnum() or ch == "_" or unicodedata.category(ch).startswith("M")


def parse_hashtags(text: str | None) -> list[str]:
    """Hashtags in ``text``, normalised (NFKC, casefolded), de-duplicated, in order.

    A tag is ``#`` followed by letters/digits/underscores/combining marks, in any script
    (``#Café`` -> ``café``, ``#日本`` -> ``日本``, ``#हिंदी`` whole although Python's ``\\w``
    stops at its vowel signs); ``#fyp#foryou`` holds two tags; a tag with no letter (``#1``)
    is not a hashtag; full-width ``＃`` counts (NFKC); a ``#`` inside a link is not one.
    """
    if not text or not isinstance(text, str):
        return []
    if not text.isascii():  # ASCII is already NFKC
        text = unicodedata.normalize("NFKC", text)
    if "#" not in text:
        return []
    if "://" in text or "www." in text.lower():
        text = _URL.sub(" ", text)
    tags: list[str] = []
    n = len(text)
    for match in _TAG.finditer(text):
        end = match.end()
        if end < n and unicodedata.category(text[end])[0] == "M":
            while end < n and _tag_char(text[end]):  # rare: a combining mark inside the tag
                end += 1
        tag = text[match.start(1) : end].casefold()
        if tag not in tags and not tag.isdigit() and any(ch.isalpha() for ch in tag):
            tags.append(tag)
    return tags


def video_tags(title: str | None, description: str | None) -> list[str]:
    """A video's hashtags: title and description together (as Insights reads them)."""
    return parse_hashtags(f"{title or ''}\n{description or ''}")


__all__ = ["parse_hashtags", "video_tags"]
