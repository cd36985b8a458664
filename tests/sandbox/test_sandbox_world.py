"""The world: determinism, growth curves, creators, synthetic creators, media."""

from __future__ import annotations

import io
import re
import statistics
import time
from typing import Any

import requests
from PIL import Image

from sandbox import start_sandbox
from sandbox.growth import VideoCurve
from sandbox.world import World
from tests.sandbox.helpers import (
    ANCHOR,
    ANCHOR_TS,
    START,
    USER_FIELDS,
    VIDEO_FIELDS,
    Client,
    callback_params,
)


def _strip(obj: Any, base: str) -> Any:
    """Remove what legitimately differs between two servers: their port and log ids."""
    text = requests.compat.json.dumps(obj, sort_keys=True).replace(base, "BASE")
    return re.sub(r'"log_id": "[^"]+"', '"log_id": ""', text)


def _snapshot(base: str, at: float) -> list[str]:
    http = requests.Session()
    http.post(f"{base}/_sandbox/clock", json={"set": at, "freeze": True})
    out = []
    for creator in ("lunakitchen", "quietpotter", "trailrunnerjo"):
        url = http.post(
            f"{base}/_sandbox/consent",
            json={
                "authorize_url": f"{base}/v2/auth/authorize/?client_key=sbawreelboarddemo&scope="
                "user.info.basic,user.info.profile,user.info.stats,video.list"
                "&redirect_uri=http://localhost:8501/accounts&response_type=code",
                "creator": creator,
            },
        ).json()["redirect_url"]
        tok = http.post(
            f"{base}/v2/oauth/token/",
            data={
                "client_key": "sbawreelboarddemo",
                "client_secret": "sandbox-secret-not-for-production",
                "code": callback_params(url)["code"],
                "grant_type": "authorization_code",
                "redirect_uri": "http://localhost:8501/accounts",
            },
        ).json()["access_token"]
        h = {"Authorization": f"Bearer {tok}"}
        out.append(
            _strip(
                http.get(f"{base}/v2/user/info/", params={"fields": USER_FIELDS}, headers=h).json(),
                base,
            )
        )
        out.append(
            _strip(
                http.post(
                    f"{base}/v2/video/list/",
                    params={"fields": VIDEO_FIELDS},
                    headers=h,
                    json={"max_count": 20},
                ).json(),
                base,
            )
        )
    return out


def test_same_seed_and_anchor_give_identical_responses() -> None:
    with start_sandbox(anchor=ANCHOR) as a, start_sandbox(anchor=ANCHOR_TS) as b:
        assert _snapshot(a.base_url, START + 12345) == _snapshot(b.base_url, START + 12345)
    with start_sandbox(anchor=ANCHOR, seed=8) as c:
        ids = [creator.open_id for creator in c.sandbox.world.creators.values()]
    assert ids != [creator.open_id for creator in World(7, ANCHOR_TS).creators.values()]


def test_counters_are_monotone_over_time(sb: Client) -> None:
    token = sb.connect("trailrunnerjo")["access_token"]
    ids = [v["id"] for v in sb.video_list(token, {"max_count": 20}).json()["data"]["videos"]]
    fields = "id,view_count,like_count,comment_count,share_count"
    previous: dict[str, list[int]] | None = None
    prev_user: dict[str, int] | None = None
    for step in (0, 60, 3600, 6 * 3600, 86400, 3 * 86400, 30 * 86400):
        sb.set_clock(START + step)
        token = sb.connect("trailrunnerjo")["access_token"]
        videos = sb.video_query(token, ids, fields).json()["data"]["videos"]
        counts = {
            v["id"]: [v["view_count"], v["like_count"], v["comment_count"], v["share_count"]]
            for v in videos
        }
        user = sb.user_info(token, "follower_count,likes_count").json()["data"]["user"]
        if previous is not None and prev_user is not None:
            for vid, now in counts.items():
                assert all(n >= p for n, p in zip(now, previous[vid], strict=True)), vid
            assert user["follower_count"] >= prev_user["follower_count"]
        previous, prev_user = counts, user
    assert previous
    assert any(c[0] > 0 for c in previous.values())


def test_growth_shape_burst_then_tail() -> None:
    world = World(7, ANCHOR_TS)
    ratios = []
    for v in world.creators["lunakitchen"].public[:300]:
        day3 = v.curve.views(72 * 3600)
        day30 = v.curve.views(30 * 86400)
        year = v.curve.views(365 * 86400)
        assert 0 < day3 < day30 < year
        ratios.append(day3 / day30)
    assert statistics.median(ratios) > 0.6  # most views come in the first 72 h
    curve = VideoCurve(1000.0, 12 * 3600.0, 0.2, 0.1, 0.01, 0.01)
    assert curve.counts(-5) == (0, 0, 0, 0)
    ages = [0, 1, 59, 3600, 86400, 10 * 86400, 400 * 86400]
    series = [curve.counts(a) for a in ages]
    assert series == sorted(series)


def test_heavy_tail_and_hits() -> None:
    world = World(7, ANCHOR_TS)
    at = ANCHOR_TS
    for name, min_ratio in (("trailrunnerjo", 40), ("lunakitchen", 20)):
        views = sorted(
            v.counts_at(at)[0]
            for v in world.creators[name].public
            if v.create_time < at - 7 * 86400
        )
        assert views[-1] > min_ratio * statistics.median(views), name


