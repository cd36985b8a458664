"""Content Posting API of the sandbox over real HTTP: creator_info, the inits, the upload PUT,
status/fetch, the media checks on real generated media, and published videos in video/list."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from tests.media import make_not_a_video, make_video
from tests.sandbox.helpers import Client
from tests.sandbox.posting_helpers import (
    MIB,
    Poster,
    connect_poster,
    file_source,
    put_chunk,
    upload_file,
)

PUBLIC_OPTIONS = ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]
PRIVATE_OPTIONS = ["FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]


def _code(r: requests.Response) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("media") / "ok.mp4"
    return make_video(path, seconds=2, fps=30, width=640, height=360)


# --- creator_info ---------------------------------------------------------------------------


def test_creator_info_public_account(sb: Client) -> None:
    r = connect_poster(sb, "lunakitchen").creator_info()
    assert r.status_code == 200
    body = r.json()
    assert body["error"]["code"] == "ok" and body["error"]["log_id"]
    data = body["data"]
    assert data["creator_username"] == "lunakitchen"
    assert data["creator_nickname"] == "Luna's Kitchen"
    assert data["privacy_level_options"] == PUBLIC_OPTIONS
    assert data["comment_disabled"] is False
    assert data["duet_disabled"] is False and data["stitch_disabled"] is False
    assert data["max_video_post_duration_sec"] == 600
    assert requests.get(data["creator_avatar_url"]).headers["Content-Type"] == "image/png"


def test_creator_info_private_account_and_disabled_interactions(sb: Client) -> None:
    data = connect_poster(sb, "quietpotter").creator_info().json()["data"]
    assert data["privacy_level_options"] == PRIVATE_OPTIONS
    # a private account cannot be dueted or stitched
    assert data["duet_disabled"] is True and data["stitch_disabled"] is True
    assert data["max_video_post_duration_sec"] == 180
    jo = connect_poster(sb, "trailrunnerjo").creator_info().json()["data"]
    assert jo["comment_disabled"] is True and jo["stitch_disabled"] is True
    assert jo["duet_disabled"] is False
    assert jo["max_video_post_duration_sec"] == 300


def test_creator_info_needs_token_and_video_publish(sb: Client) -> None:
    assert _code(Poster(sb, "act.nope").creator_info()) == (401, "access_token_invalid")
    drafts_only = connect_poster(sb, scope="user.info.basic,video.upload")
    assert _code(drafts_only.creator_info()) == (401, "scope_not_authorized")


def test_creator_info_20_per_minute_per_token(sb: Client) -> None:
    poster = connect_poster(sb)
    for _ in range(20):
        assert poster.creator_info().status_code == 200
    assert _code(poster.creator_info()) == (429, "rate_limit_exceeded")
    # a second token of the same user has its own window ("per user access_token")
    assert connect_poster(sb).creator_info().status_code == 200
    sb.advance(61)
    assert poster.creator_info().status_code == 200


# --- direct post with FILE_UPLOAD, the whole way ----------------------------------------------


def test_direct_post_public_completes_then_gets_post_id_after_moderation(
    sb: Client, video: Path
) -> None:
    sb.config(processing_delay_s=3, moderation_delay_s=20)
    poster = connect_poster(sb)
    caption = "Garlic pasta in 10 minutes #fyp @friend"
    size = video.stat().st_size
    r = poster.video_init(
        {"privacy_level": "PUBLIC_TO_EVERYONE", "title": caption}, file_source(size)
    )
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    publish_id, upload_url = data["publish_id"], data["upload_url"]
    assert publish_id.startswith("v_pub_file~v2-1.") and len(publish_id) <= 64
    assert upload_url.startswith(sb.base) and "upload_id=" in upload_url
    assert "upload_token=" in upload_url and len(upload_url) <= 256
    assert poster.data(publish_id) == {"status": "PROCESSING_UPLOAD", "uploaded_bytes": 0}

    put = put_chunk(sb.http, upload_url, video.read_bytes(), 0, size)
    assert put.status_code == 201
    assert put.headers["Content-Range"] == f"bytes 0-{size}/{size}"
    assert poster.data(publish_id) == {"status": "PROCESSING_UPLOAD", "uploaded_bytes": size}

    sb.advance(3)
    assert poster.data(publish_id) == {
        "status": "PUBLISH_COMPLETE",
        "publicaly_available_post_id": [],
        "uploaded_bytes": size,
    }
    assert caption not in [v["title"] for v in sb.all_videos(poster.token, "id,title")]

    sb.advance(20)
    done = poster.data(publish_id)
    assert done["status"] == "PUBLISH_COMPLETE"
    (post_id,) = done["publicaly_available_post_id"]
    assert isinstance(post_id, int)
    first = sb.video_list(poster.token, {"max_count": 3}, "id,title,duration,width,height").json()
    newest = first["data"]["videos"][0]
    assert newest == {
        "id": str(post_id),
        "title": caption,
        "duration": 2,
        "width": 640,
        "height": 360,
    }
    q = sb.video_query(poster.token, [str(post_id)], "id,title").json()["data"]["videos"]
    assert q == [{"id": str(post_id), "title": caption}]


def test_self_only_post_completes_without_post_id_and_stays_unlisted(
    sb: Client, video: Path
) -> None:
    poster = connect_poster(sb)
    pid = upload_file(poster, video, {"privacy_level": "SELF_ONLY", "title": "private one"})
    sb.advance(3600)
    data = poster.data(pid)
    assert data["status"] == "PUBLISH_COMPLETE"
    assert data["publicaly_available_post_id"] == []
    titles = [v["title"] for v in sb.all_videos(poster.token, "id,title")]
    assert "private one" not in titles


# --- the PUT: chunks, progress and every error status ----------------------------------------


def _two_chunk_post(poster: Poster, extra: int = 123) -> tuple[str, str, bytes]:
    size = 10 * MIB + extra
    r = poster.video_init({"privacy_level": "SELF_ONLY"}, file_source(size, 5 * MIB, 2))
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    return (
        data["publish_id"],
        data["upload_url"],
        bytes(range(256)) * (size // 256) + b"x" * (size % 256),
    )


def test_put_chunks_206_then_201_and_progress_header(sb: Client) -> None:
    poster = connect_poster(sb)
    pid, url, blob = _two_chunk_post(poster)
    total = len(blob)
    first = put_chunk(sb.http, url, blob[: 5 * MIB], 0, total)
    assert first.status_code == 206
    assert first.headers["Content-Range"] == f"bytes 0-{5 * MIB}/{total}"
    assert poster.data(pid) == {"status": "PROCESSING_UPLOAD", "uploaded_bytes": 5 * MIB}
    # the remainder is merged into the last chunk (5 MiB + 123 bytes)
    last = put_chunk(sb.http, url, blob[5 * MIB :], 5 * MIB, total)
    assert last.status_code == 201
    assert last.headers["Content-Range"] == f"bytes 0-{total}/{total}"
    # not a video: the check fails it, and FAILED carries only status and fail_reason
    sb.advance(5)
    assert poster.data(pid) == {"status": "FAILED", "fail_reason": "file_format_check_failed"}


def test_put_416_when_range_does_not_continue_the_upload(sb: Client) -> None:
    poster = connect_poster(sb)
    pid, url, blob = _two_chunk_post(poster)
    total = len(blob)
    skipped = put_chunk(sb.http, url, blob[5 * MIB :], 5 * MIB, total)
    assert skipped.status_code == 416
    assert skipped.headers["Content-Range"] == f"bytes 0-0/{total}"
    assert put_chunk(sb.http, url, blob[: 5 * MIB], 0, total).status_code == 206
    again = put_chunk(sb.http, url, blob[: 5 * MIB], 0, total)  # a repeat of chunk 1
    assert again.status_code == 416
    assert poster.data(pid)["uploaded_bytes"] == 5 * MIB
    assert put_chunk(sb.http, url, blob[5 * MIB :], 5 * MIB, total).status_code == 201
    assert put_chunk(sb.http, url, blob[5 * MIB :], 5 * MIB, total).status_code == 416


def test_put_400_on_bad_headers_or_length(sb: Client) -> None:
    poster = connect_poster(sb)
    pid, url, blob = _two_chunk_post(poster)
    total = len(blob)
    chunk = blob[: 5 * MIB]
    assert (
        put_chunk(sb.http, url, chunk, 0, total, content_type="video/x-msvideo").status_code == 400
    )
    no_range = sb.http.put(url, data=chunk, headers={"Content-Type": "video/mp4"})
    assert no_range.status_code == 400
    bad_total = sb.http.put(
        url,
        data=chunk,
        headers={"Content-Type": "video/mp4", "Content-Range": f"bytes 0-{5 * MIB - 1}/999"},
    )
    assert bad_total.status_code == 400
    # Content-Range says 10 bytes more than the body holds
    longer = sb.http.put(
        url,
        data=chunk,
        headers={"Content-Type": "video/mp4", "Content-Range": f"bytes 0-{5 * MIB + 9}/{total}"},
    )
    assert longer.status_code == 400
    # a first chunk that is not chunk_size long
    assert put_chunk(sb.http, url, blob[: 4 * MIB], 0, total).status_code == 400
    assert poster.data(pid)["uploaded_bytes"] == 0
    assert put_chunk(sb.http, url, chunk, 0, total).status_code == 206


def test_put_404_for_unknown_task_and_403_after_an_hour(sb: Client) -> None:
    poster = connect_poster(sb)
    _, url, blob = _two_chunk_post(poster)
    total = len(blob)
    wrong_token = url.split("upload_token=")[0] + "upload_token=forged"
    assert put_chunk(sb.http, wrong_token, blob[: 5 * MIB], 0, total).status_code == 404
    unknown = f"{sb.base}/upload/video/?upload_id=7000&upload_token=x"
    assert put_chunk(sb.http, unknown, blob[: 5 * MIB], 0, total).status_code == 404
    sb.advance(3599)
    assert put_chunk(sb.http, url, blob[: 5 * MIB], 0, total).status_code == 206
    sb.advance(2)
    assert put_chunk(sb.http, url, blob[5 * MIB :], 5 * MIB, total).status_code == 403


# --- chunk rules at init ----------------------------------------------------------------------

CHUNK_OK = "ok"
BAD_CHUNK = "The chunk size is invalid"
BAD_COUNT = "The total chunk count is invalid"


@pytest.mark.parametrize(
    ("size", "chunk", "count", "expected"),
    [
        (4 * MIB, 4 * MIB, 1, CHUNK_OK),  # under 5 MiB: whole
        (4 * MIB, 2 * MIB, 2, BAD_CHUNK),  # under 5 MiB must not be split
        (1000, 1000, 2, BAD_COUNT),
        (5 * MIB, 5 * MIB, 1, CHUNK_OK),
        (64 * MIB, 64 * MIB, 1, CHUNK_OK),  # exactly 64 MiB in one
        (64 * MIB + 1, 64 * MIB + 1, 1, BAD_CHUNK),  # over 64 MiB needs 2+ chunks
        (121_000_000, 64 * MIB, 1, BAD_CHUNK),  # field report: 64 MB, count 1, 121 MB file
        (50_000_123, 10_000_000, 5, CHUNK_OK),  # the doc's example
        (50_000_123, 10_000_000, 6, BAD_COUNT),  # ceil() instead of floor()
        (20 * MIB, 5 * MIB, 4, CHUNK_OK),  # 5,242,880-byte chunks work
        (20 * MIB, 5 * MIB - 1, 4, BAD_CHUNK),  # chunk under 5 MiB
        (200 * MIB, 64 * MIB + 1, 3, BAD_CHUNK),  # chunk over 64 MiB
        (128 * MIB + 5, 64 * MIB, 2, CHUNK_OK),  # last chunk 64 MiB + 5 (≤ 128 MiB)
        (4 * 1024**3, 64 * MIB, 64, CHUNK_OK),  # 4 GB
        (4 * 1024**3 + 1, 64 * MIB, 64, "The video size is invalid"),
        (4 * 1024**3, 5 * MIB, 819, CHUNK_OK),  # 819 chunks
    ],
)
def test_chunk_rules_at_init(sb: Client, size: int, chunk: int, count: int, expected: str) -> None:
    poster = connect_poster(sb)
    r = poster.video_init({"privacy_level": "SELF_ONLY"}, file_source(size, chunk, count))
    if expected == CHUNK_OK:
        assert r.status_code == 200, r.text
        assert r.json()["data"]["upload_url"]
    else:
        assert _code(r) == (400, "invalid_params")
        assert r.json()["error"]["message"] == expected
        assert r.json()["data"] == {}


# --- media checks on real media -------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("tiny", "picture_size_check_failed"),
        ("slow", "frame_rate_check_failed"),
        ("long", "duration_check_failed"),
        ("png", "file_format_check_failed"),
        ("mpeg4", "file_format_check_failed"),
    ],
)
def test_each_fail_reason_from_real_media(
    sb: Client, tmp_path: Path, kind: str, reason: str
) -> None:
    path = tmp_path / "clip.mp4"
    if kind == "tiny":
        make_video(path, seconds=2, fps=30, width=64, height=64)
    elif kind == "slow":
        make_video(path, seconds=2, fps=10, width=640, height=360)
    elif kind == "long":  # quietpotter may post 180 s; duration is checked before size
        make_video(path, seconds=181, fps=24, width=64, height=64)
    elif kind == "png":
        make_not_a_video(path)
    else:
        make_video(path, seconds=1, fps=30, codec="mpeg4")
    poster = connect_poster(sb, "quietpotter")
    pid = upload_file(poster, path, {"privacy_level": "SELF_ONLY"})
    sb.advance(60)
    assert poster.data(pid) == {"status": "FAILED", "fail_reason": reason}


@pytest.mark.parametrize(
    ("name", "codec", "fps", "w", "h"),
    [
        ("a.webm", "vp9", 24, 360, 640),
        ("b.mov", "hevc", 60, 640, 360),
        ("c.webm", "vp8", 30, 360, 360),
    ],
)
def test_accepted_containers_and_codecs(
    sb: Client, tmp_path: Path, name: str, codec: str, fps: int, w: int, h: int
) -> None:
    path = make_video(tmp_path / name, seconds=1, fps=fps, width=w, height=h, codec=codec)
    poster = connect_poster(sb)
    pid = upload_file(poster, path, {"privacy_level": "SELF_ONLY"})
    sb.advance(60)
    assert poster.data(pid)["status"] == "PUBLISH_COMPLETE"


# --- drafts (inbox) --------------------------------------------------------------------------


def test_inbox_needs_video_upload_scope(sb: Client) -> None:
    publish_only = connect_poster(sb, scope="user.info.basic,video.publish")
    r = publish_only.inbox_init(file_source(1000))
    assert _code(r) == (401, "scope_not_authorized")


def test_inbox_draft_reaches_send_to_user_inbox_then_user_posts_it(sb: Client, video: Path) -> None:
    sb.config(moderation_delay_s=10)
    poster = connect_poster(sb, scope="user.info.basic,video.list,video.upload")
    size = video.stat().st_size
    # only source_info counts: a post_info (as some clients send) is ignored
    r = poster.inbox_init(file_source(size), post_info={"title": "ignored"})
    assert r.status_code == 200, r.text
    pid, url = r.json()["data"]["publish_id"], r.json()["data"]["upload_url"]
    assert pid.startswith("v_inbox_file~v2.")
    assert put_chunk(sb.http, url, video.read_bytes(), 0, size).status_code == 201
    sb.advance(5)
    assert poster.data(pid) == {"status": "SEND_TO_USER_INBOX", "uploaded_bytes": size}
    sb.advance(3600)
    assert poster.data(pid)["status"] == "SEND_TO_USER_INBOX"  # terminal until the user acts

    done = sb.control(
        "POST",
        "posts/complete_draft",
        {"publish_id": pid, "privacy_level": "PUBLIC_TO_EVERYONE", "title": "From my drafts"},
    )
    assert done.status_code == 200, done.text
    assert poster.data(pid)["status"] == "PUBLISH_COMPLETE"
    assert poster.data(pid)["publicaly_available_post_id"] == []
    sb.advance(10)
    (post_id,) = poster.data(pid)["publicaly_available_post_id"]
    newest = sb.video_list(poster.token, {"max_count": 1}, "id,title").json()["data"]["videos"]
    assert newest == [{"id": str(post_id), "title": "From my drafts"}]
    # a draft can be posted once
    again = sb.control("POST", "posts/complete_draft", {"publish_id": pid})
    assert again.status_code == 409


# --- status and cancel errors ------------------------------------------------------------------


def test_status_errors(sb: Client, video: Path) -> None:
    poster = connect_poster(sb)
    assert _code(poster.status("v_pub_file~v2-1.123")) == (400, "invalid_publish_id")
    assert _code(poster._post("status/fetch/", {})) == (400, "invalid_publish_id")
    pid = upload_file(poster, video, {"privacy_level": "SELF_ONLY"})
    other = connect_poster(sb, "trailrunnerjo")
    assert _code(other.status(pid)) == (400, "token_not_authorized_for_specified_publish_id")
    no_post_scope = connect_poster(sb, scope="user.info.basic,video.list")
    assert _code(no_post_scope.status(pid)) == (401, "scope_not_authorized")


def test_status_30_per_minute(sb: Client, video: Path) -> None:
    poster = connect_poster(sb)
    pid = upload_file(poster, video, {"privacy_level": "SELF_ONLY"})
    for _ in range(30):
        assert poster.status(pid).status_code == 200
    assert _code(poster.status(pid)) == (429, "rate_limit_exceeded")


def test_file_upload_is_not_cancellable(sb: Client, video: Path) -> None:
    poster = connect_poster(sb)
    pid = upload_file(poster, video, {"privacy_level": "SELF_ONLY"})
    assert _code(poster.cancel(pid)) == (400, "publish_not_cancellable")
    assert _code(poster.cancel("nope")) == (400, "invalid_publish_id")


# --- request validation -----------------------------------------------------------------------


def test_title_is_measured_in_utf16_units(sb: Client) -> None:
    sb.config(post_init_per_minute=100)
    poster = connect_poster(sb)
    src = file_source(1000)
    emoji = "😀"  # one code point, two UTF-16 units
    ok = poster.video_init({"privacy_level": "SELF_ONLY", "title": emoji * 1100}, src)
    assert ok.status_code == 200, ok.text
    too_long = poster.video_init({"privacy_level": "SELF_ONLY", "title": emoji * 1100 + "a"}, src)
    assert _code(too_long) == (400, "invalid_params")
    assert "UTF-16" in too_long.json()["error"]["message"]


def test_privacy_level_must_be_among_the_options(sb: Client) -> None:
    sb.config(post_init_per_minute=100)
    private = connect_poster(sb, "quietpotter")
    src = file_source(1000)
    r = private.video_init({"privacy_level": "PUBLIC_TO_EVERYONE"}, src)
    assert _code(r) == (403, "privacy_level_option_mismatch")
    assert _code(private.video_init({}, src)) == (403, "privacy_level_option_mismatch")
    assert private.video_init({"privacy_level": "FOLLOWER_OF_CREATOR"}, src).status_code == 200
    public = connect_poster(sb)
    r = public.video_init({"privacy_level": "FOLLOWER_OF_CREATOR"}, src)
    assert _code(r) == (403, "privacy_level_option_mismatch")


def test_bad_bodies_are_invalid_params(sb: Client) -> None:
    sb.config(post_init_per_minute=100)
    poster = connect_poster(sb)
    for body in (
        [],
        {"post_info": {"privacy_level": "SELF_ONLY"}},
        {"post_info": {"privacy_level": "SELF_ONLY"}, "source_info": {"source": "URL"}},
        {
            "post_info": {"privacy_level": "SELF_ONLY", "disable_comment": "yes"},
            "source_info": file_source(1000),
        },
    ):
        assert _code(poster._post("video/init/", body)) == (400, "invalid_params"), body


@pytest.mark.slow
def test_large_chunks_are_streamed_to_disk_not_held_in_memory(sb: Client, tmp_path: Path) -> None:
    """Two 40 MiB chunks go through the server while Python allocations stay far below one
    chunk: the body is copied to disk in 1 MiB blocks (the client streams from a file too)."""
    import tracemalloc

    poster = connect_poster(sb)
    chunk, total = 40 * MIB, 80 * MIB
    r = poster.video_init({"privacy_level": "SELF_ONLY"}, file_source(total, chunk, 2))
    pid, url = r.json()["data"]["publish_id"], r.json()["data"]["upload_url"]
    part = tmp_path / "part.bin"
    with part.open("wb") as f:
        f.truncate(chunk)
    tracemalloc.start()
    try:
        for first in (0, chunk):
            with part.open("rb") as body:
                put = sb.http.put(
                    url,
                    data=body,
                    headers={
                        "Content-Type": "video/mp4",
                        "Content-Range": f"bytes {first}-{first + chunk - 1}/{total}",
                    },
                )
            assert put.status_code == (206 if first == 0 else 201)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 12 * MIB, f"peak Python allocations {peak / MIB:.1f} MiB"
    sb.advance(5)
    assert poster.data(pid) == {"status": "FAILED", "fail_reason": "file_format_check_failed"}
