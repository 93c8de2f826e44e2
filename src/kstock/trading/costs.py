"""What a trade costs on KRX: the broker's commission (수수료) and, on sales, the securities transaction tax
(증권거래세) with, on KOSPI, the rural development special tax (농어촌특별세).

Amounts are KRW integers. Rates are exact decimals quoted in percent of the traded amount (``Decimal("0.015")`` is
0.015%); nothing goes through a float.

Commission, on buys and sells alike: ``max(minimum, floor(amount x rate / 100))``, truncated to the won as brokers
do; the minimum applies to each execution that trades something (an amount of 0 costs nothing). The default is
0.015% with no minimum, a typical online brokerage rate that already includes the exchange and depository fees.
The rate in force is the one whose effective date is the latest on or before the trade date.

Tax, on sells only: each tax is truncated to the won on its own, ``floor(amount x rate / 100)``, and the tax of a
sale is their sum. The tax is due on the transfer of the shares, which happens at settlement (T+2), so a rate change
applies to the sales that *settle* on or after its effective date: :func:`tax_rate` takes the trade date and looks
the rate up on the settlement date (e.g. sales made on 2024-12-27 already paid the 2025 rates, since they settled on
2025-01-02).

The schedule encoded in :data:`KRX_TAX_RATES` (percent; KOSPI is transaction tax + rural special tax):

==================  ===============  =======  =====
settling from       KOSPI            KOSDAQ   KONEX
==================  ===============  =======  =====
2019-06-03          0.10 + 0.15      0.25     0.10
2021-01-01          0.08 + 0.15      0.23     0.10
2023-01-01          0.05 + 0.15      0.20     0.10
2024-01-01          0.03 + 0.15      0.18     0.10
2025-01-01          0.00 + 0.15      0.15     0.10
2026-01-01          0.05 + 0.15      0.20     0.10
==================  ===============  =======  =====

Sources: the flexible rates of the Enforcement Decree of the Securities Transaction Tax Act (Article 5) in force on
each date, as reported when they changed: the 2019 cut applied to sales settling from 2019-06-03, i.e. traded from
2019-05-30 (Hankook Ilbo, 2019-05-21); the 2021 rates to sales traded from 2020-12-29, KRX explaining that the
transfer date is the settlement date (Edaily, 2020-12-29); the 2025 rates to sales traded from 2024-12-27 (brokers'
notices), down from 0.18% in 2024; the 2026 rates, restoring those of 2023, by the decree amendment the Ministry of
Economy and Finance announced on 2025-12-01 for sales settling from 2026-01-01 (Chosun Biz and Hankyung,
2025-12-01). Dates before 2019-06-03 have no rate here and raise :class:`ScheduleError`.

:class:`CostSchedule` holds dated commission and tax rates; build one from code or from settings
(:meth:`CostSchedule.from_mapping`) to override either, and pass it to :func:`trade_costs`.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Final

from kstock.kit.krx import Market
from kstock.trading.settlement import settlement_date

__all__ = [
    "DEFAULT_COMMISSIONS",
    "DEFAULT_SCHEDULE",
    "KRX_TAX_RATES",
    "CommissionRate",
    "CostSchedule",
    "Costs",
    "ScheduleError",
    "Side",
    "TaxRate",
    "net_cash_change",
    "tax_rate",
    "trade_costs",
]

Rate = Decimal | int | str


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class ScheduleError(LookupError):
    """No rate of the schedule is in force on the date asked for."""


def _percent(value: object, what: str) -> Decimal:
    """A rate in percent as an exact decimal (floats go through their shortest repr: 0.015 is 0.015)."""
    if isinstance(value, Decimal):
        pct = value
    elif isinstance(value, float | str) or (isinstance(value, int) and not isinstance(value, bool)):
        try:
            pct = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"{what}: not a rate: {value!r}") from None
    else:
        raise ValueError(f"{what}: not a rate: {value!r}")
    if not pct.is_finite() or pct < 0 or pct >= 100:
        raise ValueError(f"{what}: a rate must be in [0, 100) percent, got {value!r}")
    return pct


def _floor_share(amount: int, pct: Decimal) -> int:
    """``floor(amount x pct / 100)`` exactly."""
    return int((Decimal(amount) * pct / 100).to_integral_value(rounding=ROUND_FLOOR))


@dataclass(frozen=True, slots=True)
class CommissionRate:
    """The broker's commission from ``effective`` (a trade date) on."""

    effective: dt.date
    rate_pct: Decimal
    minimum: int = 0  # KRW per execution

    def __post_init__(self) -> None:
        object.__setattr__(self, "rate_pct", _percent(self.rate_pct, "commission rate"))
        if isinstance(self.minimum, bool) or not isinstance(self.minimum, int) or self.minimum < 0:
            raise ValueError(f"commission minimum must be a non-negative integer of KRW, got {self.minimum!r}")

    def commission(self, amount: int) -> int:
        if amount == 0:
            return 0
        return max(self.minimum, _floor_share(amount, self.rate_pct))


