"""Helpers for tests of the fake Google Sheets (imported as `tests.sandbox.sheets_helpers`).

Service-account keys are generated here with `cryptography` (no real secret anywhere) and
registered with the sandbox through its control API, as a person would create a key in Google
Cloud and share a spreadsheet in the Sheets UI.
"""

from __future__ import annotations

import base64
import functools
import json
import secrets
import time
from typing import Any

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

AUDIENCE = "https://oauth2.googleapis.com/token"
SCOPE = "https://www.googleapis.com/auth/spreadsheets"


@functools.lru_cache(maxsize=4)
def _rsa_key(n: int) -> rsa.RSAPrivateKey:
    # Key generation takes ~0.1 s: a few per session are plenty.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def service_account_info(base_url: str, email: str | None = None, n: int = 0) -> dict[str, Any]:
    key = _rsa_key(n)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return {
        "type": "service_account",
        "project_id": "reelboard-tests",
        "private_key_id": "kid-" + secrets.token_hex(8),
        "private_key": pem,
        "client_email": email or f"exporter-{secrets.token_hex(3)}@tests.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": f"{base_url}/token",
    }


def public_pem(info: dict[str, Any]) -> str:
    key = serialization.load_pem_private_key(info["private_key"].encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


class SheetsControl:
    """The fake Sheets' control routes under /_sandbox/sheets/."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url
        self.http = requests.Session()
        self.http.trust_env = False

    def _call(self, method: str, path: str, body: Any = None, ok: int = 200) -> Any:
        r = self.http.request(method, f"{self.base}/_sandbox/sheets/{path}", json=body, timeout=10)
        assert r.status_code == ok, r.text
        return r.json()

    def register(self, info: dict[str, Any]) -> None:
        self._call(
            "POST",
            "service-accounts",
            {
                "client_email": info["client_email"],
                "private_key_id": info["private_key_id"],
                "public_key_pem": public_pem(info),
            },
        )

    def revoke(self, info: dict[str, Any]) -> None:
        self._call("POST", "service-accounts/revoke", {"private_key_id": info["private_key_id"]})

    def create(self, share_with: list[str] | None = None, title: str = "Report") -> str:
        sid = "ss-" + secrets.token_hex(8)
        body = {"id": sid, "title": title, "share_with": share_with or []}
        self._call("POST", "spreadsheets", body, ok=201)
        return sid

    def share(self, sid: str, email: str) -> None:
        self._call("POST", f"spreadsheets/{sid}/share", {"email": email})

    def dump(self, sid: str) -> dict[str, Any]:
        return self._call("GET", f"spreadsheets/{sid}")

    def fault(self, status: int, count: int = 1, **extra: Any) -> None:
        self._call("POST", "faults", {"status": status, "count": count, **extra})

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def log(self, path: str | None = None) -> list[dict[str, Any]]:
        suffix = f"?path={path}" if path else ""
        return self._call("GET", f"requests{suffix}")

    def clear_log(self) -> None:
        self._call("DELETE", "requests")

    def api_calls(self, sid: str) -> list[dict[str, Any]]:
        return [e for e in self.log() if e["path"].startswith(f"/v4/spreadsheets/{sid}")]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed_jwt(
    info: dict[str, Any],
    *,
    aud: str = AUDIENCE,
    scope: str = SCOPE,
    key: rsa.RSAPrivateKey | None = None,
    iat: int | None = None,
) -> str:
    """An RS256 assertion as google-auth builds it."""
    now = int(time.time()) if iat is None else iat
    header = {"alg": "RS256", "typ": "JWT", "kid": info["private_key_id"]}
    claims = {
        "iss": info["client_email"],
        "scope": scope,
        "aud": aud,
        "iat": now,
        "exp": now + 3600,
    }
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    private = key or serialization.load_pem_private_key(info["private_key"].encode(), None)
    signature = private.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


def token(base_url: str, info: dict[str, Any]) -> str:
    r = requests.post(
        f"{base_url}/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": signed_jwt(info),
        },
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return r.json()["access_token"]
