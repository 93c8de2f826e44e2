"""Paper-trading accounts and their orders: ownership, valuation, the two-step order path and fills.

Every write to an account begins with :func:`lock_account`, an UPDATE of the account's ``revision`` that also
checks the owner: writers of one account (API requests on any instance, the engine's fills) run one after the
other, and another user's account matches no row (404, exactly like a missing one).

The same functions serve the API (prices from :class:`kstock.trading.market.MarketView`) and the engine in the feed
process (prices from the simulator): :func:`place_order` prices an order against a :class:`Quote`, runs every risk
check, writes the order and its immediate fills; :func:`apply_fill` writes one execution with its cash movement,
its position change and its trade record, in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import orjson
from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kstock.config import Settings
from kstock.db.session import flush_unique
from kstock.errors import ConflictError, NotFoundError, UnprocessableError
from kstock.identity.principal import Principal
from kstock.identity.tiers import require_quota_after_insert
from kstock.kit.clock import as_utc, iso_utc, utcnow
from kstock.kit.krx import price_limits
from kstock.kit.numbers import percent, rounded
from kstock.trading.costs import DEFAULT_SCHEDULE, CostSchedule, Side, net_cash_change, trade_costs
from kstock.trading.events import emit
from kstock.trading.market import Quote
from kstock.trading.models import (
    TradingAccount,
    TradingEquity,
    TradingEvent,
    TradingFill,
    TradingOrder,
    TradingPosition,
    TradingSignal,
)
from kstock.trading.orders import InvalidOrderError, Order, OrderType, TimeInForce
from kstock.trading.previews import Preview
from kstock.trading.previews import sign as sign_preview
from kstock.trading.previews import verify as verify_preview
from kstock.trading.pricing import PricedOrder, buy_reservation, price_order
from kstock.trading.risk import AccountSnapshot, CheckResult, RiskLimits, all_passed, check_order
from kstock.trading.risk_state import AccountState, RiskOverride, evaluate_state
from kstock.trading.settlement import settlement_date

Prices = Callable[[str], int | None]
"""The current price of a stock (None when unknown): the snapshot's live price in the API, the tape's in the
engine."""

OPEN = "open"
FILLED = "filled"
CANCELLED = "cancelled"
EXPIRED = "expired"


class AccountNotFoundError(NotFoundError):
    code = "ACCOUNT_NOT_FOUND"

    @classmethod
    def of(cls, account_id: uuid.UUID) -> AccountNotFoundError:
        return cls(f"Trading account {account_id} not found", {"account_id": str(account_id)})


class AccountNameTakenError(ConflictError):
    code = "ACCOUNT_NAME_TAKEN"
    default_message = "You already have a trading account with this name"


class OrderNotFoundError(NotFoundError):
    code = "ORDER_NOT_FOUND"


class OrderNotOpenError(ConflictError):
    code = "ORDER_NOT_OPEN"


class PreviewNotFoundError(NotFoundError):
    code = "PREVIEW_NOT_FOUND"


class PreviewExpiredError(ConflictError):
    code = "PREVIEW_EXPIRED"


class OrderRejectedError(UnprocessableError):
    code = "ORDER_REJECTED"


@functools.cache
def _parsed_schedule(raw: str | None) -> CostSchedule:
    return DEFAULT_SCHEDULE if not raw else CostSchedule.from_mapping(orjson.loads(raw))


def cost_schedule(settings: Settings) -> CostSchedule:
    """The dated commission and tax rates of the deployment (``KSTOCK_TRADING_COSTS``, else the KRX defaults)."""
    return _parsed_schedule(settings.trading_costs)


# -- accounts --------------------------------------------------------------------------------------------------


async def lock_account(
    session: AsyncSession, account_id: uuid.UUID, user_id: uuid.UUID | None = None
) -> TradingAccount:
    """Take the account's write lock (the transaction's first statement), check its owner, and return it fresh."""
    statement = update(TradingAccount).where(TradingAccount.id == account_id)
    if user_id is not None:
        statement = statement.where(TradingAccount.user_id == user_id)
    result = await session.execute(statement.values(revision=TradingAccount.revision + 1, updated_at=utcnow()))
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise AccountNotFoundError.of(account_id)
    account = await session.get(TradingAccount, account_id, populate_existing=True)
    if account is None:  # deleted between the two statements (PostgreSQL only)
        raise AccountNotFoundError.of(account_id)
    return account


async def owned_account(session: AsyncSession, principal: Principal, account_id: uuid.UUID) -> TradingAccount:
    statement = select(TradingAccount).where(
        TradingAccount.id == account_id, TradingAccount.user_id == principal.user_id
    )
    account = (await session.execute(statement)).scalar_one_or_none()
    if account is None:
        raise AccountNotFoundError.of(account_id)
    return account


async def create_account(
    session: AsyncSession, principal: Principal, settings: Settings, name: str, starting_cash: int
) -> TradingAccount:
    now = utcnow()
    account = TradingAccount(
        user_id=principal.user_id,
        name=name,
        starting_cash=starting_cash,
        cash=starting_cash,
        reserved_cash=0,
        realized_pnl=0,
        commissions=0,
        taxes=0,
        state=AccountState.ACTIVE.value,
        risk_limits={},
        peak_equity=starting_cash,
        start_of_day_equity=starting_cash,
        revision=0,
        created_at=now,
        updated_at=now,
    )
    session.add(account)
    await flush_unique(session, AccountNameTakenError(details={"name": name}))
    await require_quota_after_insert(session, principal, settings, "trading_accounts", TradingAccount)
    session.add(TradingEquity(account_id=account.id, at=now, equity=starting_cash))
    return account


async def list_accounts(session: AsyncSession, principal: Principal) -> list[TradingAccount]:
    statement = (
        select(TradingAccount).where(TradingAccount.user_id == principal.user_id).order_by(TradingAccount.created_at)
    )
    return list((await session.execute(statement)).scalars())


async def reset_account(
    session: AsyncSession, principal: Principal, account_id: uuid.UUID, starting_cash: int | None
) -> TradingAccount:
    """Back to a fresh account: orders, fills, positions, signals and the equity curve are deleted (previews made
    before it stay valid for what remains of their 30 s, against the fresh account)."""
    account = await lock_account(session, account_id, principal.user_id)
    for table in (TradingFill, TradingSignal, TradingOrder, TradingPosition, TradingEquity):
        await session.execute(delete(table).where(table.account_id == account_id))
    cash = starting_cash if starting_cash is not None else account.starting_cash
    now = utcnow()
    account.starting_cash = account.cash = account.peak_equity = account.start_of_day_equity = cash
    account.reserved_cash = account.realized_pnl = account.commissions = account.taxes = 0
    account.state, account.state_reason, account.override, account.equity_date = (
        AccountState.ACTIVE.value,
        None,
        None,
        None,
    )
    session.add(TradingEquity(account_id=account_id, at=now, equity=cash))
    record_event(session, account, "account_reset", {"starting_cash": cash})
    return account


async def delete_account(session: AsyncSession, principal: Principal, account_id: uuid.UUID) -> None:
    await lock_account(session, account_id, principal.user_id)
    await session.execute(delete(TradingAccount).where(TradingAccount.id == account_id))


def actor_label(account: TradingAccount, user_id: uuid.UUID | str) -> str:
    """Who acted on the account, as its owner sees it: ``owner``, or ``admin`` for anyone else (an admin's
    override). A user id never reaches another user; the audit log keeps who it was."""
    return "owner" if str(user_id) == str(account.user_id) else "admin"


def public_detail(account: TradingAccount, detail: Any) -> Any:
    """An event's detail with every ``set_by`` shown as a role label (rows written before labels held ids)."""
    if not isinstance(detail, dict):
        return detail
    shown = {key: public_detail(account, value) if isinstance(value, dict) else value for key, value in detail.items()}
    if isinstance(shown.get("set_by"), str) and shown["set_by"] not in {"owner", "admin"}:
        shown["set_by"] = actor_label(account, shown["set_by"])
    return shown


