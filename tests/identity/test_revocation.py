"""The in-process revocation list forgets entries whose tokens have expired, and keeps live ones; a revoked
session refuses every token of that session."""

from __future__ import annotations

import time
import uuid

from kstock.identity.revocation import _PRUNE_ABOVE, RevocationStore


async def test_expired_revocations_are_pruned_and_live_ones_kept() -> None:
    store = RevocationStore()
    past = time.time() - 1
    for i in range(_PRUNE_ABOVE):
        await store.revoke(f"old-{i}", past)
    await store.revoke("live", time.time() + 600)
    assert len(store._local) == 1
    assert await store.is_revoked("live")
    assert not await store.is_revoked("old-0")


async def test_a_revoked_session_refuses_each_of_its_tokens() -> None:
    store = RevocationStore()
    ended, going_on = uuid.uuid4(), uuid.uuid4()
    await store.revoke_sessions([ended], time.time() + 600)
    assert await store.is_revoked("any-jti", ended)
    assert not await store.is_revoked("any-jti", going_on)
    assert not await store.is_revoked("any-jti")
