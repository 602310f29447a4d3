"""One module, several sides (:mod:`.execute`), the same calls in lockstep: the first
disagreement is a finding."""

from __future__ import annotations

import random

import wasm2py

from .execute import Crash, Unsupported, memories_match, outcomes_match, random_arg, values_match

#: outcomes after which wasmtime's state may differ from ours for allowed reasons (its fuel
#: and stack limits are not ours), so it is compared no further in that module
_WASMTIME_STOPS = {("trap", "OUT_OF_FUEL"), ("trap", "CALL_STACK_EXHAUSTED")}


class Mismatch(Exception):
    """The sides disagree (the message says where and how)."""


def _short(v, limit: int = 300) -> str:
    text = repr(v)
    return text if len(text) <= limit else text[:limit] + "..."


def run_lockstep(sides: list, wasm: bytes, seed: int, *, calls: int = 12, nan: str = "loose",
                 fuel_choices: tuple = (), stats=None) -> None:  # fmt: skip
    """Load, instantiate and call ``wasm`` on every side in lockstep.

    Args:
        sides: the first is the reference; a side named ``wasmtime`` is dropped (not an error)
            when it cannot load the module or express a call, and after fuel or stack traps.
        seed: determines the calls (exports, arguments, fuel).
        nan: ``"loose"`` or ``"exact"`` (see :mod:`.execute`).
        fuel_choices: for metered sides, a call's fuel is drawn from these callables of the rng.

    Raises:
        Mismatch: the sides disagree. Crash: a side raised something it must never raise.
    """
    stats = stats if stats is not None else {}
    loose = nan == "loose"
    rng = random.Random(seed * 7919 + 17)
    active = []
    for side in sides:
        if side.name == "wasmtime" and active and _has_v128_boundary(active[0].module):
            # wasmtime's Python binding aborts the process on v128 at the boundary
            stats["wasmtime-v128-skipped"] = stats.get("wasmtime-v128-skipped", 0) + 1
            continue
        try:
            side.load(wasm)
        except Exception as e:  # noqa: BLE001
            if side.name == "wasmtime":
                stats["wasmtime-load-refused"] = stats.get("wasmtime-load-refused", 0) + 1
                continue
            if isinstance(e, wasm2py.Error):
                raise Mismatch(f"{side.name} rejects a valid module: {type(e).__name__}: {e}") from e
            raise Crash(f"{side.name} load: {type(e).__name__}: {e}") from e
        active.append(side)
    metered = any(s.fuel for s in active)
    start_fuel = 10_000_000 if metered else None
    try:
        inst = [(s, s.instantiate(start_fuel if s.fuel else None)) for s in active]
    except Unsupported:
        active = [s for s in active if s.name != "wasmtime"]
        inst = [(s, s.instantiate(start_fuel if s.fuel else None)) for s in active]
    ref_side, ref = inst[0]
    if any(out in _WASMTIME_STOPS for _, out in inst):
        # the start function ran out of fuel or stack: wasmtime's limits are not ours
        inst = [(s, out) for s, out in inst if s.name != "wasmtime"]
        active = [s for s in active if s.name != "wasmtime"]
    for side, out in inst[1:]:
        if out != ref:
            raise Mismatch(f"instantiate: {ref_side.name} {ref} vs {side.name} {out}")
    _compare_state(active, loose, "after instantiation")
    if ref != ("ok",):
        stats["instantiate-trap"] = stats.get("instantiate-trap", 0) + 1
        return
    funcs = [name for name, item in ref_side.exports().items()
             if isinstance(item, wasm2py.Func)]  # fmt: skip
    if not funcs:
        return
    for k in range(calls):
        name = rng.choice(funcs)
        ft = ref_side.exports()[name].type
        args = [random_arg(rng, t, quiet_f32=True) for t in ft.params]
        fuel = rng.choice(fuel_choices)(rng) if metered and fuel_choices else None
        results = []
        for side in list(active):
            try:
                out, used = side.call(name, args, fuel if side.fuel else None)
            except Unsupported:
                active.remove(side)
                continue
            results.append((side, out, used))
        stats["calls"] = stats.get("calls", 0) + 1
        key = f"outcome:{results[0][1][0]}" + (f":{results[0][1][1]}" if results[0][1][0] == "trap" else "")
        stats[key] = stats.get(key, 0) + 1
        where = f"call {k} {name}{_short(tuple(args))}" + (f" fuel={fuel}" if fuel else "")
        r_side, r_out, r_used = results[0]
        stop_wasmtime = any(out in _WASMTIME_STOPS for _, out, _ in results)
        for side, out, used in results[1:]:
            if side.name == "wasmtime" and stop_wasmtime:
                continue
            if not outcomes_match(r_out, out, loose or side.name == "wasmtime"):
                raise Mismatch(f"{where}: {r_side.name} {_short(r_out)} vs {side.name} "
                               f"{_short(out)}")  # fmt: skip
            if r_side.fuel and side.fuel and used != r_used:
                raise Mismatch(f"{where}: fuel used {r_side.name} {r_used} vs {side.name} "
                               f"{used} (outcome {_short(r_out)})")  # fmt: skip
        if stop_wasmtime:
            active = [s for s in active if s.name != "wasmtime"]
        _compare_state(active, loose, f"after {where}")