def record_event(session: AsyncSession, account: TradingAccount, kind: str, detail: dict[str, Any]) -> None:
    """Keep ``kind`` in the account's history and announce it on its channel after the commit."""
    session.add(TradingEvent(account_id=account.id, kind=kind, detail=detail, created_at=utcnow()))
    emit(session, account.id, kind, detail)


# -- valuation -------------------------------------------------------------------------------------------------


async def open_positions(
    session: AsyncSession, account_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[TradingPosition]]:
    """The open positions of several accounts in one query, by account, each in stock-code order."""
    statement = (
        select(TradingPosition)
        .where(TradingPosition.account_id.in_(account_ids), TradingPosition.quantity > 0)
        .order_by(TradingPosition.stock_code)
    )
    by_account: dict[uuid.UUID, list[TradingPosition]] = {account_id: [] for account_id in account_ids}
    for position in (await session.execute(statement)).scalars():
        by_account[position.account_id].append(position)
    return by_account


async def positions_of(session: AsyncSession, account_id: uuid.UUID) -> list[TradingPosition]:
    return (await open_positions(session, [account_id]))[account_id]


def mark(position: TradingPosition, prices: Prices) -> int:
    """The price a position is valued at: the live price, else its last fill's, else its average cost."""
    price = prices(position.stock_code) or position.last_price
    if price:
        return price
    return position.cost_basis // position.quantity if position.quantity else 0


