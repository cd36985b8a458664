"""Strings st.image/st.video would open as a file on the server are never passed to them."""

from __future__ import annotations

import pytest

from dashboard.text import is_web_url


@pytest.mark.parametrize(
    "text",
    [
        "/etc/passwd",
        "data/secret.key",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "https://",
        "http:///x",
        "https://cdn.example.com/a\n.jpg",
        "",
    ],
)
def test_paths_and_odd_schemes_are_not_links(text):
    assert not is_web_url(text)


def test_web_links_are_links_and_https_only_when_asked():
    assert is_web_url("http://127.0.0.1:8765/_sandbox/media/avatar/luna.png")
    assert is_web_url("https://p16-sign.tiktokcdn.com/a.jpeg?x=1")
    assert not is_web_url("http://cdn.example.com/v.mp4", ("https",))
