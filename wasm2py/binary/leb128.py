"""Writing LEB128 integers, the binary format's variable-length encoding (minimal length).

The one writer the text encoder, the module builder and the tools share; it does not check
ranges (the callers that take user values, such as :mod:`wasm2py.build.encoding`, do).
"""

from __future__ import annotations

_SMALL = [bytes([n]) for n in range(128)]


def uleb(n: int) -> bytes:
    """Unsigned LEB128 of ``n >= 0``."""
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
    """Signed LEB128 of ``n``."""
    if 0 <= n < 64:
        return _SMALL[n]
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7  # arithmetic shift: stays -1 for negative numbers
        if (n == 0 and not b & 0x40) or (n == -1 and b & 0x40):
            out.append(b)
            return bytes(out)
        out.append(b | 0x80)
