"""What the API and the account channel send: orders, fills, positions, accounts, previews, strategies, signals
and events as plain dicts (the response models in :mod:`kstock.trading.schemas` document them)."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from kstock.kit.clock import iso_utc
from kstock.kit.krx import price_limits
from kstock.kit.numbers import percent, rounded
from kstock.trading.accounts import Prices, equity_of, mark, public_detail
from kstock.trading.costs import Side
from kstock.trading.models import (
    OPEN,
    TradingAccount,
    TradingEvent,
    TradingFill,
    TradingOrder,
    TradingPosition,
    TradingSignal,
    TradingStrategy,
)

if TYPE_CHECKING:
    from kstock.trading.desk import Assessment
    from kstock.trading.previews import Preview


def _avg(amount: int, quantity: int) -> float | None:
    return rounded(float(Fraction(amount, quantity)), 2) if quantity else None


def order_dict(order: TradingOrder, fills: Sequence[TradingFill] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(order.id),
        "account_id": str(order.account_id),
        "stock_code": order.stock_code,
        "market": order.market,
        "side": order.side,
        "order_type": order.order_type,
        "time_in_force": order.time_in_force,
        "quantity": order.quantity,
        "limit_price": order.limit_price,
        "filled_quantity": order.filled_quantity,
        "remaining_quantity": order.quantity - order.filled_quantity if order.status == OPEN else 0,
        "average_fill_price": _avg(order.filled_amount, order.filled_quantity),
        "filled_amount": order.filled_amount,
        "commission": order.commission,
        "tax": order.tax,
        "reserved_cash": order.reserved_cash,
        "status": order.status,
        "status_reason": order.status_reason,
        "source": order.source,
        "strategy_id": str(order.strategy_id) if order.strategy_id else None,
        "preview_id": str(order.preview_id) if order.preview_id else None,
        "trade_date": order.trade_date.isoformat(),
        "created_at": iso_utc(order.created_at),
        "updated_at": iso_utc(order.updated_at),
        "closed_at": iso_utc(order.closed_at) if order.closed_at else None,
    }
    if fills is not None:
        body["fills"] = [fill_dict(f) for f in fills]
    return body


def fill_dict(fill: TradingFill) -> dict[str, Any]:
    return {
        "id": str(fill.id),
        "order_id": str(fill.order_id),
        "stock_code": fill.stock_code,
        "side": fill.side,
        "price": fill.price,
        "quantity": fill.quantity,
        "amount": fill.amount,
        "commission": fill.commission,
        "tax": fill.tax,
        "net_cash": fill.net_cash,
        "realized_pnl": fill.realized_pnl,
        "phase": fill.phase,
        "trade_date": fill.trade_date.isoformat(),
        "settles_on": fill.settles_on.isoformat(),
        "executed_at": iso_utc(fill.executed_at),
    }


def position_dict(position: TradingPosition, prices: Prices, equity: int) -> dict[str, Any]:
    price = mark(position, prices)
    value = position.quantity * price
    cost = position.cost_basis + position.fees
    return {
        "stock_code": position.stock_code,
        "quantity": position.quantity,
        "average_price": _avg(position.cost_basis, position.quantity),
        "current_price": price,
        "market_value": value,
        "cost_basis": position.cost_basis,
        "buy_commission": position.fees,
        "unrealized_pnl": value - cost,
        "unrealized_pnl_pct": percent(value - cost, cost),
        "realized_pnl": position.realized_pnl,
        "weight_pct": percent(value, equity),
    }


def account_dict(account: TradingAccount, positions: Sequence[TradingPosition], prices: Prices) -> dict[str, Any]:
    """The account with its cash, positions and P&L at current prices."""
    equity = equity_of(account, positions, prices)
    market_value = equity - account.cash
    unrealized = sum(mark(p, prices) * p.quantity - p.cost_basis - p.fees for p in positions if p.quantity > 0)
    return {
        "id": str(account.id),
        "name": account.name,
        "starting_cash": account.starting_cash,
        "cash": account.cash,
        "reserved_cash": account.reserved_cash,
        "buying_power": max(0, account.cash - account.reserved_cash),
        "market_value": market_value,
        "equity": equity,
        "realized_pnl": account.realized_pnl,
        "unrealized_pnl": unrealized,
        "total_pnl": equity - account.starting_cash,
        "total_return_pct": percent(equity - account.starting_cash, account.starting_cash),
        "commissions": account.commissions,
        "taxes": account.taxes,
        "state": account.state,
        "positions_count": sum(1 for p in positions if p.quantity > 0),
        "created_at": iso_utc(account.created_at),
        "updated_at": iso_utc(account.updated_at),
    }


def assessment_dict(a: Assessment) -> dict[str, Any]:
    """The preview's body, without its id and expiry."""
    priced = a.priced
    quote = a.quote
    lower, upper = price_limits(quote.base_price, quote.market) if quote.base_price > 0 else (None, None)
    body: dict[str, Any] = {
        "passed": a.passed,
        "order": a.request.to_dict(),
        "checks": [c.to_dict() for c in a.checks],
        "warnings": list(priced.warnings) if priced else [],
        "market": {
            "market": quote.market,
            "phase": quote.phase.value,
            "market_time": iso_utc(quote.market_time),
            "trade_date": quote.trade_date.isoformat(),
            "base_price": quote.base_price,
            "last_price": quote.last_price,
            "price_band": {"lower": lower, "upper": upper},
            "halted": quote.book.halted,
            "feed": quote.fed,
        },
        "account": {"state": a.risk.state.value, "equity": a.risk.equity},
    }
    if priced is None:
        body["estimate"] = None
        return body
    reserved = priced.reserved_cash
    held_after = a.held_quantity + (
        priced.filled_quantity + priced.resting_quantity
        if priced.order.side is Side.BUY
        else -(priced.filled_quantity + priced.resting_quantity)
    )
    body["estimate"] = {
        **priced.to_dict(),
        "cash_before": a.cash,
        "cash_after": a.cash + priced.net_cash_change,
        "buying_power_before": a.buying_power,
        "buying_power_after": max(0, a.buying_power - reserved) if priced.order.side is Side.BUY else a.buying_power,
        "position_before": a.held_quantity,
        "position_after": held_after,
    }
    return body


