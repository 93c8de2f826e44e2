"""An execution written to the account: the fill record, its cash movement (D+2), the position (moving-average
cost) and the order's progress, in the caller's transaction (which holds the account's lock); closing an order;
cash by settlement day."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from kstock.kit.average_cost import taken_out
from kstock.kit.clock import as_utc, utcnow
from kstock.trading import repository
from kstock.trading.costs import CostSchedule, Side, net_cash_change, trade_costs
from kstock.trading.events import emit
from kstock.trading.models import FILLED, TradingAccount, TradingFill, TradingOrder, TradingPosition
from kstock.trading.pricing import buy_reservation
from kstock.trading.render import fill_dict, order_dict
from kstock.trading.settlement import settlement_date


async def apply_fill(
    session: AsyncSession,
    account: TradingAccount,
    order: TradingOrder,
    price: int,
    quantity: int,
    phase: str,
    now: dt.datetime,
    schedule: CostSchedule,
) -> TradingFill:
    """One execution of ``order``: the fill record, the cash movement, the position and the order, in the caller's
    transaction (which holds the account's lock).

    ``now`` is the market's time of the execution: it is the fill's ``executed_at`` only. The rows' own times
    (the order's ``updated_at``/``closed_at``, the position's, the fill's ``recorded_at``) are the wall clock's,
    like the order's ``created_at``, so an order never closes before it was created (the demo's market clock runs
    apart from the wall clock).

    The position keeps the buy commission of the shares held (``fees``) beside their cost: a sell takes both out
    by the moving-average rule (:func:`kstock.kit.average_cost.taken_out`) and its realized P&L is net of both
    (the sell's own costs, the cost and the buy commission of the shares sold)."""
    now = as_utc(now)  # the market's time arrives in Seoul time; every stored instant is UTC
    recorded = utcnow()
    remaining = order.quantity - order.filled_quantity
    if not 0 < quantity <= remaining:
        raise ValueError(f"cannot fill {quantity} of an order with {remaining} remaining")
    side = Side(order.side)
    amount = price * quantity
    costs = trade_costs(side, order.market, amount, order.trade_date, schedule)
    net = net_cash_change(side, amount, costs)
    position = await repository.position_for(session, account.id, order.stock_code)
    if position is None:
        position = TradingPosition(
            account_id=account.id, stock_code=order.stock_code, quantity=0, cost_basis=0, realized_pnl=0, fees=0
        )
        session.add(position)
        await session.flush()  # a new position is found by the next fill of this transaction only once flushed
    realized = cost_out = None
    if side is Side.BUY:
        position.quantity += quantity
        position.cost_basis += amount
        position.fees += costs.commission
    else:
        cost_out = taken_out(position.cost_basis, quantity, position.quantity)
        fees_out = taken_out(position.fees, quantity, position.quantity)
        realized = amount - costs.total - cost_out - fees_out
        position.quantity -= quantity
        position.cost_basis -= cost_out
        position.fees -= fees_out
        position.realized_pnl += realized
        account.realized_pnl += realized
    position.last_price = price
    position.updated_at = recorded
    account.cash += net
    account.commissions += costs.commission
    account.taxes += costs.tax
    spent = amount + costs.commission
    order.filled_quantity += quantity
    order.filled_amount += amount
    order.commission += costs.commission
    order.tax += costs.tax
    order.updated_at = recorded
    left = order.quantity - order.filled_quantity
    if side is Side.BUY:
        if left == 0:
            reserved = 0
        elif order.limit_price is not None:
            reserved = buy_reservation(order.limit_price, left, order.trade_date, schedule)
        else:  # a market order waiting for an auction: what it spent comes out of its reservation
            reserved = max(0, order.reserved_cash - spent)
        account.reserved_cash -= order.reserved_cash - reserved
        order.reserved_cash = reserved
    fill = TradingFill(
        id=uuid.uuid4(),
        order_id=order.id,
        account_id=account.id,
        stock_code=order.stock_code,
        side=order.side,
        price=price,
        quantity=quantity,
        amount=amount,
        commission=costs.commission,
        tax=costs.tax,
        net_cash=net,
        realized_pnl=realized,
        cost_basis_out=cost_out,
        phase=phase,
        trade_date=order.trade_date,
        settles_on=settlement_date(order.trade_date),
        executed_at=now,
        recorded_at=recorded,
    )
    session.add(fill)
    if left == 0:
        order.status = FILLED
        order.closed_at = recorded
    emit(
        session,
        account.id,
        "order_filled" if left == 0 else "order_partially_filled",
        {"order": order_dict(order), "fill": fill_dict(fill)},
    )
    return fill


def close_order(session: AsyncSession, account: TradingAccount, order: TradingOrder, status: str, reason: str) -> None:
    """End an open order (cancelled or expired) and release what it held back; closed at the wall clock's time,
    the clock of every order time but a fill's ``executed_at`` (see :func:`apply_fill`)."""
    now = utcnow()
    account.reserved_cash -= order.reserved_cash
    order.reserved_cash = 0
    order.status = status
    order.status_reason = reason[:500]
    order.updated_at = order.closed_at = now
    emit(session, account.id, f"order_{status}", {"order": order_dict(order)})


async def cash_view(session: AsyncSession, account: TradingAccount, today: dt.date) -> dict[str, int]:
    """Cash by settlement day (D+0, D+1, D+2) from the fills that have not settled by ``today``."""
    pending = await repository.unsettled(session, account.id, today)
    tomorrow = settlement_date(today, 1)
    receivable = sum(net for net, _ in pending if net > 0)
    payable = -sum(net for net, _ in pending if net < 0)
    settled = account.cash - receivable + payable
    next_day = settled + sum(net for net, day in pending if day <= tomorrow)
    return {
        "settled": settled,
        "next_day": next_day,
        "projected": account.cash,
        "receivable": receivable,
        "payable": payable,
        "reserved_for_open_buys": account.reserved_cash,
        "buying_power": max(0, account.cash - account.reserved_cash),
        "withdrawable": max(0, min(settled - payable, account.cash - account.reserved_cash)),
    }