@dataclass(frozen=True, slots=True)
class TaxRate:
    """The tax on sales of one market's shares settling from ``effective`` on."""

    effective: dt.date  # first settlement date it applies to
    market: str  # "KOSPI" | "KOSDAQ" | "KONEX"
    transaction_pct: Decimal  # 증권거래세
    rural_pct: Decimal = Decimal(0)  # 농어촌특별세 (KOSPI only)

    def __post_init__(self) -> None:
        if self.market not in tuple(Market):
            raise ValueError(f"unknown market {self.market!r}")
        object.__setattr__(self, "transaction_pct", _percent(self.transaction_pct, "transaction tax rate"))
        object.__setattr__(self, "rural_pct", _percent(self.rural_pct, "rural special tax rate"))

    @property
    def total_pct(self) -> Decimal:
        return self.transaction_pct + self.rural_pct


def _tax_rates(
    effective: dt.date, kospi: tuple[str, str], kosdaq: str, konex: str = "0.10"
) -> tuple[TaxRate, TaxRate, TaxRate]:
    return (
        TaxRate(effective, Market.KOSPI, Decimal(kospi[0]), Decimal(kospi[1])),
        TaxRate(effective, Market.KOSDAQ, Decimal(kosdaq)),
        TaxRate(effective, Market.KONEX, Decimal(konex)),
    )


KRX_TAX_RATES: Final[tuple[TaxRate, ...]] = (
    *_tax_rates(dt.date(2019, 6, 3), ("0.10", "0.15"), "0.25"),
    *_tax_rates(dt.date(2021, 1, 1), ("0.08", "0.15"), "0.23"),
    *_tax_rates(dt.date(2023, 1, 1), ("0.05", "0.15"), "0.20"),
    *_tax_rates(dt.date(2024, 1, 1), ("0.03", "0.15"), "0.18"),
    *_tax_rates(dt.date(2025, 1, 1), ("0.00", "0.15"), "0.15"),
    *_tax_rates(dt.date(2026, 1, 1), ("0.05", "0.15"), "0.20"),
)

DEFAULT_COMMISSIONS: Final[tuple[CommissionRate, ...]] = (CommissionRate(dt.date.min, Decimal("0.015")),)


@dataclass(frozen=True, slots=True)
class Costs:
    """The costs of one trade (KRW). ``tax`` is the sum of both taxes; ``total`` is commission plus tax."""

    commission: int = 0
    transaction_tax: int = 0
    rural_tax: int = 0

    @property
    def tax(self) -> int:
        return self.transaction_tax + self.rural_tax

    @property
    def total(self) -> int:
        return self.commission + self.tax

    def __add__(self, other: Costs) -> Costs:
        return Costs(
            self.commission + other.commission,
            self.transaction_tax + other.transaction_tax,
            self.rural_tax + other.rural_tax,
        )

    def to_dict(self) -> dict[str, int]:
        return {
            "commission": self.commission,
            "transaction_tax": self.transaction_tax,
            "rural_tax": self.rural_tax,
            "tax": self.tax,
            "total": self.total,
        }


