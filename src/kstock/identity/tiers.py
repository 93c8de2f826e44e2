"""Tier gates: which feature needs which tier, as data. A new gated feature adds a row to :data:`GATES`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Annotated, Any, Final

from fastapi import Depends, Request
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kstock.config import Settings
from kstock.errors import ForbiddenError
from kstock.identity.dependencies import get_principal, unauthorized
from kstock.identity.models import User
from kstock.identity.principal import TIER_ORDER, Principal, Tier
from kstock.identity.state import state_of


@dataclass(frozen=True, slots=True)
class Gate:
    required_tier: Tier
    description: str  # what the gate opens, for messages and the docs: "financial statements beyond 5 years"


GATES: Final[Mapping[str, Gate]] = MappingProxyType(
    {
        "financials.years_over_5": Gate(
            required_tier=Tier.BASIC, description="financial statements for more than 5 fiscal years"
        ),
        "stream.orderbook": Gate(required_tier=Tier.BASIC, description="real-time order books"),
    }
)


@dataclass(frozen=True, slots=True)
class Quota:
    description: str  # what is counted, plural: "saved screens"
    limits: Mapping[Tier, int | None]  # None: unlimited


# How many of a thing each tier may keep. A new counted resource adds a row here.
QUOTAS: Final[Mapping[str, Quota]] = MappingProxyType(
    {
        "saved_screens": Quota(
            description="saved screens", limits=MappingProxyType({Tier.FREE: 3, Tier.BASIC: 25, Tier.PRO: 100})
        ),
        "portfolios": Quota(
            description="portfolios", limits=MappingProxyType({Tier.FREE: 3, Tier.BASIC: 20, Tier.PRO: None})
        ),
        "portfolio_holdings": Quota(
            description="holdings per portfolio",
            limits=MappingProxyType({Tier.FREE: 20, Tier.BASIC: 100, Tier.PRO: None}),
        ),
        "trading_accounts": Quota(
            description="paper-trading accounts",
            limits=MappingProxyType({Tier.FREE: 2, Tier.BASIC: 10, Tier.PRO: 50}),
        ),
        "api_keys": Quota(
            description="active API keys",
            limits=MappingProxyType({Tier.FREE: 5, Tier.BASIC: 20, Tier.PRO: 100}),
        ),
        "stream_codes": Quota(
            description="stock codes streamed at once, all connections together",
            limits=MappingProxyType({Tier.FREE: 20, Tier.BASIC: 200, Tier.PRO: 2_000}),
        ),
        "stream_connections": Quota(
            description="open stream connections",
            limits=MappingProxyType({Tier.FREE: 2, Tier.BASIC: 10, Tier.PRO: 50}),
        ),
    }
)


class TierLimitError(ForbiddenError):
    code = "TIER_LIMIT_EXCEEDED"
    default_message = "Your tier does not include this feature"


def require_tier(principal: Principal | None, gate_name: str, settings: Settings) -> None:
    """Pass when ``principal``'s tier opens the gate; 401 for an anonymous caller, 403 TIER_LIMIT_EXCEEDED else."""
    gate = GATES[gate_name]
    if principal is None:
        raise unauthorized(f"Sign in: {gate.description} need the {gate.required_tier} tier", "missing")
    if TIER_ORDER[principal.tier] < TIER_ORDER[gate.required_tier]:
        raise TierLimitError(
            f"{gate.description.capitalize()} need the {gate.required_tier} tier or higher",
            {
                "required_tier": gate.required_tier.value,
                "current_tier": principal.tier.value,
                "upgrade_url": settings.upgrade_url,
            },
        )


def tier_gate(gate_name: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency for routes gated as a whole: admits a principal whose tier opens ``gate_name``."""
    if gate_name not in GATES:  # fail when the route is declared, not on its first request
        raise KeyError(f"unknown tier gate {gate_name!r}")

    async def check(request: Request, principal: Annotated[Principal | None, Depends(get_principal)]) -> Principal:
        require_tier(principal, gate_name, state_of(request).settings)
        assert principal is not None  # noqa: S101 - require_tier refused an anonymous caller
        return principal

    return check


def quota_limit(principal: Principal, quota_name: str) -> int | None:
    """The caller's tier's limit; None for unlimited."""
    return QUOTAS[quota_name].limits[principal.tier]


def require_quota(principal: Principal, quota_name: str, count: int, settings: Settings) -> None:
    """Pass while ``count`` (including the one being added) is within the tier's quota; 403 TIER_LIMIT_EXCEEDED."""
    quota = QUOTAS[quota_name]
    limit = quota.limits[principal.tier]
    if limit is None or count <= limit:
        return

    def allows(tier: Tier) -> bool:
        tier_limit = quota.limits[tier]
        return tier_limit is None or tier_limit >= count

    larger = [tier for tier in Tier if TIER_ORDER[tier] > TIER_ORDER[principal.tier] and allows(tier)]
    raise TierLimitError(
        f"The {principal.tier} tier keeps at most {limit} {quota.description}",
        {
            "limit": limit,
            "current_tier": principal.tier.value,
            "required_tier": larger[0].value if larger else None,
            "upgrade_url": settings.upgrade_url,
        },
    )


async def require_quota_after_insert(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    quota_name: str,
    owned: Any,
    *counted: ColumnElement[bool],
) -> None:
    """The quota check of a create: call it after flushing the new row of ``owned`` (a model with ``user_id``);
    ``counted`` narrows which of the user's rows count (e.g. only keys not revoked).

    Counting after the insert, with the user's row locked (FOR NO KEY UPDATE: it does not conflict with the KEY
    SHARE lock each insert's foreign key takes), serialises concurrent creates by one user on PostgreSQL; on
    SQLite the insert's write lock does. Each count then sees every create committed before it, and a refused
    create rolls back with the request.
    """
    await session.execute(select(User.id).where(User.id == principal.user_id).with_for_update(key_share=True))
    statement = select(func.count()).select_from(owned).where(owned.user_id == principal.user_id, *counted)
    require_quota(principal, quota_name, (await session.execute(statement)).scalar_one(), settings)