def test_world_shape() -> None:
    world = World(7, ANCHOR_TS)
    luna = world.creators["lunakitchen"]
    before = [v for v in luna.public if v.create_time < ANCHOR_TS]
    assert len(before) >= 520
    assert before[0].create_time >= ANCHOR_TS - 21 * 31 * 86400
    assert sum(1 for v in luna.videos if not v.is_public) >= 10
    assert sum(1 for v in luna.videos if v.deleted_at) >= 3
    assert luna.videos[-1].create_time > ANCHOR_TS + 600 * 86400  # posts for two years
    assert world.creators["quietpotter"].spec.is_private
    assert (
        20
        <= len([v for v in world.creators["quietpotter"].videos if v.create_time < ANCHOR_TS])
        <= 45
    )
    assert (
        120
        <= len([v for v in world.creators["trailrunnerjo"].videos if v.create_time < ANCHOR_TS])
        <= 190
    )
    for creator in world.creators.values():
        times = [v.create_time for v in creator.videos]
        assert len(times) == len(set(times))
        assert re.fullmatch(r"-000[A-Za-z0-9_-]{32}", creator.open_id)
        assert all(re.fullmatch(r"7\d{18}", v.id) for v in creator.videos)
    all_ids = [v.id for c in world.creators.values() for v in c.videos]
    assert len(all_ids) == len(set(all_ids))


def test_creators_endpoint_and_synthetic_creators(sb: Client) -> None:
    creators = sb.control("GET", "creators").json()
    names = [c["username"] for c in creators]
    assert names[:3] == ["lunakitchen", "quietpotter", "trailrunnerjo"]
    quiet = creators[1]
    assert quiet["is_private"] is True
    assert quiet["public_video_count"] > 0
    assert set(creators[0]) >= {
        "open_id",
        "username",
        "display_name",
        "is_private",
        "public_video_count",
    }
    r = sb.control("POST", "creators", {"username": "bench_300", "videos": 300})
    assert r.status_code == 201, r.text
    assert r.json()["public_video_count"] == 300
    assert sb.control("POST", "creators", {"username": "bench_300", "videos": 3}).status_code == 409
    for bad in (
        {"username": "Bad Name", "videos": 3},
        {"username": "ok_name", "videos": -1},
        {"username": "ok_name", "videos": "3"},
        {"videos": 3},
    ):
        assert sb.control("POST", "creators", bad).status_code == 400, bad
    token = sb.connect("bench_300")["access_token"]
    videos = sb.all_videos(token)
    assert len(videos) == 300 == len({v["id"] for v in videos})
    assert min(v["create_time"] for v in videos) > ANCHOR_TS - 460 * 86400


def test_user_info_stays_fast_for_10k_videos(sb: Client) -> None:
    assert (
        sb.control("POST", "creators", {"username": "bench_10k", "videos": 10_000}).status_code
        == 201
    )
    token = sb.connect("bench_10k")["access_token"]
    t0 = time.perf_counter()
    user = sb.user_info(token, "video_count,likes_count,follower_count").json()["data"]["user"]
    assert time.perf_counter() - t0 < 0.5
    assert user["video_count"] == 10_000
    creator = sb.server.sandbox.world.creators["bench_10k"]
    t0 = time.perf_counter()
    for _ in range(50):
        creator.page(START, None, 20)
    assert (time.perf_counter() - t0) / 50 < 0.005


def test_media_are_real_images(sb: Client) -> None:
    tokens = sb.connect()
    user = sb.user_info(
        tokens["access_token"], "avatar_url,avatar_url_100,avatar_large_url"
    ).json()["data"]["user"]
    for key, size in (("avatar_url", 168), ("avatar_url_100", 100), ("avatar_large_url", 720)):
        r = sb.http.get(user[key])
        assert r.status_code == 200
        assert r.headers["Content-Type"] == "image/png"
        assert r.content.startswith(b"\x89PNG")
        assert Image.open(io.BytesIO(r.content)).size == (size, size)
        assert "x-tt-logid" in r.headers
    video = sb.video_list(tokens["access_token"], {"max_count": 1}, "cover_image_url").json()[
        "data"
    ]["videos"][0]
    r = sb.http.get(video["cover_image_url"])  # no Authorization header needed
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "image/jpeg"
    assert r.content.startswith(b"\xff\xd8")
    assert Image.open(io.BytesIO(r.content)).size == (180, 320)
    assert sb.http.get(video["cover_image_url"]).content == r.content  # deterministic


def test_cover_urls_expire_after_six_hours(sb: Client) -> None:
    token = sb.connect()["access_token"]
    url = sb.video_list(token, {"max_count": 1}, "cover_image_url").json()["data"]["videos"][0][
        "cover_image_url"
    ]
    sb.advance(6 * 3600 - 60)
    assert sb.http.get(url).status_code == 200
    sb.advance(120)
    assert sb.http.get(url).status_code == 403
    tampered = re.sub(r"x-expires=\d+", f"x-expires={int(START) + 10**6}", url)
    assert sb.http.get(tampered).status_code == 403
    assert sb.http.get(url.split("?")[0]).status_code == 403
    sb.config(enforce_media_expiry=False)
    assert sb.http.get(url).status_code == 200


def test_unknown_media_is_404(sb: Client) -> None:
    for path in (
        "avatar/ghost/100.png",
        "avatar/lunakitchen/99.png",
        "cover/123.jpeg",
        "cover/7000000000000000000.jpeg",
        "other",
    ):
        assert sb.http.get(f"{sb.base}/_sandbox/media/{path}").status_code == 404, path
