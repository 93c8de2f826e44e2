"""Identity rules: accounts, sessions (access JWT + rotating refresh tokens), API keys, admin changes.

Functions that face clients take an :class:`AuthContext`: what they need of the request (the client's address,
an audit recorder bound to it) and of the running instance (guard, caches, settings, broker). The service knows
nothing of HTTP: the endpoints build the context (``identity/endpoints.auth_context``). The guard and the audit log
are the gateway's; identity names only what it calls (``identity/state.py``: :class:`LoginThrottle`,
:class:`AuditRecorder`), so it sits below the gateway, which resolves principals with it.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import structlog
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kstock.broker.base import Broker
from kstock.broker.channels import IDENTITY_REVOKED
from kstock.config import Settings
from kstock.db.session import after_commit
from kstock.errors import ConflictError, ForbiddenError, NotFoundError, UnauthorizedError, ValidationError
from kstock.identity import repository
from kstock.identity.dependencies import WWW_AUTHENTICATE, IdentityCache
from kstock.identity.models import ApiKey, RefreshToken, User
from kstock.identity.passwords import password_problems
from kstock.identity.principal import ROLE_SCOPES, Principal, Role, Scope, Tier
from kstock.identity.revocation import Ended, RevocationStore
from kstock.identity.schemas import AdminUserUpdate, UpdateMeRequest
from kstock.identity.security import create_access_token, hash_password, new_secret, secret_digest, verify_password
from kstock.identity.state import AuditRecorder as AuditRecorder
from kstock.identity.state import LoginThrottle as LoginThrottle
from kstock.identity.tiers import require_quota_after_insert
from kstock.kit.clock import as_utc, utcnow

log = structlog.get_logger("kstock.identity.service")

API_KEY_PREFIX_BYTES: Final = 6  # 12 hex characters, shown in listings and logs
MAX_NAME_LENGTH: Final = 100


class EmailExistsError(ConflictError):
    code = "EMAIL_EXISTS"
    default_message = "An account with this e-mail address already exists"


class InvalidCredentialsError(UnauthorizedError):
    code = "INVALID_CREDENTIALS"
    default_message = "Invalid e-mail or password"  # the same whether or not the account exists


class UserNotFoundError(NotFoundError):
    code = "USER_NOT_FOUND"
    default_message = "User not found"


class ApiKeyNotFoundError(NotFoundError):
    code = "API_KEY_NOT_FOUND"
    default_message = "API key not found"


class EventRecorder(Protocol):
    """Records an event of the request being served in the audit log; never raises."""

    async def __call__(
        self,
        event: str,
        *,
        principal: Principal | None = None,
        status: int | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class AuthContext:
    """What the rules need from the running instance, for one request."""

    client_ip: str  # the address the brute-force guard counts against
    settings: Settings
    throttle: LoginThrottle
    audit: EventRecorder
    revocations: RevocationStore
    identity_cache: IdentityCache
    sessionmaker: async_sessionmaker[AsyncSession]
    broker: Broker | None

    async def end_now(self, ended: Ended, session_ids: Sequence[uuid.UUID] = ()) -> None:
        """Refuse the access tokens of ``session_ids`` from now on (every instance, with Redis) and announce
        ``ended`` to every instance, whose open WebSocket connections that used those credentials are closed."""
        if session_ids:
            until = time.time() + self.settings.access_token_ttl_s + self.settings.jwt_leeway_s
            await self.revocations.revoke_sessions(list(session_ids), until)
        broker = self.broker
        if broker is None:
            return
        try:
            await broker.publish(IDENTITY_REVOKED, ended.encode())
        except Exception as exc:  # noqa: BLE001 - a lost announcement is caught by the streams' next subscribe
            log.warning("revocation_announcement_failed", error=str(exc), reason=ended.reason)

    def end_after_commit(self, session: AsyncSession, ended: Ended, session_ids: Sequence[uuid.UUID] = ()) -> None:
        """:meth:`end_now` once the request's transaction has committed (never for a change that rolled back)."""

        async def end() -> None:
            await self.end_now(ended, session_ids)

        after_commit(session, end)


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int  # seconds


@dataclass(frozen=True, slots=True)
class SignedIn:
    user: User
    tokens: IssuedTokens


@dataclass(frozen=True, slots=True)
class NewApiKey:
    record: ApiKey
    key: str  # the secret, returned once and never stored


def _principal_of(user: User) -> Principal:
    """The principal a user's access token resolves to (every scope of the role), for the audit log."""
    role = Role(user.role)
    return Principal(user_id=user.id, email=user.email, tier=Tier(user.tier), role=role, scopes=ROLE_SCOPES[role])


