"""The lock files `make run` and `make test` install from (pip --require-hashes) agree with the
human-edited pins in requirements*.txt, and pin every package with its hashes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = PIN.match(line.strip())
        if m:
            out[_norm(m.group(1))] = m.group(2)
    return out


def locked(path: Path) -> dict[str, tuple[str, int]]:
    """name → (version, number of hashes) from a pip-compile --generate-hashes file."""
    text = path.read_text(encoding="utf-8")
    out = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        m = PIN.match(block.strip())
        if m:
            out[_norm(m.group(1))] = (m.group(2), block.count("--hash=sha256:"))
    return out


@pytest.mark.parametrize(
    ("source", "lock"),
    [("requirements.txt", "requirements.lock"), ("requirements-dev.txt", "requirements-dev.lock")],
)
def test_lock_matches_the_pins_and_hashes_every_package(source, lock):
    wanted = pins(ROOT / source)
    if source == "requirements-dev.txt":
        wanted |= pins(ROOT / "requirements.txt")
    have = locked(ROOT / lock)
    assert wanted, f"no pins read from {source}"
    for name, version in wanted.items():
        assert name in have, f"{name} is pinned in {source} but missing from {lock}: run make lock"
        assert have[name][0] == version, f"{name}: {source} says {version}, {lock} {have[name][0]}"
    unhashed = [name for name, (_, hashes) in have.items() if hashes == 0]
    assert not unhashed, f"{lock} has packages without hashes: {unhashed}"
    assert len(have) > len(wanted)  # the transitive dependencies are pinned too
