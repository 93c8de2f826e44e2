"""Which live-P&L watches (portfolios, paper-trading accounts) hold each stock, so a batch of ticks marks exactly
the ones to revalue at the end of the window."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Generic, Protocol, TypeVar


class Watch(Protocol):
    dirty: bool

    @property
    def codes(self) -> set[str]: ...


W = TypeVar("W", bound=Watch)


class CodeIndex(Generic[W]):
    def __init__(self) -> None:
        self._by_code: dict[str, set[W]] = defaultdict(set)

    def add(self, watch: W) -> None:
        for code in watch.codes:
            self._by_code[code].add(watch)

    def remove(self, watch: W) -> None:
        """Take ``watch`` out under the codes it holds now (call before its holdings change)."""
        for code in watch.codes:
            watchers = self._by_code.get(code)
            if watchers is not None:
                watchers.discard(watch)
                if not watchers:
                    del self._by_code[code]

    def prices_moved(self, codes: Iterable[str]) -> None:
        by_code = self._by_code
        for code in codes:
            for watch in by_code.get(code, ()):
                watch.dirty = True
