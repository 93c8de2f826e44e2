"""What a client's messages do: subscribe and unsubscribe (stocks, markets, sectors, portfolios) and ping.

Every refusal is an ``error`` message and leaves the connection and its subscriptions as they were: a
subscribe that would pass the tier's limit subscribes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from kstock.errors import AppError
from kstock.identity.tiers import TierLimitError, quota_limit, require_tier
from kstock.stream.accounts import AccountWatcher
from kstock.stream.budget import limit_refusal
from kstock.stream.connection import Connection, Subscription
from kstock.stream.hub import Hub, channel_of
from kstock.stream.portfolios import PortfolioWatcher
from kstock.stream.protocol import (
    OWNED_SCOPES,
    ClientMessage,
    ErrorCode,
    Kind,
    ProtocolError,
    Target,
    error,
    message,
    parse_client_message,
)
from kstock.stream.wire import Prepared


async def handle(hub: Hub, connection: Connection, raw: str | bytes) -> None:
    """Answer one client message on ``connection``."""
    if not connection.allow_message():
        reply = error(
            ErrorCode.RATE_LIMITED,
            "Too many messages: slow down",
            {"limit_per_s": hub.settings.ws_client_messages_per_s},
        )
        _reply(hub, connection, reply)
        return
    try:
        request = parse_client_message(raw)
        if request.type == "ping":
            _reply(hub, connection, message("pong"))
        elif request.type == "subscribe":
            if not await hub.still_valid(connection):  # a credential that ended since subscribes nothing more
                return
            await subscribe(hub, connection, request)
        else:
            await unsubscribe(hub, connection, request)
    except ProtocolError as exc:
        _reply(hub, connection, error(exc.code, exc.message, exc.details))


def _reply(hub: Hub, connection: Connection, text: str) -> None:
    if not connection.reply(Prepared(text)):
        hub.note_blocked(connection)


def _codes_of(hub: Hub, target: Target) -> list[str]:
    snapshot = hub.snapshot
    if not snapshot.loaded:
        raise ProtocolError(ErrorCode.UNAVAILABLE, "Market data is not loaded yet")
    if target.scope == "stock_code":
        if snapshot.get(target.value) is None:
            raise ProtocolError(ErrorCode.UNKNOWN_STOCK, "Unknown stock code", {"stock_code": target.value})
        return [target.value]
    codes = snapshot.members(target.scope, target.value)
    if not codes and target.scope == "sector":
        raise ProtocolError(
            ErrorCode.UNKNOWN_SECTOR,
            "Unknown sector",
            {"sector": target.value, "sectors": snapshot.values_of("sector")},
        )
    return codes


def _check_gate(hub: Hub, connection: Connection, kinds: Iterable[Kind]) -> None:
    if Kind.ORDERBOOK in kinds:
        try:
            require_tier(connection.principal, "stream.orderbook", hub.settings)
        except TierLimitError as exc:
            raise ProtocolError(ErrorCode.TIER_LIMIT_EXCEEDED, exc.message, exc.details) from exc


async def _reserve_codes(hub: Hub, connection: Connection, added: int) -> None:
    """Reserve ``added`` more codes for the user: the tier's limit counts every connection of the user, on every
    instance. SUBSCRIPTION_LIMIT, with nothing reserved, when it would pass it."""
    principal = connection.principal
    refused = await hub.budget.acquire(principal, codes=added)
    if refused is None:
        return
    text, details = limit_refusal(principal, refused, hub.settings)
    details.update(subscribed=refused.total - added, requested=refused.total)
    raise ProtocolError(ErrorCode.SUBSCRIPTION_LIMIT, text, details)


async def _subscribe_owned(hub: Hub, connection: Connection, request: ClientMessage, target: Target) -> None:
    """A portfolio's or a paper-trading account's channel: the owner's only; its current state follows the ack."""
    if target.scope == "portfolio_id":
        watcher: PortfolioWatcher | AccountWatcher | None = hub.portfolios
        what, unavailable, offer_key = "Portfolio", "Live P&L is not available on this server", "portfolio"
    else:
        watcher = hub.accounts
        what, unavailable, offer_key = "Account", "Account streams are not available on this server", "account_pnl"
    if watcher is None:
        raise ProtocolError(ErrorCode.UNAVAILABLE, unavailable)
    first: Prepared | None = None
    if target.key not in connection.subscriptions:
        try:
            first = await watcher.watch(connection, target.value)
        except AppError as exc:  # not found, or another user's: the same answer, nothing else
            raise ProtocolError(ErrorCode.NOT_FOUND, f"{what} not found", {target.scope: target.value}) from exc
        connection.subscriptions[target.key] = Subscription(target, frozenset(), ())
    _ack(hub, connection, "subscribed", request)
    if first is not None and not connection.offer((offer_key, target.value), first):
        hub.note_blocked(connection)


