"""The built-in strategies on hand-built price series: crossovers, RSI levels, parameters, odd data, isolation."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from kstock.market.indicators import _wilder_rsi
from kstock.sources import DailyBar, MinuteBar
from kstock.trading.strategies import (
    MA_CROSS,
    RSI_REVERSION,
    STRATEGIES,
    MovingAverageCross,
    MovingAverageCrossParams,
    RsiReversion,
    RsiReversionParams,
    Signal,
    Strategy,
    StrategyError,
    WilderRsi,
    create_strategy,
)
from kstock.trading.strategies.base import Moment

A = "005930"
B = "000660"
KST = dt.timezone(dt.timedelta(hours=9))
DAY_ONE = dt.date(2025, 3, 3)


def day(i: int) -> dt.date:
    """The i-th bar's date (1-based)."""
    return DAY_ONE + dt.timedelta(days=i - 1)


def bar(code: str, i: int, close: int) -> DailyBar:
    return DailyBar(code, day(i), close, close, close, close, 1_000, close * 1_000)


def minute(code: str, i: int, close: int) -> MinuteBar:
    start = dt.datetime(2025, 3, 3, 9, 0, tzinfo=KST) + dt.timedelta(minutes=i - 1)
    return MinuteBar(code, start, close, close, close, close, 100, close * 100)


def feed(strategy: Strategy[Any, Any], code: str, closes: Sequence[int]) -> list[tuple[int, Signal]]:
    """(1-based bar number, signal) for every signal of ``closes`` fed as daily bars of ``code``."""
    out: list[tuple[int, Signal]] = []
    for i, close in enumerate(closes, start=1):
        out.extend((i, signal) for signal in strategy.on_bar(code, bar(code, i, close)))
    return out


def sides(signals: list[tuple[int, Signal]]) -> list[tuple[int, str]]:
    return [(i, signal.side) for i, signal in signals]


def ma(fast: int, slow: int, codes: Sequence[str] = (A,)) -> MovingAverageCross:
    return MovingAverageCross(MovingAverageCrossParams(fast=fast, slow=slow), codes)


def rsi_strategy(period: int, oversold: float, overbought: float, codes: Sequence[str] = (A,)) -> RsiReversion:
    return RsiReversion(RsiReversionParams(period=period, oversold=oversold, overbought=overbought), codes)


# --- moving-average crossover -----------------------------------------------------------------------------------

# fast = 2, slow = 3. SMA2 / SMA3 by bar:
#  3: 10,005 / 10,010      below (the first side: no signal)
#  4: 10,000 / 10,003.33   below
#  5: 10,005 / 10,003.33   above: buy
#  6: 10,015 / 10,010      above
#  7: 10,025 / 10,020      above
#  8: 10,025 / 10,023.33   above
#  9: 10,015 / 10,020      below: sell
# 10: 10,005 / 10,010      below
CROSSING = [10_020, 10_010, 10_000, 10_000, 10_010, 10_020, 10_030, 10_020, 10_010, 10_000]


def test_ma_cross_once_each_way() -> None:
    signals = feed(ma(2, 3), A, CROSSING)
    assert sides(signals) == [(5, "buy"), (9, "sell")]
    buy, sell = signals[0][1], signals[1][1]
    assert (buy.code, buy.bar_time, buy.price_hint) == (A, day(5), 10_010)
    assert (sell.code, sell.bar_time, sell.price_hint) == (A, day(9), 10_010)
    # Gap / SMA3 / 1%: (10,005 - 10,003.33) / 10,003.33 = 10 / (2 x 30,010) = 1 / 6,002, so 100 / 6,002.
    assert buy.strength == pytest.approx(100 / 6_002)
    # (10,020 - 10,015) / 10,020 = 30 / (2 x 30,060) = 1 / 2,004, so 100 / 2,004.
    assert sell.strength == pytest.approx(100 / 2_004)
    assert buy.reason == "SMA2 10,005.00 crossed above SMA3 10,003.33"
    assert sell.reason == "SMA2 10,015.00 crossed below SMA3 10,020.00"