def equity_of(account: TradingAccount, positions: Sequence[TradingPosition], prices: Prices) -> int:
    """Cash (D+2) plus every open position at market, KRW."""
    return account.cash + sum(p.quantity * mark(p, prices) for p in positions if p.quantity > 0)


def limits_of(account: TradingAccount) -> RiskLimits:
    return RiskLimits.from_stored(account.risk_limits or {})


def override_of(account: TradingAccount) -> RiskOverride | None:
    raw = account.override
    if not raw:
        return None
    return RiskOverride(
        expires_at=dt.datetime.fromisoformat(raw["expires_at"]),
        reason=raw["reason"],
        level=AccountState(raw.get("level", AccountState.ACTIVE)),
    )


@dataclass(frozen=True, slots=True)
class RiskView:
    state: AccountState  # with an active override applied: what orders face
    latched: AccountState  # without it: what is stored
    reasons: list[str]
    equity: int


def risk_view(account: TradingAccount, equity: int, now: dt.datetime) -> RiskView:
    limits = limits_of(account)
    current = AccountState(account.state)
    peak = max(account.peak_equity, equity)
    latched, reasons = evaluate_state(current, equity, account.start_of_day_equity, peak, limits, None, now=now)
    effective, effective_reasons = evaluate_state(
        current, equity, account.start_of_day_equity, peak, limits, override_of(account), now=now
    )
    return RiskView(effective, latched, effective_reasons if effective is not latched else reasons, equity)


def update_risk_state(session: AsyncSession, account: TradingAccount, equity: int, now: dt.datetime) -> RiskView:
    """Fold ``equity`` into the peak, latch what the figures call for, and record a change of state."""
    view = risk_view(account, equity, now)
    account.peak_equity = max(account.peak_equity, equity)
    if view.latched.value != account.state:
        previous = account.state
        account.state = view.latched.value
        account.state_reason = "; ".join(view.reasons)[:500] or None
        record_event(
            session,
            account,
            "risk_state_changed",
            {"from": previous, "to": view.latched.value, "reasons": view.reasons, "equity": equity},
        )
    if account.override and not override_of(account).is_active(now):  # type: ignore[union-attr]
        record_event(session, account, "risk_override_expired", {"override": public_detail(account, account.override)})
        account.override = None
    return view


async def after_activity(session: AsyncSession, account: TradingAccount, prices: Prices) -> RiskView:
    """Revalue the account after a change, latch its risk state and keep a point of its equity curve.

    Equity points are stamped with the wall clock (the performance's days are real days, also under the demo's
    faster market clock); fills keep the market's time."""
    now = utcnow()
    await session.flush()  # the fills written so far, in one round (sessions do not autoflush)
    equity = equity_of(account, await positions_of(session, account.id), prices)
    view = update_risk_state(session, account, equity, now)
    session.add(TradingEquity(account_id=account.id, at=now, equity=equity))
    return view


