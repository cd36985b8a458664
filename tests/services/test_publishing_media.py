"""Media pre-flight on real small files generated here with PyAV and Pillow (never downloaded)."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest

from services.publishing import (
    CreatorInfo,
    MediaInfo,
    preflight_photo_file,
    preflight_video,
    probe_video,
)
from services.publishing.chunks import MAX_VIDEO_BYTES
from tests.media import make_image, make_not_a_video, make_video

CREATOR = CreatorInfo(
    open_id="-000abc",
    nickname="Luna",
    username="lunakitchen",
    avatar_url=None,
    privacy_level_options=("SELF_ONLY",),
    comment_disabled=False,
    duet_disabled=False,
    stitch_disabled=False,
    max_video_post_duration_sec=300,
    can_post=True,
    blocked_reason=None,
    allowed_modes=("direct", "draft"),
)


def only_problem(problems, needle):
    assert len(problems) == 1, problems
    assert needle in problems[0].what, problems[0]
    assert problems[0].fix  # every failure says how to fix it
    return problems[0]


@pytest.mark.parametrize(
    ("name", "codec", "container", "content_type"),
    [
        ("ok.mp4", "h264", "mp4", "video/mp4"),
        ("ok.mov", "h264", "mov", "video/quicktime"),
        ("ok.webm", "vp9", "webm", "video/webm"),
        ("ok8.webm", "vp8", "webm", "video/webm"),
        ("hevc.mp4", "hevc", "mp4", "video/mp4"),
    ],
)
def test_accepted_videos_pass(tmp_path, name, codec, container, content_type):
    path = make_video(tmp_path / name, seconds=1, codec=codec)
    info = probe_video(path)
    assert (info.container, info.codec, info.width, info.height) == (container, codec, 640, 360)
    assert info.fps == pytest.approx(30)
    assert info.duration_s == pytest.approx(1, abs=0.1)
    assert info.size == path.stat().st_size
    assert info.content_type == content_type
    assert preflight_video(path, CREATOR) == []


def test_a_png_renamed_mp4_is_refused(tmp_path):
    problem = only_problem(
        preflight_video(make_not_a_video(tmp_path / "cat.mp4"), CREATOR), "PNG image"
    )
    assert "not a video" in problem.what


def test_mkv_is_refused(tmp_path):
    only_problem(preflight_video(make_video(tmp_path / "a.mkv", seconds=1), CREATOR), "Matroska")


def test_a_truncated_file_is_refused(tmp_path):
    good = make_video(tmp_path / "good.mp4", seconds=1).read_bytes()
    bad = tmp_path / "cut.mp4"
    bad.write_bytes(good[: len(good) // 2])
    only_problem(preflight_video(bad, CREATOR), "damaged")


def test_a_header_with_garbage_after_it_is_refused(tmp_path):
    good = make_video(tmp_path / "good.mp4", seconds=1).read_bytes()
    bad = tmp_path / "garbage.mp4"
    bad.write_bytes(good[:32] + os.urandom(len(good) - 32))
    only_problem(preflight_video(bad, CREATOR), "damaged")


def test_an_empty_file_is_refused(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    only_problem(preflight_video(empty, CREATOR), "empty")


def test_a_missing_file_is_refused(tmp_path):
    only_problem(preflight_video(tmp_path / "nope.mp4", CREATOR), "cannot be read")


def test_an_unsupported_codec_is_refused(tmp_path):
    only_problem(
        preflight_video(make_video(tmp_path / "m.mp4", seconds=1, codec="mpeg4"), CREATOR),
        "mpeg4 codec",
    )


@pytest.mark.parametrize("fps", [15, 22])
def test_frame_rate_below_23_is_refused(tmp_path, fps):
    problem = only_problem(
        preflight_video(make_video(tmp_path / "slow.mp4", seconds=1, fps=fps), CREATOR),
        f"{fps}.00 fps",
    )
    assert "23–60" in problem.what


def test_frame_rate_above_60_is_refused(tmp_path):
    only_problem(
        preflight_video(make_video(tmp_path / "fast.mp4", seconds=1, fps=90), CREATOR), "90.00 fps"
    )


@pytest.mark.parametrize("fps", [23, 60])
def test_frame_rate_edges_pass(tmp_path, fps):
    assert preflight_video(make_video(tmp_path / "e.mp4", seconds=1, fps=fps), CREATOR) == []


def test_too_small_dimensions_are_refused(tmp_path):
    path = make_video(tmp_path / "small.mp4", seconds=1, width=640, height=358)
    only_problem(preflight_video(path, CREATOR), "height is 358 px")
    assert (
        preflight_video(
            make_video(tmp_path / "edge.mp4", seconds=1, width=360, height=360), CREATOR
        )
        == []
    )


def test_too_wide_is_refused(tmp_path):
    path = make_video(tmp_path / "wide.mp4", seconds=0.2, width=4098, height=360)
    only_problem(preflight_video(path, CREATOR), "width is 4098 px")


def test_longer_than_the_creators_maximum_is_refused_before_any_call(tmp_path):
    path = make_video(tmp_path / "long.mp4", seconds=3, fps=24)
    short = replace(CREATOR, max_video_post_duration_sec=2)
    problem = only_problem(preflight_video(path, short), "3 s long")
    assert "Luna can post at most 2 s" in problem.what
    assert preflight_video(path, replace(CREATOR, max_video_post_duration_sec=3)) == []


def test_over_4_gib_is_refused(tmp_path):
    # A real clip padded (sparsely, no disk used) past 4 GiB: the probe still reads it.
    path = make_video(tmp_path / "huge.mp4", seconds=1)
    with path.open("r+b") as fh:
        fh.truncate(MAX_VIDEO_BYTES + 1)
    only_problem(preflight_video(path, CREATOR), "at most 4 GB")


def test_size_limit_sides_via_media_info():
    from services.publishing.media import check_video

    info = MediaInfo(
        path=None,
        size=MAX_VIDEO_BYTES,
        container="mp4",
        codec="h264",
        duration_s=10,
        fps=30,
        width=1080,
        height=1920,
    )
    assert check_video(info, CREATOR) == []
    assert check_video(replace(info, size=4 * 10**9 + 1), CREATOR) == []
    assert check_video(replace(info, size=MAX_VIDEO_BYTES + 1), CREATOR)


def test_photos(tmp_path):
    assert preflight_photo_file(make_image(tmp_path / "ok.jpg", 941, 1672)) == []
    assert preflight_photo_file(make_image(tmp_path / "ok.webp", 1080, 1920)) == []
    only_problem(
        preflight_photo_file(make_image(tmp_path / "big.jpg", 1086, 1448)),
        "shorter side must be at most 1080",
    )
    only_problem(preflight_photo_file(make_image(tmp_path / "p.png", 500, 500)), "PNG image")
    heavy = make_image(tmp_path / "heavy.jpg", 500, 500)
    with heavy.open("r+b") as fh:
        fh.truncate(20 * 1024 * 1024 + 1)
    only_problem(preflight_photo_file(heavy), "at most 20 MB")
    (tmp_path / "x.jpg").write_bytes(b"not an image")
    only_problem(preflight_photo_file(tmp_path / "x.jpg"), "not a readable image")
