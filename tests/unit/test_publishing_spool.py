"""Spooling an uploaded file to disk once: complete copies, and a full disk that changes nothing."""

from __future__ import annotations

import errno
import io
import os
from collections import namedtuple

import pytest

import services.publishing.service as service
from services.publishing import PublishError, spool_upload


def test_spools_in_blocks_and_returns_the_copy(tmp_path, monkeypatch):
    monkeypatch.setattr(service, "SPOOL_BLOCK", 1000)
    data = os.urandom(10_500)
    reads = []

    class Upload(io.BytesIO):
        def read(self, n=-1):
            reads.append(n)
            return super().read(n)

    path = spool_upload(Upload(data), len(data), tmp_path)
    assert path.read_bytes() == data
    assert path.parent == tmp_path / "uploads"
    assert set(reads) == {1000}  # never read whole
    assert oct((tmp_path / "uploads").stat().st_mode & 0o777) == "0o700"
    assert [p.suffix for p in (tmp_path / "uploads").iterdir()] == [".video"]


def test_refuses_up_front_when_the_disk_is_too_full(tmp_path, monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(service.shutil, "disk_usage", lambda p: usage(100, 90, 10))
    with pytest.raises(PublishError, match="Not enough disk space") as err:
        spool_upload(io.BytesIO(b"x" * 1000), 1000, tmp_path)
    assert err.value.step == "disk_full"
    assert list((tmp_path / "uploads").iterdir()) == []


def test_a_disk_that_fills_midway_leaves_no_partial_file(tmp_path, monkeypatch):
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, fh):
            self.fh, self.written = fh, 0

        def write(self, block):
            if self.written + len(block) > 2000:
                raise OSError(errno.ENOSPC, "No space left on device")
            self.written += len(block)
            return self.fh.write(block)

        def __getattr__(self, name):
            return getattr(self.fh, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

    monkeypatch.setattr(service.os, "fdopen", lambda fd, mode: Full(real_fdopen(fd, mode)))
    monkeypatch.setattr(service, "SPOOL_BLOCK", 1000)
    with pytest.raises(PublishError, match="disk filled up") as err:
        spool_upload(io.BytesIO(b"x" * 5000), None, tmp_path)
    assert err.value.step == "disk_full"
    assert list((tmp_path / "uploads").iterdir()) == []


def test_a_short_upload_is_refused(tmp_path):
    with pytest.raises(PublishError, match="cut short"):
        spool_upload(io.BytesIO(b"abc"), 10, tmp_path)
    assert list((tmp_path / "uploads").iterdir()) == []


def test_day_old_spools_are_removed_when_the_next_upload_arrives(tmp_path):
    old = spool_upload(io.BytesIO(b"old"), 3, tmp_path)
    recent = spool_upload(io.BytesIO(b"recent"), 6, tmp_path)
    day_ago = old.stat().st_mtime - service.SPOOL_MAX_AGE_S - 60
    os.utime(old, (day_ago, day_ago))
    new = spool_upload(io.BytesIO(b"new"), 3, tmp_path)
    assert not old.exists() and recent.exists() and new.exists()
