"""A stand-in for a module's structlog logger, to read what the module logged."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog


class LogRecorder:
    """Keeps (level, event, fields) of each line logged through it; with ``context``, the fields also hold the log
    context bound when the line was logged (the request id is bound there).

    Put in place with ``monkeypatch.setattr(module, "log", LogRecorder())``."""

    def __init__(self, *, context: bool = False) -> None:
        self.context = context
        self.records: list[tuple[str, str, dict[str, Any]]] = []

    def __getattr__(self, level: str) -> Callable[..., None]:
        def record(event: str, **fields: Any) -> None:
            if self.context:
                fields = {**structlog.contextvars.get_contextvars(), **fields}
            self.records.append((level, event, fields))

        return record

    def events(self, level: str | None = None) -> list[str]:
        """The events logged, in order (at ``level`` only, if given)."""
        return [event for lvl, event, _ in self.records if level is None or lvl == level]

    def lines(self) -> list[tuple[str, str]]:
        """(level, event) of each line, in order."""
        return [(level, event) for level, event, _ in self.records]