def normalize_email(raw: str) -> str:
    """A valid address, stripped and lower-cased (as the request models do); 400 when it is not an address."""
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValidationError("Invalid e-mail address", {"email": [str(exc)]}) from exc


def check_password_policy(password: str, email: str) -> None:
    """400 VALIDATION_ERROR listing every rule ``password`` breaks for the account ``email``."""
    problems = password_problems(password, email)
    if problems:
        raise ValidationError("The password does not meet the policy", {"password": problems})


async def create_user(
    session: AsyncSession,
    email: str,
    password: str,
    name: str,
    *,
    tier: Tier = Tier.FREE,
    role: Role = Role.USER,
) -> User:
    """Create an account (registration, tests, ``kstock users create-admin``); 409 EMAIL_EXISTS when taken."""
    email = normalize_email(email)
    name = name.strip()
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise ValidationError("Invalid name", {"name": [f"must have 1 to {MAX_NAME_LENGTH} characters"]})
    check_password_policy(password, email)
    if await repository.user_by_email(session, email) is not None:
        raise EmailExistsError(details={"email": email})
    user = User(
        email=email,
        name=name,
        password_hash=await hash_password(password),
        tier=tier.value,
        role=role.value,
        is_active=True,
        created_at=utcnow(),
    )
    try:
        return await repository.add_user(session, user)
    except IntegrityError as exc:  # registered concurrently
        raise EmailExistsError(details={"email": email}) from exc


async def _start_session(
    session: AsyncSession, settings: Settings, user: User, family_id: uuid.UUID | None = None
) -> IssuedTokens:
    """A refresh token (in a new family unless continuing one) and an access token naming that family."""
    family = family_id or uuid.uuid4()
    now = utcnow()
    refresh = new_secret()
    await repository.add_refresh_token(
        session,
        RefreshToken(
            user_id=user.id,
            family_id=family,
            token_hash=secret_digest(refresh),
            created_at=now,
            expires_at=now + dt.timedelta(seconds=settings.refresh_token_ttl_s),
        ),
    )
    access, _, _ = create_access_token(settings, user.id, now, session_id=family)
    return IssuedTokens(access, refresh, settings.access_token_ttl_s)


async def register(session: AsyncSession, ctx: AuthContext, email: str, password: str, name: str) -> SignedIn:
    """Open a free account and sign it in."""
    await ctx.throttle.check_registration(ctx.client_ip)
    try:
        user = await create_user(session, email, password, name)
    except EmailExistsError:
        await ctx.throttle.registered(ctx.client_ip)  # probing for taken addresses uses up the same allowance
        raise
    await ctx.throttle.registered(ctx.client_ip)
    tokens = await _start_session(session, ctx.settings, user)
    await ctx.audit("auth.register", principal=_principal_of(user), status=201)
    return SignedIn(user, tokens)


async def login(session: AsyncSession, ctx: AuthContext, email: str, password: str) -> SignedIn:
    """Sign in with e-mail and password; one 401 INVALID_CREDENTIALS for every failure."""
    await ctx.throttle.check_login(ctx.client_ip, email)
    user = await repository.user_by_email(session, email)
    # Unknown addresses verify against a dummy hash: a failure takes as long whether the account exists or not.
    valid = await verify_password(password, user.password_hash if user is not None else None)
    if user is None or not valid or not user.is_active:
        await ctx.throttle.login_failed(ctx.client_ip, email)
        reason = "unknown email" if user is None else "wrong password" if not valid else "account disabled"
        await ctx.audit("auth.login_failed", status=401, details={"email": email, "reason": reason})
        raise InvalidCredentialsError(headers=WWW_AUTHENTICATE)
    tokens = await _start_session(session, ctx.settings, user)
    await ctx.audit("auth.login", principal=_principal_of(user), status=200)
    return SignedIn(user, tokens)


def _refresh_refused(reason: str) -> UnauthorizedError:
    return UnauthorizedError(
        "Refresh token invalid, expired or revoked: sign in again", {"refresh_token": reason}, headers=WWW_AUTHENTICATE
    )


