"""Password hashing (argon2, off the event loop), access JWTs and opaque secrets."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import secrets
import uuid
from typing import Any, Final

import jwt
from pwdlib import PasswordHash

from kstock.config import Settings
from kstock.errors import UnauthorizedError
from kstock.kit.clock import utcnow

ALGORITHM: Final = "HS256"
ACCESS_TYPE: Final = "access"
_hasher = PasswordHash.recommended()
# Verifying against this when the account does not exist keeps a failed login's timing the same either way.
_DUMMY_HASH: Final = _hasher.hash("kstock-dummy-password-for-timing")


async def hash_password(password: str) -> str:
    """argon2id hash, computed in a worker thread: it is slow on purpose."""
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password: str, password_hash: str | None) -> bool:
    """True when ``password`` matches; with no hash, burns the same time and returns False."""
    return await asyncio.to_thread(_hasher.verify, password, password_hash or _DUMMY_HASH) and bool(password_hash)


def new_secret(nbytes: int = 32) -> str:
    """A URL-safe random secret (refresh tokens, API keys)."""
    return secrets.token_urlsafe(nbytes)


def secret_digest(secret: str) -> str:
    """SHA-256 hex of a high-entropy secret: enough for random tokens (passwords use argon2)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create_access_token(
    settings: Settings,
    user_id: uuid.UUID,
    now: dt.datetime | None = None,
    *,
    session_id: uuid.UUID | None = None,
) -> tuple[str, str, int]:
    """A signed access JWT for ``user_id``; returns (token, jti, exp as epoch seconds).

    ``session_id`` (claim ``sid``) names the refresh-token family the token was issued with, so logout can end
    the whole session.
    """
    issued = now or utcnow()
    expires = issued + dt.timedelta(seconds=settings.access_token_ttl_s)
    jti = uuid.uuid4().hex
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "iat": int(issued.timestamp()),
        "exp": int(expires.timestamp()),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "jti": jti,
        "typ": ACCESS_TYPE,
    }
    if session_id is not None:
        claims["sid"] = str(session_id)
    token = jwt.encode(claims, settings.secret_key.get_secret_value(), algorithm=ALGORITHM)
    return token, jti, int(claims["exp"])


def decode_access_token(settings: Settings, token: str) -> dict[str, Any]:
    """The claims of a valid access token; 401 for any flaw (signature, alg, aud, iss, exp, iat, typ)."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            settings.secret_key.get_secret_value(),
            algorithms=[ALGORITHM],  # pinned: "none" and every other algorithm are refused
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway=settings.jwt_leeway_s,
            options={"require": ["sub", "exp", "iat", "iss", "aud", "jti", "typ"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise UnauthorizedError("Access token expired", {"token": "expired"}) from exc
    except jwt.PyJWTError as exc:
        raise UnauthorizedError("Invalid access token", {"token": "invalid"}) from exc
    if claims.get("typ") != ACCESS_TYPE:
        raise UnauthorizedError("Invalid access token", {"token": "wrong type"})
    now = utcnow().timestamp()
    if float(claims["iat"]) > now + settings.jwt_leeway_s:
        raise UnauthorizedError("Invalid access token", {"token": "issued in the future"})
    try:
        uuid.UUID(str(claims["sub"]))
        if "sid" in claims:
            uuid.UUID(str(claims["sid"]))
    except ValueError as exc:
        raise UnauthorizedError("Invalid access token", {"token": "invalid subject or session"}) from exc
    return claims
