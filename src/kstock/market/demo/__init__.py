"""The deterministic demo market: ``generate_demo`` builds it (``generate``) from a universe of companies
(``universe``) and loads it in one transaction."""

from __future__ import annotations

from kstock.market.demo.generate import (
    REFERENCE_DATE,
    DemoDataExistsError,
    DemoSummary,
    database_is_empty,
    generate_demo,
)

__all__ = ["REFERENCE_DATE", "DemoDataExistsError", "DemoSummary", "database_is_empty", "generate_demo"]
