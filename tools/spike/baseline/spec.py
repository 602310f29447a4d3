"""Spike: the baseline compiler against the spec suite's integer/control/memory scripts.

    PYTHONPATH=. python tools/spike/baseline/spec.py [NAME.wast ...]

For each module of a script (without imports): every function that lies in the subset and
calls only such functions is compiled; its globals and memory (data segments applied) come
from a Python-tier instance of the module, which nothing else calls. Each ``assert_return`` /
``assert_trap`` / ``assert_exhaustion`` on a compiled export with i32/i64 values is run on the
baseline code and compared with the script's expected value (not with our own output).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from compiler import CTX_GLOBALS, SUPPORTED, Code, Compiler, Unsupported  # noqa: E402

import wasm2py  # noqa: E402
from wasm2py.binary.decoder import decode_module  # noqa: E402
from wasm2py.binary.opcodes import Op  # noqa: E402
from wasm2py.types import ValType  # noqa: E402
from wasm2py.wast.script import read_script  # noqa: E402

SPEC = Path("/work/shared/spec/wasm-2.0")
DEFAULT = ["i32", "i64", "int_exprs", "int_literals", "br", "br_if", "block", "loop", "if",
           "local_get", "local_set", "local_tee", "fac", "forward", "labels", "nop", "select",
           "stack", "load", "store", "address", "align", "endianness", "memory_trap",
           "left-to-right", "return", "unwind", "call", "memory_redundancy", "traps",
           "unreachable", "global", "memory_size", "func", "conversions"]
INT = {ValType.I32: 0xFFFFFFFF, ValType.I64: 0xFFFFFFFFFFFFFFFF}


def eligible(m, within: set[int] | None = None) -> set[int]:
    nimp = m.num_imported_funcs
    ftypes = m.func_types()
    ok = set()
    calls = {}
    for k, code in enumerate(m.codes):
        fi = nimp + k
        if within is not None and fi not in within:
            continue
        body = code.body
        if len(ftypes[fi].results) > 1 or any(i.op not in SUPPORTED for i in body):
            continue
        if any(t not in INT for t in ftypes[fi].params) or any(t not in INT for t in code.locals):
            continue
        calls[fi] = {i.imm for i in body if i.op == Op.CALL}
        ok.add(fi)
    changed = True
    while changed:
        changed = False
        for fi in list(ok):
            if not calls[fi] <= ok:
                ok.discard(fi)
                changed = True
    return ok


def mutates(m, fi: int) -> bool:
    """Whether function ``fi`` may change its instance's state (stores, global.set, grow,
    bulk memory, any call): skipping it may leave the baseline's copy of the state behind."""
    if fi < m.num_imported_funcs:
        return True
    for i in m.codes[fi - m.num_imported_funcs].body:
        name = Op(i.op).name
        if "STORE" in name or name in ("GLOBAL_SET", "MEMORY_GROW", "MEMORY_FILL", "MEMORY_COPY",
                                        "MEMORY_INIT", "TABLE_SET", "TABLE_GROW") or "CALL" in name:
            return True
    return False


def run_file(path: Path) -> tuple[int, int, int, list[str]]:
    cmds, mods = read_script(path.read_bytes(), path.name, 2)
    passed = failed = skipped = 0
    fails = []
    cur = None
    for cmd in cmds:
        t = cmd["type"]
        if t == "module":
            cur = None
            try:
                data = mods.module_bytes(cmd["filename"])
                m = decode_module(data)
                if m.imports:
                    continue
                fns = eligible(m)
                while True:  # drop functions the compiler refuses (and their callers)
                    comp = Compiler(m)
                    try:
                        for fi in sorted(fns):
                            bad = fi
                            comp.compile_func(fi)
                        break
                    except Unsupported:
                        fns = eligible(m, fns - {bad})
                comp.compile_all([])
                code = Code(comp, len(m.globals))
                store = wasm2py.Store(wasm2py.Engine(wasm2py.Config(tier="python")))
                host = wasm2py.Instance(store, wasm2py.Module(store.engine, data), {})
                st = host._state
                for g, glob in enumerate(st.globals):
                    v = glob.cell[0]
                    code.ctx[CTX_GLOBALS + g] = v & 0xFFFFFFFFFFFFFFFF if isinstance(v, int) else 0
                if st.memories:
                    code.set_memory(st.memories[0].address(), st.memories[0].size_bytes)
                exports = {e.name: e.index for e in m.exports if e.kind == 0}
                cur = (m, code, exports, fns)
            except Unsupported:
                cur = None
            except Exception as e:  # noqa: BLE001 - a module the prototype cannot set up
                fails.append(f"{path.name}:{cmd['line']}: module: {type(e).__name__} {e}")
                cur = None
            continue
        if t not in ("assert_return", "assert_trap", "assert_exhaustion", "action"):
            continue
        act = cmd["action"]
        if cur is None or act.get("type") != "invoke" or act.get("module"):
            skipped += 1
            continue
        m, code, exports, fns = cur
        fi = exports.get(act["field"])
        if fi is None or fi not in fns:
            # a skipped call may change the instance's state: later results would not tell
            if fi is None or mutates(m, fi):
                cur = None
            skipped += 1
            continue
        if any(a["type"] not in ("i32", "i64") for a in act["args"]) \
                or any(r["type"] not in ("i32", "i64") for r in cmd.get("expected", [])):
            skipped += 1
            continue
        args = [int(a["value"]) for a in act["args"]]
        ft = m.func_types()[fi]
        try:
            r = code.call(fi, *args)
            got = None if not ft.results else r & INT[ft.results[0]]
            trap = None
        except RuntimeError as e:
            got, trap = None, str(e)
        if t == "assert_return":
            exp = [int(x["value"]) & (0xFFFFFFFF if x["type"] == "i32" else 0xFFFFFFFFFFFFFFFF) for x in cmd["expected"]]
            ok = trap is None and (exp == [] if got is None else exp == [got])
            want = exp
        elif t == "assert_trap":
            ok = trap is not None and cmd["text"].startswith(trap[:len(cmd["text"])])
            want = cmd["text"]
        elif t == "assert_exhaustion":
            ok = trap == "call stack exhausted"
            want = "exhaustion"
        else:
            ok = trap is None
            want = "no trap"
        if ok:
            passed += 1
        else:
            failed += 1
            fails.append(f"{path.name}:{cmd['line']}: {act['field']}{tuple(args)}: got "
                         f"{got if trap is None else trap}, want {want}")
    return passed, failed, skipped, fails


def main() -> int:
    names = sys.argv[1:] or [n + ".wast" for n in DEFAULT]
    tp = tf = ts = 0
    for n in names:
        p, f, s, fails = run_file(SPEC / n)
        tp, tf, ts = tp + p, tf + f, ts + s
        print(f"{n:26} passed {p:5} failed {f:4} skipped {s:4}")
        for line in fails[:8]:
            print("   ", line)
    print(f"total passed {tp} failed {tf} skipped {ts}")
    return 1 if tf else 0


if __name__ == "__main__":
    raise SystemExit(main())
