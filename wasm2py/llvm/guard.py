"""Guard-page bounds checks: an out-of-bounds access of jitted code faults, and the fault is a trap.

A guarded memory (``LinearMemory.guarded``: a 32-bit memory whose reservation covers every
address an access can form, see :mod:`wasm2py.runtime.memory`) needs no compare and branch per
access in code compiled with ``guard=True``: an access beyond its size touches a ``PROT_NONE``
page and the kernel sends ``SIGSEGV``. This module turns that signal into the trap the explicit
check would have raised:

* **Landings.** Wherever guard pages are available (:func:`available`), every entry wrapper (the functions Python calls through ctypes,
  ``lower.ModuleBuilder._entry``) calls ``_setjmp`` on a buffer in its own frame and pushes it
  on the thread's *landing stack* (:data:`PUSH`; a ``pthread`` key, so each thread has its
  own), and pops it on return (:data:`POP`). Host calls from jitted code (the trampolines) push
  an empty landing for the time Python runs (:data:`HOST`/:data:`POP`): a fault in Python code
  called from jitted code is never taken for a trap; an entry nested in that host call pushes
  its own landing above it.
* **The handler** (``SIGSEGV`` and ``SIGBUS``, ``SA_SIGINFO | SA_ONSTACK | SA_NODEFER``) jumps to
  the thread's top landing (``longjmp``) when there is one, the signal came from the kernel (a
  real fault, ``si_code > 0``) and the faulting address lies inside a live guard reservation
  (``GUARD_REGISTRY``); the entry wrapper then stores the out-of-bounds status and returns, so
  the Python boundary raises ``Trap(MEMORY_OUT_OF_BOUNDS)`` as for an explicit check. Any other
  signal goes to the action that was installed before (Python's ``faulthandler``, or the
  default action: a real crash still crashes). A signal that was *raised* (``si_code <= 0``, as
  ``faulthandler`` does after dumping, to reach the next handler) with no earlier handler of
  its own gets the default action. A raised signal while jitted code runs (``si_code <= 0``
  with a landing on top) is ignored: only a handler that displaced ours and re-raises does
  that (``faulthandler`` enabled after ours: it dumps, puts ours back and raises); returning
  runs the faulting access again, which now reaches this handler as a fault.
* What the unwound jitted frames leave behind: nothing the boundary does not reset. Their call
  depth is an argument, the trap status is stored by the entry (:data:`TRAPPED`), no exception
  is in flight at an access, and code compiled with fuel metering (whose counter lives in a
  register) keeps explicit checks (see ``jit.guard_mode``).
* **Backtrace.** Code with landings keeps frame pointers; before jumping, the handler walks the
  frames from the fault to the entry's (its frame address is in the landing) and saves their
  code addresses in the landing; the entry appends them to the trap trace, and the boundary
  maps each to its function (``NativeRuntime.code_frame``; no wasm offsets).

The handler and the landing helpers are LLVM IR jitted once per process (:func:`install`), the
handler installed with ``sigaction`` through ctypes. If something displaced it (a later
``faulthandler.enable()``), :func:`install` puts it back on top, chaining to what displaced it.
"""

from __future__ import annotations

import ctypes
import functools
import signal
import threading

from ..errors import TrapCode
from ..runtime.memory import GUARD_PAGES, GUARD_REGISTRY, GUARD_RESERVATION, GUARD_SLOTS
from . import abi

#: symbol of ``void *push(void *landing)``: landing.prev = top; top = landing (returns nothing
#: useful; the entry keeps the landing)
PUSH = "wasm2py_guard_push"
#: symbol of ``void pop(void *landing)``: top = landing.prev
POP = "wasm2py_guard_pop"
#: symbol of ``void *host(void *landing)``: an empty landing above the top (Python runs)
HOST = "wasm2py_guard_host"
#: symbol of ``void trapped(void *landing, void *rt)``: after the jump back, in the entry: pop
#: the landing, append the frames the handler saw to the trap trace, set the trap status
TRAPPED = "wasm2py_guard_trapped"
#: a landing: a glibc ``jmp_buf`` (200 bytes on x86-64), the previous top, the entry's frame
#: address, and the code addresses of the wasm frames at the fault (innermost first)
LANDING_BYTES = 512
LANDING_PREV = 248
LANDING_FRAME = 256
LANDING_COUNT = 264
LANDING_PCS = 272
MAX_PCS = (LANDING_BYTES - LANDING_PCS) // 8
#: where the kernel's ``ucontext_t`` keeps RBP, RSP and RIP on x86-64 (``uc_mcontext.gregs``)
_UC_RBP, _UC_RSP, _UC_RIP = 40 + 8 * 10, 40 + 8 * 15, 40 + 8 * 16

