"""Request and response models of the paper-trading API (the OpenAPI document shows them with examples).

Responses are built as plain dicts by the service; these models document them (unknown keys are allowed so the
document never drifts into a lie by omission: every field shown is present).
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


class Document(_Out):
    """A control-API answer; its fields are listed in docs/api/trading.md."""

    account_id: str | None = Field(default=None, examples=["9b2f5c0e-3b7a-4c1e-9e7f-2d6a1b0c4e5f"])


class Paged(_Out):
    meta: PageMeta
