"""Request rate limits: per user (every key and token of a user together) and tier, per client IP for anonymous
callers, plus bursts per endpoint class.

The ``/v1`` dependency (:func:`kstock.gateway.access.enforce_access`) calls :func:`enforce_rate_limit`, which
resolves the caller (once: the principal is kept in the request state) and counts the request against every limit
that applies; the decision is kept in the request state and the gateway middleware writes the headers on whatever
response follows, 2xx or error (:func:`add_limit_headers`). Counters live in :class:`LimitStore`: Redis when
``KSTOCK_REDIS_URL`` is set (every instance shares them), in-process otherwise, and in-process for the length of a
Redis outage (fail-open, see docs/operations.md).
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from fastapi import Request
from limits import RateLimitItem, parse
from prometheus_client import Counter
from starlette.types import Scope

from kstock.config import Settings
from kstock.errors import RateLimitError, UnauthorizedError
from kstock.gateway.limitstore import LimitStore, Usage
from kstock.gateway.metrics import RATE_LIMIT_DECISIONS
from kstock.gateway.state import state_of
from kstock.identity.dependencies import get_principal
from kstock.identity.principal import Principal, Tier
from kstock.kit.clients import client_ip

F = TypeVar("F", bound=Callable[..., Any])
_STATE_KEY: Final = "rate_limit_headers"


@dataclass(frozen=True, slots=True)
class EndpointClass:
    """A class of endpoints with a burst limit of its own, on top of the caller's per-minute limit.

    A route joins a class when its path starts with one of ``prefixes`` or when its endpoint is marked with
    :func:`endpoint_class`; the first class in :data:`ENDPOINT_CLASSES` that matches wins.
    """

    name: str
    setting: str  # the Settings field that holds the limit, e.g. "10/second"
    prefixes: tuple[str, ...]

    def matches(self, path: str) -> bool:
        return any(path == prefix or path.startswith(prefix + "/") for prefix in self.prefixes)


ENDPOINT_CLASSES: Final = (
    EndpointClass("trade", "rate_limit_trade_burst", ("/v1/trading",)),
    EndpointClass("data", "rate_limit_data_burst", ("/v1/stocks", "/v1/screen")),
)
_MARKED: dict[Callable[..., Any], str] = {}


def endpoint_class(name: str) -> Callable[[F], F]:
    """Decorator (under the route decorator) putting an endpoint in class ``name`` whatever its path."""
    if name not in {cls.name for cls in ENDPOINT_CLASSES}:
        raise ValueError(f"unknown endpoint class {name!r}")

    def mark(endpoint: F) -> F:
        _MARKED[endpoint] = name
        return endpoint

    return mark


def classify(scope: Scope) -> EndpointClass | None:
    """The endpoint class of the matched route (marker first, then path prefix), or None."""
    endpoint = getattr(scope.get("route"), "endpoint", None)
    marked = _MARKED.get(endpoint) if callable(endpoint) else None
    path = str(scope.get("path", ""))
    for cls in ENDPOINT_CLASSES:
        if cls.name == marked or (marked is None and cls.matches(path)):
            return cls
    return None


def _epoch_ceil(moment: float) -> int:
    return math.ceil(moment)


def reset_iso(moment: float) -> str:
    """``2026-01-02T03:04:05Z`` for the epoch second at or after ``moment``."""
    return dt.datetime.fromtimestamp(_epoch_ceil(moment), dt.UTC).isoformat().replace("+00:00", "Z")


def retry_after_s(usage: Usage, now: float) -> int:
    """Whole seconds until the window resets; at least 1 so a client never retries at once."""
    return max(1, math.ceil(usage.reset_at - now))


def rate_limit_headers(reported: Usage, policies: Sequence[Usage], now: float) -> dict[str, str]:
    """The ``X-RateLimit-*`` fields (reset as an ISO 8601 UTC time, ``2026-01-02T03:04:05Z``) and the IETF
    draft-07 ``RateLimit`` / ``RateLimit-Policy`` fields (reset as delta seconds) for ``reported``, the most
    constraining limit; ``RateLimit-Policy`` lists every limit that applied, the reported one first."""
    delta = max(0, math.ceil(reported.reset_at - now))
    ordered = [reported, *(usage for usage in policies if usage is not reported)]
    return {
        "X-RateLimit-Limit": str(reported.limit),
        "X-RateLimit-Remaining": str(reported.remaining),
        "X-RateLimit-Reset": reset_iso(reported.reset_at),
        "RateLimit": f"limit={reported.limit}, remaining={reported.remaining}, reset={delta}",
        "RateLimit-Policy": ", ".join(f"{usage.limit};w={usage.window_s}" for usage in ordered),
    }


def limit_exceeded(usage: Usage, message: str, headers: dict[str, str], now: float, **extra: Any) -> RateLimitError:
    """The 429 for an exhausted ``usage``: the one error body, ``Retry-After`` and ``headers``."""
    details = {"limit": usage.limit, "remaining": 0, "reset_at": reset_iso(usage.reset_at), **extra}
    return RateLimitError(message, details, headers={**headers, "Retry-After": str(retry_after_s(usage, now))})


def most_constraining(usages: Sequence[Usage]) -> Usage:
    """The limit closest to refusing: fewest requests left, then the longest wait."""
    return min(usages, key=lambda usage: (usage.remaining, -usage.reset_at))


def _window_text(item: RateLimitItem) -> str:
    seconds = item.get_expiry()
    return "second" if seconds == 1 else f"{seconds} seconds"


class RateLimiter:
    """Counts requests against the limits of :class:`~kstock.config.Settings` (all numbers are settings)."""

    def __init__(self, settings: Settings, store: LimitStore) -> None:
        self.enabled = settings.rate_limit_enabled
        self.store = store
        self.upgrade_url = settings.upgrade_url
        self.tiers: dict[Tier, RateLimitItem] = {
            Tier.FREE: parse(settings.rate_limit_free),
            Tier.BASIC: parse(settings.rate_limit_basic),
            Tier.PRO: parse(settings.rate_limit_pro),
        }
        self.anonymous = parse(settings.rate_limit_anonymous)
        self._decisions: dict[tuple[str, bool], Counter] = {}
        self.bursts: dict[str, RateLimitItem] = {
            cls.name: parse(getattr(settings, cls.setting)) for cls in ENDPOINT_CLASSES
        }

    def _decision(self, policy: str, allowed: bool) -> Counter:
        # The labelled child is looked up once per (policy, decision): labels() takes a lock and builds a key.
        child = self._decisions.get((policy, allowed))
        if child is None:
            child = RATE_LIMIT_DECISIONS.labels(policy, "allowed" if allowed else "limited")
            self._decisions[(policy, allowed)] = child
        return child

    def _quotas(self, scope: Scope, principal: Principal | None) -> tuple[str, list[tuple[str, RateLimitItem]]]:
        # Bursts first: a request refused by its burst does not also use up the per-minute quota.
        who = principal.rate_key if principal is not None else f"ip:{client_ip(scope) or 'unknown'}"
        quotas: list[tuple[str, RateLimitItem]] = []
        cls = classify(scope)
        if cls is not None:
            quotas.append((cls.name, self.bursts[cls.name]))
        if principal is None:
            quotas.append(("anonymous", self.anonymous))
        else:
            quotas.append(("tier", self.tiers[principal.tier]))
        return who, quotas

    async def check(self, scope: Scope, principal: Principal | None) -> None:
        """Count one request; keep the headers for the response; raise :class:`RateLimitError` when refused."""
        who, quotas = self._quotas(scope, principal)
        usages: list[Usage] = []
        refused: Usage | None = None
        for policy, item in quotas:
            usage = await self.store.hit(item, "req", policy, who, component="ratelimit", policy=policy)
            usages.append(usage)
            self._decision(policy, usage.allowed).inc()
            if not usage.allowed:
                refused = usage
                break
        now = time.time()
        reported = refused or most_constraining(usages)
        headers = rate_limit_headers(reported, usages, now)
        scope.setdefault("state", {})[_STATE_KEY] = headers
        if refused is None:
            return
        extra: dict[str, Any] = {"policy": refused.policy}
        if refused.policy == "tier" and principal is not None and principal.tier is not Tier.PRO:
            extra["upgrade_url"] = self.upgrade_url
        message = (
            f"Rate limit exceeded: {refused.limit} requests per {_window_text(refused.item)} "
            f"({refused.policy}); retry in {retry_after_s(refused, now)} s"
        )
        raise limit_exceeded(refused, message, headers, now, **extra)


async def enforce_rate_limit(request: Request) -> None:
    """The ``/v1`` router's dependency: resolve the caller (once per request) and count the request.

    Credentials that fail to resolve are counted against the client IP's anonymous limit before the 401, so
    guessing keys or tokens is throttled like any anonymous traffic.
    """
    limiter = state_of(request).rate_limiter
    if not limiter.enabled:
        return
    try:
        principal = await get_principal(request)
    except UnauthorizedError:
        await limiter.check(request.scope, None)
        raise
    await limiter.check(request.scope, principal)


def add_limit_headers(headers: list[tuple[bytes, bytes]], state: dict[str, Any]) -> None:
    """Put the headers the limiter decided for this request (kept in its ``state``) on a response's raw
    ``headers``, whatever produced the response; a header the response already has is left as it is."""
    decided: dict[str, str] | None = state.get(_STATE_KEY)
    if not decided:
        return
    present = {name.lower() for name, _ in headers}
    for name, value in decided.items():
        key = name.lower().encode()
        if key not in present:
            headers.append((key, value.encode()))