def strategy_dict(row: TradingStrategy) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "account_id": str(row.account_id),
        "name": row.name,
        "params": row.params,
        "stock_codes": row.codes,
        "quantity": row.quantity,
        "auto_execute": row.auto_execute,
        "enabled": row.enabled,
        "error": row.error,
        "created_at": iso_utc(row.created_at),
        "updated_at": iso_utc(row.updated_at),
    }


def signal_dict(s: TradingSignal) -> dict[str, Any]:
    return {
        "id": str(s.id),
        "strategy_id": str(s.strategy_id),
        "stock_code": s.stock_code,
        "side": s.side,
        "price": s.price,
        "reason": s.reason,
        "outcome": s.outcome,
        "detail": s.detail,
        "order_id": str(s.order_id) if s.order_id else None,
        "at": iso_utc(s.at),
    }


def event_dict(account: TradingAccount, e: TradingEvent) -> dict[str, Any]:
    return {"id": e.id, "kind": e.kind, "detail": public_detail(account, e.detail), "at": iso_utc(e.created_at)}


def preview_dict(account: TradingAccount, assessment: Assessment, signed: tuple[str, Preview] | None) -> dict[str, Any]:
    """The preview's answer: its id and expiry (None when a check failed) with the assessment."""
    return {
        "preview_id": signed[0] if signed else None,
        "expires_at": iso_utc(signed[1].expires_at) if signed else None,
        "account_id": str(account.id),
        **assessment_dict(assessment),
    }
