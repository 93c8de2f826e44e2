"""Authentication dependencies: Bearer access tokens and ``X-API-Key`` resolve to a :class:`Principal`.

The principal is resolved at most once per request and kept in ``request.state.principal``. User and API-key
records are cached per instance for ``_CACHE_TTL_S`` seconds so an authenticated request normally costs no
database round trip; changes made through this instance (tier, role, deactivation, key revocation) drop the
cached entry at once, other instances see them within the TTL.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select, update
from starlette.requests import HTTPConnection

from kstock.config import Settings
from kstock.errors import ForbiddenError, UnauthorizedError
from kstock.identity.models import ApiKey, User
from kstock.identity.principal import ROLE_SCOPES, Principal, Role, Scope, Tier
from kstock.identity.revocation import RevocationStore
from kstock.identity.security import decode_access_token, secret_digest
from kstock.identity.state import state_of
from kstock.kit.clock import as_utc, utcnow

_CACHE_TTL_S: Final = 10.0
_MAX_CACHED_TOKENS: Final = 10_000
_LAST_USED_EVERY_S: Final = 60.0
_MISSING: Final = object()
WWW_AUTHENTICATE: Final = {"WWW-Authenticate": 'Bearer realm="kstock"'}

# Declared for the OpenAPI document (the padlock in /docs); parsing is done below with our own errors.
bearer_scheme = HTTPBearer(auto_error=False, description="Access token from /v1/auth/login")
api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key from /v1/api-keys")


@dataclass(frozen=True, slots=True)
class _UserRecord:
    user_id: uuid.UUID
    email: str
    tier: Tier
    role: Role
    is_active: bool
    fetched_at: float


@dataclass(frozen=True, slots=True)
class _KeyRecord:
    user_id: uuid.UUID
    prefix: str
    scopes: frozenset[Scope]
    expires_at: dt.datetime | None
    revoked: bool
    fetched_at: float


class IdentityCache:
    """Short-lived per-instance copies of user and API-key records."""

    def __init__(self) -> None:
        self.users: dict[uuid.UUID, _UserRecord] = {}
        self.keys: dict[str, _KeyRecord] = {}
        self.key_digests: dict[str, str] = {}  # prefix -> digest of the keys in ``keys``
        self.key_last_touched: dict[str, float] = {}
        # Verified access-token claims by token: a client sends the same token for its whole lifetime, and
        # verifying the signature again costs more than the rest of authentication. Bounded, least recent out.
        self.tokens: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def verified_claims(self, settings: Settings, token: str) -> dict[str, Any]:
        """``decode_access_token`` with a cache; an expired token is refused even when cached."""
        claims = self.tokens.get(token)
        if claims is not None and time.time() <= claims["exp"] + settings.jwt_leeway_s:
            self.tokens.move_to_end(token)
            return claims
        self.tokens.pop(token, None)
        claims = decode_access_token(settings, token)
        self.tokens[token] = claims
        if len(self.tokens) > _MAX_CACHED_TOKENS:
            self.tokens.popitem(last=False)
        return claims

    def forget_user(self, user_id: uuid.UUID) -> None:
        self.users.pop(user_id, None)
        for digest in [d for d, record in self.keys.items() if record.user_id == user_id]:
            self.keys.pop(digest, None)

    def forget_key(self, key_hash: str) -> None:
        self.keys.pop(key_hash, None)

    def forget_key_prefix(self, prefix: str) -> None:
        digest = self.key_digests.pop(prefix, None)
        if digest is not None:
            self.keys.pop(digest, None)

    def keep_key(self, digest: str, record: _KeyRecord) -> None:
        self.keys[digest] = record
        self.key_digests[record.prefix] = digest


def unauthorized(message: str, reason: str) -> UnauthorizedError:
    return UnauthorizedError(message, {"authorization": reason}, headers=WWW_AUTHENTICATE)


async def _user(request: HTTPConnection, user_id: uuid.UUID) -> _UserRecord | None:
    cache: IdentityCache = state_of(request).identity_cache
    record = cache.users.get(user_id)
    now = time.monotonic()
    if record is not None and now - record.fetched_at < _CACHE_TTL_S:
        return record
    async with state_of(request).sessionmaker() as session:
        row = (
            await session.execute(
                select(User.id, User.email, User.tier, User.role, User.is_active).where(User.id == user_id)
            )
        ).first()
    if row is None:
        cache.users.pop(user_id, None)
        return None
    record = _UserRecord(row.id, row.email, Tier(row.tier), Role(row.role), row.is_active, now)
    cache.users[user_id] = record
    return record


async def _key(request: HTTPConnection, raw_key: str) -> _KeyRecord | None:
    cache: IdentityCache = state_of(request).identity_cache
    digest = secret_digest(raw_key)
    record = cache.keys.get(digest)
    now = time.monotonic()
    if record is None or now - record.fetched_at >= _CACHE_TTL_S:
        async with state_of(request).sessionmaker() as session:
            row = (
                await session.execute(
                    select(ApiKey.user_id, ApiKey.prefix, ApiKey.scopes, ApiKey.expires_at, ApiKey.revoked_at).where(
                        ApiKey.key_hash == digest
                    )
                )
            ).first()
        if row is None:
            cache.keys.pop(digest, None)
            return None
        scopes = frozenset(Scope(s) for s in row.scopes.split(",") if s)
        record = _KeyRecord(row.user_id, row.prefix, scopes, as_utc(row.expires_at), row.revoked_at is not None, now)
        cache.keep_key(digest, record)
    await _touch_key(request, digest, now)
    return record


async def _touch_key(request: HTTPConnection, digest: str, now: float) -> None:
    # last_used_at is written at most once a minute per key per instance: not a write on every request.
    cache: IdentityCache = state_of(request).identity_cache
    if now - cache.key_last_touched.get(digest, -_LAST_USED_EVERY_S) < _LAST_USED_EVERY_S:
        return
    cache.key_last_touched[digest] = now
    async with state_of(request).sessionmaker() as session:
        await session.execute(update(ApiKey).where(ApiKey.key_hash == digest).values(last_used_at=utcnow()))
        await session.commit()


async def _active_user(request: HTTPConnection, user_id: uuid.UUID) -> _UserRecord:
    user = await _user(request, user_id)
    if user is None or not user.is_active:
        raise unauthorized("Account not found or disabled", "inactive")
    return user


async def _from_bearer(request: HTTPConnection, token: str) -> Principal:
    state = state_of(request)
    settings, cache = state.settings, state.identity_cache
    try:
        claims = cache.verified_claims(settings, token)
    except UnauthorizedError as exc:
        # Every 401 tells the client how to authenticate, a flawed token's included.
        raise UnauthorizedError(exc.message, exc.details, headers=WWW_AUTHENTICATE) from exc
    revocations = state.revocations
    session_id = uuid.UUID(claims["sid"]) if "sid" in claims else None
    if await revocations.is_revoked(claims["jti"], session_id):
        raise unauthorized("Access token revoked", "revoked")
    user = await _active_user(request, uuid.UUID(claims["sub"]))
    return Principal(
        user_id=user.user_id,
        email=user.email,
        tier=user.tier,
        role=user.role,
        scopes=ROLE_SCOPES[user.role],
        token_jti=claims["jti"],
        token_expires_at=int(claims["exp"]),
        session_id=session_id,
    )


async def _from_api_key(request: HTTPConnection, raw_key: str) -> Principal:
    key = await _key(request, raw_key)
    if key is None or key.revoked:
        raise unauthorized("Invalid API key", "invalid api key")
    if key.expires_at is not None and key.expires_at <= utcnow():
        raise unauthorized("API key expired", "expired api key")
    user = await _active_user(request, key.user_id)
    return Principal(
        user_id=user.user_id,
        email=user.email,
        tier=user.tier,
        role=user.role,
        scopes=key.scopes & ROLE_SCOPES[user.role],  # an admin's key loses ``admin`` with the role
        api_key_prefix=key.prefix,
        key_expires_at=None if key.expires_at is None else int(key.expires_at.timestamp()),
    )


async def get_principal(
    request: Request,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)] = None,
    _api_key: Annotated[str | None, Depends(api_key_scheme)] = None,
) -> Principal | None:
    """The caller, or None for an anonymous request; 401 for credentials that are present but bad."""
    state: dict[str, Any] = request.scope.setdefault("state", {})
    cached = state.get("principal", _MISSING)
    if cached is not _MISSING:
        return cached  # type: ignore[no-any-return]
    principal: Principal | None = None
    authorization = request.headers.get("authorization")
    api_key = request.headers.get("x-api-key")
    if authorization is not None and api_key is not None:
        raise unauthorized("Send either a Bearer token or an API key, not both", "ambiguous")
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("Malformed Authorization header: expected 'Bearer <token>'", "malformed")
        principal = await _from_bearer(request, token.strip())
    elif api_key is not None:
        principal = await _from_api_key(request, api_key.strip())
    state["principal"] = principal
    return principal


async def principal_from_credential(connection: HTTPConnection, credential: str) -> Principal:
    """The principal of an access token or an API key (``ks_...``), for transports without headers: a browser's
    WebSocket sends its credential in the query string. 401 (UnauthorizedError) when it is not valid."""
    credential = credential.strip()
    if credential.startswith("ks_"):
        return await _from_api_key(connection, credential)
    return await _from_bearer(connection, credential)


async def recheck_principal(connection: HTTPConnection, principal: Principal) -> None:
    """Raise 401 when the credential ``principal`` was resolved from has ended since: the access token expired or
    was revoked (itself or its session), the API key was revoked or expired, the account was disabled. For
    long-lived connections, which keep no raw credential; costs what authenticating a request costs."""
    now = time.time()
    if principal.api_key_prefix is not None:
        if principal.key_expires_at is not None and principal.key_expires_at <= now:
            raise unauthorized("API key expired", "expired api key")
        key = await _key_by_prefix(connection, principal.api_key_prefix)
        if key is None or key.revoked:
            raise unauthorized("Invalid API key", "invalid api key")
        if key.expires_at is not None and key.expires_at <= utcnow():
            raise unauthorized("API key expired", "expired api key")
    elif principal.token_jti is not None:
        if principal.token_expires_at is not None and principal.token_expires_at <= now:
            raise unauthorized("Access token expired", "expired")
        revocations: RevocationStore = state_of(connection).revocations
        if await revocations.is_revoked(principal.token_jti, principal.session_id):
            raise unauthorized("Access token revoked", "revoked")
    await _active_user(connection, principal.user_id)


async def _key_by_prefix(request: HTTPConnection, prefix: str) -> _KeyRecord | None:
    """The key record of ``prefix``: the cached one while fresh, else read again."""
    cache: IdentityCache = state_of(request).identity_cache
    now = time.monotonic()
    digest = cache.key_digests.get(prefix)
    cached = None if digest is None else cache.keys.get(digest)
    if cached is not None and now - cached.fetched_at < _CACHE_TTL_S:
        return cached
    async with state_of(request).sessionmaker() as session:
        row = (
            await session.execute(
                select(ApiKey.key_hash, ApiKey.user_id, ApiKey.scopes, ApiKey.expires_at, ApiKey.revoked_at).where(
                    ApiKey.prefix == prefix
                )
            )
        ).first()
    if row is None:
        return None
    scopes = frozenset(Scope(s) for s in row.scopes.split(",") if s)
    record = _KeyRecord(row.user_id, prefix, scopes, as_utc(row.expires_at), row.revoked_at is not None, now)
    cache.keep_key(row.key_hash, record)
    return record


async def require_principal(principal: Annotated[Principal | None, Depends(get_principal)]) -> Principal:
    """The caller; 401 when the request is anonymous."""
    if principal is None:
        raise unauthorized("Authentication required", "missing")
    return principal


class InsufficientScopeError(ForbiddenError):
    code = "INSUFFICIENT_SCOPE"
    default_message = "The API key lacks the scope this operation needs"

    @classmethod
    def of(cls, scope: Scope, principal: Principal) -> InsufficientScopeError:
        return cls(details={"required_scope": scope.value, "key_scopes": sorted(principal.scopes)})


def admin_role_required() -> ForbiddenError:
    return ForbiddenError("Admin role required", {"required_role": "admin"})


def require_scope_of(principal: Principal, scope: Scope) -> None:
    """Pass when ``principal`` holds ``scope``; 403 FORBIDDEN (admin role) or INSUFFICIENT_SCOPE otherwise."""
    if scope in principal.scopes:
        return
    if scope is Scope.ADMIN and not principal.is_admin:
        raise admin_role_required()
    raise InsufficientScopeError.of(scope, principal)


async def require_admin(principal: Annotated[Principal, Depends(require_principal)]) -> Principal:
    """An admin acting as one (an access token, or a key with the ``admin`` scope); 403 for everyone else."""
    if not principal.acts_as_admin:
        require_scope_of(principal, Scope.ADMIN)
    return principal


def require_scope(scope: Scope) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that admits a principal holding ``scope`` (access tokens hold every scope of the role).

    The ``/v1`` routes need none: the route table is checked for every request. This is for routes outside it.
    """

    async def check(principal: Annotated[Principal, Depends(require_principal)]) -> Principal:
        require_scope_of(principal, scope)
        return principal

    return check


OptionalPrincipal = Annotated[Principal | None, Depends(get_principal)]
CurrentPrincipal = Annotated[Principal, Depends(require_principal)]
AdminPrincipal = Annotated[Principal, Depends(require_admin)]
