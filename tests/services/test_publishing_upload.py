"""The chunked upload against the sandbox: dropped connections, lost answers, a killed process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from services.access import LOCAL_ACTOR
from services.db import open_db
from services.publishing import describe, get_job, list_jobs, resume_upload, submit
from services.publishing.chunks import MiB, plan_chunks
from tests.media import make_video
from tests.services.publishing_support import connect, direct, runtime


@pytest.fixture
def rt(settings, keyring):
    return runtime(settings, keyring)


@pytest.fixture
def luna(db, settings, keyring, sandbox):
    return connect(db, settings, keyring, sandbox, "lunakitchen")


@pytest.fixture
def big_clip(tmp_path):
    """A real 1 s MP4 padded with a `free` box past 64 MiB, so it uploads in 2 chunks."""
    path = make_video(tmp_path / "big.mp4", seconds=1)
    pad = 65 * MiB - path.stat().st_size
    with path.open("ab") as fh:
        fh.write(pad.to_bytes(4, "big") + b"free")
        fh.truncate(65 * MiB)  # sparse zeros inside the free box
    return path


def spy_ranges(client):
    """Record the Content-Range of every upload PUT the client sends."""
    ranges = []
    real_put = client.session.put

    def put(url, **kwargs):
        ranges.append(kwargs["headers"]["Content-Range"])
        return real_put(url, **kwargs)

    client.session.put = put
    return ranges


def puts(sandbox):
    return [e for e in sandbox.requests() if e.get("path") == "/upload/video/"]


def inits(sandbox):
    return [e for e in sandbox.requests() if "/init/" in e.get("path", "")]


def test_plan_for_the_padded_clip(big_clip):
    plan = plan_chunks(big_clip.stat().st_size)
    assert plan.total_chunk_count == 2


def test_a_connection_dropped_mid_chunk_resends_the_same_range(
    rt, luna, big_clip, client, sandbox, sleeps
):
    ranges = spy_ranges(client)
    sandbox.fault("drop", path="/upload/video/", after_bytes=MiB, count=1)
    job = submit(rt, direct(luna, big_clip), client=client, actor=LOCAL_ACTOR)
    first, second = (c.content_range for c in plan_chunks(65 * MiB).chunks())
    assert ranges == [first, first, second]
    assert job.status == "processing", describe(job)
    assert job.uploaded_bytes == 65 * MiB and job.chunks_acked == 2
    assert len(sleeps) == 1  # one back-off before the re-send
    assert len(inits(sandbox)) == 1


def test_a_lost_chunk_answer_resumes_from_tiktoks_progress(rt, luna, big_clip, client, sandbox):
    ranges = spy_ranges(client)
    # The first chunk is stored but its 206 never arrives: the re-send gets 416 with TikTok's
    # progress, and the upload continues with the second chunk instead of failing.
    sandbox.fault("lose_response", path="/upload/video/", count=1)
    job = submit(rt, direct(luna, big_clip), client=client, actor=LOCAL_ACTOR)
    first, second = (c.content_range for c in plan_chunks(65 * MiB).chunks())
    assert ranges == [first, first, second]
    assert job.status == "processing", describe(job)


def test_5xx_on_every_attempt_leaves_a_resumable_upload(rt, luna, big_clip, client, sandbox):
    sandbox.fault("server_error", path="/upload/video/", count=4, status=503)
    job = submit(rt, direct(luna, big_clip), client=client, actor=LOCAL_ACTOR)
    assert job.status == "uploading" and job.chunks_acked == 0
    outcome = describe(job)
    assert outcome.title == "Upload interrupted" and outcome.retry_safe
    ranges = spy_ranges(client)
    job = resume_upload(rt, job.id, client=client, actor=LOCAL_ACTOR)
    assert job.status == "processing"
    assert len(ranges) == 2 and len(inits(sandbox)) == 1


def test_an_expired_upload_link_fails_cleanly(rt, luna, big_clip, client, sandbox):
    sandbox.config(upload_url_ttl=1)
    sandbox.fault("server_error", path="/upload/video/", count=4, status=500)
    job = submit(rt, direct(luna, big_clip), client=client, actor=LOCAL_ACTOR)
    sandbox.advance(5)
    job = resume_upload(rt, job.id, client=client, actor=LOCAL_ACTOR)
    assert job.status == "failed" and job.error_code == "upload_http_403"
    assert "expired" in describe(job).message
    assert len(inits(sandbox)) == 1  # never re-initialised by itself


def test_a_file_changed_during_upload_stops_before_sending_bad_bytes(
    rt, luna, big_clip, client, sandbox
):
    sandbox.fault("server_error", path="/upload/video/", count=4, status=500)
    job = submit(rt, direct(luna, big_clip), client=client, actor=LOCAL_ACTOR)
    with big_clip.open("ab") as fh:
        fh.write(b"more")
    ranges = spy_ranges(client)
    job = resume_upload(rt, job.id, client=client, actor=LOCAL_ACTOR)
    assert job.status == "failed" and job.error_code == "file_changed"
    assert ranges == []


CHILD = textwrap.dedent("""
    import json, os, signal, sys
    from pathlib import Path
    from services.config import Settings
    from services.crypto import load_keyring
    from services.db import open_db
    from services.access import LOCAL_ACTOR
    from services.publishing import FileSource, PostRequest, submit
    from services.runtime import Runtime

    args = json.loads(sys.argv[1])
    settings = Settings(mode="sandbox", client_key=args["client_key"],
                        client_secret=args["client_secret"], redirect_uri=args["redirect_uri"],
                        auth_url=args["auth_url"], api_base_url=args["api_base_url"],
                        data_dir=Path(args["data_dir"]))
    with open_db(settings.database_path) as db:
        keyring = load_keyring(settings, db)
    rt = Runtime(settings=settings, keyring=keyring)

    def on_progress(done, total, message):
        if message.startswith("Uploaded part 1 "):
            os.kill(os.getpid(), signal.SIGKILL)  # die right after chunk 1 is acknowledged

    request = PostRequest(open_id=args["open_id"], mode="direct",
                          source=FileSource(Path(args["path"])), caption="kill test",
                          privacy_level="SELF_ONLY")
    submit(rt, request, on_progress=on_progress, actor=LOCAL_ACTOR)
    sys.exit(3)  # not reached
