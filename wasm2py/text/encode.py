"""Small helpers that write the WebAssembly binary format: LEB128 integers, vectors, names,
sections."""

from __future__ import annotations

from ..binary.leb128 import sleb as sleb
from ..binary.leb128 import uleb as uleb

# section ids
SEC_CUSTOM, SEC_TYPE, SEC_IMPORT, SEC_FUNC, SEC_TABLE, SEC_MEMORY, SEC_GLOBAL = range(7)
SEC_EXPORT, SEC_START, SEC_ELEM, SEC_CODE, SEC_DATA, SEC_DATACOUNT, SEC_TAG = range(7, 14)

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
