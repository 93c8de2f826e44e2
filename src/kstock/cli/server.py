"""uvicorn's options for a kstock API process, shared by ``serve`` and its worker processes."""

from __future__ import annotations

from typing import Any

from kstock.config import Settings
from kstock.gateway.protocol import HeaderLimits, protocol_factory
from kstock.stream.wire import StreamProtocol


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """HTTP on uvicorn's httptools protocol writing each response's head with its body
    (:mod:`kstock.gateway.protocol`); WebSockets on uvicorn's sans-I/O protocol, reporting its sockets' flow
    control to the stream (:class:`kstock.stream.wire.StreamProtocol`: the stream writes prepared frames straight
    to the sockets that can take them), with the stream's limits: protocol pings that drop dead peers, the largest
    client message, and permessage-deflate only when enabled (it costs tens of kilobytes per connection). No
    ``server`` header: the software's name and version are nobody's business."""
    return {
        "factory": True,
        "http": protocol_factory(HeaderLimits(settings.max_header_bytes, settings.header_timeout_s)),
        "log_level": settings.log_level.lower(),
        "access_log": False,  # the gateway writes its own (KSTOCK_ACCESS_LOG), without credentials
        "server_header": False,
        "proxy_headers": True,
        "ws": StreamProtocol,
        "ws_max_size": settings.ws_max_message_bytes,
        "ws_ping_interval": settings.ws_ping_interval_s,
        "ws_ping_timeout": settings.ws_ping_timeout_s,
        "ws_per_message_deflate": settings.ws_compression,
    }