""")


def test_kill_during_upload_then_resume_from_the_last_acknowledged_chunk(
    rt, luna, big_clip, client, sandbox, settings
):
    args = {
        "client_key": settings.client_key,
        "client_secret": settings.client_secret,
        "redirect_uri": settings.redirect_uri,
        "auth_url": settings.auth_url,
        "api_base_url": settings.api_base_url,
        "data_dir": str(settings.data_dir),
        "open_id": luna,
        "path": str(big_clip),
    }
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    child = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(args)], env=env, capture_output=True, timeout=120
    )
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
    with open_db(settings.database_path) as db:
        (job,) = [get_job(db, 1)]
    assert job.status == "uploading" and job.chunks_acked == 1
    assert len(puts(sandbox)) == 1
    with open_db(settings.database_path) as db:  # the history shows it stopped, resumable
        (listed,) = list_jobs(db)
    assert describe(listed).title == "Upload interrupted" and describe(listed).retry_safe
    ranges = spy_ranges(client)
    job = resume_upload(rt, job.id, client=client, actor=LOCAL_ACTOR)
    second = plan_chunks(65 * MiB).chunks()[1].content_range
    assert ranges == [second]  # chunk 1 is not sent again
    assert job.status == "processing", describe(job)
    assert len(inits(sandbox)) == 1
    sandbox.advance(5)
    from services.publishing import refresh_status

    assert refresh_status(rt, job.id, client=client).status == "published"


def test_an_upload_stopped_from_outside_says_so_and_resumes(rt, luna, big_clip, client, sandbox):
    """Streamlit stops a script run by raising inside the next st.* call: here, the progress
    callback. The job must not look as if it were still uploading."""

    class PageLeft(BaseException):
        pass

    def on_progress(done, total, message):
        if message.startswith("Uploaded part 1 "):
            raise PageLeft

    with pytest.raises(PageLeft):
        submit(
            rt, direct(luna, big_clip), client=client, on_progress=on_progress, actor=LOCAL_ACTOR
        )
    with open_db(rt.settings.database_path) as db:
        job = get_job(db, 1)
    assert job.status == "uploading" and job.chunks_acked == 1
    outcome = describe(job)
    assert outcome.title == "Upload interrupted" and "stopped" in outcome.message
    job = resume_upload(rt, job.id, client=client, actor=LOCAL_ACTOR)
    assert job.status == "processing" and len(inits(sandbox)) == 1


def test_upload_tokens_never_reach_logs():
    from services.redaction import redact

    text = "PUT https://open-upload.tiktokapis.com/video/?upload_id=7&upload_token=s3cr3t-x"
    assert "s3cr3t" not in redact(text)


def test_an_abandoned_upload_fails_once_its_link_expired(rt, luna, big_clip, client, sandbox):
    from datetime import timedelta

    from services.clock import utc_now
    from services.publishing import jobs

    sandbox.fault("server_error", path="/upload/video/", count=4, status=500)
    job = submit(rt, direct(luna, big_clip), client=client, actor=LOCAL_ACTOR)
    assert job.status == "uploading"
    with open_db(rt.settings.database_path) as db:
        assert jobs.sweep(db) == 0  # the link is still valid: resumable
        assert jobs.sweep(db, clock=lambda: utc_now() + timedelta(hours=2)) == 1
        job = get_job(db, job.id)
    assert job.status == "failed" and job.error_code == "upload_url_expired"
    assert describe(job).retry_safe  # posting it again cannot double-post
