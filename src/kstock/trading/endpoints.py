"""HTTP routes of paper trading: accounts, two-step orders, the control API and strategies.

Every route under ``/trading/accounts/{account_id}`` sees only the caller's own account: another user's answers
404 ``ACCOUNT_NOT_FOUND`` for every method, exactly like a missing one. API keys need the ``trade`` scope for
every request but a GET (the route-scope table, :mod:`kstock.identity.scopes`, checked for every ``/v1``
request); the gateway's trade rate limit covers ``/v1/trading``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request, status
from starlette.responses import Response

from kstock.db.session import SessionDep, after_commit
from kstock.errors import ValidationError, error_responses
from kstock.gateway.audit import audit_event, read_only
from kstock.gateway.ratelimit import endpoint_class
from kstock.identity.dependencies import CurrentPrincipal
from kstock.identity.tiers import quota_limit
from kstock.kit.calendar import KST
from kstock.kit.clock import utcnow
from kstock.kit.dates import IsoDate, require_order
from kstock.kit.pagination import PageDep, page_meta
from kstock.kit.responses import JSONResponse
from kstock.kit.validators import StrictUUID
from kstock.market.dependencies import SnapshotDep
from kstock.market.service import get_stock, normalize_code
from kstock.market.snapshot import MarketSnapshot
from kstock.trading import accounts, control, events, render, repository
from kstock.trading.costs import Side
from kstock.trading.desk import Desk, OrderRequest, order_of
from kstock.trading.fills import cash_view
from kstock.trading.market import MarketView, snapshot_prices
from kstock.trading.orders import OrderType, TimeInForce
from kstock.trading.risk_state import AccountState
from kstock.trading.schemas import (
    AccountDetail,
    AccountIn,
    AccountList,
    AccountOut,
    AccountStatusOut,
    ConfigOut,
    EngineStatusOut,
    EventList,
    ExecuteIn,
    OrderIn,
    OrderList,
    OrderOut,
    OverrideIn,
    OverrideSetOut,
    PerformanceOut,
    PortfolioOut,
    PreviewOut,
    ResetIn,
    RiskConfigIn,
    RiskConfigOut,
    RiskOut,
    SignalList,
    StartOut,
    StopDoneOut,
    StopIn,
    StopPlanOut,
    StrategyCatalogOut,
    StrategyIn,
    StrategyList,
    StrategyOut,
    StrategyPatch,
    TradeList,
)
from kstock.trading.state import state_of
from kstock.trading.strategies import STRATEGIES

router = APIRouter(prefix="/trading", tags=["trading"])

AccountId = Annotated[StrictUUID, Path(description="the paper-trading account's id")]
OrderId = Annotated[StrictUUID, Path(description="the order's id")]
StrategyId = Annotated[StrictUUID, Path(description="the strategy's id")]
NOT_YOURS = "Another user's account answers 404 `ACCOUNT_NOT_FOUND`, exactly like a missing one."
ACCOUNT_ERRORS = error_responses(400, 404)


def _view(request: Request, snapshot: MarketSnapshot | None) -> MarketView:
    return MarketView(state_of(request).broker, snapshot)


def _publish_after_commit(request: Request, session: SessionDep) -> None:
    """Send the account events the request queued once its transaction commits (never on a rollback)."""
    broker = state_of(request).broker

    async def send() -> None:
        await events.publish(broker, events.take_pending(session))

    after_commit(session, send)


def _market_of(snapshot: MarketSnapshot | None) -> Callable[[str], str]:
    """A stock's market from the market service's lookup (404 ``STOCK_NOT_FOUND`` for an unknown one)."""

    def market_of(code: str) -> str:
        if snapshot is None:  # a desk without the market's lookup (a cancel) never asks
            raise RuntimeError("no market snapshot")
        return str(get_stock(snapshot, code)["market"])

    return market_of


def _desk(request: Request, snapshot: MarketSnapshot | None) -> Desk:
    """The order desk of a request: quotes from the feed's retained messages, prices and markets from the snapshot,
    the deployment's costs and preview key."""
    settings = state_of(request).settings
    return Desk(
        accounts.cost_schedule(settings),
        snapshot_prices(snapshot),
        quote=_view(request, snapshot).quote,
        market_of=_market_of(snapshot),
        secret=settings.secret_key.get_secret_value(),
        preview_ttl_s=settings.trading_preview_ttl_s,
    )


