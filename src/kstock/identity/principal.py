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
    """What a credential may do; the route table (:mod:`kstock.identity.scopes`) says which route needs which."""

    READ = "read"  # every read
    WRITE = "write"  # the caller's own non-trading state: portfolios, holdings, transactions, saved screens
    TRADE = "trade"  # paper trading: accounts, orders, control, strategies
    ADMIN = "admin"  # admin routes and admin powers over another user's account (admins only)


TIER_ORDER: Final = {Tier.FREE: 0, Tier.BASIC: 1, Tier.PRO: 2}
ALL_SCOPES: Final = frozenset(Scope)
# The scopes a role may hold: an access token carries all of them, an API key at most these.
ROLE_SCOPES: Final = {
    Role.USER: frozenset({Scope.READ, Scope.WRITE, Scope.TRADE}),
    Role.ADMIN: ALL_SCOPES,
}


@dataclass(frozen=True, slots=True)
class Principal:
    """A user acting through an access token (every scope of the role) or one of their API keys (the key's scopes
    that the role still allows)."""

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
    def acts_as_admin(self) -> bool:
        """An admin whose credential carries the ``admin`` scope: an access token, or a key granted it."""
        return self.role is Role.ADMIN and Scope.ADMIN in self.scopes

    @property
    def rate_key(self) -> str:
        """The identity rate limits count against: the user, whichever of their tokens or keys is used."""
        return f"user:{self.user_id}"
