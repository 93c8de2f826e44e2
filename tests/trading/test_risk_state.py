"""Account states: drawdown zones, automatic transitions by daily loss and drawdown, latching for the day, the
explicit stop, and temporary overrides until they expire."""

from __future__ import annotations

import datetime as dt

import pytest

from kstock.kit.calendar import KST
from kstock.trading.risk import RiskLimits
from kstock.trading.risk_state import (
    AccountState,
    DrawdownZone,
    RiskOverride,
    allows_order,
    daily_loss_pct,
    drawdown_pct,
    drawdown_zone,
    evaluate_state,
    resume,
    start_of_day,
    stop,
)

NOW = dt.datetime(2025, 6, 2, 10, 0, tzinfo=KST)
LIMITS = RiskLimits()  # daily loss 5%, max drawdown 20%: caution from 10%, danger from 16%
PEAK = 100_000_000

ACTIVE, REDUCING, HALTED, STOPPED = (
    AccountState.ACTIVE,
    AccountState.REDUCING,
    AccountState.HALTED,
    AccountState.STOPPED,
)


def evaluate(
    current: AccountState,
    equity: int,
    start_of_day_equity: int = PEAK,
    peak: int = PEAK,
    override: RiskOverride | None = None,
    now: dt.datetime = NOW,
    limits: RiskLimits = LIMITS,
) -> tuple[AccountState, list[str]]:
    return evaluate_state(current, equity, start_of_day_equity, peak, limits, override, now=now)


@pytest.mark.parametrize(
    ("equity", "zone"),
    [
        (PEAK, DrawdownZone.NORMAL),
        (90_000_001, DrawdownZone.NORMAL),
        (90_000_000, DrawdownZone.CAUTION),  # 10% = 50% of the 20% limit
        (84_000_001, DrawdownZone.CAUTION),
        (84_000_000, DrawdownZone.DANGER),  # 16% = 80% of the limit
        (80_000_001, DrawdownZone.DANGER),
        (80_000_000, DrawdownZone.HALT),
        (0, DrawdownZone.HALT),
    ],
)
def test_drawdown_zones(equity: int, zone: DrawdownZone) -> None:
    assert drawdown_zone(equity, PEAK, LIMITS) is zone


def test_drawdown_and_daily_loss_figures() -> None:
    assert drawdown_pct(85_000_000, PEAK) == 15.0
    assert drawdown_pct(110_000_000, PEAK) == 0.0  # above the peak: the peak is the equity
    assert drawdown_pct(0, 0) == 0.0
    assert daily_loss_pct(97_000_000, PEAK) == 3.0
    assert daily_loss_pct(103_000_000, PEAK) == -3.0
    assert daily_loss_pct(1, 0) == 0.0
    assert drawdown_zone(110_000_000, PEAK, LIMITS) is DrawdownZone.NORMAL
    custom = RiskLimits(max_drawdown_pct=10, caution_at_pct=20, danger_at_pct=60)
    assert drawdown_zone(98_000_000, PEAK, custom) is DrawdownZone.CAUTION
    assert drawdown_zone(94_000_000, PEAK, custom) is DrawdownZone.DANGER


def test_small_losses_leave_the_account_active() -> None:
    assert evaluate(ACTIVE, 96_000_000) == (ACTIVE, [])


def test_caution_zone_is_a_warning_only() -> None:
    state, reasons = evaluate(ACTIVE, 108_000_000, start_of_day_equity=108_000_000, peak=120_000_000)
    assert state is ACTIVE
    assert reasons == ["drawdown 10.00% is in the caution zone"]


def test_daily_loss_limit_makes_the_account_reducing() -> None:
    state, reasons = evaluate(ACTIVE, 95_000_000, start_of_day_equity=PEAK, peak=PEAK)
    assert state is REDUCING
    assert reasons == ["daily loss 5.00% reached the 5% limit: only position-reducing orders"]
    assert evaluate(ACTIVE, 95_000_001)[0] is ACTIVE


def test_danger_zone_makes_the_account_reducing() -> None:
    # No loss today, but 16% below the peak.
    state, reasons = evaluate(ACTIVE, 84_000_000, start_of_day_equity=84_000_000)
    assert state is REDUCING
    assert reasons == ["drawdown 16.00% is in the danger zone: only position-reducing orders"]


def test_max_drawdown_halts_the_account() -> None:
    state, reasons = evaluate(REDUCING, 80_000_000, start_of_day_equity=82_000_000)
    assert state is HALTED
    assert reasons == ["drawdown 20.00% reached the 20% maximum: trading halted"]