async def _account_body(
    session: SessionDep, account: Any, snapshot: MarketSnapshot, view: MarketView
) -> dict[str, Any]:
    prices = snapshot_prices(snapshot)
    positions = await repository.positions_of(session, account.id)
    body = render.account_dict(account, positions, prices)
    equity = body["equity"]
    status_ = await view.feed_status()
    market_time = dt.datetime.fromisoformat(status_["market_time"].replace("Z", "+00:00")) if status_ else utcnow()
    body["cash_by_settlement"] = await cash_view(session, account, market_time.astimezone(KST).date())
    body["positions"] = [render.position_dict(p, prices, equity) for p in positions]
    return body


# -- engine-wide -----------------------------------------------------------------------------------------------


@router.get(
    "/status",
    response_model=EngineStatusOut,
    summary="Trading engine status",
    description="The feed's connection state, the age of its last tick, the market session phase and clock, the "
    "engine's open orders and fills, and this instance's uptime.",
    responses=error_responses(400),
)
@endpoint_class("data")
async def engine_status(request: Request, snapshot: SnapshotDep, principal: CurrentPrincipal) -> Response:
    view = _view(request, snapshot)
    feed = await view.feed_status()
    state = state_of(request)
    broker, started = state.broker, state.started_at
    body = {
        "feed": {
            "connected": feed is not None and bool(broker is not None and broker.connected),
            "source": feed.get("source") if feed else None,
            "market_time": feed.get("market_time") if feed else None,
            "session_phase": feed.get("phase") if feed else None,
            "last_tick_age_s": feed.get("last_step_age_s") if feed else None,
            "speed": feed.get("speed") if feed else None,
            "uptime_s": feed.get("uptime_s") if feed else None,
        },
        "engine": feed.get("trading_engine") if feed else None,
        "instance_uptime_s": None if started is None else round(time.time() - started, 1),
        "strategies_available": sorted(STRATEGIES),
    }
    return JSONResponse(body)


@router.get(
    "/strategies",
    response_model=StrategyCatalogOut,
    summary="The built-in strategies and their parameters",
    description="Each strategy's parameters as a JSON schema (defaults, bounds), for building forms.",
    responses=error_responses(400),
)
@endpoint_class("data")
async def strategy_catalog(principal: CurrentPrincipal) -> Response:
    return JSONResponse(
        {
            "strategies": [
                {"name": name, "parameters": spec.parameter_schema()} for name, spec in sorted(STRATEGIES.items())
            ]
        }
    )


# -- accounts --------------------------------------------------------------------------------------------------


@router.post(
    "/accounts",
    response_model=AccountOut,
    status_code=status.HTTP_201_CREATED,
    summary="Open a paper-trading account",
    description="Free tier: 2 accounts, basic 10, pro 50 (403 `TIER_LIMIT_EXCEEDED` beyond). Names are unique per "
    "user (409 `ACCOUNT_NAME_TAKEN`).",
    responses=error_responses(400, 403, 409, 413),
)
async def create_account(
    request: Request, session: SessionDep, snapshot: SnapshotDep, principal: CurrentPrincipal, body: AccountIn
) -> Response:
    account = await accounts.create_account(
        session, principal, state_of(request).settings, body.name, body.starting_cash
    )
    return JSONResponse(render.account_dict(account, [], snapshot_prices(snapshot)), status_code=201)


