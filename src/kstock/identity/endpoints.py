"""HTTP routes of accounts, sessions, API keys and admin changes: parse, call the service, shape the response."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, status

from kstock.db.session import SessionDep
from kstock.errors import ForbiddenError, error_responses
from kstock.identity import service
from kstock.identity.dependencies import CurrentPrincipal, require_admin
from kstock.identity.principal import Principal
from kstock.identity.schemas import (
    AdminUserUpdate,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyList,
    ApiKeyOut,
    AuthResponse,
    LoginRequest,
    RefreshRequest,
    RegisterRequest,
    TokenPair,
    UpdateMeRequest,
    UserOut,
)
from kstock.identity.state import state_of
from kstock.kit.clients import client_ip
from kstock.kit.validators import StrictUUID

router = APIRouter()


async def auth_context(request: Request) -> service.AuthContext:
    """What the service needs of this request (the client's address, the audit log bound to the request) and of
    this instance (guard, caches, settings, broker): the service itself knows nothing of HTTP."""
    state = state_of(request)
    audit = state.audit

    async def record(
        event: str,
        *,
        principal: Principal | None = None,
        status: int | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        await audit(request, event, principal=principal, status=status, details=details)

    return service.AuthContext(
        client_ip=client_ip(request.scope) or "unknown",
        settings=state.settings,
        throttle=state.throttle,
        audit=record,
        revocations=state.revocations,
        identity_cache=state.identity_cache,
        sessionmaker=state.sessionmaker,
        broker=state.broker,
    )


async def require_bearer(principal: CurrentPrincipal) -> Principal:
    """The caller, signed in with an access token: API keys cannot manage the account (403)."""
    if principal.token_jti is None:
        raise ForbiddenError(
            "This operation needs a Bearer access token; API keys cannot manage the account",
            {"authorization": "bearer token required"},
        )
    return principal


async def require_admin_bearer(
    admin: Annotated[Principal, Depends(require_admin)],
    _bearer: Annotated[Principal, Depends(require_bearer)],
) -> Principal:
    """An admin signed in with an access token: admin changes are not made with API keys."""
    return admin


Context = Annotated[service.AuthContext, Depends(auth_context)]
BearerPrincipal = Annotated[Principal, Depends(require_bearer)]
AdminPrincipal = Annotated[Principal, Depends(require_admin_bearer)]


def _signed_in(result: service.SignedIn) -> AuthResponse:
    tokens = result.tokens
    return AuthResponse(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
        user=UserOut.model_validate(result.user),
    )


@router.post(
    "/auth/register",
    tags=["auth"],
    status_code=status.HTTP_201_CREATED,
    response_model=AuthResponse,
    summary="Create an account",
    description="A free account, signed in at once. The e-mail is lower-cased; the password needs at least 10 "
    "characters, must not contain the e-mail's local part and must not be a common password.",
    responses=error_responses(400, 409, 429),
)
async def register(body: RegisterRequest, session: SessionDep, ctx: Context) -> AuthResponse:
    return _signed_in(await service.register(session, ctx, body.email, body.password, body.name))


@router.post(
    "/auth/login",
    tags=["auth"],
    response_model=AuthResponse,
    summary="Sign in",
    description="An access token (JWT, `expires_in` seconds) and a single-use refresh token. Every failure is the "
    "same 401 `INVALID_CREDENTIALS`; repeated failures are throttled per account and per address (429).",
    responses=error_responses(400, 401, 429),
)
async def login(body: LoginRequest, session: SessionDep, ctx: Context) -> AuthResponse:
    return _signed_in(await service.login(session, ctx, body.email, body.password))


@router.post(
    "/auth/refresh",
    tags=["auth"],
    response_model=TokenPair,
    summary="Rotate the refresh token",
    description="A new token pair; the refresh token sent is used up. Sending a used refresh token again ends the "
    "whole session (every token issued from the same sign-in) and answers 401.",
    responses=error_responses(400, 401),
)
async def refresh(body: RefreshRequest, session: SessionDep, ctx: Context) -> TokenPair:
    tokens = await service.refresh(session, ctx, body.refresh_token)
    return TokenPair(access_token=tokens.access_token, refresh_token=tokens.refresh_token, expires_in=tokens.expires_in)


@router.post(
    "/auth/logout",
    tags=["auth"],
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Sign out",
    description="Revokes this access token until it expires and every refresh token of its session.",
    responses=error_responses(400, 401, 403),
)
async def logout(principal: BearerPrincipal, session: SessionDep, ctx: Context) -> None:
    await service.logout(session, ctx, principal)


@router.get(
    "/users/me",
    tags=["users"],
    response_model=UserOut,
    summary="The caller's account",
    responses=error_responses(400, 401),
)
async def get_me(principal: CurrentPrincipal, session: SessionDep) -> UserOut:
    """The signed-in user (or the owner of the API key): e-mail, name, tier and role."""
    return UserOut.model_validate(await service.get_user(session, principal.user_id))


@router.patch(
    "/users/me",
    tags=["users"],
    response_model=UserOut,
    summary="Change name or password",
    description="`name`, and/or `current_password` with `new_password`. A password change ends every other "
    "session. Tier and role cannot be set here (400).",
    responses=error_responses(400, 401, 403, 429),
)
async def update_me(body: UpdateMeRequest, principal: BearerPrincipal, session: SessionDep, ctx: Context) -> UserOut:
    return UserOut.model_validate(await service.update_me(session, ctx, principal, body))


@router.post(
    "/api-keys",
    tags=["api-keys"],
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    summary="Create an API key",
    description="The key (`ks_<prefix>_<secret>`) is in this response only; send it as `X-API-Key`. It acts with "
    "its owner's tier and only its scopes. Needs a Bearer access token (a key cannot create keys).",
    responses=error_responses(400, 401, 403),
)
async def create_api_key(
    body: ApiKeyCreate, principal: BearerPrincipal, session: SessionDep, ctx: Context
) -> ApiKeyCreated:
    created = await service.create_api_key(session, ctx, principal, body.name, body.scopes, body.expires_at)
    return ApiKeyCreated.of(created.record, created.key)


@router.get(
    "/api-keys",
    tags=["api-keys"],
    response_model=ApiKeyList,
    summary="List API keys",
    description="The caller's keys that were not revoked, without their secrets.",
    responses=error_responses(400, 401, 403),
)
async def list_api_keys(principal: BearerPrincipal, session: SessionDep) -> ApiKeyList:
    keys = await service.list_api_keys(session, principal)
    return ApiKeyList(api_keys=[ApiKeyOut.model_validate(key) for key in keys])


@router.delete(
    "/api-keys/{key_id}",
    tags=["api-keys"],
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke an API key",
    description="Refused at once by this instance, within seconds by the others.",
    responses=error_responses(400, 401, 403, 404),
)
async def revoke_api_key(
    key_id: Annotated[StrictUUID, Path(examples=["6d1f0c8e-7a4b-4c2e-9f3a-2b1d0e9c8a7f"])],
    principal: BearerPrincipal,
    session: SessionDep,
    ctx: Context,
) -> None:
    await service.revoke_api_key(session, ctx, principal, key_id)


@router.patch(
    "/admin/users/{user_id}",
    tags=["admin"],
    response_model=UserOut,
    summary="Change a user's tier, role or status (admin)",
    description="Disabling an account ends its sessions. Effective at once on this instance, within seconds on "
    "the others. Admins cannot demote or disable themselves (409 `SELF_LOCKOUT`).",
    responses=error_responses(400, 401, 403, 404, 409),
)
async def admin_update_user(
    user_id: Annotated[StrictUUID, Path(examples=["0f8c2f52-52c8-4b8e-a3f0-5b8d6c9a1e27"])],
    body: AdminUserUpdate,
    admin: AdminPrincipal,
    session: SessionDep,
    ctx: Context,
) -> UserOut:
    return UserOut.model_validate(await service.admin_update_user(session, ctx, admin, user_id, body))
