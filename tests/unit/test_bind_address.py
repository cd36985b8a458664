"""Start-up refusal: without sign-in, Reelboard serves on loopback only."""

from __future__ import annotations

import pytest

from services.config import check_bind_address, is_loopback


@pytest.mark.parametrize("address", ["localhost", "127.0.0.1", "127.0.0.2", "::1", "[::1]"])
def test_loopback_is_always_fine(address):
    assert is_loopback(address)
    assert check_bind_address(address, auth_configured=False, environ={}) == []


@pytest.mark.parametrize(
    "address", ["0.0.0.0", "::", "", None, "192.168.1.10", "reelboard.example.com"]
)
def test_other_addresses_need_sign_in(address):
    [problem] = check_bind_address(address, auth_configured=False, environ={})
    assert "[auth]" in problem and "REELBOARD_ALLOW_UNAUTHENTICATED=1" in problem
    assert check_bind_address(address, auth_configured=True, environ={}) == []


@pytest.mark.parametrize("value, allowed", [("1", True), ("true", True), ("0", False), ("", False)])
def test_explicit_override(value, allowed):
    env = {"REELBOARD_ALLOW_UNAUTHENTICATED": value}
    assert (check_bind_address("0.0.0.0", auth_configured=False, environ=env) == []) is allowed
