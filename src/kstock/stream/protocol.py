"""The ``/ws/stocks`` protocol: what clients send, what the server answers, and the frames it pushes.

Client messages are small JSON objects with a ``type``::

    {"type": "subscribe", "stock_code": "005930"}                       # price updates of one stock
    {"type": "subscribe", "stock_codes": ["005930", "000660"], "channels": ["price", "orderbook"]}
    {"type": "subscribe", "market": "KOSDAQ"}                           # every stock of a market
    {"type": "subscribe", "sector": "전기전자"}                          # every stock of a sector
    {"type": "subscribe", "portfolio_id": "…"}                          # live P&L of one's own portfolio
    {"type": "subscribe", "account_id": "…"}                            # one's own paper-trading account
    {"type": "unsubscribe", ...the same targets...}                    # without "channels": every kind
    {"type": "ping"}

Any message may carry a ``timestamp`` (the client's clock, as a string): it is accepted and ignored.

Pushed updates are built once per batching window and shared by every subscriber: the publisher's payload
(``data``) is spliced into the frame as bytes, never decoded and encoded again.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

import orjson

from kstock.kit.krx import Market, is_valid_code


class Kind(StrEnum):
    """What a subscription to a stock delivers."""

    PRICE = "price"
    ORDERBOOK = "orderbook"


UPDATE_TYPES: Final = {Kind.PRICE: b"price_update", Kind.ORDERBOOK: b"orderbook_update"}
TARGET_KEYS: Final = ("stock_code", "stock_codes", "market", "sector", "portfolio_id", "account_id")
OWNED_SCOPES: Final = ("portfolio_id", "account_id")  # one's own portfolio or paper-trading account: no channels
INFORMATIONAL_KEYS: Final = ("timestamp",)  # accepted on any message and ignored (the client's clock)
MAX_CODES_PER_MESSAGE: Final = 2_000


class ErrorCode(StrEnum):
    INVALID_MESSAGE = "INVALID_MESSAGE"  # not JSON, not an object, or a malformed field
    UNKNOWN_TYPE = "UNKNOWN_TYPE"
    UNKNOWN_STOCK = "UNKNOWN_STOCK"
    UNKNOWN_MARKET = "UNKNOWN_MARKET"
    UNKNOWN_SECTOR = "UNKNOWN_SECTOR"
    NOT_FOUND = "NOT_FOUND"  # a portfolio that is not the caller's (or does not exist): the same answer
    SUBSCRIPTION_LIMIT = "SUBSCRIPTION_LIMIT"
    TIER_LIMIT_EXCEEDED = "TIER_LIMIT_EXCEEDED"
    RATE_LIMITED = "RATE_LIMITED"
    UNAVAILABLE = "UNAVAILABLE"


class ProtocolError(Exception):
    """A client message the server refuses: answered with an ``error`` message, the connection stays open."""

    def __init__(self, code: ErrorCode, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = dict(details or {})


class CloseCode:
    """WebSocket close codes the server uses."""

    POLICY_VIOLATION: Final = 1008  # bad or missing credentials, or they expired
    SERVICE_RESTART: Final = 1012  # graceful shutdown: reconnect elsewhere
    TRY_AGAIN_LATER: Final = 1013  # the client could not keep up and was dropped


@dataclass(frozen=True, slots=True)
class Target:
    """What one subscribe/unsubscribe names: a stock, a market, a sector or a portfolio."""

    scope: str  # "stock_code" | "market" | "sector" | "portfolio_id" | "account_id"
    value: str

    @property
    def key(self) -> str:
        return f"{self.scope}:{self.value}"

    def as_dict(self) -> dict[str, str]:
        return {self.scope: self.value}


@dataclass(frozen=True, slots=True)
class ClientMessage:
    type: str
    targets: tuple[Target, ...] = ()
    kinds: tuple[Kind, ...] = (Kind.PRICE,)

    def echo(self) -> dict[str, Any]:
        """The target as the client named it, for acknowledgements and errors."""
        if len(self.targets) == 1:
            return self.targets[0].as_dict()
        codes = [t.value for t in self.targets if t.scope == "stock_code"]
        return {"stock_codes": codes} if codes else {}


def _codes(value: Any, key: str) -> list[str]:
    values = [value] if key == "stock_code" else value
    if not isinstance(values, list) or not values or len(values) > MAX_CODES_PER_MESSAGE:
        raise ProtocolError(
            ErrorCode.INVALID_MESSAGE, f"'{key}' must be a code or a list of 1 to {MAX_CODES_PER_MESSAGE} codes"
        )
    codes = []
    for code in values:
        if not isinstance(code, str) or not is_valid_code(code.strip().upper()):
            raise ProtocolError(
                ErrorCode.UNKNOWN_STOCK, "Stock codes are six digits or capital letters", {"stock_code": code}
            )
        codes.append(code.strip().upper())
    return list(dict.fromkeys(codes))


def _kinds(raw: Any) -> tuple[Kind, ...]:
    if raw is None:
        return (Kind.PRICE,)
    valid = [k.value for k in Kind]
    if not isinstance(raw, list) or not raw or any(k not in valid for k in raw):
        raise ProtocolError(ErrorCode.INVALID_MESSAGE, "'channels' must be a list of " + ", ".join(valid))
    return tuple(Kind(k) for k in dict.fromkeys(raw))


def parse_client_message(raw: str | bytes) -> ClientMessage:
    """Validate one client frame; :class:`ProtocolError` says what is wrong with it."""
    try:
        message = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(ErrorCode.INVALID_MESSAGE, "Messages are JSON objects") from exc
    if not isinstance(message, dict):
        raise ProtocolError(ErrorCode.INVALID_MESSAGE, "Messages are JSON objects")
    kind = message.get("type")
    stamp = message.get("timestamp")
    if stamp is not None and not isinstance(stamp, str):
        raise ProtocolError(ErrorCode.INVALID_MESSAGE, "'timestamp' must be a string")
    if kind == "ping":
        return ClientMessage("ping")
    if kind not in ("subscribe", "unsubscribe"):
        raise ProtocolError(
            ErrorCode.UNKNOWN_TYPE,
            "Unknown message type",
            {"type": kind, "types": ["subscribe", "unsubscribe", "ping"]},
        )
    present = [key for key in TARGET_KEYS if key in message]
    unknown = sorted(set(message) - {"type", "channels", *TARGET_KEYS, *INFORMATIONAL_KEYS})
    if len(present) != 1 or unknown:
        raise ProtocolError(
            ErrorCode.INVALID_MESSAGE,
            f"A {kind} names exactly one of: " + ", ".join(TARGET_KEYS),
            {"unknown_fields": unknown} if unknown else None,
        )
    key = present[0]
    value = message[key]
    if key in ("stock_code", "stock_codes"):
        targets = tuple(Target("stock_code", code) for code in _codes(value, key))
    elif key == "market":
        if not isinstance(value, str) or value.upper() not in Market.__members__:
            raise ProtocolError(
                ErrorCode.UNKNOWN_MARKET, "Unknown market", {"market": value, "markets": [m.value for m in Market]}
            )
        targets = (Target("market", value.upper()),)
    else:
        if not isinstance(value, str) or not value.strip() or len(value) > 100:
            raise ProtocolError(ErrorCode.INVALID_MESSAGE, f"'{key}' must be a non-empty string")
        targets = (Target(key, value.strip()),)
    if kind == "unsubscribe" and "channels" not in message:
        kinds: tuple[Kind, ...] = tuple(Kind)  # the whole target, whatever it was subscribed with
    else:
        kinds = _kinds(message.get("channels"))
    if key in OWNED_SCOPES and "channels" in message:
        raise ProtocolError(ErrorCode.INVALID_MESSAGE, f"A {key.removesuffix('_id')} subscription has no 'channels'")
    return ClientMessage(kind, targets, kinds)


# -- frames ----------------------------------------------------------------------------------------------------


def now_iso() -> str:
    """The current UTC time as the API writes timestamps (milliseconds, ``Z``)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Clock:
    """``now_iso`` at most once per millisecond: a window's frames share one timestamp string."""

    __slots__ = ("_ms", "_text")

    def __init__(self) -> None:
        self._ms = -1
        self._text = ""

    def iso(self) -> str:
        ms = time.time_ns() // 1_000_000
        if ms != self._ms:
            self._ms = ms
            self._text = (
                dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            )
        return self._text


