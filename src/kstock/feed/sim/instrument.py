"""What goes into the simulated market: the listed stocks it trades, each with its last close."""

from __future__ import annotations

from dataclasses import dataclass

from kstock.kit.krx import Market

__all__ = ["Instrument"]


@dataclass(frozen=True, slots=True)
class Instrument:
    """What the simulator needs to know about one listed stock."""

    code: str
    market: str  # "KOSPI" | "KOSDAQ" | "KONEX"
    previous_close: int  # KRW, the base price of the first simulated day
    shares_outstanding: int | None = None  # weights activity: large caps trade more

    def __post_init__(self) -> None:
        if self.market not in tuple(Market):
            raise ValueError(f"{self.code}: unknown market {self.market!r}")
        if self.previous_close <= 0:
            raise ValueError(f"{self.code}: previous close must be positive")
        if self.shares_outstanding is not None and self.shares_outstanding <= 0:
            raise ValueError(f"{self.code}: shares outstanding must be positive")