_SA_SIGINFO = 4
_SA_ONSTACK = 0x08000000
_SA_NODEFER = 0x40000000
#: glibc's ``struct sigaction`` on x86-64: handler, 128-byte mask, int flags, restorer
_SIGACTION_BYTES = 152
_SA_FLAGS_OFFSET = 136


class _SigAction(ctypes.Structure):
    _fields_ = [("handler", ctypes.c_void_p), ("mask", ctypes.c_uint64 * 16),
                ("flags", ctypes.c_int), ("pad", ctypes.c_int), ("restorer", ctypes.c_void_p)]


assert ctypes.sizeof(_SigAction) == _SIGACTION_BYTES

_lock = threading.Lock()
_state: dict = {}


def guard_mode(guard: bool | None, fuel_costs=None) -> bool:
    """Whether code is compiled in guard-page mode (this module): ``guard`` None means when
    the host has it; never with fuel metering (its counter lives in a register the fault
    handler cannot write back, and a trap must leave the exact fuel). Here, not in ``.jit``:
    a cold ``tier="auto"`` instance asks without loading LLVM."""
    if fuel_costs is not None or guard is False:
        return False
    return available()


@functools.cache
def available() -> bool:
    """Whether guard-page checks can be used in this process (Linux on x86-64 with glibc).
    Then all code compiled for the host has landings (guard mode or not: guard-mode code
    called directly from another instance's code runs under that code's entry), and the
    handler is installed before any is loaded (``jit._load_objects``)."""
    return GUARD_PAGES and _libc() is not None


def _libc():
    try:
        lib = ctypes.CDLL(None, use_errno=True)
        lib.sigaction, lib._setjmp, lib.longjmp, lib.pthread_getspecific  # noqa: B018
        lib.gnu_get_libc_version  # noqa: B018 - glibc's jmp_buf and sigaction layouts
    except (OSError, AttributeError):
        return None
    lib.sigaction.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
    lib.pthread_key_create.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    return lib