def test_both_limits_at_once() -> None:
    state, reasons = evaluate(ACTIVE, 79_000_000, start_of_day_equity=90_000_000)
    assert state is HALTED
    assert len(reasons) == 2
    assert reasons[0].startswith("daily loss 12.22%")


def test_automatic_restrictions_hold_for_the_rest_of_the_day() -> None:
    state, _ = evaluate(ACTIVE, 95_000_000)
    assert state is REDUCING
    # Equity recovers in the afternoon: still reducing until the next trading day.
    state, reasons = evaluate(state, 99_000_000)
    assert state is REDUCING
    assert reasons == ["reducing since earlier today: lifted at the start of the next trading day"]
    # The next day starts active and stays so with the recovered figures.
    state = start_of_day(state)
    assert state is ACTIVE
    assert evaluate(state, 99_000_000, start_of_day_equity=99_000_000)[0] is ACTIVE


def test_a_new_day_does_not_lift_what_the_figures_still_call_for() -> None:
    state = start_of_day(HALTED)
    assert state is ACTIVE
    assert evaluate(state, 79_000_000, start_of_day_equity=79_000_000)[0] is HALTED


def test_stopped_is_left_only_explicitly() -> None:
    state = stop()
    assert state is STOPPED
    assert evaluate(state, 120_000_000, peak=120_000_000) == (
        STOPPED,
        ["stopped explicitly: no new orders until resumed"],
    )
    assert start_of_day(state) is STOPPED
    override = RiskOverride(NOW + dt.timedelta(hours=1), "desk review")
    assert evaluate(state, PEAK, override=override)[0] is STOPPED
    assert resume() is ACTIVE
    assert evaluate(resume(), PEAK)[0] is ACTIVE


def test_override_relaxes_automatic_transitions_until_it_expires() -> None:
    override = RiskOverride(NOW + dt.timedelta(hours=2), "rebalancing after a data error")
    state, reasons = evaluate(ACTIVE, 79_000_000, start_of_day_equity=79_000_000, override=override)
    assert state is ACTIVE
    assert reasons[-1] == (
        "override until 2025-06-02T12:00:00+09:00 (rebalancing after a data error): halted relaxed to active"
    )
    # A latched restriction is relaxed too.
    assert evaluate(REDUCING, 99_000_000, override=override)[0] is ACTIVE
    # At the expiry the figures apply again.
    expired_at = NOW + dt.timedelta(hours=2)
    assert not override.is_active(expired_at)
    assert evaluate(state, 79_000_000, start_of_day_equity=79_000_000, override=override, now=expired_at)[0] is HALTED


def test_override_to_a_level() -> None:
    override = RiskOverride(NOW + dt.timedelta(minutes=30), "wind down", level=REDUCING)
    assert evaluate(ACTIVE, 79_000_000, override=override)[0] is REDUCING
    # It only relaxes: an account the figures leave active stays active.
    assert evaluate(ACTIVE, PEAK, override=override) == (ACTIVE, [])


def test_override_validation() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        RiskOverride(dt.datetime(2025, 6, 2, 12, 0), "naive")
    with pytest.raises(ValueError, match="reason"):
        RiskOverride(NOW, "  ")
    with pytest.raises(ValueError, match="stopped"):
        RiskOverride(NOW, "no", level=STOPPED)
    with pytest.raises(ValueError, match="timezone-aware"):
        RiskOverride(NOW, "ok").is_active(dt.datetime(2025, 6, 2, 12, 0))


def test_no_positive_start_of_day_equity_skips_the_daily_check() -> None:
    assert evaluate(ACTIVE, 50, start_of_day_equity=0, peak=50) == (ACTIVE, [])


@pytest.mark.parametrize(
    ("state", "reduces", "allowed"),
    [
        (ACTIVE, False, True),
        (ACTIVE, True, True),
        (REDUCING, False, False),
        (REDUCING, True, True),
        (HALTED, True, False),
        (STOPPED, True, False),
    ],
)
def test_allows_order(state: AccountState, reduces: bool, allowed: bool) -> None:
    assert allows_order(state, reduces_position=reduces) is allowed


def test_states_accept_their_string_values() -> None:
    assert evaluate_state("reducing", PEAK, PEAK, PEAK, LIMITS, now=NOW)[0] is REDUCING  # type: ignore[arg-type]
    assert start_of_day("stopped") is STOPPED  # type: ignore[arg-type]
