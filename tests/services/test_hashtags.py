"""services.analytics.hashtags: what counts as a hashtag in a caption."""

from __future__ import annotations

import pytest

from services.analytics.hashtags import parse_hashtags, video_tags


@pytest.mark.parametrize(
    ("text", "tags"),
    [
        ("#Café #CAFÉ #café", ["café"]),  # duplicates in any case: one tag
        ("東京 #日本 #東京タワー", ["日本", "東京タワー"]),
        ("नमस्ते #हिंदी", ["हिंदी"]),
        ("see https://example.com/page#section and #real", ["real"]),
        ("www.example.com/#top #also", ["also"]),
        ("HTTP://EXAMPLE.COM/#X #y", ["y"]),
        ("#fyp#ForYou", ["fyp", "foryou"]),
        ("C# and #1", []),
    ],
)
def test_parse_hashtags(text, tags):
    assert parse_hashtags(text) == tags


def test_video_tags_reads_title_and_description_once_each_tag():
    assert video_tags("Hi #a", "#A #b") == ["a", "b"]
    assert video_tags(None, None) == []
