"""Display API: user/info, video/list, video/query (Display API, check order TikTok's order)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from sandbox import DEFAULT_CLIENT_KEY
from sandbox.world import Creator
from tests.sandbox.helpers import ANCHOR_TS, START, USER_FIELDS, VIDEO_FIELDS, Client


def _creator(sb: Client, username: str) -> Creator:
    creator = sb.server.sandbox.world.creator(username)
    assert creator is not None
    return creator


def _err(r: Any) -> tuple[int, str]:
    body = r.json()
    assert body["data"] == {}
    assert set(body["error"]) == {"code", "message", "log_id"}
    return r.status_code, body["error"]["code"]


# --- auth and envelope ----------------------------------------------------------------------


def test_missing_unknown_and_malformed_tokens_are_401(sb: Client) -> None:
    assert _err(sb.user_info(None)) == (401, "access_token_invalid")
    assert _err(sb.user_info("act.not-a-token")) == (401, "access_token_invalid")
    r = sb.http.get(
        f"{sb.base}/v2/user/info/",
        params={"fields": "open_id"},
        headers={"Authorization": "Basic abc"},
    )
    assert _err(r) == (401, "access_token_invalid")
    assert _err(sb.video_list(None)) == (401, "access_token_invalid")
    assert _err(sb.video_query(None, ["1"])) == (401, "access_token_invalid")


def test_check_order_token_then_scope_then_params(sb: Client) -> None:
    # a bad token wins over bad fields
    assert _err(sb.user_info("act.bad", "nonsense")) == (401, "access_token_invalid")
    token = sb.connect(scope="user.info.basic")["access_token"]
    # missing endpoint scope wins over bad params
    r = sb.video_list(token, {"max_count": 99}, fields="nonsense")
    assert _err(r) == (401, "scope_not_authorized")
    assert _err(sb.video_query(token, [])) == (401, "scope_not_authorized")


def test_success_envelope_and_headers(sb: Client) -> None:
    token = sb.connect()["access_token"]
    r = sb.user_info(token, "open_id")
    body = r.json()
    assert body["error"]["code"] == "ok"
    assert body["error"]["message"] == ""
    assert body["error"]["log_id"] == r.headers["x-tt-logid"]
    assert re.fullmatch(r"\d{14}[0-9A-F]{20}", r.headers["x-tt-logid"])
    assert r.headers["x-tt-trace-id"]
    for resp in (
        sb.user_info(None),
        sb.exchange("x"),
        sb.control("GET", "health"),
        sb.http.get(f"{sb.base}/v2/nope/"),
    ):
        assert "x-tt-logid" in resp.headers
        assert "x-tt-trace-id" in resp.headers


def test_unknown_path_and_wrong_method(sb: Client) -> None:
    r = sb.http.get(f"{sb.base}/v2/does/not/exist/")
    assert _err(r) == (404, "invalid_params")
    r = sb.http.get(f"{sb.base}/v2/user/info")
    assert _err(r) == (404, "invalid_params")
    assert "end with a slash" in r.json()["error"]["message"]
    r = sb.http.get(f"{sb.base}/v2/video/list/")
    assert _err(r) == (405, "invalid_params")


# --- user/info ------------------------------------------------------------------------------


def test_user_info_all_fields_with_all_scopes(sb: Client) -> None:
    tokens = sb.connect()
    r = sb.user_info(tokens["access_token"])
    assert r.status_code == 200
    user = r.json()["data"]["user"]
    assert set(user) == set(USER_FIELDS.split(","))
    assert user["open_id"] == tokens["open_id"]
    assert user["username"] == "lunakitchen"
    assert user["is_verified"] is True
    assert user["profile_web_link"] == "https://www.tiktok.com/@lunakitchen"
    assert user["profile_deep_link"].startswith("https://vm.tiktok.com/ZM")
    for key in ("avatar_url", "avatar_url_100", "avatar_large_url"):
        assert user[key].startswith(sb.base + "/_sandbox/media/avatar/")
    for key in ("follower_count", "following_count", "likes_count", "video_count"):
        assert isinstance(user[key], int)
        assert user[key] > 0
    assert user["video_count"] >= 520


def test_user_info_returns_only_requested_fields(sb: Client) -> None:
    token = sb.connect()["access_token"]
    user = sb.user_info(token, " display_name , open_id,open_id").json()["data"]["user"]
    assert set(user) == {"display_name", "open_id"}


@pytest.mark.parametrize("fields", [None, "", ",", "open_id,bogus", "OPEN_ID"])
def test_user_info_field_validation(sb: Client, fields: str | None) -> None:
    token = sb.connect()["access_token"]
    assert _err(sb.user_info(token, fields)) == (400, "invalid_params")


def test_user_info_scope_permission_missed(sb: Client) -> None:
    token = sb.connect(scope="user.info.basic,video.list")["access_token"]
    assert sb.user_info(token, "open_id,display_name").status_code == 200
    r = sb.user_info(token, "open_id,follower_count")
    assert _err(r) == (400, "scope_permission_missed")
    assert "user.info.stats" in r.json()["error"]["message"]
    assert _err(sb.user_info(token, "username")) == (400, "scope_permission_missed")
    # unknown names are reported before missing scopes
    assert _err(sb.user_info(token, "username,bogus")) == (400, "invalid_params")


def test_stats_are_consistent_with_the_video_list(sb: Client) -> None:
    token = sb.connect("trailrunnerjo")["access_token"]
    user = sb.user_info(token, "video_count,likes_count").json()["data"]["user"]
    videos = sb.all_videos(token, "id,like_count")
    assert user["video_count"] == len(videos)
    # likes_count also counts the creator's private videos
    assert user["likes_count"] >= sum(v["like_count"] for v in videos)


# --- video/list -----------------------------------------------------------------------------


def test_paging_covers_all_public_live_videos_newest_first(sb: Client) -> None:
    creator = _creator(sb, "lunakitchen")
    token = sb.connect()["access_token"]
    seen: list[dict[str, Any]] = []
    body: dict[str, Any] = {"max_count": 20}
    pages = 0
    while True:
        data = sb.video_list(token, body, "id,create_time").json()["data"]
        pages += 1
        assert len(data["videos"]) <= 20
        if data["videos"]:
            assert data["cursor"] == data["videos"][-1]["create_time"] * 1000
        if "cursor" in body:
            assert all(v["create_time"] * 1000 < body["cursor"] for v in data["videos"])
        seen += data["videos"]
        if not data["has_more"]:
            break
        body["cursor"] = data["cursor"]
    ids = [v["id"] for v in seen]
    times = [v["create_time"] for v in seen]
    assert len(ids) == len(set(ids))
    assert times == sorted(times, reverse=True)
    assert len(set(times)) == len(times)
    assert max(times) <= START
    expected = {v.id for v in creator.videos if v.listed_at(START)}
    assert set(ids) == expected
    assert len(ids) == creator.public_video_count(START) >= 520
    hidden = {v.id for v in creator.videos if not v.is_public or not v.live_at(START)}
    assert hidden
    assert not hidden & set(ids)
    assert pages == -(-len(ids) // 20)


def test_default_max_count_and_first_page(sb: Client) -> None:
    token = sb.connect()["access_token"]
    data = sb.video_list(token, {}).json()["data"]
    assert len(data["videos"]) == 10
    assert data["has_more"] is True
    # cursor 0 is read as "unset"
    assert sb.video_list(token, {"cursor": 0}).json()["data"]["videos"] == data["videos"]
    # a body-less POST works like {}
    r = sb.http.post(
        f"{sb.base}/v2/video/list/?fields=id", headers={"Authorization": f"Bearer {token}"}
    )
    assert len(r.json()["data"]["videos"]) == 10


@pytest.mark.parametrize(
    "body",
    [
        {"max_count": 0},
        {"max_count": 21},
        {"max_count": "10"},
        {"max_count": 10.5},
        {"max_count": True},
        {"cursor": "abc"},
        {"cursor": -5},
        {"cursor": 1.5},
        [1, 2],
    ],
)
def test_video_list_param_validation(sb: Client, body: Any) -> None:
    token = sb.connect()["access_token"]
    assert _err(sb.video_list(token, body)) == (400, "invalid_params")


def test_video_list_bad_json_and_fields(sb: Client) -> None:
    token = sb.connect()["access_token"]
    r = sb.http.post(
        f"{sb.base}/v2/video/list/?fields=id",
        data=b"{not json",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert _err(r) == (400, "invalid_params")
    assert _err(sb.video_list(token, {}, fields="id,bogus")) == (400, "invalid_params")
    r = sb.http.post(
        f"{sb.base}/v2/video/list/", headers={"Authorization": f"Bearer {token}"}, json={}
    )
    assert _err(r) == (400, "invalid_params")


def test_max_count_bounds_accepted(sb: Client) -> None:
    token = sb.connect()["access_token"]
    assert len(sb.video_list(token, {"max_count": 1}).json()["data"]["videos"]) == 1
    assert len(sb.video_list(token, {"max_count": 20}).json()["data"]["videos"]) == 20


def test_video_fields_and_formats(sb: Client) -> None:
    token = sb.connect()["access_token"]
    videos = sb.video_list(token, {"max_count": 20}, VIDEO_FIELDS).json()["data"]["videos"]
    for v in videos:
        assert set(v) == set(VIDEO_FIELDS.split(","))
        assert re.fullmatch(r"7\d{18}", v["id"])
        assert isinstance(v["create_time"], int)
        assert v["share_url"] == (
            f"https://www.tiktok.com/@lunakitchen/video/{v['id']}"
            f"?utm_campaign=tt4d_open_api&utm_source={DEFAULT_CLIENT_KEY}"
        )
        assert v["embed_link"].startswith(f"https://www.tiktok.com/player/v1/{v['id']}?")
        assert v["id"] in v["embed_html"]
        expires = int(re.search(r"x-expires=(\d+)", v["cover_image_url"]).group(1))
        assert expires == int(START) + 6 * 3600
        assert 7 <= v["duration"] <= 180
        assert (v["width"], v["height"]) in {(1080, 1920), (720, 1280), (1920, 1080)}
        assert len(v["title"]) <= 150
        assert len(v["video_description"]) <= 150
        assert "#" in v["video_description"]
        assert isinstance(v["is_aigc"], bool)
        assert v["view_count"] >= v["like_count"] >= 0
        assert v["view_count"] >= v["share_count"]
        assert v["view_count"] >= v["comment_count"]
    only = sb.video_list(token, {"max_count": 3}, "title").json()["data"]["videos"]
    assert all(set(v) == {"title"} for v in only)


def test_clock_brings_new_posts_and_deletions(sb: Client) -> None:
    creator = _creator(sb, "lunakitchen")
    token = sb.connect()["access_token"]
    later = ANCHOR_TS + 70 * 86400
    deleted_later = [
        v for v in creator.videos if v.deleted_at and START < v.deleted_at < later and v.is_public
    ]
    assert deleted_later
    ids_now = {v["id"] for v in sb.all_videos(token)}
    assert {v.id for v in deleted_later} <= ids_now
    sb.set_clock(later)
    token = sb.connect()["access_token"]  # the old one expired on the way
    ids_later = {v["id"] for v in sb.all_videos(token)}
    assert not {v.id for v in deleted_later} & ids_later
    new = ids_later - ids_now
    assert len(new) > 50  # roughly daily posts after the anchor


# --- video/query ----------------------------------------------------------------------------


def test_video_query(sb: Client) -> None:
    luna = _creator(sb, "lunakitchen")
    jo = _creator(sb, "trailrunnerjo")
    token = sb.connect()["access_token"]
    listed = [v["id"] for v in sb.video_list(token, {"max_count": 5}).json()["data"]["videos"]]
    private = next(v.id for v in luna.videos if not v.is_public and v.create_time < START)
    deleted = next(v.id for v in luna.videos if v.deleted_at and v.deleted_at < START)
    future = next(v.id for v in luna.videos if v.create_time > START)
    others = jo.public[0].id
    ids = [listed[0], private, deleted, future, others, "7000000000000000000", listed[1], listed[0]]
    r = sb.video_query(token, ids, "id,view_count")
    data = r.json()["data"]
    assert [v["id"] for v in data["videos"]] == listed[:2]
    assert data["cursor"] == 0
    assert data["has_more"] is False
    assert set(data["videos"][0]) == {"id", "view_count"}


@pytest.mark.parametrize("ids", [[], [str(i) for i in range(21)], "7123", [7123], None])
def test_video_query_validation(sb: Client, ids: Any) -> None:
    token = sb.connect()["access_token"]
    assert _err(sb.video_query(token, ids)) == (400, "invalid_params")


def test_video_query_twenty_ids_is_fine_and_bad_bodies(sb: Client) -> None:
    token = sb.connect()["access_token"]
    videos = sb.video_list(token, {"max_count": 20}).json()["data"]["videos"]
    r = sb.video_query(token, [v["id"] for v in videos])
    assert len(r.json()["data"]["videos"]) == 20
    headers = {"Authorization": f"Bearer {token}"}
    for body in ({}, {"filters": []}, {"video_ids": ["1"]}):
        r = sb.http.post(f"{sb.base}/v2/video/query/?fields=id", headers=headers, json=body)
        assert _err(r) == (400, "invalid_params"), body
