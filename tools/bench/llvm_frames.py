"""Native stack used per wasm frame by the LLVM tier (for sizing thread stacks).

Runs two recursive functions (``down``: one i32 parameter; ``fat``: 16 f64 locals, three live
across the call) with the depth limit lifted, in a thread with an 8 MiB stack, and finds the
deepest recursion that does not trap (binary search). The stack check traps at 256 KiB above
the bottom of the stack, so bytes/frame = (8 MiB - 256 KiB) / frames.

Usage::

    python tools/bench/llvm_frames.py [--opt N]
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``tests`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import wasm2py
from tests.test_llvm import RECURSION
from tests.wat import wat

STACK = 8 * 1024 * 1024


def main(argv: list[str] | None = None) -> int:
    from wasm2py import llvm
    from wasm2py.llvm.native import STACK_MARGIN

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--opt", type=int, default=2)
    args = ap.parse_args(argv)
    store = wasm2py.Store(wasm2py.Engine(wasm2py.Config(max_call_depth=10_000_000)))
    module = wasm2py.Module(store.engine, wat(RECURSION))
    inst = llvm.instantiate(store, llvm.compile_module(module._module, args.opt))

    def deepest(f) -> int:
        lo, hi = 1, 5_000_000
        while lo < hi:
            mid = (lo + hi + 1) // 2
            try:
                f(mid)
                lo = mid
            except wasm2py.Trap:
                hi = mid - 1
        return lo

    res: dict[str, int] = {}

    def run():
        for name in ("down", "fat"):
            res[name] = deepest(inst.exports[name])

    old = threading.stack_size(STACK)
    try:
        t = threading.Thread(target=run)
        t.start()
        t.join()
    finally:
        threading.stack_size(old)
    for name, frames in res.items():
        per = (STACK - STACK_MARGIN) / frames
        print(f"{name:5s} {frames:8d} frames in 8 MiB  {per:6.1f} bytes/frame  "
              f"10,000 frames: {per * 10_000 / 1024:.0f} KiB")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
