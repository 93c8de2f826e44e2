"""Who is calling: the principal every authenticated request carries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class Tier(StrEnum):
    FREE = "free"
    BASIC = "basic"
    PRO = "pro"


class Role(StrEnum):
    USER = "user"
    ADMIN = "admin"


class Scope(StrEnum):
    READ = "read"
    TRADE = "trade"


TIER_ORDER: Final = {Tier.FREE: 0, Tier.BASIC: 1, Tier.PRO: 2}
ALL_SCOPES: Final = frozenset(Scope)


@dataclass(frozen=True, slots=True)
class Principal:
    """A user acting through an access token (every scope) or one of their API keys (the key's scopes)."""

    user_id: uuid.UUID
    email: str
    tier: Tier
    role: Role
    scopes: frozenset[Scope]
    api_key_prefix: str | None = None  # set when the request came with X-API-Key
    token_jti: str | None = None  # set when the request came with a Bearer access token
    token_expires_at: int | None = None  # epoch seconds of the access token's exp
    session_id: uuid.UUID | None = None  # the refresh-token family the access token was issued with (``sid``)
    key_expires_at: int | None = None  # epoch seconds at which the API key expires, when it has an expiry

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def rate_key(self) -> str:
        """The identity rate limits count against: the API key when one is used, else the user."""
        return f"key:{self.api_key_prefix}" if self.api_key_prefix else f"user:{self.user_id}"