def message(kind: str, **fields: Any) -> str:
    """A control message (``subscribed``, ``pong``, ``error``, ...) as the text of one frame."""
    return orjson.dumps({"type": kind, **fields, "timestamp": now_iso()}).decode()


def error(code: ErrorCode, text: str, details: Mapping[str, Any] | None = None, **echo: Any) -> str:
    return message("error", code=code.value, message=text, details=dict(details or {}), **echo)


def update_frame(
    kind: Kind, code: str, data: bytes, sequence: int, conflated: int, timestamp: str, *, snapshot: bool = False
) -> str:
    """``price_update`` / ``orderbook_update`` with the publisher's ``data`` spliced in as it came.

    ``sequence`` is the publisher's number of the newest update the frame carries; ``conflated`` counts the
    earlier updates of the same window it replaces, so a client checks ``sequence == last + conflated + 1``.
    """
    head = b'{"type":"' + UPDATE_TYPES[kind] + b'","stock_code":"' + code.encode() + b'","data":'
    tail = b',"sequence":%d,"conflated":%d,"timestamp":"%s"' % (sequence, conflated, timestamp.encode())
    if snapshot:
        tail += b',"snapshot":true'
    return (head + data + tail + b"}").decode()


def portfolio_frame(portfolio_id: str, data: Mapping[str, Any], sequence: int, timestamp: str) -> str:
    return orjson.dumps(
        {
            "type": "portfolio_update",
            "portfolio_id": portfolio_id,
            "data": data,
            "sequence": sequence,
            "timestamp": timestamp,
        }
    ).decode()
