"""The publishing service against the real sandbox: direct posts, drafts, photos, failures."""

from __future__ import annotations

import time

import pytest

from services.access import LOCAL_ACTOR, Actor
from services.publishing import (
    AlreadyQueued,
    ValidationFailed,
    describe,
    fetch_creator_info,
    list_jobs,
    quotas,
    refresh_status,
    submit,
)
from tests.media import make_video
from tests.services.publishing_support import connect, direct, runtime


@pytest.fixture
def rt(settings, keyring):
    return runtime(settings, keyring)


@pytest.fixture
def luna(db, settings, keyring, sandbox):
    return connect(db, settings, keyring, sandbox, "lunakitchen")


@pytest.fixture
def clip(tmp_path):
    return make_video(tmp_path / "clip.mp4", seconds=1)


def inits(sandbox):
    return [e for e in sandbox.requests() if "/init/" in e.get("path", "")]


def test_direct_post_goes_live_with_a_link(rt, luna, clip, client, sandbox):
    creator = fetch_creator_info(rt, luna, client=client)
    assert creator.can_post and creator.nickname and creator.username == "lunakitchen"
    assert "PUBLIC_TO_EVERYONE" in creator.privacy_level_options
    progress = []
    job = submit(
        rt,
        direct(luna, clip),
        creator=creator,
        client=client,
        on_progress=lambda d, t, m: progress.append((d, t, m)),
        actor=LOCAL_ACTOR,
    )
    assert job.status == "processing", describe(job)
    assert job.publish_id and job.uploaded_bytes == clip.stat().st_size
    assert progress[-1][0] == progress[-1][1] == clip.stat().st_size
    assert len(inits(sandbox)) == 1
    sandbox.advance(3)
    job = refresh_status(rt, job.id, client=client)
    assert job.status == "published"
    assert describe(job).post_url is None  # moderation still running
    sandbox.advance(10)
    job = refresh_status(rt, job.id, client=client)
    outcome = describe(job)
    assert job.post_ids and outcome.kind == "success"
    assert outcome.post_url == f"https://www.tiktok.com/@lunakitchen/video/{job.post_ids[0]}"


def test_double_submit_makes_one_job_and_one_init(rt, luna, clip, client, sandbox, db):
    creator = fetch_creator_info(rt, luna, client=client)
    first = submit(rt, direct(luna, clip), creator=creator, client=client, actor=LOCAL_ACTOR)
    with pytest.raises(AlreadyQueued) as err:
        submit(rt, direct(luna, clip), creator=creator, client=client, actor=LOCAL_ACTOR)
    assert err.value.job_id == first.id
    assert "already queued" in err.value.message
    assert len(inits(sandbox)) == 1
    assert [j.id for j in list_jobs(db, luna)] == [first.id]
    assert quotas(db, luna).posts_today == 1


def test_invalid_form_writes_nothing_and_sends_nothing(rt, luna, clip, client, sandbox, db):
    creator = fetch_creator_info(rt, luna, client=client)
    with pytest.raises(ValidationFailed) as err:
        submit(
            rt,
            direct(luna, clip, privacy_level=None),
            creator=creator,
            client=client,
            actor=LOCAL_ACTOR,
        )
    assert any("no default" in p for p in err.value.problems)
    assert inits(sandbox) == [] and list_jobs(db) == []


# -- drafts, URLs and photos -------------------------------------------------------------------

from dataclasses import replace  # noqa: E402

from services.publishing import (  # noqa: E402
    FileSource,
    PhotoUrls,
    PostRequest,
    UrlSource,
    cancel,
    mark_not_posted,
    poll_until_settled,
)
from services.publishing.rules import DRAFT_NOTE  # noqa: E402
from services.tiktok.errors import FAIL_REASONS  # noqa: E402
from tests.media import make_image  # noqa: E402
from tests.services.publishing_support import MediaServer  # noqa: E402


@pytest.fixture
def media(tmp_path, sandbox):
    root = tmp_path / "www"
    (root / "media").mkdir(parents=True)
    server = MediaServer(root)
    sandbox.config(verified_url_prefixes=[server.prefix])
    yield server
    server.stop()


