"""Stream tests run the real app behind a real uvicorn server on a loopback port, with real WebSocket clients.

Each module gets its own database holding a small demo market (60 stocks: enough to pass the free tier's 20-code
limit) and accounts of each tier. On the PostgreSQL pass the broker is Redis, as in production.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.stream.helpers import Stream, stream_app
from tests.support.app import module_database
from tests.support.databases import DatabaseFactory, stream_settings


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stream(db_factory: DatabaseFactory, request: pytest.FixtureRequest) -> AsyncIterator[Stream]:
    async with stream_app(await stream_settings(db_factory, module_database(request, "stream_"))) as running_stream:
        yield running_stream
