"""Request and response models of accounts, tokens, API keys and admin changes.

Request models forbid unknown fields: a body that tries to set ``tier``, ``role`` or ``id`` is a 400 naming the
field, never silently half-applied.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    ModelWrapValidatorHandler,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from kstock.identity.passwords import MAX_LENGTH as MAX_PASSWORD_LENGTH
from kstock.identity.passwords import password_problems
from kstock.identity.principal import Role, Scope, Tier
from kstock.kit.clock import as_utc
from kstock.kit.dates import AwareIsoDateTime


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def _split_scopes(value: object) -> object:
    return [s for s in value.split(",") if s] if isinstance(value, str) else value


# Validated by email-validator, then stripped and lower-cased: one account per address whatever its case.
Email = Annotated[EmailStr, BeforeValidator(_strip), AfterValidator(str.lower), Field(max_length=320)]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
# The policy (length, local part, common passwords) is checked with the rest of a request model's fields
# (:func:`_with_password_policy`), so every problem of a request is reported at once.
Password = Annotated[str, StringConstraints(max_length=MAX_PASSWORD_LENGTH)]
UtcDatetime = Annotated[dt.datetime, AfterValidator(as_utc)]  # SQLite hands back naive UTC values


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _with_password_policy(
    model: type[BaseModel],
    data: Any,
    validate: ModelWrapValidatorHandler[Any],
    field: str,
    email: str | None,
    differ_from: str | None = None,
) -> Any:
    """Validate ``data`` and check the password in ``field`` against the policy in the same pass: a bad e-mail, a
    bad name and every broken password rule come back in one 400. ``email`` names the field holding the account's
    address (the local-part rule needs it; without it the service checks that rule), ``differ_from`` a field the
    new password must differ from."""
    problems: list[str] = []
    if isinstance(data, Mapping) and isinstance(password := data.get(field), str):
        address = data.get(email) if email else None
        problems = password_problems(password, address.strip().lower() if isinstance(address, str) else "")
        if differ_from and password == data.get(differ_from):
            problems.append("must differ from the current password")
    policy = [
        InitErrorDetails(type=PydanticCustomError("password_policy", problem), loc=(field,), input=None)
        for problem in problems
    ]
    try:
        result = validate(data)
    except ValidationError as exc:
        if not policy:
            raise
        # The field errors as they were (type, message, context), then the policy's.
        errors = [
            InitErrorDetails(
                type=PydanticCustomError(error["type"], error["msg"], error.get("ctx")),
                loc=error["loc"],
                input=error["input"],
            )
            for error in exc.errors()
        ]
        raise ValidationError.from_exception_data(model.__name__, [*errors, *policy]) from None
    if policy:
        raise ValidationError.from_exception_data(model.__name__, policy)
    return result


class RegisterRequest(_Request):
    email: Email = Field(examples=["jiwoo@example.kr"])
    password: Password = Field(
        description="at least 10 characters, not containing the e-mail's local part, not a common password",
        examples=["correct-horse-battery"],
    )
    name: DisplayName = Field(examples=["김지우"])

    @model_validator(mode="wrap")
    @classmethod
    def _policy(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        result: Self = _with_password_policy(cls, data, handler, "password", "email")
        return result


class LoginRequest(_Request):
    email: Email = Field(examples=["jiwoo@example.kr"])
    password: Password = Field(examples=["correct-horse-battery"])


class RefreshRequest(_Request):
    refresh_token: str = Field(min_length=1, max_length=200, examples=["Jx3kV0uQ8i2m7XbYwq1Lr5z9TgS4aPdE6cFhNjKoRtU"])


class UpdateMeRequest(_Request):
    name: DisplayName | None = Field(default=None, examples=["김지우"])
    current_password: Password | None = Field(
        default=None, description="required with new_password", examples=["correct-horse-battery"]
    )
    new_password: Password | None = Field(
        default=None, description="the password policy applies", examples=["staple-orbit-lantern"]
    )

    @model_validator(mode="wrap")
    @classmethod
    def _policy(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        # The local-part rule needs the account's address: the service checks it.
        result: Self = _with_password_policy(cls, data, handler, "new_password", None, "current_password")
        return result


class AdminUserUpdate(_Request):
    tier: Tier | None = Field(default=None, examples=["basic"])
    role: Role | None = Field(default=None, examples=["user"])
    is_active: bool | None = Field(default=None, description="false disables the account", examples=[True])


class ApiKeyCreate(_Request):
    name: DisplayName = Field(examples=["backtest server"])
    scopes: list[Scope] = Field(
        default_factory=lambda: [Scope.READ],
        min_length=1,
        max_length=len(Scope),
        description='"read" and any of "write" (portfolios, holdings, transactions, saved screens), "trade" (paper '
        'trading) and "admin" (admins only); see the route-scope table in the identity guide',
        examples=[["read"], ["read", "write", "trade"]],
        json_schema_extra={"contains": {"const": "read"}},
    )
    expires_at: AwareIsoDateTime | None = Field(
        default=None, description="with a time zone; never expires when omitted", examples=["2027-01-01T00:00:00Z"]
    )

    @field_validator("scopes")
    @classmethod
    def _read_included(cls, scopes: list[Scope]) -> list[Scope]:
        if Scope.READ not in scopes:
            raise ValueError('must include "read"')
        return sorted(set(scopes))


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(examples=["0f8c2f52-52c8-4b8e-a3f0-5b8d6c9a1e27"])
    email: str = Field(examples=["jiwoo@example.kr"])
    name: str = Field(examples=["김지우"])
    tier: Tier = Field(examples=["free"])
    role: Role = Field(examples=["user"])
    is_active: bool = Field(examples=[True])
    created_at: UtcDatetime = Field(examples=["2026-11-23T04:05:06Z"])


class TokenPair(BaseModel):
    access_token: str = Field(description="JWT for `Authorization: Bearer`", examples=["eyJhbGciOiJIUzI1NiIs..."])
    refresh_token: str = Field(
        description="opaque; single use: every refresh returns a new one",
        examples=["Jx3kV0uQ8i2m7XbYwq1Lr5z9TgS4aPdE6cFhNjKoRtU"],
    )
    token_type: Literal["bearer"] = Field(default="bearer", examples=["bearer"])
    expires_in: int = Field(description="seconds until the access token expires", examples=[900])


class AuthResponse(TokenPair):
    user: UserOut


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(examples=["6d1f0c8e-7a4b-4c2e-9f3a-2b1d0e9c8a7f"])
    name: str = Field(examples=["backtest server"])
    prefix: str = Field(description="shown in the key itself: ks_<prefix>_<secret>", examples=["3f9a1c0b7e24"])
    scopes: Annotated[list[Scope], BeforeValidator(_split_scopes)] = Field(examples=[["read"]])
    created_at: UtcDatetime = Field(examples=["2026-11-23T04:05:06Z"])
    expires_at: UtcDatetime | None = Field(examples=[None])
    last_used_at: UtcDatetime | None = Field(
        description="updated at most once a minute", examples=["2026-11-23T05:00:00Z"]
    )


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(
        description="the secret, shown only in this response: send it as `X-API-Key`",
        examples=["ks_3f9a1c0b7e24_q8N2vX0bL5mT7rW1yZ4cA9dF3gH6jK2pS8uE0iO5nB"],
    )

    @classmethod
    def of(cls, record: Any, key: str) -> ApiKeyCreated:
        return cls.model_validate({**ApiKeyOut.model_validate(record).model_dump(), "key": key})


class ApiKeyList(BaseModel):
    api_keys: list[ApiKeyOut]
