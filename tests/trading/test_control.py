"""The control API: status, risk states and their automatic changes, override expiry, stop/start, config,
trades, portfolio exposure, performance against a hand-computed equity curve, and strategy signals."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select

from kstock.identity.principal import Role, Tier
from kstock.sources import MinuteBar
from kstock.trading.models import TradingAccount, TradingEvent, TradingStrategy
from tests.support.accounts import Account, api_key, make_account
from tests.support.app import Live, app_state, assert_error
from tests.trading.helpers import (
    CODE,
    MARKET_TIME,
    account,
    engine_for,
    failed,
    new_account,
    place,
    preview,
    prints,
    set_market,
    set_price,
    step,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def trader(live: Live) -> Account:
    return await make_account(live, "control@example.com", tier=Tier.PRO)


async def _get(live: Live, user: Account, url: str) -> dict[str, Any]:
    response = await live.http.get(url, headers=user.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_losses_move_the_account_to_reducing_then_halted(live: Live, trader: Account) -> None:
    await set_market(live, asks=((71_000, 1_000),), bids=((70_900, 1_000),), last=71_000)
    account_id = await new_account(live, trader, cash=10_000_000)
    base = f"/v1/trading/accounts/{account_id}"
    put = await live.http.put(
        f"{base}/config/risk", json={"daily_loss_limit_pct": 1.0, "max_drawdown_pct": 2.0}, headers=trader.headers
    )
    assert put.status_code == 200, put.text
    await place(live, trader, account_id, quantity=10)  # cash 10,000,000 - 710,106 = 9,289,894
    risk = await _get(live, trader, f"{base}/risk")
    assert risk["state"] == "active"
    assert risk["drawdown_zone"] == "normal"

    # 60,000: equity 9,889,894, a daily loss of 1.10106% (limit 1%): REDUCING; drawdown 1.10% is CAUTION (1% of 2%)
    engine = engine_for(live)
    engine.last_prices[CODE] = 60_000
    await set_price(live, CODE, 60_000)
    await engine.evaluate_risk(MARKET_TIME)
    risk = await _get(live, trader, f"{base}/risk")
    assert risk["state"] == "reducing"
    assert risk["risk_level"] == "reducing"
    assert risk["equity"] == 9_889_894
    assert risk["daily_loss_pct"] == 1.1
    assert risk["drawdown_zone"] == "caution"
    assert "account_state" in failed((await preview(live, trader, account_id, quantity=1))["checks"])
    assert "account_state" not in failed((await preview(live, trader, account_id, side="sell", quantity=1))["checks"])

    # 50,000: equity 9,789,894, drawdown 2.10106% from the 10,000,000 peak: HALT
    engine.last_prices[CODE] = 50_000
    await set_price(live, CODE, 50_000)
    await engine.evaluate_risk(MARKET_TIME)
    risk = await _get(live, trader, f"{base}/risk")
    assert risk["state"] == "halted"
    assert risk["drawdown_zone"] == "halt"
    assert risk["drawdown_pct"] == 2.1
    assert risk["peak_equity"] == 10_000_000
    assert "account_state" in failed((await preview(live, trader, account_id, side="sell", quantity=1))["checks"])
    kinds = [
        e["detail"].get("to")
        for e in (await _get(live, trader, f"{base}/events"))["events"]
        if e["kind"] == "risk_state_changed"
    ]
    assert kinds == ["halted", "reducing"]  # newest first

    # The restriction latches even if the price comes back, until the next trading day starts.
    engine.last_prices[CODE] = 71_000
    await set_price(live, CODE, 71_000)
    await engine.evaluate_risk(MARKET_TIME)
    assert (await _get(live, trader, f"{base}/risk"))["state"] == "halted"
    await engine.start_day(dt.date(2026, 11, 24), MARKET_TIME + dt.timedelta(days=1))
    assert (await _get(live, trader, f"{base}/risk"))["state"] == "active"


async def test_states_and_zones_have_one_casing(live: Live, trader: Account) -> None:
    account_id = await new_account(live, trader, cash=10_000_000)
    base = f"/v1/trading/accounts/{account_id}"
    status = await _get(live, trader, f"{base}/status")
    risk = await _get(live, trader, f"{base}/risk")
    recorded = (await account(live, trader, account_id))["state"]
    assert recorded == status["engine_state"] == risk["state"] == risk["latched_state"] == risk["risk_level"]
    assert recorded == "active"
    assert status["risk_zone"] == risk["drawdown_zone"] == "normal"


async def test_a_tiny_gain_is_a_zero_daily_loss_not_minus_zero(live: Live, trader: Account) -> None:
    await set_market(live, asks=((71_000, 1_000),), bids=((70_900, 1_000),), last=71_000)
    account_id = await new_account(live, trader, cash=10_000_000)
    await place(live, trader, account_id, quantity=1)  # 71,000 + commission 10
    await set_price(live, CODE, 71_100)  # equity 10,000,090: a daily "loss" of -0.0009%, rounded to 0
    response = await live.http.get(f"/v1/trading/accounts/{account_id}/risk", headers=trader.headers)
    assert response.status_code == 200
    assert response.json()["daily_loss_pct"] == 0.0
    assert b"-0.0" not in response.content


async def test_override_relaxes_until_it_expires_and_is_audited(live: Live, trader: Account) -> None:
    await set_market(live, asks=((71_000, 1_000),), last=71_000)
    account_id = await new_account(live, trader, cash=10_000_000)
    base = f"/v1/trading/accounts/{account_id}"
    await live.update(TradingAccount, TradingAccount.id == uuid.UUID(account_id), state="halted")
    assert "account_state" in failed((await preview(live, trader, account_id, quantity=1))["checks"])
    bad = await live.http.post(
        f"{base}/risk/override", json={"reason": "x", "expires_in_s": 10}, headers=trader.headers
    )
    assert_error(bad, 400, "VALIDATION_ERROR")
    response = await live.http.post(
        f"{base}/risk/override", json={"reason": "reviewed with the desk", "expires_in_s": 3600}, headers=trader.headers
    )
    assert response.status_code == 200, response.text
    assert (await preview(live, trader, account_id, quantity=1))["passed"]
    risk = await _get(live, trader, f"{base}/risk")
    assert risk["state"] == "active"
    assert risk["latched_state"] == "halted"
    assert risk["override"]["active"]
    audited = await live.audit_events("trading.risk_override")
    assert any(e.summary and account_id in e.summary for e in audited)

    override = dict(risk["override"])
    override.pop("active")
    override["expires_at"] = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).isoformat()
    await live.update(TradingAccount, TradingAccount.id == uuid.UUID(account_id), override=override)
    assert "account_state" in failed((await preview(live, trader, account_id, quantity=1))["checks"])
    assert (await _get(live, trader, f"{base}/risk"))["state"] == "halted"


async def test_an_admin_may_override_another_users_account_a_user_may_not(live: Live, trader: Account) -> None:
    account_id = await new_account(live, trader)
    url = f"/v1/trading/accounts/{account_id}/risk/override"
    body = {"reason": "incident 42", "expires_in_s": 600, "level": "reducing"}
    other = await make_account(live, "nosy-control@example.com")
    assert_error(await live.http.post(url, json=body, headers=other.headers), 404, "ACCOUNT_NOT_FOUND")
    admin = await make_account(live, "admin-control@example.com", role=Role.ADMIN)
    response = await live.http.post(url, json=body, headers=admin.headers)
    assert response.status_code == 200, response.text
    assert response.json()["override"]["set_by"] == "admin"
    # The owner sees who acted as a role, never the admin's id; the audit log (admins only) keeps who it was.
    seen = [await _get(live, trader, f"/v1/trading/accounts/{account_id}/{view}") for view in ("risk", "events")]
    assert str(admin.id) not in str(seen)
    assert seen[0]["override"]["set_by"] == "admin"
    [event] = [e for e in seen[1]["events"] if e["kind"] == "risk_override_set"]
    assert event["detail"]["set_by"] == "admin"
    assert any(e.actor_user_id == admin.id for e in await live.audit_events("trading.risk_override"))
    # The owner's own override is labelled as theirs.
    mine = await live.http.post(url, json=body, headers=trader.headers)
    assert mine.json()["override"]["set_by"] == "owner"


async def test_an_admins_key_overrides_another_users_account_only_with_the_admin_scope(
    live: Live, trader: Account
) -> None:
    account_id = await new_account(live, trader)
    url = f"/v1/trading/accounts/{account_id}/risk/override"
    body = {"reason": "incident 43", "expires_in_s": 600, "level": "reducing"}
    admin = await make_account(live, "admin-keys-control@example.com", role=Role.ADMIN)
    without = await api_key(live, admin, "read", "trade")
    refused = await live.http.post(url, json=body, headers=without)
    details = assert_error(refused, 403, "INSUFFICIENT_SCOPE")["details"]
    assert details == {"required_scope": "admin", "key_scopes": ["read", "trade"]}
    assert (await _get(live, trader, f"/v1/trading/accounts/{account_id}/risk"))["override"] is None
    with_admin = await api_key(live, admin, "read", "trade", "admin")
    allowed = await live.http.post(url, json=body, headers=with_admin)
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["override"]["set_by"] == "admin"


async def test_events_stored_with_an_actor_id_show_a_role_label(live: Live, trader: Account) -> None:
    # Rows written before labels held the acting user's id: they are shown as labels too.
    account_id = await new_account(live, trader)
    admin_id = str(uuid.uuid4())
    override = {
        "level": "active",
        "reason": "old row",
        "expires_at": (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat(),
        "set_by": admin_id,
        "set_at": dt.datetime.now(dt.UTC).isoformat(),
    }
    async with app_state(live.app).sessionmaker() as session:
        session.add(
            TradingEvent(
                account_id=uuid.UUID(account_id),
                kind="risk_override_expired",
                detail={"override": {**override, "set_by": str(trader.id)}},
                created_at=dt.datetime.now(dt.UTC),
            )
        )
        session.add(
            TradingEvent(
                account_id=uuid.UUID(account_id),
                kind="risk_override_set",
                detail=override,
                created_at=dt.datetime.now(dt.UTC),
            )
        )
        await session.commit()
    await live.update(TradingAccount, TradingAccount.id == uuid.UUID(account_id), override=override)
    events = (await _get(live, trader, f"/v1/trading/accounts/{account_id}/events"))["events"]
    risk = await _get(live, trader, f"/v1/trading/accounts/{account_id}/risk")
    assert admin_id not in str(events) + str(risk)
    details = {e["kind"]: e["detail"] for e in events}
    assert details["risk_override_set"]["set_by"] == "admin"
    assert details["risk_override_expired"]["override"]["set_by"] == "owner"
    assert risk["override"]["set_by"] == "admin"


async def test_an_old_override_lapses_with_a_role_label(live: Live, trader: Account) -> None:
    # The expiry event is stored and announced on the account's channel: it carries the label too.
    await set_market(live, asks=((71_000, 1_000),), bids=((70_900, 1_000),), last=71_000)
    account_id = await new_account(live, trader, cash=10_000_000)
    await place(live, trader, account_id, quantity=1)  # the engine evaluates accounts holding positions
    admin_id = str(uuid.uuid4())
    lapsed = {
        "level": "active",
        "reason": "old row",
        "expires_at": (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).isoformat(),
        "set_by": admin_id,
        "set_at": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat(),
    }
    await live.update(TradingAccount, TradingAccount.id == uuid.UUID(account_id), override=lapsed)
    await engine_for(live).evaluate_risk(MARKET_TIME)
    async with app_state(live.app).sessionmaker() as session:
        stored = (
            await session.execute(
                select(TradingEvent.detail).where(
                    TradingEvent.account_id == uuid.UUID(account_id), TradingEvent.kind == "risk_override_expired"
                )
            )
        ).scalar_one()
    assert stored["override"]["set_by"] == "admin"
    assert admin_id not in str(stored)


async def test_stop_is_previewed_then_closes_everything(live: Live, trader: Account) -> None:
    await set_market(live, asks=((71_000, 1_000),), bids=((70_900, 1_000),), last=71_000)
    account_id = await new_account(live, trader, cash=10_000_000)
    base = f"/v1/trading/accounts/{account_id}"
    await place(live, trader, account_id, quantity=10)
    resting = await place(live, trader, account_id, order_type="limit", limit_price=65_000, quantity=5)
    plan = await live.http.post(f"{base}/stop", json={}, headers=trader.headers)
    assert plan.status_code == 200
    body = plan.json()
    assert body["confirmed"] is False
    assert body["state_after"] == "stopped"
    assert [o["id"] for o in body["cancel_orders"]] == [resting["id"]]
    assert [(p["stock_code"], p["quantity"]) for p in body["close_positions"]] == [(CODE, 10)]
    assert (await _get(live, trader, f"{base}/status"))["open_orders"] == 1  # nothing changed

    # The visible bids take only 4 of the 10 shares: the rest of the closing sell stays open for the tape.
    await set_market(live, asks=((71_000, 1_000),), bids=((70_900, 4),), last=71_000)
    stopped = await live.http.post(f"{base}/stop", json={"confirm": True}, headers=trader.headers)
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["state"] == "stopped"
    assert stopped.json()["cancelled_orders"] == [resting["id"]]
    [closing] = stopped.json()["closing_orders"]
    closing_order = await _get(live, trader, f"{base}/orders/{closing}")
    assert (closing_order["status"], closing_order["filled_quantity"], closing_order["source"]) == ("open", 4, "stop")
    assert (await _get(live, trader, f"{base}/status"))["engine_state"] == "stopped"
    await engine_for(live).on_step(step(prints((70_800, 100))))  # the tape fills the rest at its price
    status = await _get(live, trader, f"{base}/status")
    assert status["open_orders"] == 0
    assert status["open_positions"] == 0
    detail = await account(live, trader, account_id)
    # 4 at 70,900 = 283,600 (commission 42, tax 141 + 425); 6 at 70,800 = 424,800 (commission 63, tax 212 + 637)
    assert detail["cash"] == 10_000_000 - 710_106 + 283_600 - 42 - 141 - 425 + 424_800 - 63 - 212 - 637
    assert detail["reserved_cash"] == 0
    assert "account_state" in failed((await preview(live, trader, account_id, quantity=1))["checks"])
    assert await live.audit_events("trading.stop")

    started = await live.http.post(f"{base}/start", headers=trader.headers)
    assert started.status_code == 200
    assert started.json() == {"account_id": account_id, "state": "active", "previous_state": "stopped"}
    assert (await preview(live, trader, account_id, quantity=1))["passed"]


async def test_config_is_validated(live: Live, trader: Account) -> None:
    account_id = await new_account(live, trader, risk=None)
    base = f"/v1/trading/accounts/{account_id}"
    config = await _get(live, trader, f"{base}/config")
    assert config["risk"] == config["risk_defaults"]
    assert config["preview_ttl_s"] == 30
    kospi_2026 = next(t for t in config["costs"]["taxes"] if t["market"] == "KOSPI" and t["effective"] == "2026-01-01")
    assert (kospi_2026["transaction_pct"], kospi_2026["rural_pct"]) == ("0.05", "0.15")
    for bad in (
        {"max_drawdown_pct": 150},
        {"max_order_value": -5},
        {"caution_at_pct": 90, "danger_at_pct": 80},
        {"unknown": 1},
    ):
        assert_error(
            await live.http.put(f"{base}/config/risk", json=bad, headers=trader.headers), 400, "VALIDATION_ERROR"
        )
    ok = await live.http.put(f"{base}/config/risk", json={"max_order_value": 5_000_000}, headers=trader.headers)
    assert ok.status_code == 200
    assert (await _get(live, trader, f"{base}/config"))["risk"]["max_order_value"] == 5_000_000


async def test_trades_portfolio_and_performance_against_hand_computed_figures(live: Live, trader: Account) -> None:
    account_id = await new_account(live, trader, cash=10_000_000)
    base = f"/v1/trading/accounts/{account_id}"
    await set_market(live, asks=((71_000, 1_000),), bids=((70_900, 1_000),), last=71_000)
    await place(live, trader, account_id, quantity=10)  # equity 9,999,894
    portfolio = await _get(live, trader, f"{base}/portfolio")
    assert portfolio["exposure"]["by_sector"] == [{"sector": "전기전자", "market_value": 710_000, "weight_pct": 7.1}]
    assert portfolio["exposure"]["by_stock"][0]["weight_pct"] == 7.1
    await set_market(live, asks=((72_100, 1_000),), bids=((72_000, 1_000),), last=72_000)
    await place(live, trader, account_id, side="sell", quantity=10)  # +8,346: equity 10,008,346
    await set_market(live, asks=((72_000, 1_000),), bids=((71_900, 1_000),), last=72_000)
    await place(live, trader, account_id, quantity=10)  # equity 10,008,238
    await set_market(live, asks=((71_100, 1_000),), bids=((71_000, 1_000),), last=71_000)
    await place(live, trader, account_id, side="sell", quantity=10)  # 710,000 - 106 - 1,420 - 720,108 = -11,634

    perf = await _get(live, trader, f"{base}/performance?days=7")
    assert (perf["trades"], perf["wins"], perf["losses"]) == (2, 1, 1)
    assert perf["win_rate_pct"] == 50.0
    assert (perf["gross_profit"], perf["gross_loss"], perf["net_profit"]) == (8_346, 11_634, -3_288)
    assert perf["profit_factor"] == round(8_346 / 11_634, 4)
    assert perf["start_equity"] == 10_000_000
    assert perf["end_equity"] == 9_996_712
    assert perf["total_return_pct"] == -0.03  # -3,288 / 10,000,000
    assert perf["max_drawdown_krw"] == 11_634  # from the 10,008,346 peak to 9,996,712
    assert perf["max_drawdown_pct"] == round(11_634 / 10_008_346 * 100, 2)
    assert [p["equity"] for p in perf["equity_curve"]] == [10_000_000, 9_999_894, 10_008_346, 10_008_238, 9_996_712]

    trades = await _get(live, trader, f"{base}/trades?per_page=3")
    assert trades["meta"]["total"] == 4
    assert len(trades["trades"]) == 3
    assert [t["side"] for t in trades["trades"]] == ["sell", "buy", "sell"]  # newest first
    day = MARKET_TIME.date().isoformat()
    assert (await _get(live, trader, f"{base}/trades?from={day}&to={day}"))["meta"]["total"] == 4
    assert (await _get(live, trader, f"{base}/trades?from=2026-11-24"))["meta"]["total"] == 0
    assert_error(
        await live.http.get(f"{base}/trades?from=2026-11-25&to=2026-11-24", headers=trader.headers),
        422,
        "INVALID_DATE_RANGE",
    )


async def test_engine_status(live: Live, trader: Account) -> None:
    await set_market(live)
    body = await _get(live, trader, "/v1/trading/status")
    assert body["feed"]["session_phase"] == "continuous"
    assert body["feed"]["market_time"]
    assert "ma_cross" in body["strategies_available"]
    catalog = await _get(live, trader, "/v1/trading/strategies")
    assert {s["name"] for s in catalog["strategies"]} == {"ma_cross", "rsi_reversion"}


def _bar(close: int, minute: int, code: str = CODE) -> MinuteBar:
    start = MARKET_TIME + dt.timedelta(minutes=minute)
    return MinuteBar(code, start, close, close, close, close, 100, close * 100)


async def test_strategy_signals_on_a_fixed_series_go_through_the_risk_path(live: Live, trader: Account) -> None:
    await set_market(live, asks=((71_000, 1_000),), bids=((70_900, 1_000),), last=71_000)
    account_id = await new_account(live, trader, cash=10_000_000)
    base = f"/v1/trading/accounts/{account_id}"
    bad = await live.http.post(
        f"{base}/strategies",
        json={"name": "ma_cross", "params": {"fast": 5, "slow": 3}, "stock_codes": [CODE], "quantity": 5},
        headers=trader.headers,
    )
    assert_error(bad, 400, "VALIDATION_ERROR")
    created = await live.http.post(
        f"{base}/strategies",
        json={
            "name": "ma_cross",
            "params": {"fast": 1, "slow": 2},
            "stock_codes": [CODE],
            "quantity": 5,
            "auto_execute": True,
        },
        headers=trader.headers,
    )
    assert created.status_code == 201, created.text
    engine = engine_for(live)
    from kstock.trading.strategy_runner import StrategyRunner

    engine.strategies = StrategyRunner(engine)
    # closes 70,000 then 69,000: SMA1 below SMA2; 71,000: SMA1 71,000 crosses above SMA2 70,000 -> buy
    for minute, close in enumerate((70_000, 69_000, 71_000)):
        await engine.on_step(step(minute_bars=[_bar(close, minute)]))
    signals = (await _get(live, trader, f"{base}/signals"))["signals"]
    assert [(s["side"], s["outcome"]) for s in signals] == [("buy", "executed")]
    assert "crossed above" in signals[0]["reason"]
    order = await _get(live, trader, f"{base}/orders/{signals[0]['order_id']}")
    assert order["source"] == "strategy"
    assert order["status"] == "filled"
    assert order["filled_quantity"] == 5
    # 68,000: SMA1 below SMA2 again -> sell what is held
    await engine.on_step(step(minute_bars=[_bar(68_000, 3)]))
    signals = (await _get(live, trader, f"{base}/signals"))["signals"]
    assert [(s["side"], s["outcome"]) for s in signals] == [("sell", "executed"), ("buy", "executed")]
    assert (await account(live, trader, account_id))["positions"] == []

    # A stopped account's signals are recorded as rejected, with the failed check.
    await live.update(TradingAccount, TradingAccount.id == uuid.UUID(account_id), state="stopped")
    await engine.on_step(step(minute_bars=[_bar(72_000, 4)]))
    latest = (await _get(live, trader, f"{base}/signals"))["signals"][0]
    assert latest["outcome"] == "rejected"
    assert "account_state" in {c["name"] for c in latest["detail"]["failed_checks"]}


async def test_a_failing_strategy_is_disabled_and_the_engine_goes_on(live: Live, trader: Account) -> None:
    account_id = await new_account(live, trader)
    base = f"/v1/trading/accounts/{account_id}"
    created = await live.http.post(
        f"{base}/strategies",
        json={"name": "rsi_reversion", "stock_codes": [CODE], "quantity": 1},
        headers=trader.headers,
    )
    assert created.status_code == 201, created.text
    engine = engine_for(live)
    from kstock.trading.strategy_runner import StrategyRunner

    engine.strategies = StrategyRunner(engine)
    await engine.on_step(step(minute_bars=[_bar(70_000, 0)]))
    await engine.on_step(step(minute_bars=[_bar(70_000, 0)]))  # not after the previous bar: bad data
    [strategy] = (await _get(live, trader, f"{base}/strategies"))["strategies"]
    assert strategy["enabled"] is False
    assert strategy["error"]
    events = (await _get(live, trader, f"{base}/events"))["events"]
    assert any(e["kind"] == "strategy_disabled" for e in events)
    await engine.on_step(step(prints((70_000, 1))))  # the engine still steps
    async with app_state(live.app).sessionmaker() as session:
        row = (
            await session.execute(select(TradingStrategy).where(TradingStrategy.id == uuid.UUID(strategy["id"])))
        ).scalar_one()
    assert not row.enabled


RISK_BOUNDS = {
    # field: (lowest accepted, highest accepted, refused below, refused above)
    "max_order_value": (1, 10**13, 0, 10**13 + 1),
    "max_orders_per_second": (1, 100, 0, 101),
    "max_position_weight_pct": (0.01, 100.0, 0, 100.5),
    "daily_loss_limit_pct": (0.01, 100.0, -1, 101),
    "max_drawdown_pct": (0.01, 100.0, 0.0, 1e12),
    "caution_at_pct": (0.01, 50.0, 0, 100.01),
    "danger_at_pct": (80.0, 100.0, -0.5, 200),
}


@pytest.mark.parametrize("field", sorted(RISK_BOUNDS))
async def test_every_risk_setting_is_bounded(live: Live, trader: Account, field: str) -> None:
    account_id = await new_account(live, trader, risk=None)
    url = f"/v1/trading/accounts/{account_id}/config/risk"
    low, high, under, over = RISK_BOUNDS[field]
    for bad in (under, over):
        refused = await live.http.put(url, json={field: bad}, headers=trader.headers)
        assert list(assert_error(refused, 400, "VALIDATION_ERROR")["details"]) == [field], bad
    assert (await _get(live, trader, f"/v1/trading/accounts/{account_id}/config"))["risk"][field] != over
    for good in (low, high):
        accepted = await live.http.put(url, json={field: good}, headers=trader.headers)
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["risk"][field] == good


async def test_risk_bounds_are_in_the_api_document(live: Live) -> None:
    schema = live.app.openapi()["components"]["schemas"]["RiskConfigIn"]["properties"]
    for field, (_low, high, _under, _over) in RISK_BOUNDS.items():
        [bounded] = [option for option in schema[field]["anyOf"] if option.get("type") != "null"]
        if field.endswith("_pct"):
            assert (bounded["exclusiveMinimum"], bounded["maximum"]) == (0, 100), field
        else:
            assert (bounded["minimum"], bounded["maximum"]) == (1, high), field
