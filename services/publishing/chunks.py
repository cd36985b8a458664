"""The upload's chunk plan, exactly as TikTok's media transfer guide asks.

https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide:

* ``total_chunk_count = floor(video_size / chunk_size)``; the remainder is merged into the last
  chunk (never an extra chunk), which may then exceed ``chunk_size``, up to 128 MB;
* chunks are 5–64 MB; files under 5 MB go whole; files over 64 MB must use at least 2 chunks;
  a single chunk must declare ``chunk_size == video_size``;
* 1–1000 chunks, uploaded in order.

"MB" in that guide means MiB (its 4 MB example is 4,194,304 bytes). Reelboard uploads files of
at most 64 MiB whole, and larger ones in 64 MiB chunks (half the file when that is smaller).

The 4 GB maximum: TikTok does not say whether it means 4×10⁹ or 4×2³⁰ bytes. The same guide
uses binary units for every other size, so Reelboard reads it as 4 GiB (4,294,967,296 bytes);
files above that are refused before any call (tests cover both sides of both readings).
"""

from __future__ import annotations

from dataclasses import dataclass

from services.publishing.model import PublishError

MiB = 1024 * 1024
MIN_CHUNK = 5 * MiB
MAX_CHUNK = 64 * MiB
MAX_LAST_CHUNK = 128 * MiB
MAX_CHUNKS = 1000
MAX_VIDEO_BYTES = 4 * 1024**3  # "4 GB", read as GiB (see the module docstring)


@dataclass(frozen=True)
class Chunk:
    index: int  # 0-based
    start: int  # first byte
    end: int  # last byte (inclusive, as in Content-Range)
    total: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    @property
    def content_range(self) -> str:
        return f"bytes {self.start}-{self.end}/{self.total}"


@dataclass(frozen=True)
class ChunkPlan:
    """``chunk_size`` and ``total_chunk_count`` as sent in init's ``source_info``."""

    video_size: int
    chunk_size: int
    total_chunk_count: int

    def chunks(self) -> list[Chunk]:
        out = []
        for i in range(self.total_chunk_count):
            start = i * self.chunk_size
            last = i == self.total_chunk_count - 1
            end = self.video_size - 1 if last else start + self.chunk_size - 1
            out.append(Chunk(i, start, end, self.video_size))
        return out

    def chunk(self, index: int) -> Chunk:
        return self.chunks()[index]


class ChunkPlanError(PublishError):
    step = "chunk_plan"


def plan_chunks(
    video_size: int, chunk_size: int | None = None, *, max_size: int = MAX_VIDEO_BYTES
) -> ChunkPlan:
    """The plan for a file of ``video_size`` bytes; ``chunk_size`` forces a size (checked).

    Raises ChunkPlanError for an empty file, a file over ``max_size``, or a forced size that
    breaks a rule.
    """
    if video_size <= 0:
        raise ChunkPlanError("The video file is empty. Choose the exported video file.")
    if video_size > max_size:
        raise ChunkPlanError(
            f"The video is {video_size:,} bytes; TikTok accepts at most {max_size:,} bytes "
            "(4 GB). Export it at a lower bitrate or shorten it."
        )
    if chunk_size is None:
        if video_size <= MAX_CHUNK:
            return ChunkPlan(video_size, video_size, 1)
        chunk_size = max(MIN_CHUNK, min(MAX_CHUNK, video_size // 2))
    return _checked(video_size, chunk_size)


def _checked(video_size: int, chunk_size: int) -> ChunkPlan:
    if chunk_size == video_size:
        if video_size > MAX_CHUNK:
            raise ChunkPlanError(
                f"Files over {MAX_CHUNK // MiB} MB must be uploaded in at least 2 chunks."
            )
        return ChunkPlan(video_size, video_size, 1)
    if not MIN_CHUNK <= chunk_size <= MAX_CHUNK or chunk_size > video_size:
        raise ChunkPlanError(
            f"A chunk must be {MIN_CHUNK // MiB}–{MAX_CHUNK // MiB} MB and no larger than the "
            f"file (got {chunk_size:,} bytes for a {video_size:,}-byte file)."
        )
    count = video_size // chunk_size
    if count == 1:
        # TikTok: a single chunk must declare chunk_size == video_size ("The chunk size is
        # invalid" otherwise).
        raise ChunkPlanError(
            f"A {chunk_size:,}-byte chunk makes one chunk of a {video_size:,}-byte file; a "
            "single chunk must be the whole file."
        )
    if not 1 <= count <= MAX_CHUNKS:
        raise ChunkPlanError(
            f"{count:,} chunks of {chunk_size:,} bytes; TikTok takes 1 to {MAX_CHUNKS}."
        )
    last = video_size - chunk_size * (count - 1)
    if last > MAX_LAST_CHUNK:
        raise ChunkPlanError(
            f"The last chunk would be {last:,} bytes; TikTok takes at most "
            f"{MAX_LAST_CHUNK // MiB} MB."
        )
    return ChunkPlan(video_size, chunk_size, count)
