"""Caption length in TikTok's unit (UTF-16 code units) and the text checks around it.

TikTok counts ``post_info.title`` in UTF-16 code units, not characters: an emoji is 2 units, a
family emoji 11, a flag 4 (https://developers.tiktok.com/doc/content-posting-api-reference-direct-post).
Text is never normalised or rewritten here: the caption is sent to TikTok as typed.
"""

from __future__ import annotations

import re

#: Maximum UTF-16 code units per field.
CAPTION_LIMITS: dict[str, int] = {
    "video": 2200,  # direct post title
    "photo_title": 90,  # photo post title
    "photo_description": 4000,  # photo post description
}

_SURROGATE = re.compile("[\ud800-\udfff]")
# Bidi embedding/override/isolate controls: they change how a caption reads, so the page flags them.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def caption_units(text: str) -> int:
    """Length in UTF-16 code units, as TikTok counts it. A lone surrogate (a bad paste) counts
    as the one unit it would be; :func:`caption_problems` refuses it."""
    # surrogatepass: a lone surrogate encodes to its own 2 bytes instead of raising.
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def caption_problems(text: str, limit: int, *, field: str = "Caption") -> list[str]:
    """Every reason ``text`` cannot be sent in a field of ``limit`` units (empty: fine)."""
    problems: list[str] = []
    units = caption_units(text)
    if units > limit:
        problems.append(
            f"{field} is {units:,} of {limit:,} allowed characters (TikTok counts emoji and "
            f"some symbols as 2 or more); shorten it by {units - limit:,}."
        )
    if _SURROGATE.search(text):
        problems.append(
            f"{field} contains a broken character (a lone UTF-16 surrogate, usually from a bad "
            "copy-paste); retype the emoji or symbol around it."
        )
    if _CONTROL.search(text):
        problems.append(
            f"{field} contains invisible control characters (such as NUL); remove them."
        )
    return problems


def has_bidi_controls(text: str) -> bool:
    """True if the caption has right-to-left override/isolate controls; the page flags them
    (they are allowed, but can make a caption read differently from how it is stored)."""
    return bool(_BIDI.search(text))