def _ir(key: int, olds: dict[int, int], dfl: int) -> str:
    """The handler and the landing helpers, as IR text (addresses are constants: this code
    lives only in this process)."""
    reg = ctypes.addressof(GUARD_REGISTRY)
    segv, bus = int(signal.SIGSEGV), int(signal.SIGBUS)
    return f"""
declare ptr @pthread_getspecific(i32)
declare i32 @pthread_setspecific(i32, ptr)
declare void @longjmp(ptr, i32) noreturn
declare i32 @sigaction(i32, ptr, ptr)
declare i32 @raise(i32)

define void @{PUSH}(ptr %l) {{
  %top = call ptr @pthread_getspecific(i32 {key})
  %p = getelementptr i8, ptr %l, i64 {LANDING_PREV}
  store ptr %top, ptr %p
  %r = call i32 @pthread_setspecific(i32 {key}, ptr %l)
  ret void
}}

define void @{POP}(ptr %l) {{
  %p = getelementptr i8, ptr %l, i64 {LANDING_PREV}
  %prev = load volatile ptr, ptr %p
  %r = call i32 @pthread_setspecific(i32 {key}, ptr %prev)
  ret void
}}

define ptr @{HOST}(ptr %l) {{
  call void @{PUSH}(ptr %l)
  %r = call i32 @pthread_setspecific(i32 {key}, ptr null)
  ret ptr %l
}}

; the wasm frames between the fault and the entry (frame pointers: every function of code
; with landings keeps one), read while they are still there
define void @wasm2py_guard_walk(ptr %l, ptr %uc) {{
entry:
  %ripp = getelementptr i8, ptr %uc, i64 {_UC_RIP}
  %rip = load i64, ptr %ripp
  %rbpp = getelementptr i8, ptr %uc, i64 {_UC_RBP}
  %rbp = load i64, ptr %rbpp
  %rspp = getelementptr i8, ptr %uc, i64 {_UC_RSP}
  %rsp = load i64, ptr %rspp
  %efpp = getelementptr i8, ptr %l, i64 {LANDING_FRAME}
  %efp = load i64, ptr %efpp
  %pcs = getelementptr i8, ptr %l, i64 {LANDING_PCS}
  store i64 %rip, ptr %pcs
  br label %loop
loop:
  %n = phi i64 [1, %entry], [%n1, %step]
  %fp = phi i64 [%rbp, %entry], [%next, %step]
  %room = icmp ult i64 %n, {MAX_PCS}
  %lo = icmp uge i64 %fp, %rsp
  %hi = icmp ult i64 %fp, %efp
  %in = and i1 %lo, %hi
  %go = and i1 %in, %room
  br i1 %go, label %read, label %done
read:
  %fpp = inttoptr i64 %fp to ptr
  %next = load i64, ptr %fpp
  %outer = icmp eq i64 %next, %efp
  %down = icmp ule i64 %next, %fp
  %stop = or i1 %outer, %down
  br i1 %stop, label %done, label %step
step:
  %rap = getelementptr i8, ptr %fpp, i64 8
  %ra = load i64, ptr %rap
  %slot = getelementptr i64, ptr %pcs, i64 %n
  store i64 %ra, ptr %slot
  %n1 = add i64 %n, 1
  br label %loop
done:
  %count = phi i64 [%n, %loop], [%n, %read]
  %cp = getelementptr i8, ptr %l, i64 {LANDING_COUNT}
  store i64 %count, ptr %cp
  ret void
}}

; in the entry after the jump back: pop, the frames into the trap trace as (0, code address)
; (see the recorder of lower.py and NativeRuntime.take_trace), the out-of-bounds status
define void @{TRAPPED}(ptr %l, ptr %rt) {{
entry:
  call void @{POP}(ptr %l)
  %tp = getelementptr i64, ptr %rt, i64 {abi.RT_TRACE}
  %trace = load ptr, ptr %tp
  %cp = getelementptr i8, ptr %l, i64 {LANDING_COUNT}
  %count = load volatile i64, ptr %cp
  %pcs = getelementptr i8, ptr %l, i64 {LANDING_PCS}
  br label %loop
loop:
  %i = phi i64 [0, %entry], [%i1, %body]
  %more = icmp ult i64 %i, %count
  br i1 %more, label %body, label %done
body:
  %pp = getelementptr i64, ptr %pcs, i64 %i
  %pc = load volatile i64, ptr %pp
  %n = load i64, ptr %trace
  %full = icmp ult i64 %n, {abi.TRACE_FRAMES}
  %k = select i1 %full, i64 %n, i64 {abi.TRACE_FRAMES}
  %k2 = mul i64 %k, 2
  %s = add i64 %k2, 2
  %sp = getelementptr i64, ptr %trace, i64 %s
  store i64 0, ptr %sp
  %s1 = add i64 %s, 1
  %wp = getelementptr i64, ptr %trace, i64 %s1
  store i64 %pc, ptr %wp
  %n1 = add i64 %n, 1
  store i64 %n1, ptr %trace
  %i1 = add i64 %i, 1
  br label %loop
done:
  %st = getelementptr i64, ptr %rt, i64 {abi.RT_TRAP}
  store i64 {abi.TRAP_STATUS[TrapCode.MEMORY_OUT_OF_BOUNDS]}, ptr %st
  ret void
}}

define void @wasm2py_guard_handler(i32 %sig, ptr %info, ptr %uc) {{
entry:
  %top = call ptr @pthread_getspecific(i32 {key})
  %has = icmp ne ptr %top, null
  %cp = getelementptr i8, ptr %info, i64 8
  %code = load i32, ptr %cp
  %fault = icmp sgt i32 %code, 0
  br i1 %has, label %inside, label %chain
inside:
  br i1 %fault, label %scan, label %back
scan:
  %ap = getelementptr i8, ptr %info, i64 16
  %a = load i64, ptr %ap
  br label %loop
loop:
  %i = phi i64 [0, %scan], [%i1, %next]
  %done = icmp eq i64 %i, {GUARD_SLOTS}
  br i1 %done, label %chain, label %body
body:
  %sp = getelementptr i64, ptr inttoptr (i64 {reg} to ptr), i64 %i
  %base = load volatile i64, ptr %sp
  %d = sub i64 %a, %base
  %in = icmp ult i64 %d, {GUARD_RESERVATION}
  %live = icmp ne i64 %base, 0
  %hit = and i1 %in, %live
  %i1 = add i64 %i, 1
  br i1 %hit, label %jump, label %next
next:
  br label %loop
jump:
  call void @wasm2py_guard_walk(ptr %top, ptr %uc)
  call void @longjmp(ptr %top, i32 1)
  unreachable
chain:
  %isbus = icmp eq i32 %sig, {bus}
  %old = select i1 %isbus, ptr inttoptr (i64 {olds[bus]} to ptr), ptr inttoptr (i64 {olds[segv]} to ptr)
  %h = load ptr, ptr %old
  %hi = ptrtoint ptr %h to i64
  %plain = icmp ule i64 %hi, 1
  br i1 %plain, label %default, label %call
default:
  %s = call i32 @sigaction(i32 %sig, ptr inttoptr (i64 {dfl} to ptr), ptr null)
  br i1 %fault, label %back, label %again
again:
  %r = call i32 @raise(i32 %sig)
  br label %back
back:
  ret void
call:
  %fp = getelementptr i8, ptr %old, i64 {_SA_FLAGS_OFFSET}
  %flags = load i32, ptr %fp
  %si = and i32 %flags, {_SA_SIGINFO}
  %withinfo = icmp ne i32 %si, 0
  br i1 %withinfo, label %call3, label %call1
call3:
  call void %h(i32 %sig, ptr %info, ptr %uc)
  ret void
call1:
  call void %h(i32 %sig)
  ret void
}}
"""