def test_draft_reaches_the_inbox_with_what_to_do_next(rt, luna, clip, client, sandbox, db):
    request = PostRequest(
        open_id=luna, mode="draft", source=FileSource(clip), caption="ignored for drafts"
    )
    job = submit(rt, request, client=client, actor=LOCAL_ACTOR)
    assert job.status == "processing" and job.publish_id.startswith("v_inbox_file")
    sandbox.advance(3)
    job = refresh_status(rt, job.id, client=client)
    assert job.status == "inbox"
    outcome = describe(job)
    assert outcome.kind == "success" and outcome.message == DRAFT_NOTE
    assert "drafts" in outcome.title
    assert quotas(db, luna).pending_drafts == 1
    init = inits(sandbox)[0]
    assert "inbox" in init["path"]


def test_pull_from_a_verified_url(rt, luna, client, sandbox, media):
    make_video(media.root / "media" / "pulled.mp4", seconds=1)
    request = direct(luna, None, source=UrlSource(media.url("pulled.mp4")))
    job = submit(rt, request, client=client, actor=LOCAL_ACTOR)
    assert job.status == "processing" and job.publish_id.startswith("v_pub_url")
    job = poll_until_settled(
        rt, job.id, client=client, deadline_s=60, interval_s=1, sleep=lambda s: sandbox.advance(s)
    )
    assert job.status == "published", describe(job)


def test_unverified_url_is_refused_at_init_in_plain_words(rt, luna, client, sandbox):
    job = submit(
        rt,
        direct(luna, None, source=UrlSource("https://localhost:1/nope.mp4")),
        client=client,
        actor=LOCAL_ACTOR,
    )
    assert job.status == "failed" and job.error_code == "url_ownership_unverified"
    outcome = describe(job)
    assert "not on a domain or URL prefix verified" in outcome.message
    assert outcome.retry_safe is False and outcome.log_id


def test_photo_post(rt, luna, client, sandbox, media):
    for name in ("a.jpg", "b.webp"):
        make_image(media.root / "media" / name, 1080, 1350)
    request = PostRequest(
        open_id=luna,
        mode="photo",
        source=PhotoUrls((media.url("a.jpg"), media.url("b.webp")), 1),
        photo_title="Two plates",
        caption="Dinner #food",
        privacy_level="SELF_ONLY",
        allow_comment=True,
    )
    job = submit(rt, request, client=client, actor=LOCAL_ACTOR)
    assert job.publish_id.startswith("p_pub_url")
    job = poll_until_settled(
        rt, job.id, client=client, deadline_s=60, interval_s=1, sleep=lambda s: sandbox.advance(s)
    )
    assert job.status == "published", describe(job)
    assert "not public" in describe(job).message  # SELF_ONLY: no public link


def test_an_oversized_photo_fails_with_tiktoks_reason(rt, luna, client, sandbox, media):
    make_image(media.root / "media" / "big.jpg", 1086, 1448)
    request = PostRequest(
        open_id=luna,
        mode="photo",
        source=PhotoUrls((media.url("big.jpg"),)),
        privacy_level="SELF_ONLY",
    )
    job = submit(rt, request, client=client, actor=LOCAL_ACTOR)
    job = poll_until_settled(
        rt, job.id, client=client, deadline_s=60, interval_s=1, sleep=lambda s: sandbox.advance(s)
    )
    assert job.status == "failed" and job.fail_reason == "picture_size_check_failed"
    outcome = describe(job)
    assert "shorter side at most 1080" in outcome.message and outcome.retry_safe is False


def test_a_missing_pulled_file_fails_as_video_pull_failed(rt, luna, client, sandbox, media):
    job = submit(
        rt,
        direct(luna, None, source=UrlSource(media.url("gone.mp4"))),
        client=client,
        actor=LOCAL_ACTOR,
    )
    job = poll_until_settled(
        rt, job.id, client=client, deadline_s=60, interval_s=1, sleep=lambda s: sandbox.advance(s)
    )
    assert job.fail_reason == "video_pull_failed"
    assert describe(job).retry_safe is True  # TikTok: retry if the URL is valid


