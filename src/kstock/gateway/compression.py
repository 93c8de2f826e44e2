"""Response compression: brotli or gzip, as the client's ``Accept-Encoding`` prefers, for bodies of at least
``KSTOCK_COMPRESSION_MIN_BYTES``.

Starlette's gzip responder does the work (it leaves alone answers that are already encoded, partial or of binary
types, adds ``Vary: Accept-Encoding``, and compresses bodies of 128 KiB and more in a worker thread); brotli is the
same responder with Google's encoder. Only HTTP is touched: the stream (``/ws/stocks``) is served in front of this
middleware, and its frames never pass through it.
"""

from __future__ import annotations

from typing import Any, Final, cast

import anyio.to_thread
import brotli
from starlette.middleware.gzip import GZipResponder, IdentityResponder
from starlette.types import ASGIApp, Receive, Scope, Send

# Cheap levels: the server's CPU is scarcer than the client's bandwidth. On ten years of daily prices (244 KiB)
# brotli 2 gives 5.8x in about 1.3 ms (quality 4: the same size, twice the time), gzip 1 gives 4.3x in about
# 1.4 ms (level 6: 5.6x in 5.7 ms; 9: 6.1x in 28 ms); docs/benchmarks.md.
BROTLI_QUALITY: Final = 2
GZIP_LEVEL: Final = 1
THREAD_MINIMUM_SIZE: Final = 128 * 1024


def accepted_encodings(header: str) -> set[str]:
    """The codings an ``Accept-Encoding`` value accepts (those with ``q=0`` refused), lower-cased."""
    accepted: set[str] = set()
    for item in header.split(","):
        coding, _, params = item.partition(";")
        coding = coding.strip().lower()
        if not coding:
            continue
        quality = params.strip().lower()
        if quality.startswith("q="):
            try:
                if float(quality[2:]) <= 0:
                    continue
            except ValueError:
                continue
        accepted.add(coding)
    return accepted


class BrotliResponder(IdentityResponder):
    content_encoding = "br"

    def __init__(self, app: ASGIApp, minimum_size: int) -> None:
        super().__init__(app, minimum_size)
        self._compressor: Any = None  # brotli.Compressor, made on the first body to compress

    def _compress(self, body: bytes, more_body: bool) -> bytes:
        if self._compressor is None:
            self._compressor = brotli.Compressor(quality=BROTLI_QUALITY)
        data = self._compressor.process(body) + (self._compressor.flush() if more_body else self._compressor.finish())
        return cast(bytes, data)

    async def apply_compression(self, body: bytes, *, more_body: bool) -> bytes:
        if len(body) >= THREAD_MINIMUM_SIZE:
            return await anyio.to_thread.run_sync(self._compress, body, more_body)
        return self._compress(body, more_body)


class CompressionMiddleware:
    """Brotli when the client accepts it, else gzip when it accepts that, else the body as it is (with
    ``Vary: Accept-Encoding`` on bodies large enough to have been compressed)."""

    def __init__(self, app: ASGIApp, minimum_size: int) -> None:
        self.app = app
        self.minimum_size = minimum_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = b""
        for name, value in scope["headers"]:
            if name == b"accept-encoding":
                header = value
                break
        codings = accepted_encodings(header.decode("latin-1")) if header else set()
        responder: IdentityResponder
        if "br" in codings:
            responder = BrotliResponder(self.app, self.minimum_size)
        elif "gzip" in codings:
            responder = GZipResponder(
                self.app, self.minimum_size, compresslevel=GZIP_LEVEL, thread_minimum_size=THREAD_MINIMUM_SIZE
            )
        else:
            responder = IdentityResponder(self.app, self.minimum_size)
        await responder(scope, receive, send)