async def subscribe(hub: Hub, connection: Connection, request: ClientMessage) -> None:
    if request.targets and request.targets[0].scope in OWNED_SCOPES:
        await _subscribe_owned(hub, connection, request, request.targets[0])
        return
    plan: list[tuple[Target, tuple[str, ...], frozenset[Kind]]] = []
    new_codes: set[str] = set()
    for target in request.targets:
        held = connection.subscriptions.get(target.key)
        codes = held.codes if held else tuple(_codes_of(hub, target))
        added = frozenset(request.kinds) - (held.kinds if held else frozenset())
        if added:
            plan.append((target, codes, added))
            new_codes.update(codes)
    _check_gate(hub, connection, request.kinds)
    added_codes = len(connection.codes.keys() | new_codes) - len(connection.codes)
    if added_codes:
        await _reserve_codes(hub, connection, added_codes)
    joined: list[tuple[Kind, str]] = []
    for target, codes, added in plan:
        held = connection.subscriptions.get(target.key)
        kinds = (held.kinds if held else frozenset()) | added
        connection.subscriptions[target.key] = Subscription(target, kinds, codes)
        for kind in added:
            for code in codes:
                channel = channel_of(kind, code)
                connection.codes[code] += 1
                connection.channels[channel] += 1
                if connection.channels[channel] == 1:
                    joined.append((kind, code))
    await hub.join(connection, [channel_of(kind, code) for kind, code in joined])
    _ack(hub, connection, "subscribed", request)
    for kind, code in joined:
        frame = await hub.snapshot_frame(kind, code)
        if frame is not None and not connection.offer(channel_of(kind, code), frame):
            hub.note_blocked(connection)


async def unsubscribe(hub: Hub, connection: Connection, request: ClientMessage) -> None:
    left: list[str] = []
    codes_before = len(connection.codes)
    for target in request.targets:
        held = connection.subscriptions.get(target.key)
        if held is None:
            continue
        if target.scope == "account_id":
            del connection.subscriptions[target.key]
            if hub.accounts is not None:
                await hub.accounts.unwatch(connection, target.value)
            continue
        if target.scope == "portfolio_id":
            del connection.subscriptions[target.key]
            if hub.portfolios is not None:
                hub.portfolios.unwatch(connection, target.value)
            continue
        removed = frozenset(request.kinds) & held.kinds
        remaining = held.kinds - removed
        if remaining:
            held.kinds = remaining
        else:
            del connection.subscriptions[target.key]
        for kind in removed:
            for code in held.codes:
                channel = channel_of(kind, code)
                connection.channels[channel] -= 1
                connection.codes[code] -= 1
                if connection.codes[code] <= 0:
                    del connection.codes[code]
                if connection.channels[channel] <= 0:
                    del connection.channels[channel]
                    left.append(channel)
    if len(connection.codes) < codes_before:
        await hub.budget.release(connection.principal, codes=codes_before - len(connection.codes))
    await hub.leave(connection, left)
    _ack(hub, connection, "unsubscribed", request)


def _ack(hub: Hub, connection: Connection, kind: str, request: ClientMessage) -> None:
    fields = request.echo()
    if request.targets and request.targets[0].scope not in OWNED_SCOPES:
        fields["channels"] = sorted(request.kinds)
    principal = connection.principal
    reply = message(
        kind,
        **fields,
        subscriptions=connection.subscription_list(),
        codes=len(connection.codes),
        limit=quota_limit(principal, "stream_codes"),
    )
    _reply(hub, connection, reply)
