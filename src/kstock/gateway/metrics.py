"""Prometheus metrics: request counts and latency by route template, rate-limit decisions, Redis fallbacks,
audit write failures, and the ``/metrics`` endpoint that exposes them.

The metrics live in the process's default registry, so every app built in one process (tests build many) adds to
the same series. With several worker processes (``kstock serve --workers N``) set ``PROMETHEUS_MULTIPROC_DIR`` to an
empty directory before the server starts: ``/metrics`` then aggregates every worker's files (prometheus_client's
multiprocess mode); without it each worker reports only its own requests.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Awaitable, Callable
from typing import Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import Scope

from kstock.errors import UnauthorizedError

UNMATCHED_ROUTE: Final = "<unmatched>"

HTTP_REQUESTS: Final = Counter(
    "kstock_http_requests_total",
    "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"],
)
HTTP_LATENCY: Final = Histogram(
    "kstock_http_request_duration_seconds",
    "Time from the request's arrival to the end of its response, by method, route template and status",
    ["method", "route", "status"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
RATE_LIMIT_DECISIONS: Final = Counter(
    "kstock_rate_limit_decisions_total",
    "Rate-limit and throttle decisions, by policy (tier, anonymous, data, trade, login_account, login_ip, "
    "registration) and decision (allowed, limited)",
    ["policy", "decision"],
)
REDIS_FALLBACKS: Final = Counter(
    "kstock_redis_fallbacks_total",
    "Decisions taken on in-process counters because Redis did not answer, by component",
    ["component"],
)
AUDIT_WRITE_FAILURES: Final = Counter(
    "kstock_audit_write_failures_total",
    "Audit events that could not be written",
)


def route_template(scope: Scope) -> str:
    """The matched route's full path template (``/v1/stocks/{code}``), or ``<unmatched>``.

    The route in the scope knows only its path inside its own router (``/stocks/{code}``): the prefixes of the
    routers it was included in are what the request path has in front of that path, rendered."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) if isinstance(route, BaseRoute) else None
    if not isinstance(template, str):
        return UNMATCHED_ROUTE
    path = str(scope.get("path", ""))
    try:
        rendered = template.format(**scope.get("path_params", {}))
    except (KeyError, IndexError, ValueError):
        return template
    if rendered and path.endswith(rendered):
        return path[: len(path) - len(rendered)] + template
    return template


# The labelled children of the two request series, by (method, route template, status): ``labels()`` takes a lock
# and builds a key on every call. Bounded: route templates, never raw paths.
_REQUEST_SERIES: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}


def record_request(scope: Scope, status: int, seconds: float) -> None:
    """Count and time one HTTP request by its route template (never the raw path, which would give one series
    per stock code) and the status it was answered with."""
    key = (scope["method"], route_template(scope), str(status))
    series = _REQUEST_SERIES.get(key)
    if series is None:
        series = _REQUEST_SERIES[key] = (HTTP_REQUESTS.labels(*key), HTTP_LATENCY.labels(*key))
    series[0].inc()
    series[1].observe(seconds)


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


async def metrics_endpoint(_request: Request) -> Response:
    """The Prometheus text exposition of every metric of this process (or of every worker in multiprocess mode)."""
    return Response(generate_latest(_registry()), media_type=CONTENT_TYPE_LATEST)


def metrics_route(token: SecretStr | None) -> Callable[[Request], Awaitable[Response]]:
    """``/metrics`` on the API port: open when ``token`` is None, else only to ``Authorization: Bearer <token>``."""
    if token is None:
        return metrics_endpoint
    expected = f"Bearer {token.get_secret_value()}".encode()

    async def guarded(request: Request) -> Response:
        given = request.headers.get("authorization", "").encode("latin-1")
        if not hmac.compare_digest(given, expected):
            raise UnauthorizedError("Metrics need the metrics bearer token", headers={"WWW-Authenticate": "Bearer"})
        return await metrics_endpoint(request)

    return guarded


def serve_metrics(host: str, port: int) -> None:
    """Serve ``/metrics`` on a listener of its own (``KSTOCK_METRICS_PORT``), in a daemon thread of this process."""
    start_http_server(port, addr=host, registry=_registry())
