"""What exact fuel metering can cost in the Python tier: ``fib`` as the translator writes it,
metered several ways, against the unmetered function (issue 20's fuel target: <= 1.1x).

The versions are hand copies of ``kernels/fib.c`` as the Python tier translates it (plain,
and with ``Config(consume_fuel=True)``): the code is the generated code, with the helpers it
calls stubbed (none of them runs: the fuel never runs out). Variants:

* ``cell``: the scheme until issue 20's branch pycalls2: the fuel in a local, checked and
  charged per segment, written to the store's cell ``F[0]`` before calls and returns and read
  back after calls;
* ``deferred``: what the translator wrote from then until issue 20's branch pyfuel3: the same
  checks, each segment's charge taken from the local only where it is seen (``F[0] = fuel - K``
  at calls and returns, ``fuel -= K`` where paths meet or something may trap), and a
  ``br_if``'s fallthrough checked together with the segment before it;
* ``closure``: what the translator writes since: the checks and charges of ``deferred``, taken
  on the store's cell itself, which every function has as its free variable ``fuel`` (a
  closure cell, see ``wasm2py.runtime.fuelcell``): no load at entry, no store before a call
  or reload after it, nothing written back at returns or when an exception leaves; and the
  checks before the loop made by one test when the cell covers them all;
* ``arg``: the fuel passed to the callee as an argument and returned with its result (no
  ``F[0]`` traffic; the calling convention would change for every function);
* ``nochecks``: ``cell`` without the checks (the per-segment subtractions and the ``F[0]``
  traffic only): a floor for any scheme that keeps charging per segment.

Each runs with fuel above 2**30 (``10**15``: CPython's int compares and subtractions are not
specialised for such ints) and below it. (Since issue 20's branch pyfuel the store's cell holds
at most 2**30 - 1, the rest banked, so generated code always runs as in the second row; it also
sets its local to ``FUEL_OUT`` while a call runs, one store more per call than ``deferred``.) CPU time, variants in turns, best of ``--repeat``.

Usage::

    python tools/bench/fuel_schemes.py [--n 24] [--repeat 5]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time

MAXD = 10**9
F = [0]


def DEEP(d):
    pass  # (the depth never reaches MAXD here)


def out_of_fuel(F, fuel, k):
    raise AssertionError("the fuel never runs out here")


def plain(l0, d):
    if d >= MAXD:
        DEEP(d)
    if not 2 <= l0 < 2147483648:
        return l0
    l1 = 0
    while True:
        s0 = plain(l0 - 1 if l0 >= 1 else l0 + 4294967295, d + 128)
        l1 = s0 + l1
        if l1 > 4294967295:
            l1 -= 4294967296
        l2 = l0 > 3
        l3 = l0 - 2 if l0 >= 2 else l0 + 4294967294
        l0 = l3
        if l2:
            continue
        break
    rv = l3 + l1
    if rv > 4294967295:
        rv -= 4294967296
    return rv


def cell(l0, d):  # today: the local, written to F[0] around calls and at returns
    if d >= MAXD:
        DEEP(d)
    fuel = F[0]
    try:
        if fuel < 5:
            out_of_fuel(F, fuel, 5)
        fuel -= 5
        if not 2 <= l0 < 2147483648:
            if fuel < 4:
                out_of_fuel(F, fuel, 4)
            fuel -= 4
            F[0] = fuel
            return l0
        if fuel < 3:
            out_of_fuel(F, fuel, 3)
        fuel -= 3
        l1 = 0
        while True:
            if fuel < 18:
                out_of_fuel(F, fuel, 18)
            fuel -= 18
            F[0] = fuel
            s0 = cell(l0 - 1 if l0 >= 1 else l0 + 4294967295, d + 128)
            fuel = F[0]
            l1 = s0 + l1
            if l1 > 4294967295:
                l1 -= 4294967296
            l2 = l0 > 3
            l3 = l0 - 2 if l0 >= 2 else l0 + 4294967294
            l0 = l3
            if l2:
                continue
            break
        if fuel < 3:
            out_of_fuel(F, fuel, 3)
        fuel -= 3
        F[0] = fuel
        rv = l3 + l1
        if rv > 4294967295:
            rv -= 4294967296
        return rv
    except BaseException:
        if fuel < F[0]:
            F[0] = fuel
        raise


def arg(l0, d, fuel):  # fuel passed in and returned with the result
    if d >= MAXD:
        DEEP(d)
    try:
        if fuel < 5:
            out_of_fuel(F, fuel, 5)
        fuel -= 5
        if not 2 <= l0 < 2147483648:
            if fuel < 4:
                out_of_fuel(F, fuel, 4)
            fuel -= 4
            return l0, fuel
        if fuel < 3:
            out_of_fuel(F, fuel, 3)
        fuel -= 3
        l1 = 0
        while True:
            if fuel < 18:
                out_of_fuel(F, fuel, 18)
            fuel -= 18
            s0, fuel = arg(l0 - 1 if l0 >= 1 else l0 + 4294967295, d + 128, fuel)
            l1 = s0 + l1
            if l1 > 4294967295:
                l1 -= 4294967296
            l2 = l0 > 3
            l3 = l0 - 2 if l0 >= 2 else l0 + 4294967294
            l0 = l3
            if l2:
                continue
            break
        if fuel < 3:
            out_of_fuel(F, fuel, 3)
        fuel -= 3
        rv = l3 + l1
        if rv > 4294967295:
            rv -= 4294967296
        return rv, fuel
    except BaseException:
        if fuel < F[0]:
            F[0] = fuel
        raise


def deferred(l0, d):  # cell as generated since issue 20: charges taken where they are seen
    if d >= MAXD:
        DEEP(d)
    fuel = F[0]
    try:
        if fuel < 5:
            out_of_fuel(F, fuel, 5)
        if 2 <= l0 < 2147483648:
            fuel -= 5  # (the br_if's taken way: paths meet at the block's end)
        else:
            if fuel < 9:  # the fallthrough's check covers the 5 carried in
                out_of_fuel(F, fuel - 5, 4)
            F[0] = fuel - 9
            return l0
        if fuel < 3:
            out_of_fuel(F, fuel, 3)
        l1 = 0
        fuel -= 3
        while True:
            if fuel < 18:
                out_of_fuel(F, fuel, 18)
            F[0] = fuel - 18
            s0 = deferred(l0 - 1 if l0 >= 1 else l0 + 4294967295, d + 128)
            fuel = F[0]
            l1 = s0 + l1
            if l1 > 4294967295:
                l1 -= 4294967296
            l2 = l0 > 3
            l3 = l0 - 2 if l0 >= 2 else l0 + 4294967294
            l0 = l3
            if l2:
                continue
            break
        if fuel < 3:
            out_of_fuel(F, fuel, 3)
        F[0] = fuel - 3
        rv = l3 + l1
        if rv > 4294967295:
            rv -= 4294967296
        return rv
    except BaseException:
        if fuel < F[0]:
            F[0] = fuel
        raise


def nochecks(l0, d):  # the cell scheme without the checks (subtractions and F[0] traffic only)
    if d >= MAXD:
        DEEP(d)
    fuel = F[0]
    try:
        fuel -= 5
        if not 2 <= l0 < 2147483648:
            fuel -= 4
            F[0] = fuel
            return l0
        fuel -= 3
        l1 = 0
        while True:
            fuel -= 18
            F[0] = fuel
            s0 = nochecks(l0 - 1 if l0 >= 1 else l0 + 4294967295, d + 128)
            fuel = F[0]
            l1 = s0 + l1
            if l1 > 4294967295:
                l1 -= 4294967296
            l2 = l0 > 3
            l3 = l0 - 2 if l0 >= 2 else l0 + 4294967294
            l0 = l3
            if l2:
                continue
            break
        fuel -= 3
        F[0] = fuel
        rv = l3 + l1
        if rv > 4294967295:
            rv -= 4294967296
        return rv
    except BaseException:
        if fuel < F[0]:
            F[0] = fuel
        raise


def _closure_scheme():
    """``closure`` and the function that sets its cell (the store's fuel)."""
    fuel = 0

    def closure(l0, d):  # generated since pyfuel3: the cell charged in place
        nonlocal fuel
        if d >= MAXD:
            DEEP(d)
        if fuel >= 9:  # (the entry's checks split off: peephole.split_entry_checks)
            if not 2 <= l0 < 2147483648:
                fuel -= 9
                return l0
            l1 = 0
            fuel -= 8
        else:
            if fuel < 5:
                fuel = out_of_fuel(F, fuel, 5)
            if not 2 <= l0 < 2147483648:
                if fuel < 9:
                    fuel = out_of_fuel(F, fuel - 5, 4) + 5
                fuel -= 9
                return l0
            if fuel < 8:
                fuel = out_of_fuel(F, fuel - 5, 3) + 5
            l1 = 0
            fuel -= 8
        while True:
            if fuel < 18:
                fuel = out_of_fuel(F, fuel, 18)
            fuel -= 18
            s0 = closure(l0 - 1 if l0 >= 1 else l0 + 4294967295, d + 128)
            l1 = s0 + l1
            if l1 > 4294967295:
                l1 -= 4294967296
            l2 = l0 > 3
            l3 = l0 - 2 if l0 >= 2 else l0 + 4294967294
            l0 = l3
            if l2:
                continue
            break
        if fuel < 3:
            fuel = out_of_fuel(F, fuel, 3)
        fuel -= 3
        rv = l3 + l1
        if rv > 4294967295:
            rv -= 4294967296
        return rv

    def set_fuel(value: int) -> None:
        nonlocal fuel
        fuel = value

    return closure, set_fuel


closure, set_closure_fuel = _closure_scheme()


def fib(n: int) -> int:
    """fib(n) by iteration (what every variant must return)."""
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=24, help="fib(n) (default 24)")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per variant (best of)")
    args = ap.parse_args(argv)
    n, want = args.n, fib(args.n)
    print(f"fib({n}), Python {sys.version.split()[0]}; CPU time, variants in turns, "
          f"best of {args.repeat}; time / unmetered time")  # fmt: skip
    for start in (10**15, 2**30 - 1):
        runs = {"plain": lambda: plain(n, 0), "cell": lambda: cell(n, 0),
                "deferred": lambda: deferred(n, 0), "closure": lambda: closure(n, 0),
                "arg": lambda s=start: arg(n, 0, s)[0], "nochecks": lambda: nochecks(n, 0)}  # fmt: skip
        best = dict.fromkeys(runs, float("inf"))
        for _ in range(args.repeat):
            for k, f in runs.items():
                F[0] = start
                set_closure_fuel(start)
                gc.disable()
                t = time.process_time()
                r = f()
                dt = time.process_time() - t
                gc.enable()
                if r != want:
                    print(f"{k}: fib({n}) = {r}, expected {want}")
                    return 1
                best[k] = min(best[k], dt)
        print(f"fuel {start:>16}: " + ", ".join(f"{k} {v / best['plain']:.2f}x"
                                                 for k, v in best.items()))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