def test_cancel_a_pull(rt, luna, client, sandbox, media):
    make_video(media.root / "media" / "slow.mp4", seconds=1)
    sandbox.config(download_delay_s=600)
    job = submit(
        rt,
        direct(luna, None, source=UrlSource(media.url("slow.mp4"))),
        client=client,
        actor=LOCAL_ACTOR,
    )
    job = cancel(rt, job.id, client=client, actor=LOCAL_ACTOR)
    assert job.status == "cancelled" and job.fail_reason == "publish_cancelled"


# -- TikTok's refusals in plain words ----------------------------------------------------------


def test_daily_cap_blocks_creator_info_and_init(rt, luna, clip, client, sandbox, tmp_path):
    sandbox.config(posts_per_day=1)
    creator = fetch_creator_info(rt, luna, client=client)
    submit(rt, direct(luna, clip), creator=creator, client=client, actor=LOCAL_ACTOR)
    blocked = fetch_creator_info(rt, luna, client=client)
    assert blocked.can_post is False and blocked.blocked_code == "spam_risk_too_many_posts"
    assert "daily posting limit" in blocked.blocked_reason
    # A stale form that still shows the old creator info: TikTok refuses at init (403).
    other = make_video(tmp_path / "other.mp4", seconds=1, fps=25)
    job = submit(rt, direct(luna, other), creator=creator, client=client, actor=LOCAL_ACTOR)
    assert job.status == "failed" and job.error_code == "spam_risk_too_many_posts"
    assert "tomorrow" in describe(job).message


def test_pending_drafts_cap(rt, luna, client, sandbox, tmp_path):
    sandbox.config(pending_shares_per_day=1)
    a = make_video(tmp_path / "a.mp4", seconds=1)
    b = make_video(tmp_path / "b.mp4", seconds=1, fps=25)
    submit(
        rt,
        PostRequest(open_id=luna, mode="draft", source=FileSource(a)),
        client=client,
        actor=LOCAL_ACTOR,
    )
    job = submit(
        rt,
        PostRequest(open_id=luna, mode="draft", source=FileSource(b)),
        client=client,
        actor=LOCAL_ACTOR,
    )
    assert job.error_code == "spam_risk_too_many_pending_share"
    assert "5 drafts waiting" in describe(job).message


def test_unaudited_app_on_a_public_account(rt, db, settings, keyring, sandbox, client, clip):
    fresh = connect(db, settings, keyring, sandbox, "freshbrand.lab")
    creator = fetch_creator_info(rt, fresh, client=client)
    assert creator.can_post  # TikTok only refuses at init
    job = submit(
        rt,
        direct(fresh, clip, privacy_level="SELF_ONLY"),
        creator=creator,
        client=client,
        actor=LOCAL_ACTOR,
    )
    assert job.error_code == "unaudited_client_can_only_post_to_private_accounts"
    assert "Make the TikTok account private" in describe(job).message


def test_privacy_option_mismatch_from_a_stale_form(rt, luna, clip, client):
    creator = fetch_creator_info(rt, luna, client=client)
    stale = replace(
        creator, privacy_level_options=(*creator.privacy_level_options, "FOLLOWER_OF_CREATOR")
    )
    job = submit(
        rt,
        direct(luna, clip, privacy_level="FOLLOWER_OF_CREATOR"),
        creator=stale,
        client=client,
        actor=LOCAL_ACTOR,
    )
    assert job.error_code == "privacy_level_option_mismatch"
    assert "Reload the Post page" in describe(job).message