def test_ma_cross_flat_series_has_no_signal() -> None:
    assert feed(ma(5, 20), A, [50_000] * 100) == []


def test_ma_cross_nothing_before_both_averages() -> None:
    # fast = 1, slow = 2: SMA1 - SMA2 = (close - previous close) / 2, so the side is the direction of the last move.
    strategy = ma(1, 2)
    assert strategy.warmup_bars == 3
    assert sides(feed(strategy, A, [100, 90, 100])) == [(3, "buy")]  # bar 2 sets the side, bar 3 crosses
    strategy.reset()
    assert feed(strategy, A, [100, 110]) == []


def test_ma_cross_one_signal_per_cross_through_equal_averages() -> None:
    # below, equal, above: one buy; below, equal, below: nothing.
    assert sides(feed(ma(1, 2), A, [100, 90, 90, 100])) == [(4, "buy")]
    assert feed(ma(1, 2, [B]), B, [100, 90, 90, 80]) == []
    assert sides(feed(ma(1, 2, [A]), A, [100, 90, 100, 90, 100])) == [(3, "buy"), (4, "sell"), (5, "buy")]


def test_ma_cross_defaults_on_a_v_shaped_series() -> None:
    strategy = MA_CROSS.build({}, [A])
    assert strategy.params == MovingAverageCrossParams(fast=5, slow=20)
    # 30 bars down by 100, then 30 up by 100, then 30 down by 100.
    closes = [60_000 - 100 * i for i in range(30)]
    closes += [closes[-1] + 100 * i for i in range(1, 31)]
    closes += [closes[-1] - 100 * i for i in range(1, 31)]
    signals = feed(strategy, A, closes)
    assert [side for _, side in sides(signals)] == ["buy", "sell"]
    (buy_at, _), (sell_at, _) = sides(signals)
    # Check the crossing bars against averages recomputed from scratch.
    for i in (buy_at, sell_at):
        window = closes[:i]
        now = np.mean(window[-5:]) - np.mean(window[-20:])
        before = np.mean(window[-6:-1]) - np.mean(window[-21:-1])
        assert np.sign(now) == -np.sign(before) != 0
    assert 30 < buy_at < 60 < sell_at


def test_ma_cross_equal_averages_have_no_side() -> None:
    # fast 1, slow 3. Bar 3: SMA1 1 < SMA3 2 (below); bar 4: 2 > 5/3 (above): buy; bar 5: 2 > 5/3;
    # from bar 6 on all closes are 2: the averages are equal (compared in integers), no side, no signal.
    assert sides(feed(ma(1, 3), A, [3, 2, 1, 2, 2, 2, 2, 2])) == [(4, "buy")]


# --- Wilder's RSI -----------------------------------------------------------------------------------------------


def test_wilder_rsi_by_hand() -> None:
    # period 3; changes +2, -1, +3, -1, -3, +1.
    rsi = WilderRsi(3)
    values = [rsi.update(close) for close in (100, 102, 101, 104, 103, 100, 101)]
    assert values[:3] == [None, None, None]
    assert values[3:] == pytest.approx(
        [
            # seed: avg_gain = (2 + 0 + 3) / 3 = 5/3, avg_loss = 1/3: 100 x (5/3) / 2 = 83.33
            100 * 5 / 6,
            # -1: avg_gain = (5/3 x 2) / 3 = 10/9, avg_loss = (1/3 x 2 + 1) / 3 = 5/9: 66.67
            100 * 10 / 15,
            # -3: avg_gain = 20/27, avg_loss = (5/9 x 2 + 3) / 3 = 37/27: 100 x 20/57 = 35.09
            100 * 20 / 57,
            # +1: avg_gain = (20/27 x 2 + 1) / 3 = 67/81, avg_loss = 74/81: 100 x 67/141 = 47.52
            100 * 67 / 141,
        ]
    )
    assert rsi.value == pytest.approx(100 * 67 / 141)


