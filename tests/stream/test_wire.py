"""The wire under servers other than uvicorn's sans-I/O protocol: ASGI ``send`` driven by hand, a task only when
the socket makes it wait; and the prepared frame's bytes."""

from __future__ import annotations

import asyncio

from starlette.types import Message

from kstock.stream.wire import AsgiWire, Prepared, wire_for


def test_prepared_frames_are_unmasked_text_frames_of_any_length() -> None:
    short = Prepared("x" * 10)
    assert short.frame == b"\x81\x0a" + b"x" * 10
    medium = Prepared("y" * 300)
    assert medium.frame[:4] == b"\x81\x7e\x01\x2c"
    long = Prepared("z" * 70_000)
    assert long.frame[:2] == b"\x81\x7f"
    assert int.from_bytes(long.frame[2:10], "big") == 70_000
    assert long.payload == b"z" * 70_000


async def test_a_send_that_completes_at_once_needs_no_task() -> None:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    wire = wire_for(send)
    assert isinstance(wire, AsgiWire)
    assert wire.write(Prepared('{"a":1}'))
    assert not wire.blocked
    assert sent == [{"type": "websocket.send", "text": '{"a":1}'}]
    assert wire.write_many([Prepared("1"), Prepared("2")]) == 2
    assert [m["text"] for m in sent[1:]] == ["1", "2"]


async def test_a_send_that_waits_blocks_the_wire_until_it_completes() -> None:
    gate = asyncio.get_running_loop().create_future()
    sent: list[str] = []

    async def send(message: Message) -> None:
        if not gate.done():
            await gate  # the socket is full
        sent.append(message["text"])

    wire = AsgiWire(send)
    assert wire.write(Prepared("first"))  # accepted: it finishes in a task
    assert wire.blocked
    assert not wire.write(Prepared("second"))  # refused while the first waits
    assert wire.write_many([Prepared("third"), Prepared("fourth")]) == 0
    gate.set_result(None)
    for _ in range(10):
        await asyncio.sleep(0)
    assert not wire.blocked
    assert sent == ["first"]
    assert wire.write(Prepared("fifth"))
    assert sent == ["first", "fifth"]


async def test_a_send_that_fails_marks_the_wire_closed() -> None:
    async def send(message: Message) -> None:
        raise OSError("connection reset")

    wire = AsgiWire(send)
    assert wire.write(Prepared("x"))
    assert not wire.open
    assert not wire.write(Prepared("y"))
