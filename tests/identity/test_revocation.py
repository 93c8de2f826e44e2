"""The in-process revocation list forgets entries whose tokens have expired, and keeps live ones."""

from __future__ import annotations

import time

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
