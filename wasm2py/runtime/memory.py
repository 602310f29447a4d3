"""Linear memory: a reservation of address space whose accessible prefix grows in 64 KiB pages.

The memory's maximum (4 GiB when it has none) is reserved as address space only: an anonymous
private mapping without access (``PROT_NONE``). Such a mapping uses no memory and does not count
toward ``RLIMIT_DATA`` (only toward ``RLIMIT_AS``). Growing makes the next pages readable and
writable (``mprotect``): only those count, so under a resource limit it is ``memory.grow`` that
fails (-1), when the limit is really reached. Python's ``mmap`` cannot map without access, so the
mapping is made through libc with ``ctypes`` (without a libc, e.g. on Windows, the whole
maximum is mapped with ``mmap`` instead).

If the full reservation cannot be made (``RLIMIT_AS``, a small address space), smaller ones are
tried, down to the size needed now. Growth past a reservation first tries to extend it in place,
else maps a larger one and moves the contents there: only then does the base address change.
Python code reaches the bytes through :attr:`LinearMemory.view`, which every namespace bound
with :meth:`LinearMemory.bind` follows; jitted code reloads the base after every call and
``memory.grow`` (a view taken before a move keeps the old, no longer used bytes alive).

**Guard reservations** (Linux on x86-64, :data:`GUARD_PAGES`): a 32-bit memory first tries to
reserve :data:`GUARD_RESERVATION` bytes, which covers every address a wasm access can form
(a zero-extended i32 address plus a static offset below 2**32 plus the access size). Such a
memory (:attr:`LinearMemory.guarded`) never moves, and an access beyond its size faults on
``PROT_NONE`` pages, so the LLVM tier can leave out the bounds check and turn the fault into a
trap (``wasm2py.llvm.guard``). Their base addresses are listed in :data:`GUARD_REGISTRY`,
which that signal handler reads. When the system refuses the reservation (``RLIMIT_AS``), the
memory reserves as described above and is not guarded.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import struct
import sys
import threading

from ..errors import InstantiationError, Trap, TrapCode
from ..types import MAX_PAGES, MAX_PAGES_64, PAGE_SIZE, Limits, MemoryType

#: the most address space one memory reserves (a 64-bit memory may declare up to 2**64 bytes;
#: beyond its reservation a memory cannot grow, which the spec allows: memory.grow returns -1)
MAX_RESERVATION = 1 << 34

#: what a guarded 32-bit memory reserves: 2**32 (addresses) + 2**32 (offsets) and a 64 KiB
#: margin for the access size (at most 16 bytes), all of it beyond the size PROT_NONE
GUARD_RESERVATION = (1 << 33) + (1 << 16)

#: whether memories make guard reservations: Linux on x86-64 (the only host where the LLVM
#: tier's fault handler is built and tested; a store that faults there writes nothing)
#: (``os.uname().machine`` is what ``platform.machine()`` gives there, without importing
#: ``platform`` into every run)
GUARD_PAGES = sys.platform.startswith("linux") and os.uname().machine in ("x86_64", "AMD64")

#: how many guarded reservations can exist at once: 4096 * 8 GiB is a quarter of x86-64's
#: 128 TiB of user address space (the rest stays for everything else; later memories reserve
#: as without guard pages and get code with explicit checks)
GUARD_SLOTS = 4096

#: base address of each live guarded reservation (0: a free slot), read by the signal handler
#: of ``wasm2py.llvm.guard`` (without locks: a slot is written whole, as one 64-bit store)
GUARD_REGISTRY = (ctypes.c_uint64 * GUARD_SLOTS)()
#: re-entrant: the cyclic collector may run ``_Mapping.__del__`` (which takes it) inside
#: ``reserve_guarded`` (which holds it) on the same thread, at any allocation
_guard_lock = threading.RLock()
_guard_free: list[int] = list(range(GUARD_SLOTS - 1, -1, -1))

_MAP_NORESERVE = getattr(mmap, "MAP_NORESERVE", 0x4000)
_MAP_FIXED_NOREPLACE = 0x100000  # Linux >= 4.17; older kernels take the address as a hint
_PROT_NONE = 0
_PROT_RW = mmap.PROT_READ | mmap.PROT_WRITE
_FLAGS = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | _MAP_NORESERVE
_MAP_FAILED = ctypes.c_void_p(-1).value


def _load_libc():
    try:
        lib = ctypes.CDLL(None, use_errno=True)
        lib.mmap.restype = ctypes.c_void_p
        lib.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                             ctypes.c_int, ctypes.c_long]  # fmt: skip
        lib.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        lib.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        return lib
    except (OSError, AttributeError):
        return None


_LIBC = _load_libc()


def _round_up(n: int) -> int:
    page = mmap.PAGESIZE
    return max(page, (n + page - 1) // page * page)


class _Mapping:
    """Owns a reserved range of address space; unmapped when nothing uses it any more (the
    views of :class:`LinearMemory` keep it alive through their buffer object)."""

    __slots__ = ("addr", "size", "slot", "__weakref__")

    def __init__(self, addr: int, size: int):
        self.addr = addr
        self.size = size
        self.slot = -1  # its index in GUARD_REGISTRY, if it is a guard reservation

    @classmethod
    def reserve_guarded(cls) -> _Mapping | None:
        """A guard reservation (:data:`GUARD_RESERVATION`), listed in :data:`GUARD_REGISTRY`;
        None if the system or the registry refuses one."""
        with _guard_lock:
            if not _guard_free:
                return None
            m = cls.reserve(GUARD_RESERVATION)
            if m is None:
                return None
            m.slot = _guard_free.pop()
            GUARD_REGISTRY[m.slot] = m.addr
            return m

    @classmethod
    def reserve(cls, size: int, hint: int | None = None) -> _Mapping | None:
        """A new reservation of ``size`` bytes (at ``hint`` exactly, if given), or None."""
        flags = _FLAGS if hint is None else _FLAGS | _MAP_FIXED_NOREPLACE
        addr = _LIBC.mmap(hint, size, _PROT_NONE, flags, -1, 0)
        if addr is None or addr == _MAP_FAILED:
            return None
        if hint is not None and addr != hint:  # a kernel that took the address as a hint
            _LIBC.munmap(addr, size)
            return None
        return cls(addr, size)

    def commit(self, start: int, end: int) -> bool:
        """Make bytes ``[start, end)`` readable and writable (False if the kernel refuses)."""
        return _LIBC.mprotect(self.addr + start, end - start, _PROT_RW) == 0

    def __del__(self):
        if _LIBC is not None and self.size:
            if self.slot >= 0:
                with _guard_lock:
                    GUARD_REGISTRY[self.slot] = 0
                    _guard_free.append(self.slot)
                self.slot = -1
            _LIBC.munmap(self.addr, self.size)
            self.size = 0


_BUFFER_TYPES: dict[int, type] = {}


def _buffer(mapping: _Mapping, nbytes: int) -> memoryview:
    """A byte view of the first ``nbytes`` of ``mapping`` that keeps it alive."""
    cls = _BUFFER_TYPES.get(nbytes)
    if cls is None:
        cls = _BUFFER_TYPES[nbytes] = type("_Pages", (ctypes.c_ubyte * nbytes,), {})
    arr = cls.from_address(mapping.addr)  # type: ignore[attr-defined]
    arr.owner = mapping
    # A 'B'-cast view makes struct's unpack_from/pack_into take their fastest path.
    return memoryview(arr).cast("B")


#: the typed views of a memory (suffix of the byte view's name -> struct format): generated
#: code reads 8 bytes at an aligned address ``a`` as ``Mf64[a >> 3]``, which builds no tuple
#: (for 2- and 4-byte loads the test of the alignment costs what the tuple does)
TYPED_VIEWS = {"u64": "Q", "f64": "d"}


class _LittleEndian:
    """A typed view's stand-in on a big-endian host: the same indexing, through ``struct``."""

    __slots__ = ("view", "st", "size")

    def __init__(self, view: memoryview, fmt: str):
        self.view = view
        self.st = struct.Struct("<" + fmt)
        self.size = self.st.size

    def __getitem__(self, i: int):
        return self.st.unpack_from(self.view, i * self.size)[0]

    def __len__(self) -> int:
        return len(self.view) // self.size


