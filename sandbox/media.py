"""Images served by the sandbox: creator avatars (PNG) and video covers (JPEG).

Drawn with Pillow, deterministic from their inputs and cached in memory, so the dashboard and
the consent page show real pictures without any network access.
"""

from __future__ import annotations

import hashlib
import io
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

AVATAR_SIZES = (100, 168, 720)  # avatar_url_100, avatar_url, avatar_large_url (user info docs)
COVER_SIZE = (180, 320)  # small 9:16 thumbnail


def _hex_rgb(color: str) -> tuple[int, int, int]:
    c = color.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


def _gradient(
    size: tuple[int, int], top: tuple[int, int, int], bottom: tuple[int, int, int]
) -> Image.Image:
    """A diagonal gradient, built from a 2-pixel image and resized (fast, smooth)."""
    small = Image.new("RGB", (2, 2))
    small.putdata([top, _mix(top, bottom, 0.5), _mix(top, bottom, 0.5), bottom])
    return small.resize(size, Image.Resampling.BILINEAR)


def initials(text: str) -> str:
    text = text.replace("'", "").replace("\u2019", "")  # "Luna's" is one word
    words = [w for w in "".join(c if c.isalnum() else " " for c in text).split() if w]
    if not words:
        return "?"
    if len(words) == 1:
        return words[0][:2].upper()
    return (words[0][0] + words[1][0]).upper()


def _centered_text(
    draw: ImageDraw.ImageDraw,
    box: tuple[int, int],
    text: str,
    size: int,
    fill: tuple[int, int, int],
) -> None:
    font = ImageFont.load_default(size=size)
    draw.text((box[0] / 2, box[1] / 2), text, font=font, fill=fill, anchor="mm")


@lru_cache(maxsize=256)
def avatar_png(name: str, color_a: str, color_b: str, size: int) -> bytes:
    """A gradient disc with the creator's initials on a transparent background."""
    scale = 4  # draw large and downsample: smooth circle edges without aggdraw
    big = size * scale
    disc = _gradient((big, big), _hex_rgb(color_a), _hex_rgb(color_b))
    draw = ImageDraw.Draw(disc)
    _centered_text(draw, (big, big), initials(name), int(big * 0.38), (255, 255, 255))
    mask = Image.new("L", (big, big), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, big - 1, big - 1), fill=255)
    out = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    out.paste(disc, (0, 0), mask)
    out = out.resize((size, size), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    out.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


@lru_cache(maxsize=2048)
def cover_jpeg(video_id: str, title: str) -> bytes:
    """A 180x320 cover: colours from the video id, the title's initials in the middle."""
    h = hashlib.sha256(video_id.encode()).digest()
    top = (60 + h[0] % 160, 60 + h[1] % 160, 60 + h[2] % 160)
    bottom = (h[3] % 90, h[4] % 90, h[5] % 90)
    img = _gradient(COVER_SIZE, top, bottom)
    draw = ImageDraw.Draw(img)
    _centered_text(draw, COVER_SIZE, initials(title), 56, (255, 255, 255))
    # a play triangle near the bottom, as on a feed thumbnail
    w, hgt = COVER_SIZE
    draw.polygon(
        [(w / 2 - 12, hgt - 70), (w / 2 - 12, hgt - 40), (w / 2 + 14, hgt - 55)],
        fill=(255, 255, 255),
    )
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=82)
    return buf.getvalue()
