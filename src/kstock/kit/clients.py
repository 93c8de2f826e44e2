"""The client of a request, as the server saw it."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any


def client_ip(scope: MutableMapping[str, Any]) -> str | None:
    """The peer address as the server saw it (``kstock serve`` trusts ``X-Forwarded-For`` from
    ``FORWARDED_ALLOW_IPS`` only, uvicorn's proxy-headers rule)."""
    client = scope.get("client")
    return str(client[0])[:45] if client else None