def install() -> None:
    """Jit the handler and the landing helpers (once per process), make the helpers known to
    MCJIT's symbol resolution (entry wrappers of guard-mode code call them), and install the
    handler for SIGSEGV and SIGBUS unless it is the current one (a handler installed since,
    e.g. by ``faulthandler.enable()``, becomes the one it chains to)."""
    import llvmlite.binding as llvm

    from .jit import _init, host_target_machine, new_engine

    with _lock:
        lib = _state.get("libc")
        if "engine" not in _state:
            lib = _libc()
            if lib is None or not GUARD_PAGES:
                raise RuntimeError("guard pages are not available on this host")
            _init()
            key = ctypes.c_uint(0)
            if lib.pthread_key_create(ctypes.byref(key), None) != 0:
                raise RuntimeError("pthread_key_create failed")
            olds = {int(signal.SIGSEGV): _SigAction(), int(signal.SIGBUS): _SigAction()}
            dfl = _SigAction()  # SIG_DFL, empty mask
            text = _ir(key.value, {s: ctypes.addressof(a) for s, a in olds.items()},
                       ctypes.addressof(dfl))  # fmt: skip
            mod = llvm.parse_assembly(text)
            mod.verify()
            # (level 0, LLVM's fast code generator: 6 CPU ms to jit instead of 15, in every
            # process that runs jitted code; an export call into guarded code, which pushes and
            # pops a landing, took the same time either way: ~0.94 us, best of 7 x 200,000)
            engine = new_engine(mod, host_target_machine(0))
            engine.finalize_object()
            for name in (PUSH, POP, HOST, TRAPPED):
                llvm.add_symbol(name, engine.get_function_address(name))
            _state.update(libc=lib, engine=engine, olds=olds, dfl=dfl,
                          handler=engine.get_function_address("wasm2py_guard_handler"))
        handler = _state["handler"]
        for sig, old in _state["olds"].items():
            cur = _SigAction()
            lib.sigaction(sig, None, ctypes.byref(cur))
            if cur.handler == handler:
                continue
            new = _SigAction()
            new.handler = handler
            new.flags = _SA_SIGINFO | _SA_ONSTACK | _SA_NODEFER
            ctypes.memmove(ctypes.addressof(old), ctypes.addressof(cur), _SIGACTION_BYTES)
            if lib.sigaction(sig, ctypes.byref(new), None) != 0:
                raise OSError(ctypes.get_errno(), "sigaction failed")


def installed() -> bool:
    """Whether the handler is the current action for SIGSEGV and SIGBUS."""
    if "handler" not in _state:
        return False
    lib = _state["libc"]
    for sig in (signal.SIGSEGV, signal.SIGBUS):
        cur = _SigAction()
        lib.sigaction(int(sig), None, ctypes.byref(cur))
        if cur.handler != _state["handler"]:
            return False
    return True
