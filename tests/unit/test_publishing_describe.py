"""Every job state and every posting error code reads as plain words with the right advice."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from services.publishing import DRAFT_NOTE, PROCESSING_NOTE, PublishJob, describe, post_url
from services.tiktok.errors import API_ERRORS

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
JOB = PublishJob(
    id=1, open_id="-000abc", mode="direct", source_kind="file", source_label="clip.mp4",
    size=10 * 1024 * 1024, sha256="0" * 64, caption="hi", privacy_level="PUBLIC_TO_EVERYONE",
    options={}, status="processing", publish_id="v_pub_file~v2-1.1", fail_reason=None,
    error_code=None, error_message=None, log_id="LOG123", uploaded_bytes=0, chunk_count=1,
    chunks_acked=0, post_ids=(), username="lunakitchen", actor=None, created_at=NOW,
    updated_at=NOW, finished_at=None,
)


def test_processing_and_drafts():
    assert describe(JOB).message == PROCESSING_NOTE and JOB.needs_polling
    inbox = describe(replace(JOB, status="inbox"))
    assert inbox.kind == "success" and inbox.message == DRAFT_NOTE
    assert "@lunakitchen" in inbox.title


def test_published_links_only_when_public():
    live = replace(JOB, status="published", post_ids=("7300000000000000001",))
    assert describe(live).post_url == \
        "https://www.tiktok.com/@lunakitchen/video/7300000000000000001"
    assert not live.needs_polling
    waiting = replace(JOB, status="published")
    assert describe(waiting).post_url is None and "moderation" in describe(waiting).message
    assert waiting.needs_polling  # the page keeps asking until the link exists
    private = replace(waiting, privacy_level="SELF_ONLY")
    assert "not public" in describe(private).message and not private.needs_polling


@pytest.mark.parametrize(("username", "post_id"), [
    ("bad/name", "1"), ("ok", "12a"), (None, "1"), ("a" * 65, "1"), ('x"onclick', "1")])
def test_post_links_are_built_only_from_safe_values(username, post_id):
    assert post_url(username, post_id) is None


@pytest.mark.parametrize("code", sorted(API_ERRORS))
def test_every_api_error_code_reads_plainly(code):
    advice = API_ERRORS[code]
    outcome = describe(replace(JOB, status="failed", publish_id=None, error_code=code))
    assert outcome.kind == "error" and outcome.title == "Not posted"
    assert advice.explanation in outcome.message and advice.fix in outcome.message
    assert outcome.retry_safe is advice.retry_safe
    assert outcome.log_id == "LOG123"


def test_unknown_is_a_warning_that_forbids_reposting():
    outcome = describe(replace(JOB, status="unknown", publish_id=None))
    assert outcome.kind == "warning" and outcome.retry_safe is False
    assert "will not send it again" in outcome.message


def test_upload_progress_and_interruption():
    uploading = replace(JOB, status="uploading", chunk_count=4, chunks_acked=1,
                        uploaded_bytes=2_621_440)
    assert describe(uploading).message.startswith("2.5 MB of 10.0 MB uploaded")
    assert not uploading.needs_polling
    stopped = replace(uploading, error_message="The connection dropped.")
    assert describe(stopped).title == "Upload interrupted" and describe(stopped).retry_safe
    done = replace(uploading, chunks_acked=4)
    assert describe(done).title == "Upload finished" and done.needs_polling


def test_failure_without_a_table_entry_uses_the_stored_message():
    outcome = describe(replace(JOB, status="failed", error_code="file_changed",
                               error_message="The file changed during the upload."))
    assert outcome.message == "The file changed during the upload." and outcome.retry_safe