@router.get(
    "/accounts",
    response_model=AccountList,
    summary="My paper-trading accounts",
    description="Each valued at current prices; `meta.limit` is the tier's quota.",
    responses=error_responses(400),
)
@endpoint_class("data")
async def list_accounts(session: SessionDep, snapshot: SnapshotDep, principal: CurrentPrincipal) -> Response:
    prices = snapshot_prices(snapshot)
    rows = await accounts.list_accounts(session, principal)
    positions = await repository.open_positions(session, [account.id for account in rows])
    items = [render.account_dict(account, positions[account.id], prices) for account in rows]
    return JSONResponse(
        {"accounts": items, "meta": {"count": len(items), "limit": quota_limit(principal, "trading_accounts")}}
    )


@router.get(
    "/accounts/{account_id}",
    response_model=AccountDetail,
    summary="One account: cash by settlement day, positions, P&L",
    description=f"Cash is tracked on T+2 (`cash_by_settlement`); buying power is D+2 cash less open buys. {NOT_YOURS}",
    responses=ACCOUNT_ERRORS,
)
@endpoint_class("data")
async def get_account(
    request: Request, session: SessionDep, snapshot: SnapshotDep, principal: CurrentPrincipal, account_id: AccountId
) -> Response:
    account = await accounts.owned_account(session, principal, account_id)
    return JSONResponse(await _account_body(session, account, snapshot, _view(request, snapshot)))


@router.post(
    "/accounts/{account_id}/reset",
    response_model=AccountOut,
    summary="Reset an account",
    description="Deletes its orders, fills, positions, signals and equity curve and starts again with its (or a "
    f"new) starting cash. Its strategies stay. {NOT_YOURS}",
    responses=error_responses(400, 404, 413),
)
async def reset_account(
    request: Request,
    session: SessionDep,
    snapshot: SnapshotDep,
    principal: CurrentPrincipal,
    account_id: AccountId,
    body: ResetIn | None = None,
) -> Response:
    account = await accounts.reset_account(session, principal, account_id, body.starting_cash if body else None)
    _publish_after_commit(request, session)
    await audit_event(request, "trading.account_reset", principal=principal, details={"account_id": str(account_id)})
    return JSONResponse(render.account_dict(account, [], snapshot_prices(snapshot)))


@router.delete(
    "/accounts/{account_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an account",
    description=f"With its whole history. {NOT_YOURS}",
    responses=ACCOUNT_ERRORS,
)
async def delete_account(
    request: Request, session: SessionDep, principal: CurrentPrincipal, account_id: AccountId
) -> Response:
    await accounts.delete_account(session, principal, account_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- orders ----------------------------------------------------------------------------------------------------


def _request(body: OrderIn) -> OrderRequest:
    if (body.order_type == "limit") != (body.limit_price is not None):
        why = (
            "a limit order needs a limit_price" if body.order_type == "limit" else "a market order takes no limit_price"
        )
        raise ValidationError("Invalid order", {"limit_price": [why]})
    return OrderRequest(
        normalize_code(body.stock_code),
        Side(body.side),
        OrderType(body.order_type),
        body.quantity,
        body.limit_price,
        TimeInForce(body.time_in_force),
    )


@router.post(
    "/accounts/{account_id}/orders/preview",
    response_model=PreviewOut,
    summary="Preview an order (step 1 of 2)",
    description="Validates and prices the order against the current order book (tick grid, daily price band, "
    "commission, sell-side tax), runs every risk check and shows cash and position after. When every check "
    "passes it returns a `preview_id`, valid for 30 s, to execute; nothing is placed. A limit order needs "
    f"`limit_price`; a market order takes none (400). {NOT_YOURS}",
    responses=error_responses(400, 404, 413),
)
@endpoint_class("data")
async def preview_order(
    request: Request,
    session: SessionDep,
    snapshot: SnapshotDep,
    principal: CurrentPrincipal,
    account_id: AccountId,
    body: OrderIn,
) -> Response:
    previewed = await _desk(request, snapshot).preview(session, principal, account_id, _request(body))
    return JSONResponse(render.preview_dict(previewed.account, previewed.assessment, previewed.signed))


@router.post(
    "/accounts/{account_id}/orders/execute",
    response_model=OrderOut,
    status_code=status.HTTP_201_CREATED,
    summary="Execute a previewed order (step 2 of 2)",
    description="Re-runs every check against the market now and places the order: what the book fills at once is "
    "filled (market orders walk the levels), a day limit order rests, IOC and market remainders are cancelled. "
    "Executing the same preview again, or sending the same `Idempotency-Key`, returns the first result (header "
    "`Idempotent-Replayed: true`) and never places a second order. 409 `PREVIEW_EXPIRED` after 30 s; 422 "
    f"`ORDER_REJECTED` with the failed checks. {NOT_YOURS}",
    responses=error_responses(400, 404, 409, 413, 422),
)
async def execute_order(
    request: Request,
    session: SessionDep,
    snapshot: SnapshotDep,
    principal: CurrentPrincipal,
    account_id: AccountId,
    body: ExecuteIn,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", max_length=200, description="any unique string per order")
    ] = None,
) -> Response:
    executed = await _desk(request, snapshot).execute(session, principal, account_id, body.preview_id, idempotency_key)
    if not executed.replayed:
        _publish_after_commit(request, session)
    headers = {"Idempotent-Replayed": "true"} if executed.replayed else {}
    return JSONResponse(render.order_dict(executed.order, executed.fills), status_code=201, headers=headers)


