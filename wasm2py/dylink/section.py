"""The ``dylink.0`` custom section: what a dynamically linkable module asks of the loader.

The format is the WebAssembly tool conventions' (``DynamicLinking.md``), as ``wasm-ld
--experimental-pic`` writes it: a sequence of subsections ``(type: u8, size: u32, payload)``:

======  ===============  ==================================================================
type    name             payload
======  ===============  ==================================================================
1       ``MEM_INFO``     memory size, memory alignment (log2), table size, table alignment
2       ``NEEDED``       libraries to load first (a vector of names)
3       ``EXPORT_INFO``  ``(name, symbol flags)`` of some exports (``TLS`` ones)
4       ``IMPORT_INFO``  ``(module, name, symbol flags)`` of some imports (weak ones)
5       ``RUNTIME_PATH`` directories to search for needed libraries (``$ORIGIN`` expands)
======  ===============  ==================================================================

Unknown subsection types are skipped (the format grows by adding them). The legacy ``dylink``
section (the four sizes then the needed names, no subsections) is read too.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ..binary.reader import Reader
from ..errors import DecodeError, DylinkError
from . import LEGACY_SECTION, SECTION  # noqa: F401 (the names, also this module's)

MEM_INFO = 1
NEEDED = 2
EXPORT_INFO = 3
IMPORT_INFO = 4
RUNTIME_PATH = 5


class SymbolFlags(enum.IntFlag):
    """Symbol flags of the linking conventions (``Linking.md``), as export/import info uses
    them."""

    BINDING_WEAK = 0x1
    BINDING_LOCAL = 0x2
    VISIBILITY_HIDDEN = 0x4
    UNDEFINED = 0x10
    EXPORTED = 0x20
    EXPLICIT_NAME = 0x40
    NO_STRIP = 0x80
    TLS = 0x100
    ABSOLUTE = 0x200


@dataclass(frozen=True, slots=True)
class DylinkInfo:
    """The contents of a ``dylink.0`` section.

    Attributes:
        memory_size: bytes of linear memory the module's data needs (placed at
            ``__memory_base``, zero-filled beyond its data segments).
        memory_align: alignment of that area, as a power of two exponent.
        table_size: table slots the module's element segments fill (at ``__table_base``).
        table_align: their alignment, as a power of two exponent.
        needed: names of the libraries to load before this one.
        export_info: ``(export name, SymbolFlags)`` pairs.
        import_info: ``(module, name, SymbolFlags)`` triples.
        runtime_path: where to look for needed libraries (``$ORIGIN``: the module's directory).
    """

    memory_size: int = 0
    memory_align: int = 0
    table_size: int = 0
    table_align: int = 0
    needed: tuple[str, ...] = ()
    export_info: tuple[tuple[str, SymbolFlags], ...] = ()
    import_info: tuple[tuple[str, str, SymbolFlags], ...] = ()
    runtime_path: tuple[str, ...] = ()

    def import_flags(self, module: str, name: str) -> SymbolFlags:
        """The flags import-info gives ``module.name`` (none if it is not listed)."""
        for m, n, flags in self.import_info:
            if m == module and n == name:
                return flags
        return SymbolFlags(0)

    def is_weak(self, module: str, name: str) -> bool:
        """Whether the import ``module.name`` is a weak reference (may stay undefined)."""
        return bool(self.import_flags(module, name) & SymbolFlags.BINDING_WEAK)

    def export_flags(self, name: str) -> SymbolFlags:
        """The flags export-info gives export ``name`` (none if it is not listed)."""
        for n, flags in self.export_info:
            if n == name:
                return flags
        return SymbolFlags(0)

    def encode(self) -> bytes:
        """The section payload (what :meth:`parse` reads back). The memory info subsection is
        always written, as ``wasm-ld`` does; the others when not empty."""
        from ..build.encoding import name, u32, vec

        def sub(kind: int, payload: bytes) -> bytes:
            return bytes((kind,)) + u32(len(payload)) + payload

        out = sub(MEM_INFO, u32(self.memory_size) + u32(self.memory_align)
                  + u32(self.table_size) + u32(self.table_align))  # fmt: skip
        if self.needed:
            out += sub(NEEDED, vec(name(n) for n in self.needed))
        if self.export_info:
            out += sub(EXPORT_INFO, vec(name(n) + u32(int(f)) for n, f in self.export_info))
        if self.import_info:
            out += sub(IMPORT_INFO, vec(name(m) + name(n) + u32(int(f))
                                        for m, n, f in self.import_info))  # fmt: skip
        if self.runtime_path:
            out += sub(RUNTIME_PATH, vec(name(p) for p in self.runtime_path))
        return out

    @classmethod
    def parse(cls, payload: bytes) -> DylinkInfo:
        """Read a ``dylink.0`` payload.

        Raises:
            DylinkError: malformed (truncated, a subsection whose contents do not fill its
                size exactly, a repeated memory info, bad UTF-8, an alignment of 2**32 or
                more); the offset is relative to the payload.
        """
        try:
            return _parse(bytes(payload))
        except DylinkError:
            raise
        except DecodeError as e:
            raise DylinkError(f"malformed {SECTION} section: {e.reason}", e.offset) from None

    @classmethod
    def parse_legacy(cls, payload: bytes) -> DylinkInfo:
        """Read a legacy ``dylink`` payload (sizes and needed names, no subsections).

        Raises:
            DylinkError: malformed.
        """
        r = Reader(bytes(payload))
        try:
            sizes = [r.u32() for _ in range(4)]
            needed = tuple(r.name() for _ in range(r.length()))
            if not r.at_end():
                raise DylinkError(f"malformed {LEGACY_SECTION} section: trailing bytes", r.pos)
        except DylinkError:
            raise
        except DecodeError as e:
            raise DylinkError(f"malformed {LEGACY_SECTION} section: {e.reason}",
                              e.offset) from None  # fmt: skip
        _check_align(sizes[1], "memory", 0)
        _check_align(sizes[3], "table", 0)
        return cls(sizes[0], sizes[1], sizes[2], sizes[3], needed)


def _check_align(align: int, what: str, offset: int) -> None:
    if align >= 32:
        raise DylinkError(f"malformed {SECTION} section: {what} alignment 2**{align}", offset)


def _parse(data: bytes) -> DylinkInfo:
    r = Reader(data)
    fields: dict = {}
    while not r.at_end():
        start = r.pos
        kind = r.byte()
        size = r.u32()
        end = r.pos + size
        if end > len(data):
            raise DylinkError(f"malformed {SECTION} section: subsection {kind} of {size} bytes "
                              "runs past the end of the section", start)  # fmt: skip
        sub = Reader(data, r.pos, end)
        if kind == MEM_INFO:
            if "memory_size" in fields:
                raise DylinkError(f"malformed {SECTION} section: two memory info subsections",
                                  start)  # fmt: skip
            fields["memory_size"] = sub.u32()
            fields["memory_align"] = sub.u32()
            fields["table_size"] = sub.u32()
            fields["table_align"] = sub.u32()
            _check_align(fields["memory_align"], "memory", start)
            _check_align(fields["table_align"], "table", start)
        elif kind in (NEEDED, RUNTIME_PATH):
            key = "needed" if kind == NEEDED else "runtime_path"
            names = tuple(sub.name() for _ in range(sub.length()))
            fields[key] = fields.get(key, ()) + names
        elif kind == EXPORT_INFO:
            items = tuple((sub.name(), SymbolFlags(sub.u32())) for _ in range(sub.length()))
            fields["export_info"] = fields.get("export_info", ()) + items
        elif kind == IMPORT_INFO:
            items = tuple((sub.name(), sub.name(), SymbolFlags(sub.u32()))
                          for _ in range(sub.length()))  # fmt: skip
            fields["import_info"] = fields.get("import_info", ()) + items
        else:
            sub.pos = end  # a subsection this reader does not know: skip it
        if sub.pos != end:
            raise DylinkError(f"malformed {SECTION} section: subsection {kind} has "
                              f"{end - sub.pos} bytes left over", sub.pos)  # fmt: skip
        r.pos = end
    return DylinkInfo(**fields)


def dylink_info(customs: list[tuple[str, bytes]]) -> DylinkInfo | None:
    """The dylink information among a module's custom sections (``Module.customs`` of the
    decoded module), or None if it has neither a ``dylink.0`` nor a legacy ``dylink`` section.

    Raises:
        DylinkError: the section is malformed, or there is more than one.
    """
    found = [(n, data) for n, data in customs if n in (SECTION, LEGACY_SECTION)]
    if not found:
        return None
    if len(found) > 1:
        raise DylinkError(f"a module has {len(found)} dylink sections; one is allowed")
    section_name, data = found[0]
    if section_name == SECTION:
        return DylinkInfo.parse(data)
    return DylinkInfo.parse_legacy(data)


__all__ = ["DylinkInfo", "SymbolFlags", "dylink_info", "SECTION", "LEGACY_SECTION"]