def test_wilder_rsi_gains_only_and_flat() -> None:
    rising = WilderRsi(3)
    assert [rising.update(c) for c in (10, 11, 12, 13)][-1] == 100.0
    flat = WilderRsi(3)
    assert [flat.update(c) for c in (10, 10, 10, 10, 10)] == [None] * 5


def test_wilder_rsi_matches_the_indicator_example() -> None:
    # The rsi_14 example of the indicators: 7 x +20 and 7 x -10, then +34: 71.6157.
    closes = [5_000]
    for i in range(14):
        closes.append(closes[-1] + (20 if i % 2 == 0 else -10))
    closes.append(closes[-1] + 34)
    rsi = WilderRsi(14)
    values = [rsi.update(close) for close in closes]
    assert values[-1] == pytest.approx(100 * 164 / (164 + 65))


def test_wilder_rsi_matches_the_market_indicator() -> None:
    generator = random.Random(20250303)
    closes = [50_000]
    for _ in range(80):
        closes.append(max(1, closes[-1] + generator.choice([-300, -150, -50, 0, 50, 100, 200, 350])))
    rsi = WilderRsi(14)
    values = [rsi.update(close) for close in closes]
    # The indicator gives the latest RSI (to 2 decimals) of each right-aligned row; one row per prefix, padded.
    width = len(closes)
    matrix = np.full((width, width), np.nan)
    for length in range(1, width + 1):
        matrix[length - 1, width - length :] = closes[:length]
    expected = _wilder_rsi(matrix, np.arange(1, width + 1))
    for length in range(1, width + 1):
        mine, theirs = values[length - 1], float(expected[length - 1])
        if np.isnan(theirs):
            assert mine is None, length
        else:
            assert mine == pytest.approx(theirs, abs=0.005), length
    assert sum(value is not None for value in values) == width - 14


def test_wilder_rsi_refuses_a_zero_period() -> None:
    with pytest.raises(ValueError, match="period"):
        WilderRsi(0)


# --- RSI mean reversion -----------------------------------------------------------------------------------------


def test_rsi_reversion_on_the_hand_series() -> None:
    # period 3, oversold 40, overbought 70: RSI 83.33 (above 70), 66.67 (sell), 35.09 (below 40), 47.52 (buy).
    strategy = rsi_strategy(3, 40, 70)
    assert strategy.warmup_bars == 5
    signals = feed(strategy, A, [100, 102, 101, 104, 103, 100, 101])
    assert sides(signals) == [(5, "sell"), (7, "buy")]
    sell, buy = signals[0][1], signals[1][1]
    assert (sell.price_hint, sell.bar_time, buy.price_hint, buy.bar_time) == (103, day(5), 101, day(7))
    assert sell.strength == pytest.approx((250 / 3 - 70) / 30)  # highest 83.33: 4/9
    assert buy.strength == pytest.approx((40 - 2000 / 57) / 40)  # lowest 35.09: 7/57
    assert sell.reason == "RSI3 crossed down through 70 (83.33 -> 66.67)"
    assert buy.reason == "RSI3 crossed up through 40 (35.09 -> 47.52)"


def test_rsi_reversion_flat_series_has_no_signal() -> None:
    assert feed(RSI_REVERSION.build(None, [A]), A, [70_000] * 60) == []


def test_rsi_reversion_touching_a_level_is_not_crossing_it() -> None:
    # period 2, oversold 50: 100, 98, 96 -> RSI 0; 98 -> avg_gain 1, avg_loss 1: exactly 50 (no side);
    # 100 -> avg_gain 1.5, avg_loss 0.5: 75, the cross; one buy.
    assert sides(feed(rsi_strategy(2, 50, 90), A, [100, 98, 96, 98, 100])) == [(5, "buy")]
    # ... and from exactly 50 back down (avg_gain 0.5, avg_loss 1: 33.33): nothing.
    assert feed(rsi_strategy(2, 50, 90), A, [100, 98, 96, 98, 97]) == []


