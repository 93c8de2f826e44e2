"""The dependency of every ``/v1`` route: who is calling, whether the request fits their limits, and whether
their credential holds the scope the route needs (the table in :mod:`kstock.identity.scopes`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.routing import APIRoute
from starlette.types import Scope as AsgiScope

from kstock.gateway.metrics import UNMATCHED_ROUTE, route_template
from kstock.gateway.ratelimit import enforce_rate_limit
from kstock.identity.dependencies import get_principal, require_scope_of
from kstock.identity.principal import Principal, Scope
from kstock.identity.scopes import required_scope

_UNKNOWN: Final = object()
# The required scope by (endpoint, method), for every route mounted with :func:`register_routes`.
_REQUIRED: dict[tuple[Callable[..., Any], str], Scope | None] = {}


def register_routes(prefix: str, router: APIRouter) -> None:
    """Work out once the scope of each of ``router``'s routes, as mounted under ``prefix`` (``api.mount_v1``)."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        for method in route.methods or ():
            needed = required_scope(method, prefix + route.path)
            key = (route.endpoint, method)
            if _REQUIRED.get(key, needed) != needed:
                raise ValueError(f"{route.endpoint.__name__} is mounted twice with different scopes")
            _REQUIRED[key] = needed


def route_scope(scope: AsgiScope) -> Scope | None:
    """The scope the request's matched route needs (None: none, or no route matched)."""
    endpoint = getattr(scope.get("route"), "endpoint", None)
    if endpoint is None:
        return None
    needed = _REQUIRED.get((endpoint, scope["method"]), _UNKNOWN)
    if needed is _UNKNOWN:  # a route mounted some other way: from its template, every time
        template = route_template(scope)
        return None if template == UNMATCHED_ROUTE else required_scope(scope["method"], template)
    return needed  # type: ignore[return-value]


def check_route_scope(scope: AsgiScope, principal: Principal | None) -> None:
    """403 when ``principal`` lacks the route's scope: ``INSUFFICIENT_SCOPE`` (``FORBIDDEN`` for a non-admin on
    an admin route). Anonymous callers pass: the routes that need a caller answer 401 themselves."""
    if principal is None:
        return
    needed = route_scope(scope)
    if needed is not None:
        require_scope_of(principal, needed)


async def enforce_access(request: Request) -> None:
    """Count the request (:func:`enforce_rate_limit`; a refused request is counted too), then check the route's
    scope. The caller is resolved once for both."""
    await enforce_rate_limit(request)
    check_route_scope(request.scope, await get_principal(request))