def test_missing_scope(rt, db, settings, keyring, sandbox, client, clip):
    from services.tiktok.scopes import ANALYTICS, DRAFTS

    oid = connect(db, settings, keyring, sandbox, "trailrunnerjo", scopes=(*ANALYTICS, *DRAFTS))
    creator = fetch_creator_info(rt, oid, client=client)
    assert creator.allowed_modes == ("draft",) and creator.can_post
    assert creator.privacy_level_options == ()  # creator_info needs video.publish
    with pytest.raises(ValidationFailed, match="not allowed for this account"):
        submit(rt, direct(oid, clip), creator=creator, client=client, actor=LOCAL_ACTOR)
    forced = replace(
        creator, allowed_modes=("direct", "draft"), privacy_level_options=("SELF_ONLY",)
    )
    job = submit(
        rt,
        direct(oid, clip, privacy_level="SELF_ONLY"),
        creator=forced,
        client=client,
        actor=LOCAL_ACTOR,
    )
    assert job.error_code == "scope_not_authorized"
    assert "Grant more" in describe(job).message


def test_init_rate_limit(rt, luna, client, sandbox, tmp_path):
    sandbox.config(post_init_per_minute=1)
    a = make_video(tmp_path / "a.mp4", seconds=1)
    b = make_video(tmp_path / "b.mp4", seconds=1, fps=25)
    submit(rt, direct(luna, a), client=client, actor=LOCAL_ACTOR)
    job = submit(rt, direct(luna, b), client=client, actor=LOCAL_ACTOR)
    assert job.status == "failed" and job.error_code == "rate_limit_exceeded"
    assert describe(job).retry_safe is True


@pytest.mark.parametrize("reason", sorted(FAIL_REASONS))
def test_every_fail_reason_reads_plainly(rt, luna, clip, client, db, reason):
    """Each documented fail_reason, stored as status/fetch reports it, becomes the table's
    plain message with its retry advice (the sandbox produces a few of them for real above)."""
    from services.publishing import jobs
    from services.publishing.service import _apply_status

    job = submit(rt, direct(luna, clip), client=client, actor=LOCAL_ACTOR)
    row = jobs.raw(db, job.id)
    _apply_status(db, rt, row, {"status": "FAILED", "fail_reason": reason}, lambda: job.updated_at)
    outcome = describe(jobs.get_job(db, job.id))
    advice = FAIL_REASONS[reason]
    assert advice.explanation in outcome.message and advice.fix in outcome.message
    # A cancelled post no longer exists, so posting it again is safe (TikTok's "no retry" is
    # about the cancelled task itself).
    assert outcome.retry_safe is (advice.retry_safe or reason == "publish_cancelled")
    assert outcome.kind == ("info" if reason == "publish_cancelled" else "error")


# -- lost answers, dropped connections, restarts -----------------------------------------------


def test_init_reset_after_tiktok_created_the_post_is_unknown_never_resent(
    rt, luna, client, sandbox, media, db
):
    make_video(media.root / "media" / "lost.mp4", seconds=1)
    sandbox.fault("lose_response", path="/v2/post/publish/video/init/")
    request = direct(
        luna, None, source=UrlSource(media.url("lost.mp4")), caption="Lost answer test"
    )
    job = submit(rt, request, client=client, actor=LOCAL_ACTOR)
    assert job.status == "unknown" and job.publish_id is None
    assert len(inits(sandbox)) == 1  # exactly one init reached TikTok
    outcome = describe(job)
    assert outcome.kind == "warning" and outcome.retry_safe is False
    assert "will not send it again" in outcome.message
    # A second click is "already queued", not a second init.
    with pytest.raises(AlreadyQueued):
        submit(rt, request, client=client, actor=LOCAL_ACTOR)
    assert len(inits(sandbox)) == 1
    # TikTok finished the post; reconciliation finds it among the creator's videos.
    for _ in range(30):  # the sandbox pulls on a thread in real time, then moderates
        sandbox.advance(10)
        job = refresh_status(rt, job.id, client=client)
        if job.status != "unknown":
            break
    assert job.status == "published" and job.post_ids
    assert describe(job).post_url.endswith(job.post_ids[0])
    assert len(inits(sandbox)) == 1