async def _refuse_reuse(session: AsyncSession, ctx: AuthContext, token: RefreshToken) -> UnauthorizedError:
    """A used token came back: someone holds a copy. End the whole session, whoever asks next."""
    family_id, user_id = token.family_id, token.user_id
    # The 401 rolls the request's transaction back, so the revocation gets its own. Ending the request's first
    # releases what it holds: on SQLite a failed UPDATE still holds the one write lock the revocation needs.
    await session.rollback()
    async with ctx.sessionmaker() as own, own.begin():
        await repository.revoke_refresh_family(own, family_id, utcnow())
    # The access tokens already issued in the session end with it, and so do its open streams.
    await ctx.end_now(Ended(user_id, "session ended: refresh token reused", session_id=family_id), [family_id])
    await ctx.audit(
        "auth.refresh_reuse_detected",
        status=401,
        details={"user_id": str(user_id), "family_id": str(family_id)},
    )
    return _refresh_refused("reused")


async def refresh(session: AsyncSession, ctx: AuthContext, refresh_token: str) -> IssuedTokens:
    """Rotate a refresh token: mark it used and issue a new pair in the same family; reuse revokes the family."""
    now = utcnow()
    token = await repository.refresh_token_by_hash(session, secret_digest(refresh_token))
    if token is None:
        raise _refresh_refused("invalid")
    if token.revoked_at is not None:
        raise _refresh_refused("revoked")
    if token.used_at is not None:
        raise await _refuse_reuse(session, ctx, token)
    expires_at = as_utc(token.expires_at)
    if expires_at is None or expires_at <= now:
        raise _refresh_refused("expired")
    user = await repository.user_by_id(session, token.user_id)
    if user is None or not user.is_active:
        raise _refresh_refused("inactive")
    if not await repository.mark_refresh_token_used(session, token.id, now):
        raise await _refuse_reuse(session, ctx, token)  # a concurrent request rotated it first
    return await _start_session(session, ctx.settings, user, family_id=token.family_id)


async def logout(session: AsyncSession, ctx: AuthContext, principal: Principal) -> None:
    """End the caller's session: its access token (until it expires), every other access token of the session,
    its refresh-token family and its open streams."""
    if principal.token_jti is not None and principal.token_expires_at is not None:
        await ctx.revocations.revoke(principal.token_jti, principal.token_expires_at)
    if principal.session_id is not None:
        await repository.revoke_refresh_family(session, principal.session_id, utcnow())
        ended = Ended(principal.user_id, "session ended: logged out", session_id=principal.session_id)
        ctx.end_after_commit(session, ended, [principal.session_id])
    await ctx.audit("auth.logout", principal=principal, status=204)


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    """One user; 404 USER_NOT_FOUND."""
    user = await repository.user_by_id(session, user_id)
    if user is None:
        raise UserNotFoundError(details={"user_id": str(user_id)})
    return user


async def update_me(session: AsyncSession, ctx: AuthContext, principal: Principal, changes: UpdateMeRequest) -> User:
    """Change the caller's name and/or password (the current password is required for the latter)."""
    user = await get_user(session, principal.user_id)
    if changes.name is not None:
        user.name = changes.name
    if changes.current_password is not None or changes.new_password is not None:
        await _change_password(session, ctx, principal, user, changes.current_password, changes.new_password)
    await repository.flush(session)
    return user


async def _change_password(
    session: AsyncSession,
    ctx: AuthContext,
    principal: Principal,
    user: User,
    current: str | None,
    new: str | None,
) -> None:
    if current is None or new is None:
        missing = "current_password" if current is None else "new_password"
        raise ValidationError(
            "A password change needs current_password and new_password",
            {missing: ["is required to change the password"]},
        )
    # A stolen access token must not become a way to guess the password: same throttle as logins.
    await ctx.throttle.check_login(ctx.client_ip, user.email)
    if not await verify_password(current, user.password_hash):
        await ctx.throttle.login_failed(ctx.client_ip, user.email)
        await ctx.audit("user.password_change_failed", principal=principal, status=400)
        raise ValidationError("The current password is incorrect", {"current_password": ["is incorrect"]})
    problems = password_problems(new, user.email)
    if new == current:
        problems.append("must differ from the current password")
    if problems:
        raise ValidationError("The password does not meet the policy", {"new_password": problems})
    now = utcnow()
    user.password_hash = await hash_password(new)
    user.password_changed_at = now
    # Every other session ends, with its access tokens and streams; this one goes on (API keys too).
    sessions = await repository.live_families(session, user.id, now, keep_family=principal.session_id)
    ended = await repository.revoke_user_refresh_tokens(session, user.id, now, keep_family=principal.session_id)
    announcement = Ended(
        user.id, "session ended: password changed", all_sessions=True, except_session=principal.session_id
    )
    ctx.end_after_commit(session, announcement, sessions)
    await ctx.audit("user.password_changed", principal=principal, status=200, details={"other_logins_ended": ended})