# -- orders ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderRequest:
    stock_code: str
    side: Side
    order_type: OrderType
    quantity: int
    limit_price: int | None
    time_in_force: TimeInForce

    def order(self) -> Order:
        return Order(self.side, self.order_type, self.quantity, self.limit_price, self.time_in_force)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stock_code": self.stock_code,
            "side": self.side.value,
            "order_type": self.order_type.value,
            "quantity": self.quantity,
            "limit_price": self.limit_price,
            "time_in_force": self.time_in_force.value,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OrderRequest:
        return cls(
            data["stock_code"],
            Side(data["side"]),
            OrderType(data["order_type"]),
            int(data["quantity"]),
            data.get("limit_price"),
            TimeInForce(data["time_in_force"]),
        )


@dataclass(frozen=True, slots=True)
class Assessment:
    """An order priced against the market and checked against the account: what a preview shows."""

    request: OrderRequest
    quote: Quote
    priced: PricedOrder | None  # None when the order cannot be priced (off the tick grid, outside the band, ...)
    checks: list[CheckResult]
    risk: RiskView
    cash: int
    buying_power: int
    held_quantity: int
    position_value: int

    @property
    def passed(self) -> bool:
        return self.priced is not None and all_passed(self.checks)


async def _order_activity(
    session: AsyncSession, account_id: uuid.UUID, code: str, now: dt.datetime
) -> tuple[int, tuple[dt.datetime, ...]]:
    """In one query: the shares of ``code`` already in open sell orders, and when the account's orders of the last
    second were placed (for the order-rate check)."""
    since = now - dt.timedelta(seconds=1)
    statement = select(
        TradingOrder.stock_code,
        TradingOrder.side,
        TradingOrder.status,
        TradingOrder.quantity - TradingOrder.filled_quantity,
        TradingOrder.created_at,
    ).where(
        TradingOrder.account_id == account_id,
        or_(
            and_(TradingOrder.status == OPEN, TradingOrder.side == Side.SELL.value, TradingOrder.stock_code == code),
            TradingOrder.created_at > since,
        ),
    )
    open_sell = 0
    recent = []
    for stock_code, side, status, remaining, created_at in await session.execute(statement):
        if status == OPEN and side == Side.SELL.value and stock_code == code:
            open_sell += remaining
        created = as_utc(created_at)
        if created > since:
            recent.append(created)
    return open_sell, tuple(recent)


async def assess(
    session: AsyncSession,
    account: TradingAccount,
    request: OrderRequest,
    quote: Quote,
    prices: Prices,
    schedule: CostSchedule,
    now: dt.datetime,
) -> Assessment:
    """Price ``request`` against ``quote`` and run every risk check for ``account`` (nothing is written)."""
    positions = await positions_of(session, account.id)
    equity = equity_of(account, positions, prices)
    risk = risk_view(account, equity, now)
    held = next((p for p in positions if p.stock_code == request.stock_code), None)
    held_quantity = held.quantity if held else 0
    position_value = held_quantity * mark(held, prices) if held else 0
    buying_power = max(0, account.cash - account.reserved_cash)
    open_sell, recent = await _order_activity(session, account.id, request.stock_code, now)
    snapshot = AccountSnapshot(
        equity=equity,
        buying_power=buying_power,
        state=risk.state,
        held_quantity=held_quantity,
        open_sell_quantity=open_sell,
        position_value=position_value,
        recent_order_times=recent,
    )
    order = request.order()
    if quote.base_price <= 0:  # never priced: no close stored and nothing from the feed
        missing = CheckResult("market_data", False, "no price for this stock yet: it cannot be traded")
        return Assessment(request, quote, None, [missing], risk, account.cash, buying_power, held_quantity, 0)
    priced: PricedOrder | None
    extra: list[CheckResult] = []
    try:
        priced = price_order(
            order,
            quote.book,
            market=quote.market,
            base_price=quote.base_price,
            trade_date=quote.trade_date,
            last_price=quote.last_price,
            schedule=schedule,
        )
    except InvalidOrderError as exc:
        priced = None
        extra = [CheckResult("time_in_force", False, p.message) for p in exc.problems if p.code == "IOC_NOT_ACCEPTED"]
    checks = check_order(
        order, priced, snapshot, limits_of(account), base_price=quote.base_price, market=quote.market, now=now
    )
    if not quote.fed and (order.order_type is OrderType.MARKET or order.time_in_force is TimeInForce.IOC):
        extra.append(
            CheckResult(
                "market_data",
                False,
                "no live order book for this stock (is the feed running?): market and IOC orders need one; a day "
                "limit order can wait",
            )
        )
    return Assessment(
        request, quote, priced, checks + extra, risk, account.cash, buying_power, held_quantity, position_value
    )


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


