"""Request and response models of the paper-trading API (the OpenAPI document shows them with examples).

Responses are built as plain dicts (:mod:`kstock.trading.render`, :mod:`kstock.trading.control`); these models
document them field by field (every field shown is present unless it has a default; unknown keys are allowed).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kstock.kit.pagination import PageMeta
from kstock.kit.validators import STOCK_CODE_PATTERN, JsonInt
from kstock.trading.risk import INT_BOUNDS, PCT_MAX

Quantity = Annotated[int, Field(ge=1, le=10**9, examples=[10]), JsonInt]
Krw = Annotated[int, Field(ge=1, le=10**10, examples=[71_000]), JsonInt]
Name = Annotated[str, Field(min_length=1, max_length=100, examples=["momentum test"])]
StockCode = Annotated[str, Field(max_length=6, pattern=STOCK_CODE_PATTERN, examples=["005930"])]
StartingCash = Annotated[int, Field(ge=100_000, le=10**13, examples=[100_000_000]), JsonInt]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class AccountIn(_In):
    name: Name
    starting_cash: StartingCash = Field(description="KRW deposited when the account opens")


class ResetIn(_In):
    starting_cash: StartingCash | None = Field(default=None, description="KRW to start again with (default: same)")


class OrderIn(_In):
    stock_code: StockCode
    side: Literal["buy", "sell"] = Field(examples=["buy"])
    order_type: Literal["market", "limit"] = Field(examples=["limit"])
    quantity: Quantity
    limit_price: Krw | None = Field(default=None, description="required for limit orders, KRW on the tick grid")
    time_in_force: Literal["day", "ioc"] = Field(default="day", examples=["day"])


class ExecuteIn(_In):
    preview_id: str = Field(
        min_length=1,
        max_length=2_000,
        description="the signed preview id returned by the preview",
        examples=["eyJ2IjoxLCJpZCI6IjNmMWMyYjFl...In0.q8v1Yv3bW0d5..."],
    )


class StopIn(_In):
    confirm: bool = Field(default=False, description="false: return what stop would do; true: do it")


class OverrideIn(_In):
    reason: str = Field(min_length=3, max_length=500, examples=["reviewed the drawdown with the desk"])
    expires_in_s: int = Field(ge=60, le=7 * 86_400, examples=[3600], description="seconds until the override lapses")
    level: Literal["active", "reducing", "halted"] = Field(
        default="active", description="the most restrictive automatic state while the override lasts"
    )


# A risk percentage: in (0, 100], never NaN or infinite.
RiskPct = Annotated[float, Field(gt=0, le=PCT_MAX, allow_inf_nan=False)]
_VALUE_MIN, _VALUE_MAX = INT_BOUNDS["max_order_value"]
_RATE_MIN, _RATE_MAX = INT_BOUNDS["max_orders_per_second"]
MaxOrderValue = Annotated[int, Field(ge=_VALUE_MIN, le=_VALUE_MAX, examples=[50_000_000]), JsonInt]
MaxOrdersPerSecond = Annotated[int, Field(ge=_RATE_MIN, le=_RATE_MAX, examples=[1]), JsonInt]


class RiskConfigIn(_In):
    """Every limit is bounded (the same bounds as :class:`kstock.trading.risk.RiskLimits`): 400 beyond them."""

    max_order_value: MaxOrderValue | None = Field(default=None, description="KRW per order")
    max_position_weight_pct: RiskPct | None = Field(default=None, examples=[25.0])
    max_orders_per_second: MaxOrdersPerSecond | None = Field(
        default=None, description="orders of the account in any one second"
    )
    daily_loss_limit_pct: RiskPct | None = Field(default=None, examples=[3.0])
    max_drawdown_pct: RiskPct | None = Field(default=None, examples=[15.0])
    caution_at_pct: RiskPct | None = Field(default=None, examples=[50.0])
    danger_at_pct: RiskPct | None = Field(default=None, examples=[80.0])


class StrategyIn(_In):
    name: Literal["ma_cross", "rsi_reversion"] = Field(examples=["ma_cross"])
    params: dict[str, Any] = Field(default_factory=dict, examples=[{"fast": 5, "slow": 20}])
    stock_codes: list[StockCode] = Field(min_length=1, max_length=50, examples=[["005930", "000660"]])
    quantity: Quantity = Field(description="shares bought per buy signal")
    auto_execute: bool = Field(default=False, description="place the signal's order (else only record it)")


class StrategyPatch(_In):
    enabled: bool | None = None
    auto_execute: bool | None = None


class AccountOut(_Out):
    id: str = Field(examples=["9b2f5c0e-3b7a-4c1e-9e7f-2d6a1b0c4e5f"])
    name: str = Field(examples=["momentum test"])
    starting_cash: int = Field(examples=[100_000_000])
    cash: int = Field(examples=[99_289_894], description="D+2 cash: every trade counted, settled or not")
    reserved_cash: int = Field(examples=[0], description="held back by open buy orders")
    buying_power: int = Field(examples=[99_289_894])
    market_value: int = Field(examples=[710_000])
    equity: int = Field(examples=[99_999_894])
    realized_pnl: int = Field(examples=[0])
    unrealized_pnl: int = Field(examples=[-106])
    total_pnl: int = Field(examples=[-106])
    total_return_pct: float | None = Field(examples=[0.0])
    commissions: int = Field(examples=[106])
    taxes: int = Field(examples=[0])
    state: str = Field(examples=["active"])
    positions_count: int = Field(examples=[1])


class AccountList(_Out):
    accounts: list[AccountOut]
    meta: dict[str, Any] = Field(examples=[{"count": 1, "limit": 2}])


class AccountDetail(AccountOut):
    cash_by_settlement: dict[str, int] = Field(
        examples=[
            {
                "settled": 100_000_000,
                "next_day": 100_000_000,
                "projected": 99_289_894,
                "receivable": 0,
                "payable": 710_106,
                "reserved_for_open_buys": 0,
                "buying_power": 99_289_894,
                "withdrawable": 99_289_894,
            }
        ]
    )
    positions: list[dict[str, Any]] = Field(
        examples=[
            [
                {
                    "stock_code": "005930",
                    "quantity": 10,
                    "average_price": 71000.0,
                    "current_price": 71000,
                    "market_value": 710_000,
                    "cost_basis": 710_000,
                    "buy_commission": 106,
                    "unrealized_pnl": -106,
                    "unrealized_pnl_pct": -0.01,
                    "realized_pnl": 0,
                    "weight_pct": 0.71,
                }
            ]
        ]
    )


class PreviewOut(_Out):
    preview_id: str | None = Field(
        description="present only when every check passed: a signed token to execute within 30 s",
        examples=["eyJ2IjoxLCJpZCI6IjNmMWMyYjFl...In0.q8v1Yv3bW0d5..."],
    )
    expires_at: str | None = Field(examples=["2026-11-23T01:30:45.000Z"])
    passed: bool = Field(examples=[True])
    order: dict[str, Any] = Field(
        examples=[
            {
                "stock_code": "005930",
                "side": "buy",
                "order_type": "limit",
                "quantity": 10,
                "limit_price": 71_000,
                "time_in_force": "day",
            }
        ]
    )
    checks: list[dict[str, Any]] = Field(
        examples=[[{"name": "available_cash", "passed": True, "detail": "needs 710,106 KRW of 100,000,000 KRW"}]]
    )
    warnings: list[str] = Field(examples=[["far from last price: 71,000 is 6.0% above the last price 67,000"]])
    estimate: dict[str, Any] | None = Field(
        examples=[
            {
                "filled_quantity": 10,
                "estimated_price": 71000.0,
                "gross_amount": 710_000,
                "costs": {"commission": 106, "transaction_tax": 0, "rural_tax": 0, "tax": 0, "total": 106},
                "net_cash_change": -710_106,
                "reserved_cash": 710_106,
                "cash_before": 100_000_000,
                "cash_after": 99_289_894,
            }
        ]
    )
    market: dict[str, Any] = Field(
        examples=[
            {
                "market": "KOSPI",
                "phase": "continuous",
                "base_price": 70_000,
                "last_price": 71_000,
                "price_band": {"lower": 49_000, "upper": 91_000},
            }
        ]
    )


class OrderOut(_Out):
    id: str = Field(examples=["b7e1..."])
    stock_code: str = Field(examples=["005930"])
    side: str = Field(examples=["buy"])
    order_type: str = Field(examples=["limit"])
    time_in_force: str = Field(examples=["day"])
    quantity: int = Field(examples=[10])
    limit_price: int | None = Field(examples=[71_000])
    filled_quantity: int = Field(examples=[10])
    remaining_quantity: int = Field(examples=[0])
    average_fill_price: float | None = Field(examples=[71000.0])
    filled_amount: int = Field(examples=[710_000])
    commission: int = Field(examples=[106])
    tax: int = Field(examples=[0])
    status: str = Field(examples=["filled"], description="open | filled | cancelled | expired")
    status_reason: str | None = Field(examples=[None])
    source: str = Field(examples=["api"], description="api | strategy | stop")
    trade_date: str = Field(examples=["2026-11-23"])
    created_at: str = Field(examples=["2026-11-23T01:30:15.120Z"])


class OrderList(_Out):
    orders: list[OrderOut]
    meta: PageMeta


Uuid = Annotated[str, Field(examples=["9b2f5c0e-3b7a-4c1e-9e7f-2d6a1b0c4e5f"])]
Instant = Annotated[str, Field(examples=["2026-11-23T01:30:15.120Z"])]
Day = Annotated[str, Field(examples=["2026-11-23"])]
Pct = Annotated[float | None, Field(examples=[0.71], description="percent, 2 decimals; null without a base")]


class FeedOut(_Out):
    connected: bool = Field(examples=[True])
    source: str | None = Field(examples=["simulator"])
    market_time: str | None = Field(examples=["2026-11-23T01:30:15.120Z"])
    session_phase: str | None = Field(examples=["continuous"])
    last_tick_age_s: float | None = Field(examples=[0.05])
    speed: float | None = Field(examples=[1.0])
    uptime_s: float | None = Field(examples=[3600.0])


class EngineOut(_Out):
    open_orders: int = Field(examples=[3])
    fills: int = Field(examples=[42])
    expired: int = Field(examples=[0])
    errors: int = Field(examples=[0])


class EngineStatusOut(_Out):
    feed: FeedOut
    engine: EngineOut | None = Field(description="null while no matching engine runs beside the feed")
    instance_uptime_s: float | None = Field(examples=[120.5])
    strategies_available: list[str] = Field(examples=[["ma_cross", "rsi_reversion"]])


class StrategySpecOut(_Out):
    name: str = Field(examples=["ma_cross"])
    parameters: dict[str, Any] = Field(
        description="the parameters' JSON Schema", examples=[{"type": "object", "properties": {"fast": {}}}]
    )


class StrategyCatalogOut(_Out):
    strategies: list[StrategySpecOut]


class RunningStrategyOut(_Out):
    id: Uuid
    name: str = Field(examples=["ma_cross"])


class AccountStatusOut(_Out):
    account_id: Uuid
    engine_state: str = Field(examples=["active"], description="active | reducing | halted | stopped")
    state_reason: str | None = Field(examples=[None])
    open_positions: int = Field(examples=[1])
    open_orders: int = Field(examples=[0])
    risk_zone: str = Field(examples=["normal"], description="normal | caution | danger | halt")
    equity: int = Field(examples=[99_999_894])
    cash: int = Field(examples=[99_289_894])
    strategies_running: list[RunningStrategyOut]


class PositionOut(_Out):
    stock_code: str = Field(examples=["005930"])
    quantity: int = Field(examples=[10])
    average_price: float | None = Field(examples=[71000.0])
    current_price: int = Field(examples=[71_000])
    market_value: int = Field(examples=[710_000])
    cost_basis: int = Field(examples=[710_000])
    buy_commission: int = Field(examples=[106])
    unrealized_pnl: int = Field(examples=[-106])
    unrealized_pnl_pct: Pct
    realized_pnl: int = Field(examples=[0])
    weight_pct: Pct


class StockExposureOut(_Out):
    stock_code: str = Field(examples=["005930"])
    market_value: int = Field(examples=[710_000])
    weight_pct: Pct


class SectorExposureOut(_Out):
    sector: str = Field(examples=["Semiconductors"], description="`unknown` for a stock without one")
    market_value: int = Field(examples=[710_000])
    weight_pct: Pct


class ExposureOut(_Out):
    by_stock: list[StockExposureOut]
    by_sector: list[SectorExposureOut]


class PortfolioOut(_Out):
    account_id: Uuid
    cash: int = Field(examples=[99_289_894])
    equity: int = Field(examples=[99_999_894])
    market_value: int = Field(examples=[710_000])
    exposure_pct: Pct
    positions: list[PositionOut]
    exposure: ExposureOut
    realized_pnl: int = Field(examples=[0])
    unrealized_pnl: int = Field(examples=[-106])


class RiskLimitsOut(_Out):
    max_order_value: int = Field(examples=[100_000_000])
    max_position_weight_pct: float = Field(examples=[30.0])
    max_orders_per_second: int = Field(examples=[1])
    daily_loss_limit_pct: float = Field(examples=[5.0])
    max_drawdown_pct: float = Field(examples=[20.0])
    caution_at_pct: float = Field(examples=[50.0])
    danger_at_pct: float = Field(examples=[80.0])


class _OverrideFields(_Out):
    reason: str = Field(examples=["reviewed the drawdown with the desk"])
    expires_at: str = Field(examples=["2026-11-23T02:30:15.120Z"])
    set_by: str = Field(examples=["owner"], description="owner | admin")
    set_at: str = Field(examples=["2026-11-23T01:30:15.120Z"])


class OverrideOut(_OverrideFields):
    level: str = Field(examples=["active"], description="the most restrictive automatic state while it lasts")


class OverrideStateOut(_OverrideFields):
    level: str | None = Field(
        default=None, examples=["active"], description="absent from overrides set before levels existed"
    )
    active: bool = Field(examples=[True])


class RiskOut(_Out):
    account_id: Uuid
    state: str = Field(examples=["active"], description="with an active override applied")
    latched_state: str = Field(examples=["active"], description="what the figures call for, without the override")
    reasons: list[str] = Field(examples=[[]])
    drawdown_zone: str = Field(examples=["normal"])
    risk_level: str = Field(examples=["active"])
    equity: int = Field(examples=[99_999_894])
    peak_equity: int = Field(examples=[100_000_000])
    start_of_day_equity: int = Field(examples=[100_000_000])
    daily_loss_pct: float = Field(examples=[0.0])
    daily_loss_limit_pct: float = Field(examples=[5.0])
    daily_loss_limit_used_pct: float = Field(examples=[0.0])
    drawdown_pct: float = Field(examples=[0.0])
    max_drawdown_pct: float = Field(examples=[20.0])
    drawdown_limit_used_pct: float = Field(examples=[0.0])
    override: OverrideStateOut | None
    limits: RiskLimitsOut


class FillOut(_Out):
    id: Uuid
    order_id: Uuid
    stock_code: str = Field(examples=["005930"])
    side: str = Field(examples=["buy"])
    price: int = Field(examples=[71_000])
    quantity: int = Field(examples=[10])
    amount: int = Field(examples=[710_000])
    commission: int = Field(examples=[106])
    tax: int = Field(examples=[0])
    net_cash: int = Field(examples=[-710_106])
    realized_pnl: int | None = Field(examples=[None], description="a sell's; null for a buy")
    phase: str = Field(examples=["continuous"])
    trade_date: Day
    settles_on: Day
    executed_at: Instant


class TradeList(_Out):
    trades: list[FillOut]
    meta: PageMeta


class EquityPointOut(_Out):
    at: Instant
    equity: int = Field(examples=[100_000_000])


class PerformanceOut(_Out):
    account_id: Uuid
    days: int = Field(examples=[30])
    trades: int = Field(examples=[4])
    wins: int = Field(examples=[3])
    losses: int = Field(examples=[1])
    breakeven: int = Field(examples=[0])
    win_rate_pct: float | None = Field(examples=[75.0])
    gross_profit: int = Field(examples=[120_000])
    gross_loss: int = Field(examples=[30_000])
    net_profit: int = Field(examples=[90_000])
    average_win: int | None = Field(examples=[40_000])
    average_loss: int | None = Field(examples=[30_000])
    profit_factor: float | None = Field(examples=[4.0])
    start_equity: int | None = Field(examples=[100_000_000])
    end_equity: int | None = Field(examples=[100_090_000])
    start_at: str | None = Field(examples=["2026-11-01T00:00:00Z"])
    end_at: str | None = Field(examples=["2026-11-23T01:30:15.120Z"])
    total_return_pct: float | None = Field(examples=[0.09])
    max_drawdown_pct: float = Field(examples=[0.03])
    max_drawdown_krw: int = Field(examples=[30_000])
    peak_at: str | None = Field(examples=["2026-11-20T06:30:00Z"])
    trough_at: str | None = Field(examples=["2026-11-21T06:30:00Z"])
    sharpe_ratio: float | None = Field(examples=[1.2345])
    equity_curve: list[EquityPointOut]


class SignalOut(_Out):
    id: Uuid
    strategy_id: Uuid
    stock_code: str = Field(examples=["005930"])
    side: str = Field(examples=["buy"])
    price: int = Field(examples=[71_000], description="the close of the bar that gave the signal")
    reason: str = Field(examples=["fast SMA crossed above slow SMA"])
    outcome: str = Field(examples=["executed"], description="executed | rejected | proposed")
    detail: dict[str, Any] = Field(examples=[{"order": {"stock_code": "005930", "side": "buy"}, "failed_checks": []}])
    order_id: str | None = Field(examples=["b7e1c2d4-1f3a-4b5c-8d6e-7f8091a2b3c4"])
    at: Instant


class SignalList(_Out):
    signals: list[SignalOut]
    meta: PageMeta


class EventOut(_Out):
    id: int = Field(examples=[17])
    kind: str = Field(examples=["risk_state_changed"])
    detail: dict[str, Any] = Field(examples=[{"from": "active", "to": "reducing", "reasons": ["daily loss 5.2%"]}])
    at: Instant


class EventList(_Out):
    events: list[EventOut]
    meta: PageMeta


class StartOut(_Out):
    account_id: Uuid
    state: str = Field(examples=["active"])
    previous_state: str = Field(examples=["stopped"])


class CancelPlanOut(_Out):
    id: Uuid
    stock_code: str = Field(examples=["005930"])
    side: str = Field(examples=["buy"])
    remaining: int = Field(examples=[10])


class ClosePlanOut(_Out):
    stock_code: str = Field(examples=["005930"])
    quantity: int = Field(examples=[10])
    order_type: str = Field(examples=["market"])
    phase: str = Field(examples=["continuous"])
    estimated_price: int = Field(examples=[71_000])
    estimated_amount: int = Field(examples=[710_000])


class StopConfirm(_Out):
    confirm: bool = Field(examples=[True])


class StopPlanOut(_Out):
    """What a stop would do (nothing changed)."""

    account_id: Uuid
    cancel_orders: list[CancelPlanOut]
    close_positions: list[ClosePlanOut]
    state_after: str = Field(examples=["stopped"])
    confirmed: Literal[False]
    confirm_with: StopConfirm


class StopDoneOut(_Out):
    """What a confirmed stop did: the orders it cancelled and the closing sells it placed."""

    account_id: Uuid
    state: str = Field(examples=["stopped"])
    cancelled_orders: list[str] = Field(examples=[["b7e1c2d4-1f3a-4b5c-8d6e-7f8091a2b3c4"]])
    closing_orders: list[str] = Field(examples=[["c8f2d3e5-2a4b-4c6d-9e7f-80a1b2c3d4e5"]])
    confirmed: Literal[True]


class OverrideSetOut(_Out):
    account_id: Uuid
    override: OverrideOut


class CommissionOut(_Out):
    effective: str | None = Field(examples=[None], description="null for the first rate (in force from the start)")
    rate_pct: str = Field(examples=["0.015"])
    minimum: int = Field(examples=[0])


class TaxOut(_Out):
    effective: Day
    market: str = Field(examples=["KOSPI"])
    transaction_pct: str = Field(examples=["0.00"])
    rural_pct: str = Field(examples=["0.15"])


class CostsOut(_Out):
    commissions: list[CommissionOut]
    taxes: list[TaxOut]


class ConfigOut(_Out):
    account_id: Uuid
    risk: RiskLimitsOut
    risk_defaults: RiskLimitsOut
    preview_ttl_s: int = Field(examples=[30])
    costs: CostsOut
    strategies_available: list[str] = Field(examples=[["ma_cross", "rsi_reversion"]])


class RiskConfigOut(_Out):
    account_id: Uuid
    risk: RiskLimitsOut


class StrategyOut(_Out):
    id: Uuid
    account_id: Uuid
    name: str = Field(examples=["ma_cross"])
    params: dict[str, Any] = Field(examples=[{"fast": 5, "slow": 20}])
    stock_codes: list[str] = Field(examples=[["005930", "000660"]])
    quantity: int = Field(examples=[10])
    auto_execute: bool = Field(examples=[False])
    enabled: bool = Field(examples=[True])
    error: str | None = Field(examples=[None], description="why it was disabled")
    created_at: Instant
    updated_at: Instant


class StrategyList(_Out):
    strategies: list[StrategyOut]
