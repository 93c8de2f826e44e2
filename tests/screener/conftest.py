"""A running app over the demo market (read-only) for the screener's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from kstock.config import Settings
from tests.conftest import DatabaseFactory
from tests.identity.conftest import Live, running
from tests.seed import seed_market


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def demo_live(demo_settings: Settings) -> AsyncIterator[Live]:
    async with running(demo_settings.model_copy(update={"snapshot_refresh_s": 0})) as live:
        yield live


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def saved_live(db_factory: DatabaseFactory, request: pytest.FixtureRequest) -> AsyncIterator[Live]:
    """An app over its own database (the hand-made market) that tests may write to."""
    name = "screener_" + request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    settings = await db_factory.settings(name, snapshot_refresh_s=0)
    await seed_market(settings)
    async with running(settings) as live:
        yield live
