"""Captions are counted in UTF-16 code units, as TikTok counts them."""

from __future__ import annotations

import json

import pytest

from services.publishing import CAPTION_LIMITS, caption_problems, caption_units, has_bidi_controls


@pytest.mark.parametrize(
    ("text", "code_points", "units"),
    [
        ("abc", 3, 3),
        ("😀", 1, 2),
        ("👍🏽", 2, 4),  # skin tone modifier
        ("👨‍👩‍👧‍👦", 7, 11),  # family: 4 emoji joined by 3 ZWJ
        ("🇯🇵", 2, 4),  # flag: two regional indicators
        ("e\u0301", 2, 2),  # e + combining acute
        ("é", 1, 1),  # the same letter, precomposed (NFC)
        ("\u202eabc", 4, 4),  # RTL override counts like any character
        ("a\u200bb", 3, 3),  # zero-width space
    ],
)
def test_units_match_tiktoks_count(text, code_points, units):
    assert len(text) == code_points
    assert caption_units(text) == units


def test_2200_units_pass_and_2201_fail_with_the_count():
    limit = CAPTION_LIMITS["video"]
    assert limit == 2200
    assert caption_problems("a" * 2200, limit) == []
    problems = caption_problems("a" * 2201, limit)
    assert len(problems) == 1 and "2,201 of 2,200" in problems[0]


def test_1200_emoji_fail_although_len_would_pass():
    text = "😀" * 1200
    assert len(text) < 2200
    problems = caption_problems(text, CAPTION_LIMITS["video"])
    assert problems and "2,400 of 2,200" in problems[0]


def test_1100_emoji_are_exactly_the_limit():
    assert caption_problems("😀" * 1100, 2200) == []
    assert caption_problems("😀" * 1100 + "a", 2200) != []


def test_a_lone_surrogate_is_refused_and_counting_never_crashes():
    text = "hi \ud83d there"
    assert caption_units(text) == 10
    problems = caption_problems(text, 2200)
    assert any("broken character" in p for p in problems)


def test_nul_and_control_characters_are_refused():
    assert any("control characters" in p for p in caption_problems("a\x00b", 2200))
    assert caption_problems("line one\nline two\ttab", 2200) == []


def test_bidi_controls_are_flagged_not_refused():
    assert has_bidi_controls("abc\u202edef")
    assert not has_bidi_controls("plain #caption @friend")
    assert caption_problems("abc\u202edef", 2200) == []


def test_html_and_markdown_pass_unchanged():
    text = "<script>alert(1)</script> **bold** [x](http://e.com)"
    assert caption_problems(text, 2200) == []
    assert json.loads(json.dumps({"title": text}))["title"] == text


def test_photo_limits():
    assert CAPTION_LIMITS["photo_title"] == 90
    assert CAPTION_LIMITS["photo_description"] == 4000
    assert caption_problems("😀" * 45, 90) == []
    assert caption_problems("😀" * 46, 90) != []
