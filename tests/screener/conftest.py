"""A running app over the demo market (read-only) for the screener's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from kstock.config import Settings
from tests.support.app import Live, running, seeded
from tests.support.databases import DatabaseFactory


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def demo_live(demo_settings: Settings) -> AsyncIterator[Live]:
    async with running(demo_settings.model_copy(update={"snapshot_refresh_s": 0})) as live:
        yield live


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def saved_live(db_factory: DatabaseFactory, request: pytest.FixtureRequest) -> AsyncIterator[Live]:
    """An app over its own database (the hand-made market) that tests may write to."""
    async with seeded(db_factory, request, "screener_") as live:
        yield live