@router.get(
    "/accounts/{account_id}/orders",
    response_model=OrderList,
    summary="The account's orders, newest first",
    description=f"Filter by `status` (open, filled, cancelled, expired); paged. {NOT_YOURS}",
    responses=ACCOUNT_ERRORS,
)
@endpoint_class("data")
async def list_orders(
    session: SessionDep,
    principal: CurrentPrincipal,
    account_id: AccountId,
    page: PageDep,
    status_filter: Annotated[
        Literal["open", "filled", "cancelled", "expired"] | None, Query(alias="status", description="order status")
    ] = None,
) -> Response:
    await accounts.owned_account(session, principal, account_id)
    rows, total = await repository.orders_page(session, account_id, status_filter, page.offset, page.per_page)
    return JSONResponse({"orders": [render.order_dict(o) for o in rows], "meta": page_meta(page, total)})


@router.get(
    "/accounts/{account_id}/orders/{order_id:uuid36}",
    response_model=OrderOut,
    summary="One order with its fills",
    description=NOT_YOURS,
    responses=ACCOUNT_ERRORS,
)
@endpoint_class("data")
async def get_order(
    session: SessionDep, principal: CurrentPrincipal, account_id: AccountId, order_id: OrderId
) -> Response:
    await accounts.owned_account(session, principal, account_id)
    order = await order_of(session, account_id, order_id)
    return JSONResponse(render.order_dict(order, await repository.fills_of(session, order.id)))


@router.delete(
    "/accounts/{account_id}/orders/{order_id:uuid36}",
    response_model=OrderOut,
    summary="Cancel an open order",
    description="Releases the cash it held back; 409 `ORDER_NOT_OPEN` once it is filled, cancelled or expired. "
    f"{NOT_YOURS}",
    responses=error_responses(400, 404, 409),
)
async def cancel_order(
    request: Request, session: SessionDep, principal: CurrentPrincipal, account_id: AccountId, order_id: OrderId
) -> Response:
    order = await _desk(request, None).cancel(session, principal, account_id, order_id)
    _publish_after_commit(request, session)
    return JSONResponse(render.order_dict(order))


# -- control ---------------------------------------------------------------------------------------------------


@router.get(
    "/accounts/{account_id}/status",
    response_model=AccountStatusOut,
    summary="Account engine state",
    description="ACTIVE, REDUCING (only position-reducing orders), HALTED (no new orders) or STOPPED; open "
    f"positions and orders, the risk zone and the strategies running. {NOT_YOURS}",
    responses=ACCOUNT_ERRORS,
)
@endpoint_class("data")
async def account_status(
    session: SessionDep, snapshot: SnapshotDep, principal: CurrentPrincipal, account_id: AccountId
) -> Response:
    account = await accounts.owned_account(session, principal, account_id)
    return JSONResponse(await control.status(session, account, snapshot_prices(snapshot), utcnow()))


