"""Which scope each ``/v1`` route needs: one table, read by the ``/v1`` dependency for every request.

The rule for a route is looked up by its method and its path template (``/v1/portfolios/{portfolio_id}``):

1. :data:`ROUTE_SCOPES` names the exceptions: the sign-in routes need no scope (they are how a caller gets a
   credential), and the two POSTs that only query (a screen in a body) need ``read``.
2. :data:`AREA_SCOPES` gives a whole area its scopes by path prefix: everything under ``/v1/admin`` needs
   ``admin``; ``/v1/trading`` reads need ``read`` and its writes ``trade``.
3. Otherwise GET, HEAD and OPTIONS need ``read``, and every other method ``write``.

So a new state-changing route is never open to a read-only key unless the table says so. The gateway works out
each route's answer when the routers are mounted (:mod:`kstock.gateway.access`); a request costs one dictionary
look-up. :func:`required_scope` is also what the API document can show for each operation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from kstock.identity.principal import Scope

SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Area:
    """Routes under ``prefix``: ``reads`` for the safe methods, ``writes`` for the others."""

    prefix: str
    reads: Scope
    writes: Scope

    def holds(self, path: str) -> bool:
        return path == self.prefix or path.startswith(self.prefix + "/")


# (method, path template) -> the scope it needs; None: no scope (the route is how a caller gets a credential).
ROUTE_SCOPES: Final[Mapping[tuple[str, str], Scope | None]] = MappingProxyType(
    {
        ("POST", "/v1/auth/register"): None,
        ("POST", "/v1/auth/login"): None,
        ("POST", "/v1/auth/refresh"): None,
        # Ends the caller's own session; it takes an access token only (API keys get 403 there).
        ("POST", "/v1/auth/logout"): None,
        # Queries with a body: they change nothing.
        ("POST", "/v1/screen"): Scope.READ,
        ("POST", "/v1/screens/{screen_id}/run"): Scope.READ,
    }
)

AREA_SCOPES: Final = (
    Area("/v1/admin", reads=Scope.ADMIN, writes=Scope.ADMIN),
    Area("/v1/trading", reads=Scope.READ, writes=Scope.TRADE),
)


def required_scope(method: str, path: str) -> Scope | None:
    """The scope a request of ``method`` on the route ``path`` (its template) needs; None for none."""
    method = method.upper()
    key = (method, path)
    if key in ROUTE_SCOPES:
        return ROUTE_SCOPES[key]
    safe = method in SAFE_METHODS
    for area in AREA_SCOPES:
        if area.holds(path):
            return area.reads if safe else area.writes
    return Scope.READ if safe else Scope.WRITE
