"""The order desk on its own, without HTTP: the path every order takes, whoever sends it."""

from __future__ import annotations

import uuid

import pytest
import pytest_asyncio

from kstock.identity.principal import Principal, Role, Scope, Tier
from kstock.market.service import StockNotFoundError, get_stock
from kstock.trading import repository
from kstock.trading.accounts import cost_schedule
from kstock.trading.costs import Side
from kstock.trading.desk import Desk, OrderRequest
from kstock.trading.events import take_pending
from kstock.trading.market import MarketView, snapshot_prices
from kstock.trading.orders import OrderType, TimeInForce
from tests.support.accounts import Account, make_account
from tests.support.app import Live, app_state, broker_of
from tests.trading.helpers import new_account, place, set_market

pytestmark = pytest.mark.asyncio(loop_scope="session")

KOSDAQ_CODE = "0126Z0"  # 테스트바이오, KOSDAQ in the hand-made market


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def trader(live: Live) -> Account:
    return await make_account(live, "desk@example.com", tier=Tier.PRO)


def _principal(user: Account) -> Principal:
    return Principal(user.id, user.email, Tier.PRO, Role.USER, frozenset({Scope.READ, Scope.WRITE, Scope.TRADE}))


def _desk(live: Live, *, unlisted: frozenset[str] = frozenset()) -> Desk:
    """The desk as the API builds it; ``unlisted`` stocks are gone from the market's lookup."""
    snapshot = app_state(live.app).market_snapshot

    def market_of(code: str) -> str:
        if code in unlisted:
            raise StockNotFoundError(f"Stock {code} not found", {"stock_code": code})
        return str(get_stock(snapshot, code)["market"])

    return Desk(
        cost_schedule(live.settings),
        snapshot_prices(snapshot),
        quote=MarketView(broker_of(live.app), snapshot).quote,
        market_of=market_of,
        secret=live.settings.secret_key.get_secret_value(),
        preview_ttl_s=live.settings.trading_preview_ttl_s,
    )


async def test_preview_then_execute_through_the_desk(live: Live, trader: Account) -> None:
    await set_market(live)
    account_id = uuid.UUID(await new_account(live, trader))
    desk, principal = _desk(live), _principal(trader)
    request = OrderRequest("005930", Side.BUY, OrderType.MARKET, 10, None, TimeInForce.DAY)
    async with app_state(live.app).sessionmaker() as session:
        previewed = await desk.preview(session, principal, account_id, request)
        assert previewed.assessment.passed
        assert previewed.signed is not None
        assert not session.new  # a preview writes nothing
    async with app_state(live.app).sessionmaker() as session:
        executed = await desk.execute(session, principal, account_id, previewed.signed[0], "desk-1")
        await session.commit()
        assert not executed.replayed
        assert [(f.price, f.quantity) for f in executed.fills] == [(71_000, 10)]
        assert {event["event"] for _, event in take_pending(session)} >= {"order_accepted", "order_filled"}
    async with app_state(live.app).sessionmaker() as session:
        again = await desk.execute(session, principal, account_id, previewed.signed[0], "desk-1")
        assert again.replayed
        assert again.order.id == executed.order.id


async def test_an_unknown_stock_is_the_market_services_404(live: Live, trader: Account) -> None:
    account_id = uuid.UUID(await new_account(live, trader))
    request = OrderRequest("00000A", Side.BUY, OrderType.MARKET, 1, None, TimeInForce.DAY)
    async with app_state(live.app).sessionmaker() as session:
        with pytest.raises(StockNotFoundError):
            await _desk(live).preview(session, _principal(trader), account_id, request)


async def test_a_held_stock_gone_from_the_market_is_closed_on_the_market_it_was_traded_on(
    live: Live, trader: Account
) -> None:
    await set_market(live, KOSDAQ_CODE, asks=((10_000, 100),), bids=((9_990, 100),), last=10_000, base=10_000)
    account_id = await new_account(live, trader)
    await place(live, trader, account_id, stock_code=KOSDAQ_CODE, quantity=10)
    desk = _desk(live, unlisted=frozenset({KOSDAQ_CODE}))  # no longer in the market's lookup
    async with app_state(live.app).sessionmaker() as session:
        stopped = await desk.stop(session, _principal(trader), uuid.UUID(account_id), confirm=True)
        await session.commit()
    [closing] = stopped.body["closing_orders"]
    async with app_state(live.app).sessionmaker() as session:
        order = await repository.order(session, uuid.UUID(closing))
        assert order is not None
        assert (order.market, order.side, order.filled_quantity) == ("KOSDAQ", "sell", 10)  # not an assumed KOSPI
