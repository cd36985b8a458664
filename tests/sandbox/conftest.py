"""Fixtures for the sandbox tests: one server per session, reset before each test.

Every test talks real HTTP to `start_sandbox(port=0, anchor=ANCHOR)` and starts from a clean,
frozen clock one hour after the anchor, so numbers are repeatable.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from sandbox import SandboxServer, start_sandbox
from tests.sandbox.helpers import ANCHOR, START, Client


@pytest.fixture(scope="session")
def server() -> Iterator[SandboxServer]:
    with start_sandbox(port=0, anchor=ANCHOR) as srv:
        yield srv


@pytest.fixture
def sb(server: SandboxServer) -> Iterator[Client]:
    """A clean sandbox (authorizations, faults, log, config reset) at START, frozen."""
    with requests.Session() as http:
        client = Client(server, http)
        assert client.control("POST", "reset").status_code == 200
        client.set_clock(START)
        yield client
