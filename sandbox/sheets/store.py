"""Fake-Sheets state kept in the sandbox's state store (its `meta` table), so a restart or a
second process sharing the data dir sees the same spreadsheets, keys and tokens.

Keys: `sheets:ss:<id>` (a spreadsheet document, JSON), `sheets:index` (ids, JSON list),
`sheets:sa:<key id>` (a registered service-account public key), `sheets:tok:<sha256>` (an
access token's e-mail, key id and expiry; only the hash of the token is stored).
"""

from __future__ import annotations

import json
from typing import Any

from sandbox.ids import secret_hash
from sandbox.state import StateStore, Tx

_SS = "sheets:ss:"
_INDEX = "sheets:index"
_SA = "sheets:sa:"
_TOK = "sheets:tok:"
_TOKENS = "sheets:tokens"


class SheetsStore:
    def __init__(self, store: StateStore) -> None:
        self.store = store

    # spreadsheets ------------------------------------------------------------------------
    @staticmethod
    def get_doc(tx: Tx, spreadsheet_id: str) -> dict[str, Any] | None:
        raw = tx.get_meta(_SS + spreadsheet_id)
        return None if raw is None else json.loads(raw)

    @staticmethod
    def put_doc(tx: Tx, doc: dict[str, Any]) -> None:
        sid = doc["spreadsheetId"]
        tx.set_meta(_SS + sid, json.dumps(doc, separators=(",", ":"), sort_keys=True))
        ids = SheetsStore.ids(tx)
        if sid not in ids:
            tx.set_meta(_INDEX, json.dumps([*ids, sid]))

    @staticmethod
    def ids(tx: Tx) -> list[str]:
        raw = tx.get_meta(_INDEX)
        return json.loads(raw) if raw else []

    # service accounts --------------------------------------------------------------------
    @staticmethod
    def get_account(tx: Tx, key_id: str) -> dict[str, Any] | None:
        raw = tx.get_meta(_SA + key_id)
        return None if raw is None else json.loads(raw)

    @staticmethod
    def put_account(tx: Tx, key_id: str, record: dict[str, Any]) -> None:
        tx.set_meta(_SA + key_id, json.dumps(record, sort_keys=True))

    # access tokens -----------------------------------------------------------------------
    @staticmethod
    def put_token(tx: Tx, token: str, record: dict[str, Any], now: float) -> None:
        hashes = [h for h in json.loads(tx.get_meta(_TOKENS) or "[]")]
        live = []
        for h in hashes:  # drop expired tokens as new ones are issued
            raw = tx.get_meta(_TOK + h)
            if raw is not None and json.loads(raw)["expires_at"] > now:
                live.append(h)
            else:
                tx.set_meta(_TOK + h, None)
        h = secret_hash(token)
        tx.set_meta(_TOK + h, json.dumps(record, sort_keys=True))
        tx.set_meta(_TOKENS, json.dumps([*live, h]))

    @staticmethod
    def get_token(tx: Tx, token: str) -> dict[str, Any] | None:
        raw = tx.get_meta(_TOK + secret_hash(token))
        return None if raw is None else json.loads(raw)
