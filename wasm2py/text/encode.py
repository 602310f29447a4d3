"""Small helpers that write the WebAssembly binary format: LEB128 integers, vectors, names,
sections."""

from __future__ import annotations

# section ids
SEC_CUSTOM, SEC_TYPE, SEC_IMPORT, SEC_FUNC, SEC_TABLE, SEC_MEMORY, SEC_GLOBAL = range(7)
SEC_EXPORT, SEC_START, SEC_ELEM, SEC_CODE, SEC_DATA, SEC_DATACOUNT, SEC_TAG = range(7, 14)

_SMALL = [bytes([n]) for n in range(128)]


def uleb(n: int) -> bytes:
    """Unsigned LEB128 (minimal length)."""
    if n < 128:
        return _SMALL[n]
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def sleb(n: int) -> bytes:
    """Signed LEB128 (minimal length)."""
    if 0 <= n < 64:
        return _SMALL[n]
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if (n == 0 and not b & 0x40) or (n == -1 and b & 0x40):
            out.append(b)
            return bytes(out)
        out.append(b | 0x80)


def vec(items: list[bytes]) -> bytes:
    """A vector: its length, then the items."""
    return uleb(len(items)) + b"".join(items)


def name(text: str) -> bytes:
    """A name: its UTF-8 length, then the bytes."""
    raw = text.encode("utf-8")
    return uleb(len(raw)) + raw


def section(section_id: int, payload: bytes) -> bytes:
    """A section: id, size, payload."""
    return bytes([section_id]) + uleb(len(payload)) + payload