def test_rsi_reversion_first_rsi_gives_no_signal_but_sets_the_zone() -> None:
    # period 2: the first RSI (bar 3) is 0, below 30; bar 4 climbs out: a buy.
    strategy = rsi_strategy(2, 30, 70)
    assert feed(strategy, A, [100, 98, 96]) == []
    assert [s.side for s in strategy.on_bar(A, bar(A, 4, 99))] == ["buy"]


def test_rsi_reversion_defaults_against_the_indicator() -> None:
    strategy = RSI_REVERSION.build({}, [A])
    assert strategy.params == RsiReversionParams(period=14, oversold=30.0, overbought=70.0)
    # 20 bars falling by 300, then 20 rising by 400, then 20 falling by 300.
    closes = [60_000 - 300 * i for i in range(21)]
    closes += [closes[-1] + 400 * i for i in range(1, 21)]
    closes += [closes[-1] - 300 * i for i in range(1, 21)]
    signals = feed(strategy, A, closes)
    assert [side for _, side in sides(signals)] == ["buy", "sell"]
    for i, signal in signals:
        level = 30 if signal.side == "buy" else 70
        now = _wilder_rsi(np.array([closes[:i]], dtype=float), np.array([i]))[0]
        before = _wilder_rsi(np.array([closes[: i - 1]], dtype=float), np.array([i - 1]))[0]
        if signal.side == "buy":
            assert before < level < now
        else:
            assert before > level > now


# --- parameters and the registry --------------------------------------------------------------------------------


def test_registry() -> None:
    assert set(STRATEGIES) == {"ma_cross", "rsi_reversion"}
    for name, spec in STRATEGIES.items():
        assert spec.name == name
        assert spec.description
        schema = spec.parameter_schema()
        assert schema["additionalProperties"] is False
        assert all(field.get("description") for field in schema["properties"].values())
    ma_schema = STRATEGIES["ma_cross"].parameter_schema()["properties"]
    assert (ma_schema["fast"]["default"], ma_schema["fast"]["minimum"], ma_schema["fast"]["maximum"]) == (5, 1, 500)
    assert ma_schema["slow"]["default"] == 20
    rsi_schema = STRATEGIES["rsi_reversion"].parameter_schema()["properties"]
    assert (rsi_schema["period"]["default"], rsi_schema["oversold"]["default"]) == (14, 30.0)
    assert (rsi_schema["overbought"]["exclusiveMinimum"], rsi_schema["overbought"]["exclusiveMaximum"]) == (0, 100)


def test_create_strategy() -> None:
    strategy = create_strategy("ma_cross", {"fast": 3, "slow": 8}, [A, B, A])
    assert isinstance(strategy, MovingAverageCross)
    assert strategy.codes == (A, B)
    assert strategy.params == MovingAverageCrossParams(fast=3, slow=8)
    assert isinstance(create_strategy("rsi_reversion", {"oversold": 25}, [A]), RsiReversion)
    with pytest.raises(KeyError, match="unknown strategy 'macd'; known: ma_cross, rsi_reversion"):
        create_strategy("macd", {}, [A])
    with pytest.raises(ValueError, match="at least one stock code"):
        create_strategy("ma_cross", {}, [])
    with pytest.raises(ValueError, match="non-empty strings"):
        create_strategy("ma_cross", {}, [""])


def _messages(error: ValidationError) -> list[tuple[tuple[Any, ...], str]]:
    return [(tuple(item["loc"]), item["msg"]) for item in error.errors()]