def typed_views(view: memoryview) -> dict[str, object]:
    """The views of a memory's bytes as little-endian u64/f64 arrays, by name suffix
    (:data:`TYPED_VIEWS`; index ``i`` is the value at byte ``i * size``)."""
    if sys.byteorder == "little":
        return {suffix: view.cast(fmt) for suffix, fmt in TYPED_VIEWS.items()}  # type: ignore[call-overload]
    return {suffix: _LittleEndian(view, fmt) for suffix, fmt in TYPED_VIEWS.items()}


class LinearMemory:
    """One linear memory instance.

    Attributes:
        type: the (original) :class:`MemoryType`.
        pages: current size in pages.
        max_pages: the effective maximum in pages: the type's maximum (else 65536, or 2**48
            for a 64-bit memory), bounded by the address space reserved (see
            :data:`MAX_RESERVATION`).
        view: a byte ``memoryview`` of exactly the current size (replaced on growth).
        guarded: the memory has a guard reservation (see the module docstring): its base never
            moves and every address a 32-bit access can form lies inside the reservation.

    Raises:
        InstantiationError: not even the initial size could be mapped.
    """

    __slots__ = ("type", "pages", "max_pages", "_map", "_full", "view", "_bindings",
                 "store_limits", "guarded", "__weakref__")  # fmt: skip

    def __init__(self, type: MemoryType, store_limits=None):
        """``store_limits``: the :class:`~wasm2py.runtime.limits.StoreLimits` of the owning
        store (its ``memory_size`` bounds this memory).

        Raises:
            ResourceLimitError: the minimum size exceeds the store's limit.
        """
        if store_limits is not None:
            store_limits.check_memory(type.limits.min)
        self.store_limits = store_limits
        limits = type.limits
        self.type = type
        self.pages = limits.min
        self.max_pages = limits.max if limits.max is not None else (
            MAX_PAGES_64 if type.is_64 else MAX_PAGES)
        self.max_pages = max(self.pages, min(self.max_pages, MAX_RESERVATION // PAGE_SIZE))
        # (namespace dict, key) pairs whose value must follow ``view`` when it is replaced.
        self._bindings: list[tuple[dict, str, bool]] = []
        need = self.pages * PAGE_SIZE
        self.guarded = False
        if _LIBC is None:
            self._map = None
            self._full = self._plain_mmap(need)
        else:
            self._map = None
            if GUARD_PAGES and not type.is_64:
                self._map = _Mapping.reserve_guarded()
                self.guarded = self._map is not None
            if self._map is None:
                self._map = self._reserve(need)
            if self._map is None or not self._map.commit(0, need):
                raise InstantiationError(f"cannot map a memory of {self.pages} pages")
            self._full = _buffer(self._map, self._map.size)
        self.view = self._full[:need]

    def _plain_mmap(self, need: int) -> memoryview:
        try:
            m = mmap.mmap(-1, _round_up(self.max_pages * PAGE_SIZE),
                          flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | _MAP_NORESERVE)  # fmt: skip
        except OSError:
            # growth beyond the initial size then fails like a full memory
            self.max_pages = self.pages
            try:
                m = mmap.mmap(-1, _round_up(need))
            except OSError:
                raise InstantiationError(f"cannot map a memory of {self.pages} pages") from None
        return memoryview(m).cast("B")

    def _reserve(self, need: int) -> _Mapping | None:
        """The largest reservation up to the maximum that the system grants (halving from the
        maximum), at least ``need`` bytes; None if not even that."""
        size = _round_up(self.max_pages * PAGE_SIZE)
        need = _round_up(need)
        while True:
            m = _Mapping.reserve(size)
            if m is not None:
                return m
            if size <= need:
                return None
            size = max(need, size // 2 // mmap.PAGESIZE * mmap.PAGESIZE)

    # -- for generated code and the embedding API ---------------------------------------------
    def bind(self, namespace: dict, key: str, typed: bool = False) -> None:
        """Keep ``namespace[key]`` equal to :attr:`view` across growth (with ``typed``, also
        ``key + suffix`` equal to its typed views: :func:`typed_views`)."""
        namespace[key] = self.view
        if typed:
            for suffix, v in typed_views(self.view).items():
                namespace[key + suffix] = v
        self._bindings.append((namespace, key, typed))

    def grow(self, delta: int) -> int:
        """Grow by ``delta`` pages. Returns the old size in pages, or -1 if it cannot grow (the
        maximum, or the system refuses the memory)."""
        old = self.pages
        new = old + delta
        if delta < 0 or new > self.max_pages:
            return -1
        lim = self.store_limits
        if lim is not None and not lim.memory_fits(new):
            return -1
        if delta:
            m = self._map
            nbytes = new * PAGE_SIZE
            if m is not None:
                if nbytes > m.size and not self._enlarge(nbytes):
                    return -1
                if not self._map.commit(old * PAGE_SIZE, nbytes):  # type: ignore[union-attr]
                    return -1
            self.pages = new
            self.view = view = self._full[:nbytes]
            views = None
            for ns, key, typed in self._bindings:
                ns[key] = view
                if typed:
                    views = views or typed_views(view)
                    for suffix, v in views.items():
                        ns[key + suffix] = v
        return old

    def _enlarge(self, nbytes: int) -> bool:
        """Make the reservation hold ``nbytes``: extend it in place, or move to a larger one."""
        m = self._map
        assert m is not None  # only memories with a reservation grow through it
        end = _round_up(self.max_pages * PAGE_SIZE)
        # In place: reserve what follows it (as much as possible, at least what is needed).
        size = end - m.size
        while size >= nbytes - m.size:
            extra = _Mapping.reserve(size, hint=m.addr + m.size)
            if extra is not None:
                extra.size = 0  # now part of ``m``, unmapped with it
                m.size += size
                self._full = _buffer(m, m.size)
                return True
            size = size // 2 // mmap.PAGESIZE * mmap.PAGESIZE
        # Elsewhere: a new reservation; the committed bytes move there.
        new = self._reserve(nbytes)
        if new is None:
            return False
        used = self.pages * PAGE_SIZE
        if used and not new.commit(0, used):
            return False
        ctypes.memmove(new.addr, m.addr, used)
        self._map = new
        self._full = _buffer(new, new.size)
        return True

    @property
    def size_bytes(self) -> int:
        """Current size in bytes."""
        return self.pages * PAGE_SIZE

    def address(self) -> int:
        """The base address of the memory (for jitted code). It changes only if the memory
        had to move to grow (see the module docstring)."""
        if self._map is not None:
            return self._map.addr
        return ctypes.addressof(ctypes.c_char.from_buffer(self._full))

    def limits(self) -> Limits:
        """The current limits (current size as minimum)."""
        return Limits(self.pages, self.type.limits.max)

    def check_range(self, addr: int, n: int) -> None:
        """Trap with MEMORY_OUT_OF_BOUNDS unless ``[addr, addr+n)`` is inside the memory."""
        if addr + n > self.pages * PAGE_SIZE:
            raise Trap(TrapCode.MEMORY_OUT_OF_BOUNDS)