@router.get(
    "/accounts/{account_id}/portfolio",
    response_model=PortfolioOut,
    summary="Positions, P&L and exposure by stock and sector",
    description=NOT_YOURS,
    responses=ACCOUNT_ERRORS,
)
@endpoint_class("data")
async def account_portfolio(
    session: SessionDep, snapshot: SnapshotDep, principal: CurrentPrincipal, account_id: AccountId
) -> Response:
    account = await accounts.owned_account(session, principal, account_id)
    sectors: dict[str, str | None] = {}
    for position in await repository.positions_of(session, account.id):
        detail = snapshot.get(position.stock_code)
        sectors[position.stock_code] = detail.get("sector") if detail else None
    return JSONResponse(await control.portfolio(session, account, snapshot_prices(snapshot), sectors))


@router.get(
    "/accounts/{account_id}/risk",
    response_model=RiskOut,
    summary="Risk: drawdown zone, risk level, loss limits used",
    description="Zones NORMAL, CAUTION, DANGER (reducing only) and HALT against `max_drawdown_pct`; the daily "
    f"loss against `daily_loss_limit_pct`; any override and its expiry. {NOT_YOURS}",
    responses=ACCOUNT_ERRORS,
)
@endpoint_class("data")
async def account_risk(
    session: SessionDep, snapshot: SnapshotDep, principal: CurrentPrincipal, account_id: AccountId
) -> Response:
    account = await accounts.owned_account(session, principal, account_id)
    prices = snapshot_prices(snapshot)
    equity = accounts.equity_of(account, await repository.positions_of(session, account.id), prices)
    return JSONResponse(control.risk(account, equity, utcnow()))


@router.get(
    "/accounts/{account_id}/trades",
    response_model=TradeList,
    summary="Executions, newest first",
    description=f"Filter by trade date (`from`, `to`, inclusive); always paged, never all at once. {NOT_YOURS}",
    responses=ACCOUNT_ERRORS,
)
@endpoint_class("data")
async def account_trades(
    session: SessionDep,
    principal: CurrentPrincipal,
    account_id: AccountId,
    page: PageDep,
    from_date: Annotated[IsoDate | None, Query(alias="from", description="first trade date")] = None,
    to_date: Annotated[IsoDate | None, Query(alias="to", description="last trade date")] = None,
) -> Response:
    if from_date is not None and to_date is not None:
        require_order(from_date, to_date)
    await accounts.owned_account(session, principal, account_id)
    fills, total = await control.trades(session, account_id, from_date, to_date, page.offset, page.per_page)
    return JSONResponse({"trades": [render.fill_dict(f) for f in fills], "meta": page_meta(page, total)})


@router.get(
    "/accounts/{account_id}/performance",
    response_model=PerformanceOut,
    summary="Performance: win rate, profit factor, return, drawdown, Sharpe, equity curve",
    description="Closed trades are the sells (each against its moving-average cost, after commission and tax); "
    f"the equity curve is the account's equity at each fill, each minute it held positions and each close. {NOT_YOURS}",
    responses=ACCOUNT_ERRORS,
)
@endpoint_class("data")
async def account_performance(
    session: SessionDep,
    snapshot: SnapshotDep,
    principal: CurrentPrincipal,
    account_id: AccountId,
    days: Annotated[int, Query(ge=1, le=3650, description="calendar days back")] = 30,
) -> Response:
    account = await accounts.owned_account(session, principal, account_id)
    return JSONResponse(await control.performance(session, account, snapshot_prices(snapshot), days, utcnow()))


@router.get(
    "/accounts/{account_id}/signals",
    response_model=SignalList,
    summary="Recent strategy signals and what became of each",
    description=f"`outcome`: executed (order placed), rejected (with the failed checks), proposed. {NOT_YOURS}",
    responses=ACCOUNT_ERRORS,
)
@endpoint_class("data")
async def account_signals(
    session: SessionDep, principal: CurrentPrincipal, account_id: AccountId, page: PageDep
) -> Response:
    await accounts.owned_account(session, principal, account_id)
    rows, total = await control.signals(session, account_id, page.offset, page.per_page)
    return JSONResponse({"signals": rows, "meta": page_meta(page, total)})