def create_preview(
    secret: str, account: TradingAccount, assessment: Assessment, ttl_s: int, now: dt.datetime
) -> tuple[str, Preview] | None:
    """A signed preview id for an order that passes every check, valid for ``ttl_s``; None for one that does not.
    Nothing is written (:mod:`kstock.trading.previews`)."""
    if not assessment.passed:
        return None
    return sign_preview(secret, account.id, assessment.request.to_dict(), now + dt.timedelta(seconds=ttl_s))


async def order_by_idempotency_key(session: AsyncSession, account_id: uuid.UUID, key: str) -> TradingOrder | None:
    statement = select(TradingOrder).where(TradingOrder.account_id == account_id, TradingOrder.idempotency_key == key)
    return (await session.execute(statement)).scalar_one_or_none()


async def preview_for_execute(
    session: AsyncSession, secret: str, account: TradingAccount, token: str, now: dt.datetime
) -> tuple[Preview, TradingOrder | None]:
    """The account's preview and the order it already became (an executed preview replays its order)."""
    preview = verify_preview(secret, token)
    if preview is None or preview.account_id != account.id:
        shown = token if len(token) <= 80 else token[:77] + "..."
        raise PreviewNotFoundError("Preview not found: preview the order again", {"preview_id": shown})
    statement = select(TradingOrder).where(TradingOrder.account_id == account.id, TradingOrder.preview_id == preview.id)
    executed = (await session.execute(statement)).scalar_one_or_none()
    if executed is not None:
        return preview, executed
    if preview.expires_at <= now:
        raise PreviewExpiredError(
            "The preview has expired: preview the order again", {"expired_at": iso_utc(preview.expires_at)}
        )
    return preview, None


def reject(assessment: Assessment) -> OrderRejectedError:
    failed = [c.to_dict() for c in assessment.checks if not c.passed]
    message = "; ".join(c.detail for c in assessment.checks if not c.passed) or "the order cannot be priced"
    return OrderRejectedError(f"Order rejected: {message}", {"failed_checks": failed})


