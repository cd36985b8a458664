"""Google's OAuth token endpoint for service accounts (JWT bearer grant) and the Bearer check.

https://developers.google.com/identity/protocols/oauth2/service-account#httprest — the client
POSTs `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<RS256 JWT>`; the JWT
header's `kid` is the key's `private_key_id`, its claims are {iss, scope, aud, iat, exp}. Keys
are registered (public half only) through the control API; a revoked or unknown key gets
`invalid_grant`, as Google answers for a deleted key. Tokens live one hour of real time: Google
knows nothing of the TikTok sandbox's simulated clock.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sandbox.sheets.store import SheetsStore
from sandbox.state import StateStore

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
AUDIENCE = "https://oauth2.googleapis.com/token"  # fixed in google-auth, whatever token_uri is
TOKEN_TTL = 3599
CLOCK_SKEW = 300
SHEETS_SCOPES = (
    "https://www.googleapis.com/auth/spreadsheets",
    "https://www.googleapis.com/auth/drive",
    "https://www.googleapis.com/auth/drive.file",
)


class GrantError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


def _b64decode(part: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        raise GrantError("invalid_grant", "Invalid JWT: not base64url.") from None


def load_public_key(pem: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("public_key_pem must be an RSA public key")
    return key


def exchange(store: SheetsStore, form: dict[str, list[str]], now: float | None = None) -> dict:
    """The token response, or GrantError with Google's error code."""
    now = time.time() if now is None else now
    grant = (form.get("grant_type") or [""])[0]
    if grant != GRANT_TYPE:
        raise GrantError("unsupported_grant_type", "Invalid grant_type: " + grant[:80])
    assertion = (form.get("assertion") or [""])[0]
    parts = assertion.split(".")
    if len(parts) != 3:
        raise GrantError("invalid_request", "Invalid JWT: Token must be a short-lived token.")
    try:
        header = json.loads(_b64decode(parts[0]))
        claims = json.loads(_b64decode(parts[1]))
    except ValueError:
        raise GrantError("invalid_grant", "Invalid JWT: malformed header or claims.") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise GrantError("invalid_grant", "Invalid JWT: malformed header or claims.")
    if header.get("alg") != "RS256":
        raise GrantError("invalid_grant", "Invalid JWT: algorithm must be RS256.")
    key_id = str(header.get("kid") or "")
    with store.store.read() as tx:
        account = SheetsStore.get_account(tx, key_id) if key_id else None
    if account is None or account.get("revoked") or account["client_email"] != claims.get("iss"):
        # What Google answers for a deleted, disabled or unknown key.
        raise GrantError("invalid_grant", "Invalid JWT Signature.")
    try:
        load_public_key(account["public_key_pem"]).verify(
            _b64decode(parts[2]),
            f"{parts[0]}.{parts[1]}".encode(),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except InvalidSignature:
        raise GrantError("invalid_grant", "Invalid JWT Signature.") from None
    if claims.get("aud") != AUDIENCE:
        raise GrantError("invalid_grant", "Invalid JWT: Failed audience check.")
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(iat, int | float) or not isinstance(exp, int | float):
        raise GrantError("invalid_grant", "Invalid JWT: iat and exp are required.")
    if exp - iat > 3600 or exp < now - CLOCK_SKEW or iat > now + CLOCK_SKEW:
        raise GrantError(
            "invalid_grant",
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
            "timeframe. Check your iat and exp values in the JWT claim.",
        )
    scopes = str(claims.get("scope") or "").split()
    if not scopes:
        raise GrantError("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
    token = "ya29.sandbox-" + secrets.token_urlsafe(32)
    with store.store.transaction() as tx:
        SheetsStore.put_token(
            tx,
            token,
            {
                "client_email": account["client_email"],
                "key_id": key_id,
                "scopes": scopes,
                "expires_at": now + TOKEN_TTL,
            },
            now,
        )
    return {"access_token": token, "expires_in": TOKEN_TTL, "token_type": "Bearer"}


def bearer(store: SheetsStore, authorization: str | None, now: float | None = None) -> dict | None:
    """The token's record when the header carries a live token of an unrevoked key, else None."""
    now = time.time() if now is None else now
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    token = authorization[7:].strip()
    with store.store.read() as tx:
        record = SheetsStore.get_token(tx, token)
        if record is None or record["expires_at"] <= now:
            return None
        account = SheetsStore.get_account(tx, record["key_id"])
    if account is None or account.get("revoked"):
        return None
    return record


def register(store: StateStore, body: dict[str, Any]) -> dict[str, Any]:
    """Control API: register a service account's public key (PEM) under its key id."""
    email = body.get("client_email")
    key_id = body.get("private_key_id")
    pem = body.get("public_key_pem")
    if not isinstance(email, str) or "@" not in email:
        raise ValueError("client_email must be an e-mail address")
    if not isinstance(key_id, str) or not key_id:
        raise ValueError("private_key_id must be a non-empty string")
    if not isinstance(pem, str):
        raise ValueError("public_key_pem must be a PEM string")
    try:
        load_public_key(pem)
    except ValueError as exc:
        raise ValueError(f"public_key_pem is not an RSA public key: {exc}") from None
    record = {"client_email": email, "public_key_pem": pem, "revoked": False}
    with store.transaction() as tx:
        existing = SheetsStore.get_account(tx, key_id)
        if existing is not None and (existing["client_email"], existing["public_key_pem"]) == (
            email,
            pem,
        ):
            record = existing  # registering the same key again never un-revokes it
        else:
            SheetsStore.put_account(tx, key_id, record)
    return {"client_email": email, "private_key_id": key_id, "revoked": record["revoked"]}


def revoke(store: StateStore, body: dict[str, Any]) -> dict[str, Any]:
    key_id = body.get("private_key_id")
    if not isinstance(key_id, str) or not key_id:
        raise ValueError("private_key_id must be a non-empty string")
    with store.transaction() as tx:
        record = SheetsStore.get_account(tx, key_id)
        if record is None:
            raise LookupError(f"no service-account key {key_id!r} is registered")
        record["revoked"] = True
        SheetsStore.put_account(tx, key_id, record)
    return {"client_email": record["client_email"], "private_key_id": key_id, "revoked": True}
