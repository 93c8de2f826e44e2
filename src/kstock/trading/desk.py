"""The order desk: the one path of an order, whoever sends it. Routes, the control API's stop, the strategy
runner and the matching engine all call it; it knows nothing of HTTP.

- :meth:`Desk.preview` prices a request against the market and runs every risk check; a passing one gets a signed
  preview id (nothing is written).
- :meth:`Desk.execute` places a previewed order once: under the account's lock it replays an ``Idempotency-Key``
  or an executed preview, re-runs every check against the market now and places the order (what the book fills
  now is filled in the caller's transaction).
- :meth:`Desk.cancel` cancels an open order; :meth:`Desk.stop` cancels every open order and sells every position.
- :meth:`Desk.route_signal` sends a strategy's signal through the same checks (placed, rejected or proposed).
- :meth:`Desk.fill_resting` writes the engine's fills of one account; :meth:`Desk.expire_day` expires its day
  orders at the close.

The caller owns the transaction (the API's request session, the engine's own) and publishes the account events
queued on it once it has committed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kstock.errors import ConflictError, NotFoundError, UnprocessableError
from kstock.identity.principal import Principal
from kstock.kit.clock import as_utc, iso_utc, utcnow
from kstock.market.service import StockNotFoundError
from kstock.trading import repository
from kstock.trading.accounts import (
    Prices,
    RiskView,
    after_activity,
    equity_of,
    limits_of,
    lock_account,
    mark,
    owned_account,
    record_event,
    risk_view,
)
from kstock.trading.costs import CostSchedule, Side
from kstock.trading.events import emit
from kstock.trading.fills import apply_fill, close_order
from kstock.trading.market import Quote
from kstock.trading.models import (
    CANCELLED,
    EXPIRED,
    OPEN,
    TradingAccount,
    TradingFill,
    TradingOrder,
    TradingSignal,
    TradingStrategy,
)
from kstock.trading.orders import InvalidOrderError, Order, OrderType, TimeInForce
from kstock.trading.previews import Preview
from kstock.trading.previews import sign as sign_preview
from kstock.trading.previews import verify as verify_preview
from kstock.trading.pricing import PricedOrder, price_order
from kstock.trading.render import order_dict
from kstock.trading.risk import AccountSnapshot, CheckResult, all_passed, check_order
from kstock.trading.risk_state import AccountState
from kstock.trading.strategies import Signal

QuoteSource = Callable[[str, str], Awaitable[Quote]]
"""A stock's quote on its market: the feed's retained messages in the API, the simulator in the feed process."""

MarketOf = Callable[[str], str]
"""A listed stock's market; raises :class:`kstock.market.service.StockNotFoundError` for an unknown one."""


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


@dataclass(frozen=True, slots=True)
class Previewed:
    account: TradingAccount
    assessment: Assessment
    signed: tuple[str, Preview] | None  # the preview id and what it carries; None when a check failed


@dataclass(frozen=True, slots=True)
class Executed:
    order: TradingOrder
    fills: list[TradingFill]
    replayed: bool  # the order of an earlier execute (same preview or Idempotency-Key): nothing new was placed


@dataclass(frozen=True, slots=True)
class Stopped:
    confirmed: bool
    body: dict[str, Any]  # the plan (not confirmed) or what was done


@dataclass(frozen=True, slots=True)
class Routed:
    outcome: str  # executed | rejected | proposed
    order_id: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class RestingFill:
    """A fill the engine matched for a resting order: its price, quantity, session phase and market time."""

    order_id: uuid.UUID
    price: int
    quantity: int
    phase: str
    at: dt.datetime


def reject(assessment: Assessment) -> OrderRejectedError:
    failed = [c.to_dict() for c in assessment.checks if not c.passed]
    message = "; ".join(c.detail for c in assessment.checks if not c.passed) or "the order cannot be priced"
    return OrderRejectedError(f"Order rejected: {message}", {"failed_checks": failed})


async def _unpriced(code: str, market: str) -> Quote:
    raise RuntimeError(f"no quote source for {code} on {market}")


def _unlisted(code: str) -> str:
    raise StockNotFoundError(f"Stock {code} not found", {"stock_code": code})


