"""The moving-average cost: one rule for the portfolio ledger and the paper-trading account."""

from __future__ import annotations

import pytest

from kstock.kit.average_cost import taken_out


def test_a_sell_takes_out_its_part_rounded_down() -> None:
    # The portfolio guide's worked example: 15 shares costing 765,000, 6 sold.
    assert taken_out(765_000, 6, 15) == 306_000
    assert taken_out(100, 1, 3) == 33  # the won left over stays with the shares still held


def test_selling_everything_takes_out_exactly_the_rest() -> None:
    pooled, held = 1_000_001, 7
    for sold in (3, 2, 2):
        out = taken_out(pooled, sold, held)
        pooled, held = pooled - out, held - sold
    assert (pooled, held) == (0, 0)


def test_selling_more_than_is_held_is_refused() -> None:
    with pytest.raises(ValueError, match="selling 4 with 3 held"):
        taken_out(300, 4, 3)


def test_the_ledger_and_the_paper_account_share_the_rule() -> None:
    from kstock.portfolio import ledger
    from kstock.trading import fills

    assert vars(ledger)["taken_out"] is taken_out
    assert vars(fills)["taken_out"] is taken_out
