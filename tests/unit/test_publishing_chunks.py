"""The upload chunk plan against TikTok's media transfer rules, at every boundary."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.publishing.chunks import (
    MAX_CHUNK,
    MAX_CHUNKS,
    MAX_LAST_CHUNK,
    MAX_VIDEO_BYTES,
    MIN_CHUNK,
    ChunkPlanError,
    MiB,
    plan_chunks,
)


def assert_valid(plan):
    """Every rule of the guide, checked on the plan and on the ranges it produces."""
    size = plan.video_size
    assert 1 <= plan.total_chunk_count <= MAX_CHUNKS
    # floor(), never ceil(): the remainder goes into the last chunk.
    assert plan.total_chunk_count == size // plan.chunk_size
    chunks = plan.chunks()
    assert len(chunks) == plan.total_chunk_count
    assert chunks[0].start == 0 and chunks[-1].end == size - 1
    for a, b in itertools.pairwise(chunks):
        assert b.start == a.end + 1  # contiguous, in order
    if plan.total_chunk_count == 1:
        assert plan.chunk_size == size  # a single chunk declares the whole size
        assert size <= MAX_CHUNK
    else:
        assert MIN_CHUNK <= plan.chunk_size <= MAX_CHUNK
        assert all(c.length == plan.chunk_size for c in chunks[:-1])
        assert plan.chunk_size <= chunks[-1].length <= MAX_LAST_CHUNK
    assert sum(c.length for c in chunks) == size
    return chunks


@pytest.mark.parametrize("size", [1, 1000, 4 * MiB, 5 * MiB - 1])
def test_under_5_mib_goes_whole(size):
    plan = plan_chunks(size)
    assert (plan.chunk_size, plan.total_chunk_count) == (size, 1)
    assert plan.chunks()[0].content_range == f"bytes 0-{size - 1}/{size}"


@pytest.mark.parametrize("size", [5 * MiB, 5 * MiB + 1, 64 * MiB - 1, 64 * MiB])
def test_up_to_64_mib_goes_whole(size):
    plan = plan_chunks(size)
    assert (plan.chunk_size, plan.total_chunk_count) == (size, 1)
    assert_valid(plan)


def test_just_over_64_mib_needs_two_chunks():
    size = 64 * MiB + 1
    plan = plan_chunks(size)
    assert plan.total_chunk_count == 2
    chunks = assert_valid(plan)
    assert chunks[1].content_range == f"bytes {size // 2}-{size - 1}/{size}"


@pytest.mark.parametrize("size", [128 * MiB - 1, 128 * MiB, 128 * MiB + 1])
def test_around_128_mib(size):
    plan = plan_chunks(size)
    assert plan.chunk_size == min(64 * MiB, size // 2)
    assert plan.total_chunk_count == 2
    assert_valid(plan)


def test_doc_example_50_000_123_bytes_in_10_mb_chunks():
    plan = plan_chunks(50_000_123, 10_000_000)
    chunks = assert_valid(plan)
    assert plan.total_chunk_count == 5
    assert chunks[-1].length == 10_000_123
    assert chunks[-1].content_range == "bytes 40000000-50000122/50000123"


def test_4_gib_is_the_maximum_and_one_byte_more_is_refused():
    plan = plan_chunks(MAX_VIDEO_BYTES)
    assert MAX_VIDEO_BYTES == 4 * 1024**3
    assert (plan.chunk_size, plan.total_chunk_count) == (64 * MiB, 64)
    assert_valid(plan)
    with pytest.raises(ChunkPlanError, match="at most 4,294,967,296 bytes"):
        plan_chunks(MAX_VIDEO_BYTES + 1)


def test_4_billion_bytes_either_side_is_accepted():
    # "4 GB" read as 10^9 would stop at 4,000,000,000; Reelboard reads it as GiB (see chunks).
    for size in (4 * 10**9 - 1, 4 * 10**9, 4 * 10**9 + 1):
        assert_valid(plan_chunks(size))


def test_more_than_1000_chunks_is_refused():
    size = (MAX_CHUNKS + 1) * MIN_CHUNK
    with pytest.raises(ChunkPlanError, match="1 to 1000"):
        plan_chunks(size, MIN_CHUNK, max_size=size)
    plan = plan_chunks(MAX_CHUNKS * MIN_CHUNK, MIN_CHUNK, max_size=MAX_CHUNKS * MIN_CHUNK)
    assert plan.total_chunk_count == MAX_CHUNKS


@pytest.mark.parametrize("size", [0, -1])
def test_empty_file_is_refused(size):
    with pytest.raises(ChunkPlanError, match="empty"):
        plan_chunks(size)


@pytest.mark.parametrize("chunk", [MIN_CHUNK - 1, MAX_CHUNK + 1])
def test_forced_chunk_sizes_outside_5_to_64_mib_are_refused(chunk):
    with pytest.raises(ChunkPlanError, match="5–64 MB"):
        plan_chunks(200 * MiB, chunk)


def test_a_single_chunk_over_64_mib_is_refused():
    with pytest.raises(ChunkPlanError, match="at least 2 chunks"):
        plan_chunks(100 * MiB, 100 * MiB)


@settings(max_examples=400, deadline=None)
@given(st.integers(min_value=1, max_value=MAX_VIDEO_BYTES))
def test_every_size_gets_a_valid_plan(size):
    assert_valid(plan_chunks(size))


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=MAX_CHUNK + 1, max_value=MAX_VIDEO_BYTES),
       st.integers(min_value=MIN_CHUNK, max_value=MAX_CHUNK))
def test_forced_sizes_are_valid_or_refused(size, chunk):
    try:
        plan = plan_chunks(size, chunk)
    except ChunkPlanError:
        count = size // chunk
        assert count == 1 or count > MAX_CHUNKS or size - chunk * (count - 1) > MAX_LAST_CHUNK
    else:
        assert_valid(plan)
