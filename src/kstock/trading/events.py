"""Events of an account on its stream channel ``account:{id}``: orders accepted, filled, cancelled or expired,
risk state changes, overrides, start/stop, config and strategy changes, signals. (Live P&L between events is the
stream's own: :mod:`kstock.stream.accounts`.)

Events are collected on the writing session and published once its transaction has committed, so a subscriber
never hears of an order or a fill that was rolled back.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from kstock.broker import Broker, channels

log = structlog.get_logger("kstock.trading.events")

_PENDING = "trading_events"


def emit(session: AsyncSession, account_id: uuid.UUID, event: str, data: dict[str, Any]) -> None:
    """Queue ``event`` for the account's channel; :func:`publish_pending` sends it after the commit."""
    session.info.setdefault(_PENDING, []).append((account_id, {"event": event, **data}))


def take_pending(session: AsyncSession) -> list[tuple[uuid.UUID, dict[str, Any]]]:
    events: list[tuple[uuid.UUID, dict[str, Any]]] = session.info.pop(_PENDING, [])
    return events


async def publish(broker: Broker | None, events: list[tuple[uuid.UUID, dict[str, Any]]]) -> None:
    """Send committed events; a broker outage loses the notification, never the write (it is in the database)."""
    if broker is None or not events:
        return
    try:
        await broker.publish_many([(channels.account(account_id), orjson.dumps(data)) for account_id, data in events])
    except Exception as exc:
        log.warning("trading_events_not_published", error=str(exc), events=len(events))
