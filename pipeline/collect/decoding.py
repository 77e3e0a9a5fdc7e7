"""Content-Encoding decoding whose memory is bounded by the body limit, whatever the server stacks.

httpx decodes each chunk it reads through every listed encoding at once: with ``Content-Encoding: gzip,
gzip`` a 590-byte body became 256 MiB in one call, before any size check could see it. Here each layer
inflates at most ``STEP_BYTES`` at a time and hands that on, and decoding stops as soon as the decoded body
passes the limit. So memory stays within the limit plus one step per layer.

Only what the collector asks for (``ACCEPT_ENCODING``) is decoded: gzip and deflate, stacked at most
``MAX_LAYERS`` deep; anything else is refused as undecodable.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

ACCEPT_ENCODING = "gzip, deflate"
MAX_LAYERS = 3
STEP_BYTES = 64 * 1024


class UndecodableBody(ValueError):
    """The body's Content-Encoding is not one we decode, or its bytes do not decode."""


class _Inflater:
    """One layer of gzip or deflate, inflating at most ``STEP_BYTES`` per call."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._raw_deflate = False
        self._started = False
        self._obj = self._new()

    def _new(self) -> zlib._Decompress:
        if self.encoding == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        # "deflate" is meant to be zlib-wrapped, but some servers send a raw deflate stream.
        return zlib.decompressobj(-zlib.MAX_WBITS if self._raw_deflate else zlib.MAX_WBITS)

    def step(self, data: bytes) -> tuple[bytes, bytes]:
        """Inflate from ``data``; returns (output, input still to feed)."""
        if self._obj.eof:
            if self.encoding != "gzip" or not data.lstrip(b"\x00"):
                return b"", b""  # trailing bytes after the stream: ignored, as browsers do
            self._obj = self._new()  # a gzip file of several members
        try:
            output = self._obj.decompress(data, STEP_BYTES)
        except zlib.error as exc:
            if self.encoding == "deflate" and not self._started and not self._raw_deflate:
                self._raw_deflate = True
                self._obj = self._new()
                return self.step(data)
            raise UndecodableBody(f"{self.encoding}: {exc}") from exc
        self._started = True
        rest = self._obj.unconsumed_tail or (self._obj.unused_data if self._obj.eof else b"")
        return output, rest


def parse_content_encoding(header: str | None) -> list[str]:
    """The encodings in the order they were applied ("identity" dropped); raises for any we do not decode."""
    names = [name.strip().lower() for name in (header or "").split(",") if name.strip()]
    names = ["gzip" if name == "x-gzip" else name for name in names if name != "identity"]
    unknown = sorted({name for name in names if name not in ("gzip", "deflate")})
    if unknown:
        raise UndecodableBody(f"unsupported content encoding {', '.join(unknown)}")
    if len(names) > MAX_LAYERS:
        raise UndecodableBody(f"{len(names)} stacked content encodings (at most {MAX_LAYERS})")
    return names


class BoundedDecoder:
    """Decodes a body chunk by chunk and stops producing once it has given ``limit + 1`` bytes in all.

    ``exceeded`` tells the caller the body is larger than the limit (what it gave is the body's beginning).
    """

    def __init__(self, content_encoding: str | None, limit: int) -> None:
        # The last encoding applied is the first one to undo.
        self._layers = [_Inflater(name) for name in reversed(parse_content_encoding(content_encoding))]
        self._limit = limit
        self._given = 0

    @property
    def exceeded(self) -> bool:
        return self._given > self._limit

    def decode(self, raw: bytes) -> bytes:
        parts: list[bytes] = []
        self._pass(0, raw, parts.append)
        return b"".join(parts)

    def _pass(self, depth: int, data: bytes, emit: Callable[[bytes], None]) -> None:
        if self.exceeded:
            return
        if depth == len(self._layers):
            if not data:
                return
            room = self._limit + 1 - self._given
            piece = data[:room]
            self._given += len(piece)
            emit(piece)
            return
        layer = self._layers[depth]
        pending = data
        while not self.exceeded:
            before = pending
            output, pending = layer.step(pending)
            self._pass(depth + 1, output, emit)
            # A full step may leave output inside zlib even with no input left: ask again until it is short.
            if (not pending and len(output) < STEP_BYTES) or (not output and pending == before):
                break
