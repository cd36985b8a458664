"""The publishing service against the real sandbox: direct posts, drafts, photos, failures."""

from __future__ import annotations

import pytest

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
    job = submit(rt, direct(luna, clip), creator=creator, client=client,
                 on_progress=lambda d, t, m: progress.append((d, t, m)))
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
    first = submit(rt, direct(luna, clip), creator=creator, client=client)
    with pytest.raises(AlreadyQueued) as err:
        submit(rt, direct(luna, clip), creator=creator, client=client)
    assert err.value.job_id == first.id
    assert "already queued" in err.value.message
    assert len(inits(sandbox)) == 1
    assert [j.id for j in list_jobs(db, luna)] == [first.id]
    assert quotas(db, luna).posts_today == 1


def test_invalid_form_writes_nothing_and_sends_nothing(rt, luna, clip, client, sandbox, db):
    creator = fetch_creator_info(rt, luna, client=client)
    with pytest.raises(ValidationFailed) as err:
        submit(rt, direct(luna, clip, privacy_level=None), creator=creator, client=client)
    assert any("no default" in p for p in err.value.problems)
    assert inits(sandbox) == [] and list_jobs(db) == []