@pytest.mark.parametrize(
    ("raw", "loc", "message"),
    [
        ({"fast": 20, "slow": 5}, (), "Value error, fast (20) must be less than slow (5)"),
        ({"fast": 10, "slow": 10}, (), "Value error, fast (10) must be less than slow (10)"),
        ({"fast": 25}, (), "Value error, fast (25) must be less than slow (20)"),
        ({"fast": 0}, ("fast",), "Input should be greater than or equal to 1"),
        ({"slow": 501}, ("slow",), "Input should be less than or equal to 500"),
        ({"fast": "5"}, ("fast",), "Input should be a valid integer"),
        ({"fast": 5.0}, ("fast",), "Input should be a valid integer"),
        ({"fast": True}, ("fast",), "Input should be a valid integer"),
        ({"fastt": 5}, ("fastt",), "Extra inputs are not permitted"),
    ],
)
def test_ma_cross_parameter_errors(raw: dict[str, Any], loc: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        MA_CROSS.parse_parameters(raw)
    assert _messages(caught.value) == [(loc, message)]


@pytest.mark.parametrize(
    ("raw", "loc", "message"),
    [
        ({"oversold": 70}, (), "Value error, oversold (70) must be less than overbought (70)"),
        ({"oversold": 80, "overbought": 20}, (), "Value error, oversold (80) must be less than overbought (20)"),
        ({"oversold": 0}, ("oversold",), "Input should be greater than 0"),
        ({"overbought": 100}, ("overbought",), "Input should be less than 100"),
        ({"oversold": float("nan")}, ("oversold",), "Input should be a finite number"),
        ({"oversold": "30"}, ("oversold",), "Input should be a valid number"),
        ({"period": 1}, ("period",), "Input should be greater than or equal to 2"),
        ({"period": 501}, ("period",), "Input should be less than or equal to 500"),
        ({"window": 14}, ("window",), "Extra inputs are not permitted"),
    ],
)
def test_rsi_reversion_parameter_errors(raw: dict[str, Any], loc: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        RSI_REVERSION.parse_parameters(raw)
    assert _messages(caught.value) == [(loc, message)]


def test_parameters_accept_their_bounds() -> None:
    assert MA_CROSS.parse_parameters({"fast": 1, "slow": 500}) == MovingAverageCrossParams(fast=1, slow=500)
    rsi = RSI_REVERSION.parse_parameters({"period": 2, "oversold": 0.5, "overbought": 99.5})
    assert (rsi.period, rsi.oversold, rsi.overbought) == (2, 0.5, 99.5)
    assert isinstance(RSI_REVERSION.parse_parameters({"oversold": 25}).oversold, float)


def test_parameters_are_immutable() -> None:
    params = MA_CROSS.parse_parameters({})
    with pytest.raises(ValidationError):
        params.fast = 2  # type: ignore[misc]


# --- state per stock --------------------------------------------------------------------------------------------


def test_state_isolated_between_stocks() -> None:
    alone_a = feed(ma(2, 3), A, CROSSING)
    other = [10_000, 10_010, 10_020, 10_030, 10_020, 10_010, 10_000, 10_000, 10_010, 10_020]
    alone_b = feed(ma(2, 3, [B]), B, other)
    assert alone_a
    assert alone_b

    both = ma(2, 3, [A, B])
    interleaved: list[tuple[int, Signal]] = []
    for i, (close_a, close_b) in enumerate(zip(CROSSING, other, strict=True), start=1):
        interleaved.extend((i, s) for s in both.on_bar(A, bar(A, i, close_a)))
        interleaved.extend((i, s) for s in both.on_bar(B, bar(B, i, close_b)))
    assert [(i, s) for i, s in interleaved if s.code == A] == alone_a
    assert [(i, s) for i, s in interleaved if s.code == B] == alone_b


def test_rsi_state_isolated_between_stocks() -> None:
    series = [100, 102, 101, 104, 103, 100, 101]
    alone = feed(rsi_strategy(3, 40, 70), A, series)
    both = rsi_strategy(3, 40, 70, [A, B])
    for i in range(1, len(series) + 1):
        both.on_bar(B, bar(B, i, 200 + i))  # B only rises
    assert feed(both, A, series) == alone


def test_reset_one_stock() -> None:
    strategy = ma(1, 2, [A, B])
    feed(strategy, A, [100, 90])
    feed(strategy, B, [100, 90])
    strategy.reset(A)
    # A starts over: its next bar is its first; B carries on and crosses.
    assert strategy.on_bar(A, bar(A, 1, 100)) == []
    assert [s.side for s in strategy.on_bar(B, bar(B, 3, 100))] == ["buy"]


# --- odd data ---------------------------------------------------------------------------------------------------

_FRACTIONAL: Any = 100.5  # not a KRW price


@pytest.mark.parametrize("spec_name", sorted(STRATEGIES))
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: DailyBar(A, day(1), 100, 100, 100, 0, 1, 0), "close 0 is not a positive price"),
        (lambda: DailyBar(A, day(1), 100, 100, -5, 100, 1, 0), "low -5 is not a positive price"),
        (lambda: DailyBar(A, day(1), 100, 100, 100, _FRACTIONAL, 1, 0), "close 100.5 is not a positive price"),
        (lambda: DailyBar(A, day(1), 100, 100, 100, True, 1, 0), "close True is not a positive price"),
        (lambda: bar(B, 1, 100), "bar of '000660' fed as '005930'"),
        (lambda: {"close": 100}, "expected a minute or daily bar, got dict"),
    ],
)
def test_odd_bars_raise_strategy_error(spec_name: str, make: Any, message: str) -> None:
    strategy = STRATEGIES[spec_name].build({}, [A])
    with pytest.raises(StrategyError, match=message):
        strategy.on_bar(A, make())