async def create_api_key(
    session: AsyncSession,
    ctx: AuthContext,
    principal: Principal,
    name: str,
    scopes: Sequence[Scope],
    expires_at: dt.datetime | None,
) -> NewApiKey:
    """A new key for the caller: ``ks_<prefix>_<secret>``, stored as a SHA-256 digest, returned once."""
    now = utcnow()
    if expires_at is not None and expires_at <= now:
        raise ValidationError("Invalid expiry", {"expires_at": ["must be in the future"]})
    refused = sorted(set(scopes) - ROLE_SCOPES[principal.role])
    if refused:
        raise ForbiddenError(
            f"Your role cannot hold the {', '.join(refused)} scope",
            {"scopes": [f"{scope} needs the admin role" for scope in refused], "required_role": "admin"},
        )
    prefix = secrets.token_hex(API_KEY_PREFIX_BYTES)
    key = f"ks_{prefix}_{new_secret()}"
    record = ApiKey(
        user_id=principal.user_id,
        name=name,
        prefix=prefix,
        key_hash=secret_digest(key),
        scopes=",".join(sorted(set(scopes))),
        created_at=now,
        expires_at=as_utc(expires_at),  # UTC, so SQLite's text comparison below orders it right
    )
    await repository.add_api_key(session, record)
    active = (ApiKey.revoked_at.is_(None), or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now))
    await require_quota_after_insert(session, principal, ctx.settings, "api_keys", ApiKey, *active)
    await ctx.audit(
        "api_key.created",
        principal=principal,
        status=201,
        details={"id": str(record.id), "prefix": prefix, "name": name, "scopes": sorted(set(scopes))},
    )
    return NewApiKey(record, key)


async def list_api_keys(session: AsyncSession, principal: Principal) -> Sequence[ApiKey]:
    """The caller's keys that were not revoked."""
    return await repository.active_api_keys(session, principal.user_id)


async def revoke_api_key(session: AsyncSession, ctx: AuthContext, principal: Principal, key_id: uuid.UUID) -> None:
    """Revoke one of the caller's keys; 404 API_KEY_NOT_FOUND for unknown, revoked or other users' keys."""
    record = await repository.active_api_key_of(session, key_id, principal.user_id)
    if record is None:
        raise ApiKeyNotFoundError(details={"id": str(key_id)})
    record.revoked_at = utcnow()
    await repository.flush(session)
    ctx.identity_cache.forget_key(record.key_hash)
    ctx.end_after_commit(session, Ended(record.user_id, "API key revoked", key_prefix=record.prefix))
    await ctx.audit(
        "api_key.revoked", principal=principal, status=204, details={"id": str(key_id), "prefix": record.prefix}
    )


async def admin_update_user(
    session: AsyncSession, ctx: AuthContext, admin: Principal, user_id: uuid.UUID, changes: AdminUserUpdate
) -> User:
    """Change a user's tier, role or active flag; effective at once on this instance, within seconds elsewhere."""
    user = await get_user(session, user_id)
    if user.id == admin.user_id and (changes.role is Role.USER or changes.is_active is False):
        raise ConflictError("Admins cannot demote or disable themselves", code="SELF_LOCKOUT")
    now = utcnow()
    events: list[tuple[str, dict[str, Any]]] = []
    if changes.tier is not None and changes.tier != user.tier:
        events.append(("user.tier_changed", {"from": user.tier, "to": changes.tier.value}))
        user.tier = changes.tier.value
    if changes.role is not None and changes.role != user.role:
        events.append(("user.role_changed", {"from": user.role, "to": changes.role.value}))
        user.role = changes.role.value
    if changes.is_active is not None and changes.is_active != user.is_active:
        user.is_active = changes.is_active
        if changes.is_active:
            events.append(("user.reactivated", {}))
        else:
            sessions = await repository.live_families(session, user.id, now)
            ended = await repository.revoke_user_refresh_tokens(session, user.id, now)
            events.append(("user.deactivated", {"logins_ended": ended}))
            # Its access tokens stay refused even if the account is enabled again; every stream and key closes.
            announcement = Ended(user.id, "account disabled", all_sessions=True, keys=True)
            ctx.end_after_commit(session, announcement, sessions)
    await repository.flush(session)
    ctx.identity_cache.forget_user(user.id)
    for event, details in events:
        await ctx.audit(event, principal=admin, status=200, details={"user_id": str(user.id), **details})
    return user
