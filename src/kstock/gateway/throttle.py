"""Brute-force throttles on logins and registrations (the application state's ``throttle``).

* Failed logins per account (``KSTOCK_LOGIN_FAILURES_PER_ACCOUNT``, default 10 per 15 minutes) and per client IP
  (``KSTOCK_LOGIN_FAILURES_PER_IP``): once either is used up, every login attempt for that account or from that
  IP is refused with 429, even with the right password, until the window that the first failure opened ends.
* Registrations per client IP (``KSTOCK_REGISTRATIONS_PER_IP``).
* Failed ``/ws/stocks`` authentications (a bad, expired or revoked token or key) count as failed logins of the
  client IP: once its allowance is spent, a WebSocket is refused (1008) without its credential being checked.

These apply even when ``KSTOCK_RATE_LIMIT_ENABLED=false``: that switch turns off request limits only. Counters are
shared through Redis when it is configured, with the fail-open policy of :mod:`kstock.gateway.limitstore`.
Accounts are keyed by a digest of the normalised e-mail address, so no address is written to Redis.
"""

from __future__ import annotations

import hashlib
import time

import structlog
from limits import RateLimitItem, parse
from starlette.requests import HTTPConnection

from kstock.config import Settings
from kstock.gateway.limitstore import LimitStore, Usage
from kstock.gateway.metrics import RATE_LIMIT_DECISIONS
from kstock.gateway.ratelimit import limit_exceeded, retry_after_s
from kstock.kit.clients import client_ip

log = structlog.get_logger("kstock.throttle")
_COMPONENT = "throttle"


def _account_key(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def ip_of(connection: HTTPConnection) -> str:
    """The address a connection's failures count against (``unknown`` when the server saw none)."""
    return client_ip(connection.scope) or "unknown"


class BruteForceGuard:
    """Counts failed logins and registrations; refuses with 429 (and ``Retry-After``) once a limit is used up."""

    def __init__(self, settings: Settings, store: LimitStore) -> None:
        self.store = store
        self.per_account = parse(settings.login_failures_per_account)
        self.per_ip = parse(settings.login_failures_per_ip)
        self.registrations = parse(settings.registrations_per_ip)

    async def check_login(self, ip: str, email: str) -> None:
        """Raise :class:`~kstock.errors.RateLimitError` when this account or this IP has too many failed logins.

        Call before verifying the password, so a blocked account learns nothing from a right guess."""
        account = await self._peek(self.per_account, "login-failed", "account", _account_key(email))
        self._refuse_if_spent(account, "login_account", "Too many failed logins for this account")
        by_ip = await self._peek(self.per_ip, "login-failed", "ip", ip)
        self._refuse_if_spent(by_ip, "login_ip", "Too many failed logins from this address")

    async def login_failed(self, ip: str, email: str) -> None:
        """Count one failed login for the account and for the client IP."""
        await self._hit(self.per_account, "login-failed", "account", _account_key(email))
        await self._hit(self.per_ip, "login-failed", "ip", ip)

    async def check_credentials(self, connection: HTTPConnection) -> None:
        """Raise :class:`~kstock.errors.RateLimitError` when this IP has too many failed logins or stream
        authentications. Call before checking the credential."""
        by_ip = await self._peek(self.per_ip, "login-failed", "ip", ip_of(connection))
        self._refuse_if_spent(by_ip, "stream_auth_ip", "Too many failed authentications from this address")

    async def credentials_failed(self, connection: HTTPConnection) -> None:
        """Count one failed stream authentication against the client IP (with its failed logins)."""
        await self._hit(self.per_ip, "login-failed", "ip", ip_of(connection))

    async def check_registration(self, ip: str) -> None:
        """Raise :class:`~kstock.errors.RateLimitError` when this IP has used up its registrations."""
        usage = await self._peek(self.registrations, "registered", "ip", ip)
        self._refuse_if_spent(usage, "registration", "Too many registrations from this address")

    async def registered(self, ip: str) -> None:
        """Count one registration for the client IP."""
        await self._hit(self.registrations, "registered", "ip", ip)

    # Windows are anchored on the first event: "10 failures, then blocked until 15 minutes after the first".
    async def _peek(self, item: RateLimitItem, *identifiers: str) -> Usage:
        return await self.store.peek(item, *identifiers, component=_COMPONENT, anchored=True)

    async def _hit(self, item: RateLimitItem, *identifiers: str) -> None:
        await self.store.hit(item, *identifiers, component=_COMPONENT, anchored=True)

    def _refuse_if_spent(self, usage: Usage, policy: str, message: str) -> None:
        if usage.count < usage.limit:
            RATE_LIMIT_DECISIONS.labels(policy, "allowed").inc()
            return
        now = time.time()
        RATE_LIMIT_DECISIONS.labels(policy, "limited").inc()
        log.warning("throttled", policy=policy, limit=usage.limit, retry_after_s=retry_after_s(usage, now))
        raise limit_exceeded(usage, f"{message}; retry in {retry_after_s(usage, now)} s", {}, now, policy=policy)