@router.get(
    "/accounts/{account_id}/events",
    response_model=EventList,
    summary="State changes, overrides, start/stop and config changes, newest first",
    description=NOT_YOURS,
    responses=ACCOUNT_ERRORS,
)
@endpoint_class("data")
async def account_events(
    session: SessionDep, principal: CurrentPrincipal, account_id: AccountId, page: PageDep
) -> Response:
    account = await accounts.owned_account(session, principal, account_id)
    rows, total = await control.events(session, account, page.offset, page.per_page)
    return JSONResponse({"events": rows, "meta": page_meta(page, total)})


@router.post(
    "/accounts/{account_id}/start",
    response_model=StartOut,
    summary="Start (resume) trading",
    description="Leaves STOPPED (or a latched restriction) for ACTIVE; the next evaluation restricts again what "
    f"the figures call for. {NOT_YOURS}",
    responses=ACCOUNT_ERRORS,
)
async def start_account(
    request: Request, session: SessionDep, principal: CurrentPrincipal, account_id: AccountId
) -> Response:
    account = await accounts.lock_account(session, account_id, principal.user_id)
    result = control.start(session, account)
    _publish_after_commit(request, session)
    await audit_event(request, "trading.start", principal=principal, details=result)
    return JSONResponse(result)


@router.post(
    "/accounts/{account_id}/stop",
    response_model=StopPlanOut | StopDoneOut,
    summary="Stop: cancel all open orders and close all positions",
    description='Without `{"confirm": true}` returns what it would do and changes nothing; with it, cancels every '
    "open order, sells every position at the market and leaves the account STOPPED. "
    f"{NOT_YOURS}",
    responses=error_responses(400, 404, 413),
)
async def stop_account(
    request: Request,
    session: SessionDep,
    snapshot: SnapshotDep,
    principal: CurrentPrincipal,
    account_id: AccountId,
    body: StopIn | None = None,
) -> Response:
    stopped = await _desk(request, snapshot).stop(session, principal, account_id, bool(body and body.confirm))
    if not stopped.confirmed:
        return JSONResponse({**stopped.body, "confirmed": False, "confirm_with": {"confirm": True}})
    _publish_after_commit(request, session)
    await audit_event(request, "trading.stop", principal=principal, details=stopped.body)
    return JSONResponse({**stopped.body, "confirmed": True})


@router.post(
    "/accounts/{account_id}/risk/override",
    response_model=OverrideSetOut,
    summary="Temporarily relax the automatic risk state",
    description="For the account's owner or an admin: while it lasts, automatic restrictions are capped at "
    "`level`; it never lifts STOPPED and lapses at its expiry (then the figures apply again). Audited. "
    f"{NOT_YOURS}",
    responses=error_responses(400, 404, 413),
)
async def risk_override(
    request: Request, session: SessionDep, principal: CurrentPrincipal, account_id: AccountId, body: OverrideIn
) -> Response:
    account = await control.lock_for_control(session, principal, account_id, admin_allowed=True)
    override = control.set_override(
        session, account, principal, AccountState(body.level), body.reason, body.expires_in_s, utcnow()
    )
    _publish_after_commit(request, session)
    await audit_event(
        request, "trading.risk_override", principal=principal, details={"account_id": str(account_id), **override}
    )
    return JSONResponse({"account_id": str(account_id), "override": override})


@router.get(
    "/accounts/{account_id}/config",
    response_model=ConfigOut,
    summary="The account's risk limits and the deployment's cost schedule",
    description=NOT_YOURS,
    responses=ACCOUNT_ERRORS,
)
@endpoint_class("data")
async def get_config(
    request: Request, session: SessionDep, principal: CurrentPrincipal, account_id: AccountId
) -> Response:
    account = await accounts.owned_account(session, principal, account_id)
    settings = state_of(request).settings
    return JSONResponse(control.config(account, accounts.cost_schedule(settings), settings.trading_preview_ttl_s))