def test_init_read_timeout_is_unknown(rt, luna, clip, client, sandbox, settings, sleeps):
    from services.tiktok.client import TikTokClient

    slow = TikTokClient.from_settings(settings, timeout=(5, 0.3), sleep=sleeps.append)
    sandbox.fault("latency", path="/v2/post/publish/video/init/", ms=1500, count=1)
    try:
        job = submit(rt, direct(luna, clip), client=slow, actor=LOCAL_ACTOR)
    finally:
        slow.session.close()
    assert job.status == "unknown"
    for _ in range(100):  # the sandbox logs the init once its delayed answer is written
        if inits(sandbox):
            break
        time.sleep(0.05)
    assert len(inits(sandbox)) == 1
    # Nothing at TikTok matches yet: it stays unknown until a person says otherwise.
    ana = Actor("ana@agency.example", "Ana", "editor")
    job = mark_not_posted(rt, job.id, actor=ana)
    assert job.status == "failed" and "ana@agency.example" in job.error_message
    assert describe(job).retry_safe is True


def test_a_crash_after_init_was_sent_leaves_unknown_not_resent(rt, luna, db, sandbox):
    """P3: the process died with init on the wire (init_sent, no publish id)."""
    import subprocess
    import sys

    from services.publishing import jobs

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    owner = f"{__import__('socket').gethostname()}:{dead.pid}:1:ab"
    job_id = jobs.insert_intent(
        db,
        {
            "open_id": luna,
            "mode": "direct",
            "source_kind": "url",
            "source_label": "u",
            "content_key": "url:x",
            "caption": "c",
            "caption_hash": "h",
        },
        owner=owner,
    )
    jobs.update(db, job_id, status="init_sent")
    prepared = jobs.insert_intent(
        db,
        {
            "open_id": luna,
            "mode": "direct",
            "source_kind": "url",
            "source_label": "u2",
            "content_key": "url:y",
            "caption": "c",
            "caption_hash": "h",
        },
        owner=owner,
    )
    by_id = {j.id: j for j in list_jobs(db, luna)}
    assert by_id[job_id].status == "unknown"
    assert by_id[prepared].status == "failed" and describe(by_id[prepared]).retry_safe
    assert inits(sandbox) == []


def test_two_tabs_submitting_at_once_make_one_job(rt, luna, clip, settings, sandbox, db):
    import threading

    from services.tiktok.client import TikTokClient

    creator = fetch_creator_info(rt, luna)
    results, barrier = [], threading.Barrier(2)

    def tab():
        client = TikTokClient.from_settings(settings)
        barrier.wait()
        try:
            results.append(
                submit(rt, direct(luna, clip), creator=creator, client=client, actor=LOCAL_ACTOR).id
            )
        except AlreadyQueued as exc:
            results.append(("queued", exc.job_id))
        finally:
            client.session.close()

    threads = [threading.Thread(target=tab) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [r for r in results if isinstance(r, int)]
    assert len(ids) == 1 and ("queued", ids[0]) in results
    assert len(inits(sandbox)) == 1 and len(list_jobs(db, luna)) == 1


def test_only_editors_post_or_draft_and_each_attempt_is_audited(rt, luna, client, sandbox, tmp_path,
                                                                db):
    from services.access import AccessDenied, list_events

    viewer = Actor("vic@brand.example", "Vic", "viewer")
    clip = make_video(tmp_path / "c.mp4", seconds=1)
    for mode in ("direct", "draft"):
        request = (direct(luna, clip) if mode == "direct"
                   else PostRequest(open_id=luna, mode="draft", source=FileSource(clip)))
        with pytest.raises(AccessDenied) as refused:
            submit(rt, request, client=client, actor=viewer)
        assert "editor" in refused.value.message
    assert inits(sandbox) == [] and list_jobs(db) == []  # nothing written, nothing sent
    editor = Actor("eddie@agency.example", "Eddie", "editor")
    job = submit(rt, PostRequest(open_id=luna, mode="draft", source=FileSource(clip)),
                 client=client, actor=editor)
    events = [(e.actor_email, e.action, e.outcome) for e in list_events(db, LOCAL_ACTOR)]
    assert ("vic@brand.example", "publish", "refused") in events
    assert ("vic@brand.example", "draft", "refused") in events
    assert ("eddie@agency.example", "draft", "ok") in events
    assert job.actor == "eddie@agency.example"