@dataclass(frozen=True, slots=True)
class Desk:
    """The order path with the market it prices against: ``quote`` and ``market_of`` (the API's broker view and
    snapshot, or the simulator), ``prices`` to value positions at, the deployment's ``schedule``, and the key and
    lifetime of preview ids (the API's)."""

    schedule: CostSchedule
    prices: Prices
    quote: QuoteSource = _unpriced
    market_of: MarketOf = _unlisted
    secret: str = field(default="", repr=False)
    preview_ttl_s: int = 30

    # -- pricing and checks ------------------------------------------------------------------------------------

    async def assess(
        self, session: AsyncSession, account: TradingAccount, request: OrderRequest, quote: Quote, now: dt.datetime
    ) -> Assessment:
        """Price ``request`` against ``quote`` and run every risk check for ``account`` (nothing is written)."""
        prices = self.prices
        positions = await repository.positions_of(session, account.id)
        equity = equity_of(account, positions, prices)
        risk = risk_view(account, equity, now)
        held = next((p for p in positions if p.stock_code == request.stock_code), None)
        held_quantity = held.quantity if held else 0
        position_value = held_quantity * mark(held, prices) if held else 0
        buying_power = max(0, account.cash - account.reserved_cash)
        open_sell, recent = await repository.order_activity(session, account.id, request.stock_code, now)
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
                schedule=self.schedule,
            )
        except InvalidOrderError as exc:
            priced = None
            extra = [
                CheckResult("time_in_force", False, p.message) for p in exc.problems if p.code == "IOC_NOT_ACCEPTED"
            ]
        checks = check_order(
            order, priced, snapshot, limits_of(account), base_price=quote.base_price, market=quote.market, now=now
        )
        if not quote.fed and (order.order_type is OrderType.MARKET or order.time_in_force is TimeInForce.IOC):
            extra.append(
                CheckResult(
                    "market_data",
                    False,
                    "no live order book for this stock (is the feed running?): market and IOC orders need one; a "
                    "day limit order can wait",
                )
            )
        return Assessment(
            request, quote, priced, checks + extra, risk, account.cash, buying_power, held_quantity, position_value
        )

    async def place(
        self,
        session: AsyncSession,
        account: TradingAccount,
        assessment: Assessment,
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

        A market order, or an IOC order, cancels what the visible book cannot fill; a day limit order rests for
        the engine; during an auction, a halt or a closed market the whole order waits. ``enforce_checks`` False
        (a stop's closing sells) waives every check but the sellable quantity; ``rest_remainder`` keeps what a
        market order's visible book cannot fill open, to be filled from the tape at the prices it prints.
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
            await apply_fill(
                session, account, order, price, quantity, quote.phase.value, quote.market_time, self.schedule
            )
        if priced.cancelled_quantity and order.status == OPEN and not rest_remainder:
            why = (
                "IOC: the rest could not fill at once"
                if order.time_in_force == TimeInForce.IOC.value
                else "market order: the visible book could not fill the rest"
            )
            close_order(session, account, order, CANCELLED, why)
        return order

    # -- the API's two steps -----------------------------------------------------------------------------------

    async def preview(
        self, session: AsyncSession, principal: Principal, account_id: uuid.UUID, request: OrderRequest
    ) -> Previewed:
        """Price and check ``request`` for the caller's account; a signed preview id when every check passes (valid
        for ``preview_ttl_s``). Nothing is written (:mod:`kstock.trading.previews`)."""
        market = self.market_of(request.stock_code)
        account = await owned_account(session, principal, account_id)
        quote = await self.quote(request.stock_code, market)
        now = utcnow()
        assessment = await self.assess(session, account, request, quote, now)
        signed = None
        if assessment.passed:
            expires = now + dt.timedelta(seconds=self.preview_ttl_s)
            signed = sign_preview(self.secret, account.id, request.to_dict(), expires)
        return Previewed(account, assessment, signed)

    async def execute(
        self,
        session: AsyncSession,
        principal: Principal,
        account_id: uuid.UUID,
        token: str,
        idempotency_key: str | None,
    ) -> Executed:
        """Place a previewed order once, re-checked against the market now (OrderRejectedError when a check fails
        now); the same preview or ``idempotency_key`` again returns the first order."""
        account = await lock_account(session, account_id, principal.user_id)
        if idempotency_key:
            existing = await repository.order_by_idempotency_key(session, account.id, idempotency_key)
            if existing is not None:
                return Executed(existing, await repository.fills_of(session, existing.id), replayed=True)
        now = utcnow()
        preview = verify_preview(self.secret, token)
        if preview is None or preview.account_id != account.id:
            shown = token if len(token) <= 80 else token[:77] + "..."
            raise PreviewNotFoundError("Preview not found: preview the order again", {"preview_id": shown})
        executed = await repository.order_by_preview(session, account.id, preview.id)
        if executed is not None:
            return Executed(executed, await repository.fills_of(session, executed.id), replayed=True)
        if preview.expires_at <= now:
            raise PreviewExpiredError(
                "The preview has expired: preview the order again", {"expired_at": iso_utc(preview.expires_at)}
            )
        request = OrderRequest.from_dict(preview.request)
        quote = await self.quote(request.stock_code, self.market_of(request.stock_code))
        assessment = await self.assess(session, account, request, quote, now)
        order = await self.place(
            session, account, assessment, now, preview_id=preview.id, idempotency_key=idempotency_key
        )
        await self._after(session, account)
        return Executed(order, await repository.fills_of(session, order.id), replayed=False)

    async def _after(self, session: AsyncSession, account: TradingAccount) -> None:
        await after_activity(session, account, self.prices)

    # -- cancel and stop ---------------------------------------------------------------------------------------

    async def cancel(
        self, session: AsyncSession, principal: Principal, account_id: uuid.UUID, order_id: uuid.UUID
    ) -> TradingOrder:
        """Cancel an open order of the caller's account and release what it held back."""
        account = await lock_account(session, account_id, principal.user_id)
        order = await order_of(session, account_id, order_id)
        await session.refresh(order)
        if order.status != OPEN:
            raise OrderNotOpenError(
                f"Order {order_id} is {order.status}: only open orders can be cancelled",
                {"order_id": str(order_id), "status": order.status},
            )
        close_order(session, account, order, CANCELLED, "cancelled by the account owner")
        return order

    async def _quotes(self, session: AsyncSession, account_id: uuid.UUID, codes: list[str]) -> dict[str, Quote]:
        """The quotes of held stocks, each on its listed market; a stock no longer listed on the market it was
        traded on (every position comes from the account's own orders)."""
        traded = await repository.markets_of_orders(session, account_id, codes)
        quotes = {}
        for code in codes:
            try:
                market = self.market_of(code)
            except StockNotFoundError:
                market = traded[code]
            quotes[code] = await self.quote(code, market)
        return quotes

    async def stop(self, session: AsyncSession, principal: Principal, account_id: uuid.UUID, confirm: bool) -> Stopped:
        """Without ``confirm`` what a stop would do (nothing changes); with it, cancel every open order, sell every
        position at the market and leave the account STOPPED.

        A closing sell takes the visible bids now; what they cannot fill stays open as a market order that the
        engine fills from the tape at the prices it prints (during an auction, a halt or a closed market all of it
        waits). Checks other than sellable quantity are waived for the closing sells: a stop must be able to
        reduce risk whatever the state and the order rate."""
        account = (
            await lock_account(session, account_id, principal.user_id)
            if confirm
            else await owned_account(session, principal, account_id)
        )
        positions = await repository.positions_of(session, account.id)
        quotes = await self._quotes(session, account.id, [p.stock_code for p in positions])
        if not confirm:
            return Stopped(False, await self._stop_plan(session, account, quotes))
        now = utcnow()
        cancelled = []
        for order in await repository.open_orders(session, account.id):
            close_order(session, account, order, CANCELLED, "cancelled by stop")
            cancelled.append(str(order.id))
        placed = []
        for position in await repository.positions_of(session, account.id):
            request = OrderRequest(
                position.stock_code, Side.SELL, OrderType.MARKET, position.quantity, None, TimeInForce.DAY
            )
            assessment = await self.assess(session, account, request, quotes[position.stock_code], now)
            order = await self.place(
                session, account, assessment, now, source="stop", enforce_checks=False, rest_remainder=True
            )
            placed.append(str(order.id))
        previous = account.state
        account.state, account.state_reason = AccountState.STOPPED.value, "stopped by its owner"
        record_event(
            session, account, "stopped", {"from": previous, "cancelled_orders": cancelled, "closing_orders": placed}
        )
        await self._after(session, account)
        return Stopped(
            True,
            {
                "account_id": str(account.id),
                "state": AccountState.STOPPED.value,
                "cancelled_orders": cancelled,
                "closing_orders": placed,
            },
        )

    async def _stop_plan(
        self, session: AsyncSession, account: TradingAccount, quotes: dict[str, Quote]
    ) -> dict[str, Any]:
        orders = await repository.open_orders(session, account.id)
        positions = await repository.positions_of(session, account.id)
        sells = []
        for position in positions:
            quote = quotes[position.stock_code]
            price = mark(position, self.prices)
            sells.append(
                {
                    "stock_code": position.stock_code,
                    "quantity": position.quantity,
                    "order_type": "market",
                    "phase": quote.phase.value,
                    "estimated_price": price,
                    "estimated_amount": price * position.quantity,
                }
            )
        return {
            "account_id": str(account.id),
            "cancel_orders": [
                {
                    "id": str(o.id),
                    "stock_code": o.stock_code,
                    "side": o.side,
                    "remaining": o.quantity - o.filled_quantity,
                }
                for o in orders
            ],
            "close_positions": sells,
            "state_after": AccountState.STOPPED.value,
        }

    # -- strategies --------------------------------------------------------------------------------------------

    async def route_signal(
        self, session: AsyncSession, strategy: TradingStrategy, signal: Signal, quote: Quote
    ) -> Routed:
        """One signal through the order path under the account's lock: a buy of the strategy's quantity or a sell
        of what is held, at the market; placed (``auto_execute``), rejected with the failed checks, or proposed;
        recorded in ``trading_signals`` and announced."""
        account = await lock_account(session, strategy.account_id)
        held = await repository.position_for(session, account.id, signal.code)
        quantity = strategy.quantity if signal.side == "buy" else (held.quantity if held else 0)
        outcome = "proposed"
        detail: dict[str, Any] = {}
        order_id: uuid.UUID | None = None
        if quantity <= 0:
            outcome, detail = "rejected", {"why": "nothing held to sell"}
        else:
            request = OrderRequest(signal.code, Side(signal.side), OrderType.MARKET, quantity, None, TimeInForce.DAY)
            now = utcnow()
            assessment = await self.assess(session, account, request, quote, now)
            failed = [c.to_dict() for c in assessment.checks if not c.passed]
            detail = {"order": request.to_dict(), "failed_checks": failed}
            if not assessment.passed:
                outcome = "rejected"
            elif strategy.auto_execute:
                order = await self.place(session, account, assessment, now, source="strategy", strategy_id=strategy.id)
                outcome, order_id = "executed", order.id
        session.add(
            TradingSignal(
                account_id=account.id,
                strategy_id=strategy.id,
                stock_code=signal.code,
                side=signal.side,
                price=signal.price_hint,
                reason=signal.reason[:500],
                outcome=outcome,
                detail=detail,
                order_id=order_id,
                at=as_utc(quote.market_time),
            )
        )
        emit(
            session,
            account.id,
            "signal",
            {
                "strategy_id": str(strategy.id),
                "stock_code": signal.code,
                "side": signal.side,
                "reason": signal.reason,
                "outcome": outcome,
                "order_id": str(order_id) if order_id else None,
            },
        )
        return Routed(outcome, order_id)

    # -- the engine --------------------------------------------------------------------------------------------

    async def fill_resting(
        self, session: AsyncSession, account_id: uuid.UUID, fills: Sequence[RestingFill]
    ) -> tuple[int, list[int | None]]:
        """Write the engine's fills of one account in the caller's transaction, under the account's lock: each
        order is re-read first (a cancel that got there first wins), a fill never exceeds what is left, and the
        account is revalued once after them. Returns the fills written and what each fill's order has left
        afterwards (0 for an order no longer open; None where the fill was dropped with nothing left to fill)."""
        account = await lock_account(session, account_id)
        # Under the lock, read the step's orders and the account's positions at once: a cancel that got there first
        # is seen, and the fills below need no further round trip until the commit.
        orders = await repository.fresh_orders(session, list({f.order_id for f in fills}))
        await repository.load_positions(session, account_id)
        left: list[int | None] = []
        written = 0
        for fill in fills:
            order = orders.get(fill.order_id)
            if order is None or order.status != OPEN:
                left.append(0)
                continue
            quantity = min(fill.quantity, order.quantity - order.filled_quantity)
            if quantity <= 0:
                left.append(None)
                continue
            await apply_fill(session, account, order, fill.price, quantity, fill.phase, fill.at, self.schedule)
            left.append(order.quantity - order.filled_quantity)
            written += 1
        if written:
            await self._after(session, account)
        return written, left

    async def expire_day(self, session: AsyncSession, account: TradingAccount, day: dt.date) -> int:
        """Expire the account's open orders of ``day`` and earlier (the account's lock held), then revalue it."""
        expired = 0
        for order in await repository.orders_until(session, account.id, day):
            close_order(session, account, order, EXPIRED, f"day order expired at the close of {day}")
            expired += 1
        await self._after(session, account)
        return expired


async def order_of(session: AsyncSession, account_id: uuid.UUID, order_id: uuid.UUID) -> TradingOrder:
    """The account's order; 404 ``ORDER_NOT_FOUND`` for a missing one or another account's."""
    order = await repository.order(session, order_id)
    if order is None or order.account_id != account_id:
        raise OrderNotFoundError(f"Order {order_id} not found", {"order_id": str(order_id)})
    return order
