"""What identity reads from the application state (``kstock.runtime.AppState``), typed by identity's own names.

The brute-force guard and the audit log are the gateway's (``throttle``: :class:`kstock.gateway.throttle.
BruteForceGuard`, ``audit``: :func:`kstock.gateway.audit.audit_event`); identity names only what it calls
(:class:`LoginThrottle`, :class:`AuditRecorder`), so it sits below the gateway, which resolves principals with it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection, Request

from kstock import state as app_state
from kstock.broker.base import Broker
from kstock.config import Settings
from kstock.identity.principal import Principal
from kstock.identity.revocation import RevocationStore

if TYPE_CHECKING:
    from kstock.identity.dependencies import IdentityCache


class LoginThrottle(Protocol):
    """The brute-force guard, keyed on the client's address: the checks raise a 429 once an allowance is spent."""

    async def check_login(self, ip: str, email: str) -> None: ...

    async def login_failed(self, ip: str, email: str) -> None: ...

    async def check_registration(self, ip: str) -> None: ...

    async def registered(self, ip: str) -> None: ...


class AuditRecorder(Protocol):
    """Records an event of a request in the audit log; never raises."""

    async def __call__(
        self,
        request: Request,
        event: str,
        *,
        principal: Principal | None = None,
        status: int | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None: ...


class IdentityState(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]: ...

    @property
    def identity_cache(self) -> IdentityCache: ...

    @property
    def revocations(self) -> RevocationStore: ...

    @property
    def throttle(self) -> LoginThrottle: ...

    @property
    def audit(self) -> AuditRecorder: ...

    @property
    def broker(self) -> Broker | None: ...


state_of: Final[Callable[[HTTPConnection], IdentityState]] = app_state.state_of
