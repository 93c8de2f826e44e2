"""The moving-average cost (이동평균법) of a holding, as Korean brokers keep it: one rule for the portfolio ledger
and the paper-trading account.

A buy adds its shares and its amount to the pool. A sell takes out of each pooled amount (the cost; the paper
account also pools the buy commission of the shares held) the sold shares' part: amount x sold / held, rounded
down to a won; selling everything takes out exactly the rest, so nothing is ever left behind on an empty holding.
Which fees a realized gain subtracts is each caller's own (see docs/api/portfolios.md and docs/api/trading.md).
"""

from __future__ import annotations


def taken_out(pooled: int, sold: int, held: int) -> int:
    """The part of ``pooled`` (KRW) that selling ``sold`` of ``held`` shares takes out."""
    if sold > held:
        raise ValueError(f"selling {sold} with {held} held")
    return pooled if sold == held else pooled * sold // held
