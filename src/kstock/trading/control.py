"""The control API of an account: status, portfolio, risk, trades, performance, signals, start, override and
config (a stop is the order desk's: :meth:`kstock.trading.desk.Desk.stop`). Reads value positions at live prices;
writes take the account's lock like every other write.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kstock.errors import NotFoundError, ValidationError
from kstock.identity.dependencies import InsufficientScopeError
from kstock.identity.principal import Principal, Scope
from kstock.kit.calendar import KST
from kstock.kit.clock import as_utc, iso_utc, utcnow
from kstock.kit.numbers import percent, rounded
from kstock.trading import repository
from kstock.trading.accounts import (
    Prices,
    actor_label,
    equity_of,
    limits_of,
    lock_account,
    override_of,
    public_detail,
    record_event,
    risk_view,
)
from kstock.trading.costs import CostSchedule
from kstock.trading.models import TradingAccount, TradingFill, TradingStrategy
from kstock.trading.performance import ClosedTrade, EquityPoint, performance_report
from kstock.trading.render import event_dict, position_dict, signal_dict
from kstock.trading.risk import RiskLimits, RiskLimitsError
from kstock.trading.risk_state import AccountState, daily_loss_pct, drawdown_pct, drawdown_zone
from kstock.trading.strategies import STRATEGIES, create_strategy


async def portfolio(
    session: AsyncSession, account: TradingAccount, prices: Prices, sectors: dict[str, str | None]
) -> dict[str, Any]:
    """Positions with P&L, and exposure by stock and by sector."""
    positions = await repository.positions_of(session, account.id)
    equity = equity_of(account, positions, prices)
    rows = [position_dict(p, prices, equity) for p in positions]
    by_sector: dict[str, int] = defaultdict(int)
    for row in rows:
        by_sector[sectors.get(row["stock_code"]) or "unknown"] += row["market_value"]
    market_value = sum(row["market_value"] for row in rows)
    return {
        "account_id": str(account.id),
        "cash": account.cash,
        "equity": equity,
        "market_value": market_value,
        "exposure_pct": percent(market_value, equity),
        "positions": rows,
        "exposure": {
            "by_stock": [
                {"stock_code": r["stock_code"], "market_value": r["market_value"], "weight_pct": r["weight_pct"]}
                for r in sorted(rows, key=lambda r: -r["market_value"])
            ],
            "by_sector": [
                {"sector": sector, "market_value": value, "weight_pct": percent(value, equity)}
                for sector, value in sorted(by_sector.items(), key=lambda kv: -kv[1])
            ],
        },
        "realized_pnl": account.realized_pnl,
        "unrealized_pnl": sum(r["unrealized_pnl"] for r in rows),
    }


def risk(account: TradingAccount, equity: int, now: dt.datetime) -> dict[str, Any]:
    limits = limits_of(account)
    view = risk_view(account, equity, now)
    peak = max(account.peak_equity, equity)
    daily = daily_loss_pct(equity, account.start_of_day_equity)
    drawdown = drawdown_pct(equity, peak)
    override = override_of(account)
    return {
        "account_id": str(account.id),
        "state": view.state.value,
        "latched_state": view.latched.value,
        "reasons": view.reasons,
        "drawdown_zone": drawdown_zone(equity, peak, limits).value,
        "risk_level": view.state.value,
        "equity": equity,
        "peak_equity": peak,
        "start_of_day_equity": account.start_of_day_equity,
        "daily_loss_pct": rounded(daily, 2),
        "daily_loss_limit_pct": limits.daily_loss_limit_pct,
        "daily_loss_limit_used_pct": rounded(max(0.0, daily) / limits.daily_loss_limit_pct * 100, 2),
        "drawdown_pct": rounded(drawdown, 2),
        "max_drawdown_pct": limits.max_drawdown_pct,
        "drawdown_limit_used_pct": rounded(drawdown / limits.max_drawdown_pct * 100, 2),
        "override": None
        if override is None
        else {**public_detail(account, account.override or {}), "active": override.is_active(now)},
        "limits": limits.to_dict(),
    }


async def status(session: AsyncSession, account: TradingAccount, prices: Prices, now: dt.datetime) -> dict[str, Any]:
    positions = await repository.positions_of(session, account.id)
    equity = equity_of(account, positions, prices)
    view = risk_view(account, equity, now)
    orders = await repository.open_orders(session, account.id)
    strategies = await repository.running_strategies(session, account.id)
    return {
        "account_id": str(account.id),
        "engine_state": view.state.value,
        "state_reason": account.state_reason,
        "open_positions": len(positions),
        "open_orders": len(orders),
        "risk_zone": drawdown_zone(equity, max(account.peak_equity, equity), limits_of(account)).value,
        "equity": equity,
        "cash": account.cash,
        "strategies_running": [{"id": str(i), "name": n} for i, n in strategies],
    }


async def trades(
    session: AsyncSession, account_id: uuid.UUID, start: dt.date | None, end: dt.date | None, offset: int, limit: int
) -> tuple[list[TradingFill], int]:
    return await repository.fills_page(session, account_id, start, end, offset, limit)


async def performance(
    session: AsyncSession, account: TradingAccount, prices: Prices, days: int, now: dt.datetime
) -> dict[str, Any]:
    """Closed trades (every sell is one, against the moving-average cost) and the equity curve of the last
    ``days`` calendar days, ending with the equity now."""
    since = now - dt.timedelta(days=days)
    sells = await repository.sells_since(session, account.id, since)
    closed = [
        ClosedTrade(
            code=f.stock_code,
            quantity=f.quantity,
            entry_at=as_utc(f.executed_at),
            entry_price=max(1, (f.cost_basis_out or 0) // f.quantity),
            exit_at=as_utc(f.executed_at),
            exit_price=f.price,
            realized_pnl=f.realized_pnl or 0,
        )
        for f in sells
    ]
    points = await repository.equity_since(session, account.id, since)
    curve = [EquityPoint(as_utc(at).astimezone(KST), equity) for at, equity in points]
    positions = await repository.positions_of(session, account.id)
    current = equity_of(account, positions, prices)
    if not curve or curve[-1].equity != current:
        last = curve[-1].at if curve else now.astimezone(KST)
        curve.append(EquityPoint(max(last, now.astimezone(KST)), current))
    report = performance_report(closed, curve).to_dict()
    for key in ("start_at", "end_at", "peak_at", "trough_at"):
        report[key] = _utc_text(report.get(key))
    for point in report.get("equity_curve") or ():
        point["at"] = _utc_text(point.get("at"))
    return {"account_id": str(account.id), "days": days, **report}


def _utc_text(value: Any) -> Any:
    """A report's Seoul-time instant (grouped by Seoul days) as the API writes instants: UTC with a ``Z``."""
    if not isinstance(value, str) or "T" not in value:
        return value
    return iso_utc(dt.datetime.fromisoformat(value))