async def place_order(
    session: AsyncSession,
    account: TradingAccount,
    assessment: Assessment,
    schedule: CostSchedule,
    now: dt.datetime,
    *,
    source: str = "api",
    preview_id: uuid.UUID | None = None,
    idempotency_key: str | None = None,
    strategy_id: uuid.UUID | None = None,
    enforce_checks: bool = True,
    rest_remainder: bool = False,
) -> TradingOrder:
    """Write an assessed order (OrderRejectedError when a check fails) and fill what the book fills now.

    A market order, or an IOC order, cancels what the visible book cannot fill; a day limit order rests for the
    engine; during an auction, a halt or a closed market the whole order waits. ``enforce_checks`` False (a stop's
    closing sells) waives every check but the sellable quantity; ``rest_remainder`` keeps what a market order's
    visible book cannot fill open, to be filled from the tape at the prices it prints.
    """
    priced = assessment.priced
    if priced is None:
        raise reject(assessment)
    if enforce_checks and not assessment.passed:
        raise reject(assessment)
    if not enforce_checks and not all(c.passed for c in assessment.checks if c.name == "sellable_quantity"):
        raise reject(assessment)
    request = assessment.request
    order = TradingOrder(
        id=uuid.uuid4(),
        account_id=account.id,
        stock_code=request.stock_code,
        market=assessment.quote.market,
        side=request.side.value,
        order_type=request.order_type.value,
        time_in_force=request.time_in_force.value,
        quantity=request.quantity,
        limit_price=request.limit_price,
        filled_quantity=0,
        filled_amount=0,
        commission=0,
        tax=0,
        reserved_cash=priced.reserved_cash,
        status=OPEN,
        source=source,
        strategy_id=strategy_id,
        preview_id=preview_id,
        idempotency_key=idempotency_key,
        trade_date=assessment.quote.trade_date,
        created_at=now,
        updated_at=now,
    )
    session.add(order)
    account.reserved_cash += order.reserved_cash
    await session.flush()  # the order's row before its fills' (tables are flushed in no foreign-key order)
    emit(session, account.id, "order_accepted", {"order": order_dict(order)})
    quote = assessment.quote
    for price, quantity in priced.fills:  # executed at the market's time (the simulator's clock under --demo)
        await apply_fill(session, account, order, price, quantity, quote.phase.value, quote.market_time, schedule)
    if priced.cancelled_quantity and order.status == OPEN and not rest_remainder:
        why = (
            "IOC: the rest could not fill at once"
            if order.time_in_force == TimeInForce.IOC.value
            else "market order: the visible book could not fill the rest"
        )
        close_order(session, account, order, CANCELLED, why)
    return order


async def position_for(session: AsyncSession, account_id: uuid.UUID, code: str) -> TradingPosition | None:
    return await session.get(TradingPosition, (account_id, code))


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
    apart from the wall clock)."""
    now = as_utc(now)  # the market's time arrives in Seoul time; every stored instant is UTC
    recorded = utcnow()
    remaining = order.quantity - order.filled_quantity
    if not 0 < quantity <= remaining:
        raise ValueError(f"cannot fill {quantity} of an order with {remaining} remaining")
    side = Side(order.side)
    amount = price * quantity
    costs = trade_costs(side, order.market, amount, order.trade_date, schedule)
    net = net_cash_change(side, amount, costs)
    position = await position_for(session, account.id, order.stock_code)
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
        if quantity > position.quantity:
            raise ValueError(f"selling {quantity} with {position.quantity} held")
        if quantity == position.quantity:
            cost_out, fees_out = position.cost_basis, position.fees
        else:
            cost_out = position.cost_basis * quantity // position.quantity
            fees_out = position.fees * quantity // position.quantity
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


async def get_order(session: AsyncSession, account_id: uuid.UUID, order_id: uuid.UUID) -> TradingOrder:
    order = await session.get(TradingOrder, order_id)
    if order is None or order.account_id != account_id:
        raise OrderNotFoundError(f"Order {order_id} not found", {"order_id": str(order_id)})
    return order


async def cancel_order(
    session: AsyncSession, principal: Principal, account_id: uuid.UUID, order_id: uuid.UUID
) -> TradingOrder:
    account = await lock_account(session, account_id, principal.user_id)
    order = await get_order(session, account_id, order_id)
    await session.refresh(order)
    if order.status != OPEN:
        raise OrderNotOpenError(
            f"Order {order_id} is {order.status}: only open orders can be cancelled",
            {"order_id": str(order_id), "status": order.status},
        )
    close_order(session, account, order, CANCELLED, "cancelled by the account owner")
    return order


async def fills_of(session: AsyncSession, order_id: uuid.UUID) -> list[TradingFill]:
    statement = (
        select(TradingFill)
        .where(TradingFill.order_id == order_id)
        .order_by(TradingFill.executed_at, TradingFill.recorded_at)
    )
    return list((await session.execute(statement)).scalars())


async def cash_view(session: AsyncSession, account: TradingAccount, today: dt.date) -> dict[str, int]:
    """Cash by settlement day (D+0, D+1, D+2) from the fills that have not settled by ``today``."""
    statement = select(TradingFill.net_cash, TradingFill.settles_on).where(
        TradingFill.account_id == account.id, TradingFill.settles_on > today
    )
    pending = (await session.execute(statement)).all()
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


# -- rendering -------------------------------------------------------------------------------------------------


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
