"""Content Posting rules of the sandbox: PULL_FROM_URL and photos (from a loopback HTTPS server),
rate limits, daily caps, unaudited clients, bans, and faults on the posting routes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.media import make_image, make_video
from tests.sandbox.helpers import Client
from tests.sandbox.posting_helpers import (
    MIB,
    connect_poster,
    file_source,
    https_media_server,
    put_chunk,
    upload_file,
    wait_for,
)


def _code(r: requests.Response) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


@pytest.fixture(scope="module")
def media_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("served")
    make_video(root / "clip.mp4", seconds=1, fps=30, width=360, height=640)
    make_video(root / "tiny.mp4", seconds=1, fps=30, width=64, height=64)
    make_image(root / "a.jpg", 1080, 1920)
    make_image(root / "b.webp", 720, 1280, fmt="WEBP")
    make_image(root / "big.jpg", 1200, 1600)  # shorter side over 1080
    make_image(root / "c.png", 400, 400)
    return root


@pytest.fixture(scope="module")
def media_base(media_root: Path) -> Iterator[str]:
    with https_media_server(media_root) as base:
        yield base


@pytest.fixture
def verified(sb: Client, media_base: str) -> str:
    sb.config(verified_url_prefixes=[media_base + "/media/", media_base + "/redirect/"])
    return media_base


# --- PULL_FROM_URL video --------------------------------------------------------------------


def test_pull_video_direct_post(sb: Client, verified: str, media_root: Path) -> None:
    poster = connect_poster(sb)
    r = poster.video_init(
        {"privacy_level": "SELF_ONLY", "title": "pulled"},
        {"source": "PULL_FROM_URL", "video_url": f"{verified}/media/clip.mp4"},
    )
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["publish_id"].startswith("v_pub_url~v2.")
    assert "upload_url" not in data
    first = poster.data(data["publish_id"])
    assert first["status"] == "PROCESSING_DOWNLOAD" and "uploaded_bytes" not in first
    sb.advance(60)
    done = wait_for(poster, data["publish_id"], "PROCESSING_DOWNLOAD")
    assert done == {
        "status": "PUBLISH_COMPLETE",
        "publicaly_available_post_id": [],
        "downloaded_bytes": (media_root / "clip.mp4").stat().st_size,
    }


def test_pull_failures(sb: Client, verified: str) -> None:
    sb.config(post_init_per_minute=100)
    poster = connect_poster(sb)
    ids = {}
    for name, url in (
        ("missing", f"{verified}/media/nope.mp4"),
        ("redirect", f"{verified}/redirect/clip.mp4"),
        ("tiny", f"{verified}/media/tiny.mp4"),
    ):
        r = poster.video_init(
            {"privacy_level": "SELF_ONLY"}, {"source": "PULL_FROM_URL", "video_url": url}
        )
        assert r.status_code == 200, r.text
        ids[name] = r.json()["data"]["publish_id"]
    sb.advance(60)
    assert wait_for(poster, ids["missing"], "PROCESSING_DOWNLOAD") == {
        "status": "FAILED",
        "fail_reason": "video_pull_failed",
    }
    # a 3xx is a failure: TikTok does not follow redirects
    assert wait_for(poster, ids["redirect"], "PROCESSING_DOWNLOAD")["fail_reason"] == (
        "video_pull_failed"
    )
    assert wait_for(poster, ids["tiny"], "PROCESSING_DOWNLOAD")["fail_reason"] == (
        "picture_size_check_failed"
    )


def test_pull_url_must_be_verified_and_https(sb: Client, verified: str) -> None:
    sb.config(post_init_per_minute=100)
    poster = connect_poster(sb)
    for url in (
        "https://elsewhere.example.com/media/clip.mp4",
        verified.replace("https://", "http://") + "/media/clip.mp4",
        f"{verified}/other/clip.mp4",  # outside the verified prefix
    ):
        r = poster.video_init(
            {"privacy_level": "SELF_ONLY"}, {"source": "PULL_FROM_URL", "video_url": url}
        )
        assert _code(r) == (403, "url_ownership_unverified"), url
    sb.config(verified_url_prefixes=["example.com"])  # a domain covers its subdomains
    r = poster.video_init(
        {"privacy_level": "SELF_ONLY"},
        {"source": "PULL_FROM_URL", "video_url": "https://cdn.example.com/v.mp4"},
    )
    assert r.status_code == 200
    sb.advance(60)
    # the sandbox never reaches the internet: a non-loopback host cannot be pulled
    failed = wait_for(poster, r.json()["data"]["publish_id"], "PROCESSING_DOWNLOAD")
    assert failed == {"status": "FAILED", "fail_reason": "video_pull_failed"}


def test_cancel_a_pull_while_downloading(sb: Client, verified: str) -> None:
    sb.config(download_delay_s=30)
    poster = connect_poster(sb)
    r = poster.video_init(
        {"privacy_level": "SELF_ONLY"},
        {"source": "PULL_FROM_URL", "video_url": f"{verified}/media/clip.mp4"},
    )
    pid = r.json()["data"]["publish_id"]
    cancelled = poster.cancel(pid)
    assert cancelled.status_code == 200
    assert cancelled.json()["error"]["code"] == "ok"
    assert poster.data(pid) == {"status": "FAILED", "fail_reason": "publish_cancelled"}
    assert _code(poster.cancel(pid)) == (400, "publish_not_cancellable")


def test_inbox_pull_draft(sb: Client, verified: str) -> None:
    poster = connect_poster(sb)
    r = poster.inbox_init({"source": "PULL_FROM_URL", "video_url": f"{verified}/media/clip.mp4"})
    assert r.status_code == 200
    pid = r.json()["data"]["publish_id"]
    assert pid.startswith("v_inbox_url~v2.")
    sb.advance(60)
    assert wait_for(poster, pid, "PROCESSING_DOWNLOAD")["status"] == "SEND_TO_USER_INBOX"


# --- photos ---------------------------------------------------------------------------------


def _photo(base: str, mode: str = "DIRECT_POST", images: list[str] | None = None, **info):
    post_info = {"title": "Weekend bake", "description": "Three loaves #bread", **info}
    if mode == "DIRECT_POST":
        post_info.setdefault("privacy_level", "PUBLIC_TO_EVERYONE")
    return {
        "media_type": "PHOTO",
        "post_mode": mode,
        "post_info": post_info,
        "source_info": {
            "source": "PULL_FROM_URL",
            "photo_images": images or [f"{base}/media/a.jpg", f"{base}/media/b.webp"],
            "photo_cover_index": 0,
        },
    }


def test_photo_direct_post(sb: Client, verified: str) -> None:
    sb.config(moderation_delay_s=7)
    poster = connect_poster(sb)
    r = poster.content_init(_photo(verified))
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["publish_id"].startswith("p_pub_url~v2.") and "upload_url" not in data
    sb.advance(60)
    done = wait_for(poster, data["publish_id"], "PROCESSING_DOWNLOAD")
    assert done["status"] == "PUBLISH_COMPLETE"
    assert "uploaded_bytes" not in done and done["downloaded_bytes"] > 0
    sb.advance(7)
    (post_id,) = poster.data(data["publish_id"])["publicaly_available_post_id"]  # moderated
    assert post_id > 0


def test_photo_media_upload_goes_to_inbox(sb: Client, verified: str) -> None:
    poster = connect_poster(sb, scope="user.info.basic,video.upload")
    r = poster.content_init(_photo(verified, "MEDIA_UPLOAD"))
    assert r.status_code == 200, r.text
    sb.advance(60)
    done = wait_for(poster, r.json()["data"]["publish_id"], "PROCESSING_DOWNLOAD")
    assert done["status"] == "SEND_TO_USER_INBOX"
    # DIRECT_POST needs video.publish
    assert _code(poster.content_init(_photo(verified))) == (401, "scope_not_authorized")


def test_photo_too_large_fails_the_carousel(sb: Client, verified: str) -> None:
    poster = connect_poster(sb)
    images = [f"{verified}/media/a.jpg", f"{verified}/media/big.jpg"]
    r = poster.content_init(_photo(verified, images=images))
    sb.advance(60)
    done = wait_for(poster, r.json()["data"]["publish_id"], "PROCESSING_DOWNLOAD")
    assert done == {"status": "FAILED", "fail_reason": "picture_size_check_failed"}
    png = poster.content_init(_photo(verified, images=[f"{verified}/media/c.png"]))
    sb.advance(60)
    failed = wait_for(poster, png.json()["data"]["publish_id"], "PROCESSING_DOWNLOAD")
    assert failed == {"status": "FAILED", "fail_reason": "file_format_check_failed"}


def test_photo_validation(sb: Client, verified: str) -> None:
    sb.config(post_init_per_minute=100)
    poster = connect_poster(sb)
    one = f"{verified}/media/a.jpg"
    assert poster.content_init(_photo(verified, images=[one] * 35)).status_code == 200
    assert _code(poster.content_init(_photo(verified, images=[one] * 36))) == (
        400,
        "invalid_params",
    )
    body = _photo(verified)
    body["source_info"]["photo_cover_index"] = 2
    assert _code(poster.content_init(body)) == (400, "invalid_params")
    body = _photo(verified)
    body["source_info"]["source"] = "FILE_UPLOAD"
    assert _code(poster.content_init(body)) == (400, "invalid_params")
    assert _code(poster.content_init(_photo(verified, title="é" * 91))) == (400, "invalid_params")
    assert poster.content_init(_photo(verified, title="é" * 90)).status_code == 200
    long_description = _photo(verified, description="x" * 4001)
    assert _code(poster.content_init(long_description)) == (400, "invalid_params")
    assert _code(poster.content_init(_photo(verified, privacy_level="FOLLOWER_OF_CREATOR"))) == (
        403,
        "privacy_level_option_mismatch",
    )
    body = _photo(verified)
    body["media_type"] = "VIDEO"
    assert _code(poster.content_init(body)) == (400, "invalid_params")
    sb.config(verified_url_prefixes=[])
    assert _code(poster.content_init(_photo(verified))) == (403, "url_ownership_unverified")


# --- rate limits ----------------------------------------------------------------------------


def test_init_6_per_minute_per_endpoint_and_token(sb: Client) -> None:
    poster = connect_poster(sb)
    src = file_source(1000)
    for _ in range(6):
        assert poster.video_init({"privacy_level": "SELF_ONLY"}, src).status_code == 200
    assert _code(poster.video_init({"privacy_level": "SELF_ONLY"}, src)) == (
        429,
        "rate_limit_exceeded",
    )
    # each init endpoint has its own window
    assert poster.inbox_init(src).status_code == 200
    sb.advance(61)
    assert poster.video_init({"privacy_level": "SELF_ONLY"}, src).status_code == 200


# --- caps -----------------------------------------------------------------------------------


def test_15_posts_per_creator_per_day(sb: Client) -> None:
    sb.config(post_init_per_minute=1000)
    poster = connect_poster(sb)
    src = file_source(1000)
    for _ in range(15):
        assert poster.video_init({"privacy_level": "SELF_ONLY"}, src).status_code == 200
    r = poster.video_init({"privacy_level": "SELF_ONLY"}, src)
    assert _code(r) == (403, "spam_risk_too_many_posts")
    # creator_info says so with HTTP 200, and data is empty
    info = poster.creator_info()
    assert _code(info) == (200, "spam_risk_too_many_posts")
    assert info.json()["data"] == {}
    # shared across apps/tokens: another token of the same creator is capped too
    assert _code(connect_poster(sb).video_init({"privacy_level": "SELF_ONLY"}, src)) == (
        403,
        "spam_risk_too_many_posts",
    )
    sb.advance(86401)
    fresh = connect_poster(sb)  # the first token expired meanwhile
    assert fresh.video_init({"privacy_level": "SELF_ONLY"}, src).status_code == 200


def test_5_pending_drafts_per_day(sb: Client, tmp_path: Path) -> None:
    sb.config(post_init_per_minute=1000)
    poster = connect_poster(sb)
    clip = make_video(tmp_path / "d.mp4", seconds=1, fps=24, width=360, height=360)
    ids = [upload_file(poster, clip, None, inbox=True) for _ in range(5)]
    assert _code(poster.inbox_init(file_source(1000))) == (403, "spam_risk_too_many_pending_share")
    sb.advance(5)
    # once the creator posts one of them, it is no longer pending
    assert sb.control("POST", "posts/complete_draft", {"publish_id": ids[0]}).status_code == 200
    assert poster.inbox_init(file_source(1000)).status_code == 200


def test_unaudited_client_only_posts_to_private_accounts(sb: Client) -> None:
    sb.config(unaudited_client=True, post_init_per_minute=100)
    src = file_source(1000)
    public = connect_poster(sb)
    # creator_info still offers PUBLIC_TO_EVERYONE; the refusal comes at init, for any privacy
    options = public.creator_info().json()["data"]["privacy_level_options"]
    assert "PUBLIC_TO_EVERYONE" in options
    for privacy in ("PUBLIC_TO_EVERYONE", "SELF_ONLY"):
        r = public.video_init({"privacy_level": privacy}, src)
        assert _code(r) == (403, "unaudited_client_can_only_post_to_private_accounts")
    private = connect_poster(sb, "quietpotter")
    assert private.video_init({"privacy_level": "SELF_ONLY"}, src).status_code == 200


def test_unaudited_scenario_creator_without_config(sb: Client) -> None:
    poster = connect_poster(sb, "freshbrand.lab")
    assert poster.creator_info().status_code == 200
    r = poster.video_init({"privacy_level": "SELF_ONLY"}, file_source(1000))
    assert _code(r) == (403, "unaudited_client_can_only_post_to_private_accounts")


def test_unaudited_active_user_cap(sb: Client) -> None:
    sb.config(unaudited_client=True, unaudited_user_cap=1)
    private = connect_poster(sb, "quietpotter")
    assert private.video_init({"privacy_level": "SELF_ONLY"}, file_source(1000)).status_code == 200
    other = connect_poster(sb, "trailrunnerjo")
    assert _code(other.creator_info()) == (200, "reached_active_user_cap")
    r = other.video_init({"privacy_level": "SELF_ONLY"}, file_source(1000))
    assert _code(r) == (403, "reached_active_user_cap")
    # the user already counted keeps posting
    assert private.video_init({"privacy_level": "SELF_ONLY"}, file_source(1000)).status_code == 200


def test_banned_creator(sb: Client) -> None:
    poster = connect_poster(sb)
    assert sb.control("POST", "posts/ban", {"creator": "lunakitchen"}).status_code == 200
    assert _code(poster.creator_info()) == (200, "spam_risk_user_banned_from_posting")
    r = poster.video_init({"privacy_level": "SELF_ONLY"}, file_source(1000))
    assert _code(r) == (403, "spam_risk_user_banned_from_posting")
    assert _code(poster.inbox_init(file_source(1000))) == (
        403,
        "spam_risk_user_banned_from_posting",
    )
    sb.control("POST", "posts/ban", {"creator": "lunakitchen", "banned": False})
    assert poster.creator_info().json()["error"]["code"] == "ok"


# --- faults ---------------------------------------------------------------------------------


def test_init_that_loses_its_response_still_created_the_post(sb: Client) -> None:
    poster = connect_poster(sb)
    r = sb.control("POST", "faults", {"kind": "lose_response", "path": "/v2/post/publish/video/"})
    assert r.status_code == 200, r.text
    with pytest.raises(requests.ConnectionError):
        poster.video_init({"privacy_level": "SELF_ONLY", "title": "ghost"}, file_source(1000))
    posts = sb.control("GET", "posts?creator=lunakitchen").json()
    assert [(p["title"], p["status"]) for p in posts] == [("ghost", "PROCESSING_UPLOAD")]


def test_connection_dropped_mid_put_keeps_progress(sb: Client) -> None:
    poster = connect_poster(sb)
    size = 10 * MIB
    r = poster.video_init({"privacy_level": "SELF_ONLY"}, file_source(size, 5 * MIB, 2))
    pid, url = r.json()["data"]["publish_id"], r.json()["data"]["upload_url"]
    blob = b"\x00" * size
    assert put_chunk(sb.http, url, blob[: 5 * MIB], 0, size).status_code == 206
    fault = {"kind": "drop", "path": "/upload/video/", "after_bytes": MIB}
    assert sb.control("POST", "faults", fault).status_code == 200
    with pytest.raises(requests.ConnectionError):
        put_chunk(sb.http, url, blob[5 * MIB :], 5 * MIB, size)
    assert poster.data(pid)["uploaded_bytes"] == 5 * MIB
    assert put_chunk(sb.http, url, blob[5 * MIB :], 5 * MIB, size).status_code == 201


def test_server_errors_and_latency_reach_posting_routes(sb: Client) -> None:
    poster = connect_poster(sb)
    sb.control("POST", "faults", {"kind": "server_error", "status": 503, "path": "/upload/"})
    r = poster.video_init({"privacy_level": "SELF_ONLY"}, file_source(1000))
    url = r.json()["data"]["upload_url"]
    failed = put_chunk(sb.http, url, b"\x00" * 1000, 0, 1000)
    assert failed.status_code == 503
    assert put_chunk(sb.http, url, b"\x00" * 1000, 0, 1000).status_code == 201
    sb.control("POST", "faults", {"kind": "server_error", "path": "/v2/post/publish/status/"})
    assert _code(poster.status(r.json()["data"]["publish_id"])) == (500, "internal_error")


def test_upload_without_content_length_is_400_and_closes(sb: Client) -> None:
    poster = connect_poster(sb)
    r = poster.video_init({"privacy_level": "SELF_ONLY"}, file_source(1000))
    url = r.json()["data"]["upload_url"]
    chunked = sb.http.put(
        url,
        data=iter([b"\x00" * 500, b"\x00" * 500]),  # a generator body goes out chunked
        headers={"Content-Type": "video/mp4", "Content-Range": "bytes 0-999/1000"},
    )
    assert chunked.status_code == 400
    assert chunked.headers.get("Connection") == "close"
    # the connection was not reused with a half-read body: the next PUT works
    assert put_chunk(sb.http, url, b"\x00" * 1000, 0, 1000).status_code == 201


def test_put_whose_answer_is_lost_still_counts(sb: Client) -> None:
    poster = connect_poster(sb)
    r = poster.video_init({"privacy_level": "SELF_ONLY"}, file_source(1000))
    pid, url = r.json()["data"]["publish_id"], r.json()["data"]["upload_url"]
    sb.control("POST", "faults", {"kind": "lose_response", "path": "/upload/video/"})
    with pytest.raises(requests.ConnectionError):
        put_chunk(sb.http, url, b"\x00" * 1000, 0, 1000)
    assert poster.data(pid)["uploaded_bytes"] == 1000
    # a retry of the same chunk learns where the upload stands
    retry = put_chunk(sb.http, url, b"\x00" * 1000, 0, 1000)
    assert retry.status_code == 416
    assert retry.headers["Content-Range"] == "bytes 0-1000/1000"


def test_init_token_and_scope_errors(sb: Client) -> None:
    src = file_source(1000)
    analytics_only = connect_poster(sb, scope="user.info.basic,video.list")
    r = analytics_only.video_init({"privacy_level": "SELF_ONLY"}, src)
    assert _code(r) == (401, "scope_not_authorized")
    assert _code(analytics_only.inbox_init(src)) == (401, "scope_not_authorized")
    poster = connect_poster(sb)
    sb.control("POST", "faults", {"kind": "expire_token", "creator": "lunakitchen"})
    assert _code(poster.video_init({"privacy_level": "SELF_ONLY"}, src)) == (
        401,
        "access_token_invalid",
    )
    assert _code(poster.status("v_pub_file~v2-1.1")) == (401, "access_token_invalid")


def test_posting_config_keys_and_their_validation(sb: Client) -> None:
    cfg = sb.control("GET", "config").json()
    assert {k: cfg[k] for k in ("creator_info_per_minute", "post_init_per_minute")} == {
        "creator_info_per_minute": 20,
        "post_init_per_minute": 6,
    }
    assert cfg["status_per_minute"] == 30 and cfg["posts_per_day"] == 15
    assert cfg["pending_shares_per_day"] == 5 and cfg["unaudited_client"] is False
    assert cfg["verified_url_prefixes"] == [] and cfg["upload_url_ttl"] == 3600
    for bad in (
        {"verified_url_prefixes": ["http://plain.example.com/"]},  # https only
        {"verified_url_prefixes": ["https://no-path.example.com"]},  # a prefix needs a path
        {"verified_url_prefixes": "https://x.example.com/"},  # a list
        {"unaudited_client": 1},
        {"processing_delay_s": -1},
    ):
        assert sb.control("POST", "config", bad).status_code == 400, bad
    ok = sb.control("POST", "config", {"verified_url_prefixes": ["https://cdn.example.com/v/"]})
    assert ok.json()["verified_url_prefixes"] == ["https://cdn.example.com/v/"]
    sb.control("POST", "reset")
    assert sb.control("GET", "config").json()["verified_url_prefixes"] == []
    assert "/v2/post/publish/video/init/" in sb.http.get(sb.base + "/").text