async def signals(
    session: AsyncSession, account_id: uuid.UUID, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    rows, total = await repository.signals_page(session, account_id, offset, limit)
    return [signal_dict(s) for s in rows], total


# -- start, override, config -------------------------------------------------------------------------------------------


def start(session: AsyncSession, account: TradingAccount) -> dict[str, Any]:
    previous = account.state
    if previous != AccountState.ACTIVE.value:
        account.state, account.state_reason = AccountState.ACTIVE.value, None
        record_event(session, account, "started", {"from": previous})
    return {"account_id": str(account.id), "state": AccountState.ACTIVE.value, "previous_state": previous}


def set_override(
    session: AsyncSession,
    account: TradingAccount,
    principal: Principal,
    level: AccountState,
    reason: str,
    expires_in_s: int,
    now: dt.datetime,
) -> dict[str, Any]:
    override = {
        "level": level.value,
        "reason": reason,
        "expires_at": iso_utc(now + dt.timedelta(seconds=expires_in_s)),
        "set_by": actor_label(account, principal.user_id),
        "set_at": iso_utc(now),
    }
    account.override = override
    record_event(session, account, "risk_override_set", override)
    return override


def update_risk_config(session: AsyncSession, account: TradingAccount, values: dict[str, Any]) -> RiskLimits:
    """Replace the account's risk limits (unspecified keys take the defaults); 400 listing every bad key."""
    try:
        limits = RiskLimits.from_mapping(values)
    except RiskLimitsError as exc:
        raise ValidationError("Invalid risk limits", {key: [why] for key, why in exc.errors.items()}) from exc
    account.risk_limits = limits.to_dict()
    record_event(session, account, "config_changed", {"risk": limits.to_dict()})
    return limits


def config(account: TradingAccount, settings_schedule: CostSchedule, preview_ttl_s: int) -> dict[str, Any]:
    return {
        "account_id": str(account.id),
        "risk": limits_of(account).to_dict(),
        "risk_defaults": RiskLimits().to_dict(),
        "preview_ttl_s": preview_ttl_s,
        "costs": {
            "commissions": [
                {
                    "effective": c.effective.isoformat() if c.effective != dt.date.min else None,
                    "rate_pct": str(c.rate_pct),
                    "minimum": c.minimum,
                }
                for c in settings_schedule.commissions
            ],
            "taxes": [
                {
                    "effective": t.effective.isoformat(),
                    "market": t.market,
                    "transaction_pct": str(t.transaction_pct),
                    "rural_pct": str(t.rural_pct),
                }
                for t in settings_schedule.taxes
            ],
        },
        "strategies_available": sorted(STRATEGIES),
    }


async def events(
    session: AsyncSession, account: TradingAccount, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    rows, total = await repository.events_page(session, account.id, offset, limit)
    return [event_dict(account, e) for e in rows], total


async def lock_for_control(
    session: AsyncSession, principal: Principal, account_id: uuid.UUID, *, admin_allowed: bool = False
) -> TradingAccount:
    """The account's lock for its owner, and where ``admin_allowed`` for an admin acting as one (an access token
    or a key with the ``admin`` scope): an admin's key without it is refused on another user's account (403)."""
    if not (admin_allowed and principal.is_admin):
        return await lock_account(session, account_id, principal.user_id)
    account = await lock_account(session, account_id, None)
    if account.user_id != principal.user_id and not principal.acts_as_admin:
        raise InsufficientScopeError.of(Scope.ADMIN, principal)  # the request rolls back the lock's write
    return account


# -- strategies ------------------------------------------------------------------------------------------------


class StrategyNotFoundError(NotFoundError):
    code = "STRATEGY_NOT_FOUND"


async def add_strategy(
    session: AsyncSession,
    principal: Principal,
    account_id: uuid.UUID,
    name: str,
    params: dict[str, Any],
    codes: list[str],
    quantity: int,
    auto_execute: bool,
) -> TradingStrategy:
    """Enable strategy ``name`` over ``codes`` (listed stocks) on the caller's account; 400 for bad parameters."""
    try:
        strategy = create_strategy(name, params, codes)
    except (KeyError, ValueError) as exc:
        raise ValidationError("Invalid strategy parameters", {"params": [str(exc)[:500]]}) from exc
    account = await lock_account(session, account_id, principal.user_id)
    now = utcnow()
    row = TradingStrategy(
        account_id=account.id,
        name=name,
        params=strategy.params.model_dump(),
        codes=codes,
        quantity=quantity,
        auto_execute=auto_execute,
        enabled=True,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    record_event(session, account, "strategy_enabled", {"strategy_id": str(row.id), "name": name})
    return row


async def _owned_strategy(session: AsyncSession, account_id: uuid.UUID, strategy_id: uuid.UUID) -> TradingStrategy:
    row = await repository.strategy(session, strategy_id)
    if row is None or row.account_id != account_id:
        raise StrategyNotFoundError(f"Strategy {strategy_id} not found", {"strategy_id": str(strategy_id)})
    return row


async def update_strategy(
    session: AsyncSession,
    principal: Principal,
    account_id: uuid.UUID,
    strategy_id: uuid.UUID,
    enabled: bool | None,
    auto_execute: bool | None,
) -> TradingStrategy:
    """Enable or disable a strategy (enabling clears its error) or change its auto-execution."""
    account = await lock_account(session, account_id, principal.user_id)
    row = await _owned_strategy(session, account_id, strategy_id)
    changes: dict[str, Any] = {}
    if enabled is not None:
        row.enabled = changes["enabled"] = enabled
        if enabled:
            row.error = None
    if auto_execute is not None:
        row.auto_execute = changes["auto_execute"] = auto_execute
    row.updated_at = utcnow()
    record_event(session, account, "strategy_updated", {"strategy_id": str(row.id), **changes})
    return row


async def delete_strategy(
    session: AsyncSession, principal: Principal, account_id: uuid.UUID, strategy_id: uuid.UUID
) -> None:
    await lock_account(session, account_id, principal.user_id)
    await session.delete(await _owned_strategy(session, account_id, strategy_id))
