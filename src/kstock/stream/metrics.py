"""The stream's figures on ``/metrics``: connections, frames, conflation, slow clients and the broker's health.

Read from the live hubs of this process when Prometheus scrapes (nothing is counted twice on the hot path).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import Final

from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from kstock.stream.hub import Hub

_HUBS: Final[weakref.WeakSet[Hub]] = weakref.WeakSet()


class _StreamCollector:
    def collect(self) -> Iterator[Metric]:
        hubs = [hub for hub in _HUBS if hub.running]
        brokers = [hub.broker for hub in hubs]
        yield GaugeMetricFamily(
            "kstock_ws_connections", "Open /ws/stocks connections", value=sum(len(h.connections) for h in hubs)
        )
        yield GaugeMetricFamily(
            "kstock_ws_channels", "Channels with at least one local subscriber", value=sum(len(h.rooms) for h in hubs)
        )
        yield CounterMetricFamily(
            "kstock_ws_frames", "Update frames offered to connections", value=sum(h.frames_sent for h in hubs)
        )
        yield CounterMetricFamily(
            "kstock_ws_conflated_updates",
            "Updates replaced by a newer one of the same window",
            value=sum(h.frames_conflated for h in hubs),
        )
        yield CounterMetricFamily(
            "kstock_ws_slow_clients_dropped",
            "Connections closed with 1013 for not draining",
            value=sum(h.slow_clients_dropped for h in hubs),
        )
        yield CounterMetricFamily(
            "kstock_ws_credentials_ended",
            "Connections closed with 1008 because their credential ended (expired, revoked, logged out, disabled)",
            value=sum(h.credentials_ended for h in hubs),
        )
        yield CounterMetricFamily(
            "kstock_broker_messages_received",
            "Broker messages delivered",
            value=sum(b.messages_received for b in brokers),
        )
        yield CounterMetricFamily(
            "kstock_broker_reconnects", "Broker outages recovered from", value=sum(b.reconnects for b in brokers)
        )
        yield GaugeMetricFamily(
            "kstock_broker_connected",
            "1 when every broker of this process receives its channels",
            value=float(all(b.connected for b in brokers)),
        )


REGISTRY.register(_StreamCollector())


def track(hub: Hub) -> None:
    """Include ``hub`` in the figures for as long as it lives."""
    _HUBS.add(hub)
