"""The moving-average ledger (이동평균법), as Korean brokers keep it.

- A buy adds its shares and their cost (price x quantity) to the position; the average price is cost / shares.
- A sell removes shares at the average: the cost taken out is cost x sold / held (rounded down to a won; selling
  everything takes out exactly the rest: :func:`kstock.kit.average_cost.taken_out`, the paper-trading account's
  rule too), and its realized gain is price x sold - fees - that cost.
- Fees are kept apart from the average price (the broker's 평균단가 shows none): a sell's fees reduce its
  realized gain, a buy's are counted in ``fees`` and never taken out by a sell (a paper-trading account, unlike
  this ledger, also takes the sold shares' part of their buy commission out of the sell's realized P&L).
- Selling more than is held at that point of the ledger is refused.

Entries are replayed in trade-date order, then in the order they were entered, so a back-dated entry lands
where it belongs and every later sell is checked again.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from kstock.kit.average_cost import taken_out


@dataclass(frozen=True, slots=True)
class Entry:
    id: uuid.UUID
    sequence: int
    side: str  # "buy" | "sell"
    quantity: int
    price: int
    fees: int
    trade_date: dt.date


@dataclass(slots=True)
class Position:
    quantity: int = 0
    cost_basis: int = 0
    realized_gain: int = 0
    fees: int = 0
    first_trade_date: dt.date | None = None
    realized_by_entry: dict[uuid.UUID, int] = field(default_factory=dict)


class OversellError(ValueError):
    def __init__(self, entry: Entry, held: int) -> None:
        self.entry = entry
        self.held = held
        super().__init__(f"selling {entry.quantity} on {entry.trade_date} with {held} held")


def replay(entries: Iterable[Entry]) -> Position:
    """The position after ``entries`` (any order), with each sell's realized gain; OversellError otherwise."""
    position = Position()
    for entry in sorted(entries, key=lambda e: (e.trade_date, e.sequence)):
        if position.first_trade_date is None:
            position.first_trade_date = entry.trade_date
        position.fees += entry.fees
        if entry.side == "buy":
            position.quantity += entry.quantity
            position.cost_basis += entry.price * entry.quantity
            continue
        if entry.quantity > position.quantity:
            raise OversellError(entry, position.quantity)
        cost_out = taken_out(position.cost_basis, entry.quantity, position.quantity)
        gain = entry.price * entry.quantity - entry.fees - cost_out
        position.quantity -= entry.quantity
        position.cost_basis -= cost_out
        position.realized_gain += gain
        position.realized_by_entry[entry.id] = gain
    return position
