"""Instantiate examples/demo.wasm and call its exports (run: python examples/demo.py)."""

from pathlib import Path

import wasm2py

here = Path(__file__).parent
store = wasm2py.Store()
module = wasm2py.Module.from_file(store.engine, here / "demo.wasm")
instance = wasm2py.Instance(store, module, {"env": {"log": lambda v: print("wasm says:", v)}})
ex = instance.exports

print("add(2, 40) =", ex.add(2, 40))
print("fib(20) =", ex.fib(20))
print("memory:", ex.memory.read(16, 32))
print("checksum =", ex.checksum(16, 16))
try:
    ex.crash()
except wasm2py.Trap as trap:
    print("trapped:", trap.code.name)