def _has_v128_boundary(module) -> bool:
    """Whether a v128 crosses the boundary: in an imported or exported function's type or
    an imported or exported global."""
    V128 = wasm2py.ValType.V128
    for item in [*module.imports, *module.exports]:
        t = item.type
        if isinstance(t, wasm2py.FuncType) and V128 in (*t.params, *t.results):
            return True
        if isinstance(t, wasm2py.GlobalType) and t.valtype is V128:
            return True
    return False


def _compare_state(sides: list, loose: bool, where: str) -> None:
    if len(sides) < 2:
        return
    ref = sides[0]
    ref_mems, ref_globs, ref_tables = ref.snapshot()
    for side in sides[1:]:
        lo = loose or side.name == "wasmtime"
        mems, globs, tables = side.snapshot()
        if [n for n, _ in mems] != [n for n, _ in ref_mems]:
            raise Mismatch(f"{where}: memories {[n for n, _ in ref_mems]} vs {[n for n, _ in mems]}")
        for (n, a), (_, b) in zip(ref_mems, mems):
            at = memories_match(a, b, lo)
            if at is not None:
                raise Mismatch(f"{where}: memory {n!r} differs at {at:#x} (sizes {len(a)}, "
                               f"{len(b)}): {ref.name} {a[at:at + 16].hex()} vs {side.name} "
                               f"{b[at:at + 16].hex()}")  # fmt: skip
        for (n, a), (m, b) in zip(ref_globs, globs):
            if n != m or not values_match(a, b, lo):
                raise Mismatch(f"{where}: global {n!r} {ref.name} {a!r} vs {side.name} {b!r}")
        if len(ref_globs) != len(globs):
            raise Mismatch(f"{where}: exported globals differ in number")
        if tables != ref_tables:
            raise Mismatch(f"{where}: tables {ref.name} {_short(ref_tables)} vs {side.name} "
                           f"{_short(tables)}")  # fmt: skip
        if side.log != ref.log:
            at = next((i for i, (x, y) in enumerate(zip(ref.log, side.log)) if x != y),
                      min(len(ref.log), len(side.log)))  # fmt: skip
            if not (lo and _logs_loose(ref.log[at:], side.log[at:])):
                raise Mismatch(f"{where}: host call {at}: {ref.name} "
                               f"{_short(ref.log[at:at + 1])} vs {side.name} "
                               f"{_short(side.log[at:at + 1])}")  # fmt: skip


def _logs_loose(a: list, b: list) -> bool:
    if len(a) != len(b):
        return False
    for (n1, x), (n2, y) in zip(a, b):
        if n1 != n2 or len(x) != len(y) or not all(values_match(p, q, True) for p, q in zip(x, y)):
            return False
    return True
