"""Order previews as signed tokens: a preview writes nothing, and any API instance can execute it.

A ``preview_id`` is ``<payload>.<mac>``, both base64url: the payload is the previewed order, the account, the expiry
and a random id; the MAC is HMAC-SHA256 under a key derived from ``KSTOCK_SECRET_KEY`` (shared by every instance).
Execute verifies the MAC (a token altered in any byte, or made for another account, is not found), refuses an
expired one, and records the random id on the order it places (unique), so executing the same preview twice
returns the first order instead of placing a second.

Keeping previews out of the database keeps the preview read-only: on SQLite it never waits for the write lock.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from typing import Any, Final

import orjson

_VERSION: Final = 1
_KEY_CONTEXT: Final = b"kstock.trading.preview.v1:"
MAX_TOKEN_LENGTH: Final = 2_000


@dataclass(frozen=True, slots=True)
class Preview:
    id: uuid.UUID
    account_id: uuid.UUID
    request: dict[str, Any]
    expires_at: dt.datetime


def _key(secret: str) -> bytes:
    return hashlib.sha256(_KEY_CONTEXT + secret.encode()).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(secret: str, account_id: uuid.UUID, request: dict[str, Any], expires_at: dt.datetime) -> tuple[str, Preview]:
    """A new preview of ``request`` for ``account_id``, valid until ``expires_at``, and its token."""
    preview = Preview(uuid.uuid4(), account_id, request, expires_at)
    payload = orjson.dumps(
        {
            "v": _VERSION,
            "id": str(preview.id),
            "a": str(account_id),
            "r": request,
            "e": int(expires_at.timestamp() * 1000),
        }
    )
    body = _b64(payload)
    mac = hmac.new(_key(secret), body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}", preview


def verify(secret: str, token: str) -> Preview | None:
    """The preview a token carries, or None when it is malformed or was not signed with ``secret``."""
    if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 1:
        return None
    body, mac_text = token.split(".")
    try:
        mac = _unb64(mac_text)
        expected = hmac.new(_key(secret), body.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(mac, expected):
            return None
        data = orjson.loads(_unb64(body))
        if data.get("v") != _VERSION:
            return None
        return Preview(
            id=uuid.UUID(data["id"]),
            account_id=uuid.UUID(data["a"]),
            request=dict(data["r"]),
            expires_at=dt.datetime.fromtimestamp(data["e"] / 1000, dt.UTC),
        )
    except (binascii.Error, ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        return None
