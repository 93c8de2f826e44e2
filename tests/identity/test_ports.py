"""Identity calls the gateway's brute-force guard and audit log through protocols: the gateway's fit them."""

from __future__ import annotations

from kstock.gateway.audit import audit_event
from kstock.gateway.throttle import BruteForceGuard
from kstock.identity.service import AuditRecorder, LoginThrottle


def test_the_gateway_provides_what_identity_calls() -> None:
    # Checked by mypy (strict, over the tests): a signature drifting on either side fails the type check.
    throttle: type[LoginThrottle] = BruteForceGuard
    record: AuditRecorder = audit_event
    assert callable(throttle.check_login)
    assert callable(record)