class CostSchedule:
    """Dated commission and tax rates.

    ``commissions`` and ``taxes`` default to :data:`DEFAULT_COMMISSIONS` and :data:`KRX_TAX_RATES`; pass either to
    replace it whole. Each (effective date) may appear once for commissions, each (effective date, market) once for
    taxes.
    """

    def __init__(
        self,
        commissions: Iterable[CommissionRate] | None = None,
        taxes: Iterable[TaxRate] | None = None,
    ) -> None:
        commission_list = sorted(DEFAULT_COMMISSIONS if commissions is None else commissions, key=lambda c: c.effective)
        if not commission_list:
            raise ValueError("a cost schedule needs at least one commission rate")
        _reject_duplicates([c.effective.isoformat() for c in commission_list], "commission")
        tax_list = sorted(KRX_TAX_RATES if taxes is None else taxes, key=lambda t: (t.market, t.effective))
        _reject_duplicates([f"{t.market} {t.effective.isoformat()}" for t in tax_list], "tax")
        self.commissions: tuple[CommissionRate, ...] = tuple(commission_list)
        self.taxes: tuple[TaxRate, ...] = tuple(tax_list)
        self._commission_dates = [c.effective for c in self.commissions]
        self._taxes_by_market: dict[str, list[TaxRate]] = {}
        for rate in self.taxes:
            self._taxes_by_market.setdefault(rate.market, []).append(rate)

    @classmethod
    def flat_commission(
        cls, rate_pct: Rate | float, minimum: int = 0, taxes: Iterable[TaxRate] | None = None
    ) -> CostSchedule:
        """One commission rate for every date, with the KRX tax schedule (or ``taxes``)."""
        return cls([CommissionRate(dt.date.min, _percent(rate_pct, "commission rate"), minimum)], taxes)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> CostSchedule:
        """A schedule from settings, e.g. parsed JSON::

            {"commissions": [{"effective": "2020-01-01", "rate_pct": "0.015", "minimum": 0}],
             "taxes": [{"effective": "2026-01-01", "market": "KOSPI", "transaction_pct": "0.05",
                        "rural_pct": "0.15"}, ...]}

        A missing key keeps the default, and a market the ``taxes`` do not name keeps its KRX rates (a market they
        name gets exactly the rates given); ``effective`` is an ISO date (or a date). Unknown keys and bad values
        raise ValueError naming them.
        """
        unknown = sorted(set(data) - {"commissions", "taxes"})
        if unknown:
            raise ValueError(f"unknown cost schedule keys: {', '.join(unknown)}")
        commissions = None
        taxes = None
        if "commissions" in data:
            commissions = [
                CommissionRate(
                    _date(entry, "commission"),
                    _percent(entry.get("rate_pct"), "commission rate"),
                    entry.get("minimum", 0),
                )
                for entry in _entries(data["commissions"], "commissions", {"effective", "rate_pct", "minimum"})
            ]
        if "taxes" in data:
            taxes = [
                TaxRate(
                    _date(entry, "tax"),
                    str(entry.get("market")),
                    _percent(entry.get("transaction_pct"), "transaction tax rate"),
                    _percent(entry.get("rural_pct", 0), "rural special tax rate"),
                )
                for entry in _entries(data["taxes"], "taxes", {"effective", "market", "transaction_pct", "rural_pct"})
            ]
            # A market the override names gets exactly its rates; the others keep the KRX schedule.
            named = {rate.market for rate in taxes}
            taxes = [rate for rate in KRX_TAX_RATES if rate.market not in named] + taxes
        return cls(commissions, taxes)

    def commission_rate(self, trade_date: dt.date) -> CommissionRate:
        """The commission in force on ``trade_date``."""
        index = bisect_right(self._commission_dates, trade_date) - 1
        if index < 0:
            raise ScheduleError(f"no commission rate in force on {trade_date.isoformat()}")
        return self.commissions[index]

    def tax_rate_on_settlement(self, market: str, settles_on: dt.date) -> TaxRate:
        """The tax on sales of ``market`` shares settling on ``settles_on``."""
        rates = self._taxes_by_market.get(market)
        if not rates:
            raise ScheduleError(f"no tax rate for market {market!r}")
        index = bisect_right([r.effective for r in rates], settles_on) - 1
        if index < 0:
            raise ScheduleError(f"no {market} tax rate for sales settling on {settles_on.isoformat()}")
        return rates[index]

    def tax_rate(self, market: str, trade_date: dt.date) -> TaxRate:
        """The tax on sales of ``market`` shares made on ``trade_date`` (looked up on their T+2 settlement date)."""
        return self.tax_rate_on_settlement(market, settlement_date(trade_date))


def _reject_duplicates(keys: Sequence[str], what: str) -> None:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise ValueError(f"two {what} rates for {key}")
        seen.add(key)


def _entries(value: Any, what: str, allowed: set[str]) -> list[Mapping[str, Any]]:
    if not isinstance(value, list | tuple):
        raise ValueError(f"{what}: expected a list of entries")
    for entry in value:
        if not isinstance(entry, Mapping):
            raise ValueError(f"{what}: every entry must be a mapping, got {entry!r}")
        unknown = sorted(set(entry) - allowed)
        if unknown:
            raise ValueError(f"{what}: unknown keys {', '.join(unknown)}")
    return list(value)


def _date(entry: Mapping[str, Any], what: str) -> dt.date:
    value = entry.get("effective")
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{what}: effective must be an ISO date, got {value!r}")


DEFAULT_SCHEDULE: Final = CostSchedule()


def tax_rate(market: str, trade_date: dt.date, schedule: CostSchedule = DEFAULT_SCHEDULE) -> TaxRate:
    """The tax on a sale of ``market`` shares made on ``trade_date`` (the rate in force on its settlement date)."""
    return schedule.tax_rate(market, trade_date)


def trade_costs(
    side: Side | str,
    market: str,
    amount: int,
    trade_date: dt.date,
    schedule: CostSchedule = DEFAULT_SCHEDULE,
) -> Costs:
    """Commission and tax of trading ``amount`` KRW (price x quantity) of a ``market`` stock on ``trade_date``."""
    side = Side(side)
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise ValueError(f"a traded amount is a non-negative integer of KRW, got {amount!r}")
    commission = schedule.commission_rate(trade_date).commission(amount)
    if side is Side.BUY or amount == 0:
        return Costs(commission=commission)
    rate = schedule.tax_rate(market, trade_date)
    return Costs(
        commission=commission,
        transaction_tax=_floor_share(amount, rate.transaction_pct),
        rural_tax=_floor_share(amount, rate.rural_pct),
    )


def net_cash_change(side: Side | str, amount: int, costs: Costs) -> int:
    """The cash a trade moves: a buy pays ``-(amount + commission)``, a sell receives ``amount - commission - tax``."""
    return -(amount + costs.total) if Side(side) is Side.BUY else amount - costs.total
