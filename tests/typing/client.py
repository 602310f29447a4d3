import wasm2py
import wasm2py.wasmtime as wasmtime
from wasm2py.wasi import WasiConfig

engine = wasm2py.Engine(wasm2py.Config(tier="python", epoch_interruption=True))
store = wasm2py.Store(engine)
store.set_epoch_deadline(10)
store.set_limits(memory_size=1 << 20)
module = wasm2py.Module(engine, b"\0asm\1\0\0\0")
data: bytes = module.serialize()
module2 = wasm2py.Module.deserialize(engine, data)
inst = wasm2py.Instance(store, module2, {})
mem = wasm2py.Memory(store, wasm2py.MemoryType(wasm2py.Limits(1)))
n: int = mem.grow(1)
b: bytes = mem.read(0, 4)
try:
    pass
except wasm2py.Trap as t:
    code: wasm2py.TrapCode | None = t.code
engine.increment_epoch()
cfg = WasiConfig(argv=["x"])

wengine = wasmtime.Engine()
wstore = wasmtime.Store(wengine)
wmod = wasmtime.Module(wengine, "(module)")
winst = wasmtime.Instance(wstore, wmod, [])
f = wasmtime.Func(wstore, wasmtime.FuncType([wasmtime.ValType.i32()], []), lambda x: None)
f(wstore, 1)
v: int | None = wasmtime.Val.i32(3).as_i32()
