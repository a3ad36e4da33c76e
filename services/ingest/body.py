"""Reading a request body within the byte limits, gzip/deflate included.

Both limits apply to what the request *costs*: ``MAX_BODY_BYTES`` on the wire and
``MAX_DECODED_BYTES`` after decompression. Decompression is streamed with a bounded output per
step, so a decompression bomb (a few KiB inflating to gigabytes) stops one step past the limit
with 413 and never holds more than the limit in memory.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

from .errors import BadBatch, BatchTooLarge, UnsupportedEncoding
from .limits import MAX_BODY_BYTES, MAX_DECODED_BYTES

# zlib's wbits: 16 + 15 = a gzip stream; 15 = a zlib stream (HTTP "deflate", RFC 9110); -15 = a
# raw deflate stream, which some clients send as "deflate" all the same.
_GZIP_WBITS = 16 + zlib.MAX_WBITS
_ZLIB_WBITS = zlib.MAX_WBITS
_RAW_DEFLATE_WBITS = -zlib.MAX_WBITS
SUPPORTED_ENCODINGS = ("identity", "gzip", "x-gzip", "deflate")


def too_large(size: str, limit: int = MAX_BODY_BYTES) -> BatchTooLarge:
    return BatchTooLarge(f"the body is {size}; at most {limit} bytes per request: split the batch")


async def read_body(
    chunks: AsyncIterator[bytes], content_length: str | None, content_encoding: str | None
) -> bytes:
    """The decoded body. Raises ``BatchTooLarge`` (413) past either limit, ``BadBatch`` (400) for
    a corrupt compressed stream or a bad Content-Length, ``UnsupportedEncoding`` (415)."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding not in SUPPORTED_ENCODINGS:
        raise UnsupportedEncoding(
            f"Content-Encoding {content_encoding!r} is not supported; send gzip, deflate or none"
        )
    if content_length is not None:
        if not content_length.isdigit():
            raise BadBatch("Content-Length is not a number")
        if int(content_length) > MAX_BODY_BYTES:
            raise too_large(f"{int(content_length)} bytes")
    decoder = _Decoder(encoding)
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_large(f"more than {MAX_BODY_BYTES} bytes")
        decoder.feed(chunk)
    return decoder.finish()


class _Decoder:
    """Collects the body, inflating it on the fly with the output bounded by MAX_DECODED_BYTES."""

    def __init__(self, encoding: str) -> None:
        self._plain = encoding == "identity"
        self._wbits = _ZLIB_WBITS if encoding == "deflate" else _GZIP_WBITS
        self._inflater = None if self._plain else zlib.decompressobj(self._wbits)
        self._started = False
        self._out: list[bytes] = []
        self._size = 0

    def feed(self, data: bytes) -> None:
        if self._inflater is None:
            self._keep(data)
            return
        if not self._started and data:
            self._started = True
            if self._wbits == _ZLIB_WBITS and not _looks_like_zlib(data):
                self._inflater = zlib.decompressobj(_RAW_DEFLATE_WBITS)
        self._inflate(data)

    def _inflate(self, data: bytes) -> None:
        inflater = self._inflater
        assert inflater is not None
        try:
            while data:
                # At most one byte past the limit per step: enough to know it is over.
                room = MAX_DECODED_BYTES - self._size + 1
                self._keep(inflater.decompress(data, room))
                data = inflater.unconsumed_tail
                if inflater.eof:
                    if inflater.unused_data.strip():
                        raise BadBatch("trailing bytes after the compressed body")
                    return
        except zlib.error as err:
            raise BadBatch(
                f"the compressed body is corrupt ({err}); check Content-Encoding"
            ) from None

    def _keep(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > MAX_DECODED_BYTES:
            raise too_large(f"more than {MAX_DECODED_BYTES} bytes decompressed", MAX_DECODED_BYTES)
        self._out.append(data)

    def finish(self) -> bytes:
        if self._inflater is not None and self._started and not self._inflater.eof:
            raise BadBatch("the compressed body ends early; check Content-Encoding")
        return b"".join(self._out)


def _looks_like_zlib(data: bytes) -> bool:
    """A zlib stream starts with CMF/FLG such that (CMF*256 + FLG) % 31 == 0 and method 8."""
    if len(data) < 2:
        return True  # too short to tell; zlib will say if it is not
    return data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