@pytest.mark.parametrize("spec_name", sorted(STRATEGIES))
def test_bars_out_of_order_raise_strategy_error(spec_name: str) -> None:
    strategy = STRATEGIES[spec_name].build({}, [A])
    strategy.on_bar(A, bar(A, 2, 100))
    with pytest.raises(StrategyError, match="is not after the previous one"):
        strategy.on_bar(A, bar(A, 2, 101))  # the same bar again
    with pytest.raises(StrategyError, match="is not after the previous one"):
        strategy.on_bar(A, bar(A, 1, 101))
    with pytest.raises(StrategyError, match="minute and daily bars mixed"):
        strategy.on_bar(A, minute(A, 1, 101))
    assert strategy.on_bar(A, bar(A, 3, 101)) == []  # a refused bar changed nothing


def test_bars_of_unconfigured_stocks_are_ignored() -> None:
    strategy = ma(1, 2, [A])
    assert strategy.on_bar(B, bar(B, 1, 0)) == []  # not even checked


def test_minute_bars() -> None:
    strategy = ma(1, 2)
    signals = [s for i, close in enumerate([100, 90, 100], start=1) for s in strategy.on_bar(A, minute(A, i, close))]
    assert len(signals) == 1
    assert signals[0].bar_time == dt.datetime(2025, 3, 3, 9, 2, tzinfo=KST)
    with pytest.raises(StrategyError, match="is not after"):
        strategy.on_bar(A, minute(A, 3, 100))


class _Broken(MovingAverageCross):
    name = "broken"

    def _on_close(self, code: str, state: Any, close: int, when: Moment) -> list[Signal]:
        return [Signal(code, "buy", "", close / 0, when, close)]


def test_unexpected_failures_come_out_as_strategy_error() -> None:
    strategy = _Broken(MovingAverageCrossParams(), [A])
    with pytest.raises(StrategyError, match="broken: 005930 at 2025-03-03: division by zero") as caught:
        strategy.on_bar(A, bar(A, 1, 100))
    assert isinstance(caught.value.__cause__, ZeroDivisionError)