@router.put(
    "/accounts/{account_id}/config/risk",
    response_model=RiskConfigOut,
    summary="Replace the account's risk limits",
    description="Amounts and counts positive integers, percentages in (0, 100], `caution_at_pct` at most "
    f"`danger_at_pct`; unknown keys rejected (400); keys left out take the defaults. Audited. {NOT_YOURS}",
    responses=error_responses(400, 404, 413),
)
async def put_risk_config(
    request: Request, session: SessionDep, principal: CurrentPrincipal, account_id: AccountId, body: RiskConfigIn
) -> Response:
    account = await accounts.lock_account(session, account_id, principal.user_id)
    values = body.model_dump(exclude_none=True)
    limits = control.update_risk_config(session, account, values)
    _publish_after_commit(request, session)
    await audit_event(
        request, "trading.config_risk", principal=principal, details={"account_id": str(account_id), **values}
    )
    return JSONResponse({"account_id": str(account_id), "risk": limits.to_dict()})


# -- strategies ------------------------------------------------------------------------------------------------


@router.post(
    "/accounts/{account_id}/strategies",
    response_model=StrategyOut,
    status_code=status.HTTP_201_CREATED,
    summary="Enable a strategy on the account",
    description="`ma_cross` or `rsi_reversion` with its parameters (see GET /v1/trading/strategies) over up to 50 "
    "stocks; it runs on the feed's minute bars and routes its signals through the preview and risk path "
    f"(`auto_execute` places them). Bad parameters: 400. {NOT_YOURS}",
    responses=error_responses(400, 404, 413),
)
async def add_strategy(
    request: Request,
    session: SessionDep,
    snapshot: SnapshotDep,
    principal: CurrentPrincipal,
    account_id: AccountId,
    body: StrategyIn,
) -> Response:
    codes = [normalize_code(code) for code in body.stock_codes]
    for code in codes:
        get_stock(snapshot, code)
    row = await control.add_strategy(
        session, principal, account_id, body.name, body.params, codes, body.quantity, body.auto_execute
    )
    _publish_after_commit(request, session)
    return JSONResponse(render.strategy_dict(row), status_code=201)


@router.get(
    "/accounts/{account_id}/strategies",
    response_model=StrategyList,
    summary="The account's strategies",
    description=f"A disabled strategy shows the error that disabled it. {NOT_YOURS}",
    responses=ACCOUNT_ERRORS,
)
@endpoint_class("data")
async def list_strategies(session: SessionDep, principal: CurrentPrincipal, account_id: AccountId) -> Response:
    await accounts.owned_account(session, principal, account_id)
    rows = await repository.strategies_of(session, account_id)
    return JSONResponse({"strategies": [render.strategy_dict(r) for r in rows]})


@router.patch(
    "/accounts/{account_id}/strategies/{strategy_id}",
    response_model=StrategyOut,
    summary="Enable, disable or change auto-execution of a strategy",
    description=NOT_YOURS,
    responses=error_responses(400, 404, 413),
)
async def patch_strategy(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    account_id: AccountId,
    strategy_id: StrategyId,
    body: StrategyPatch,
) -> Response:
    row = await control.update_strategy(session, principal, account_id, strategy_id, body.enabled, body.auto_execute)
    _publish_after_commit(request, session)
    return JSONResponse(render.strategy_dict(row))


@router.delete(
    "/accounts/{account_id}/strategies/{strategy_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a strategy (its signals go with it)",
    description=NOT_YOURS,
    responses=ACCOUNT_ERRORS,
)
async def delete_strategy(
    session: SessionDep, principal: CurrentPrincipal, account_id: AccountId, strategy_id: StrategyId
) -> Response:
    await control.delete_strategy(session, principal, account_id, strategy_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# A preview changes nothing (its id is a signed token): not recorded in the audit log as a state change.
read_only(preview_order)
