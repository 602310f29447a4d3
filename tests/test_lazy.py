"""Function-granular loading: validation up front, translation at a function's first call
through its code slot, the compilation modes, and the layering that keeps the runtime free of
the decoder, the validator and the translators."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import wasm2py
from wasm2py import Config, Engine, Finished, HostTrap, Instance, Module, Store

from .wat import wat

ROOT = Path(__file__).resolve().parent.parent

PROG = wat("""
(module
  (import "env" "ask" (func $ask (param i32) (result i32)))
  (type $ii (func (param i32) (result i32)))
  (table 2 funcref) (elem (i32.const 0) $double $via_host)
  (func $double (param i32) (result i32) local.get 0 i32.const 2 i32.mul)
  (func $via_host (param i32) (result i32) local.get 0 call $ask i32.const 1 i32.add)
  (func $helper (param i32) (result i32) local.get 0 i32.const 3 i32.add)
  (func (export "direct") (param i32) (result i32) local.get 0 call $helper)
  (func (export "indirect") (param i32 i32) (result i32)
    local.get 1 local.get 0 call_indirect (type $ii))
  (func (export "unused") (result i32) i32.const 99))
""")
# function indices: 0 ask (import), 1 double, 2 via_host, 3 helper, 4 direct, 5 indirect, 6 unused


def load(data: bytes = PROG, **config) -> Module:
    return Module(Engine(Config(cache=False, **config)), data)


def instance(module: Module, ask=lambda v: v * 10) -> Instance:
    return Instance(Store(module.engine), module, {"env": {"ask": ask}})


def translated(module: Module) -> set[int]:
    return set(module._code.codes)


def test_module_translates_nothing_and_a_call_translates_what_it_runs():
    m = load()
    assert translated(m) == set()
    inst = instance(m)
    assert translated(m) == set()  # instantiating binds stubs only
    assert inst.exports.direct(4) == 7
    assert translated(m) == {4, 3}
    assert inst.exports.indirect(0, 5) == 10  # first call of $double comes through the table
    assert translated(m) == {4, 3, 5, 1}
    assert inst.exports.indirect(1, 5) == 51  # through the table into the host, and back
    assert translated(m) == {4, 3, 5, 1, 2}
    # a second instance of the same module reuses the code objects
    other = instance(m)
    assert other.exports.direct(1) == 4
    slots = inst._state.slots
    assert slots.python[3].__code__ is other._state.slots.python[3].__code__


def test_slots_are_repointed_once_translated():
    m = load()
    inst = instance(m)
    slots = inst._state.slots
    f = inst._state.funcs[3]
    stub = slots.stub(3)
    assert slots.get(3) is stub and f.raw is stub and f.pyraw is stub
    inst.exports.direct(0)
    fn = slots.python[3]
    assert fn is not None and slots.get(3) is fn and f.raw is fn and f.pyraw is fn
    assert fn.__code__.co_filename.startswith("wasm://")


def test_a_repointed_slot_redirects_every_caller():
    """The interface the LLVM tier (and per-function tier-up) uses: ``Slots.set``."""
    m = load()
    inst = instance(m)
    slots = inst._state.slots
    assert inst.exports.direct(1) == 4
    seen = []

    def replacement(x, depth):
        seen.append(x)
        return x + 1000

    slots.set(3, replacement)  # $helper: called directly by "direct"
    assert inst.exports.direct(1) == 1001
    slots.set(1, replacement)  # $double: reached through the table (Func.pyraw)
    assert inst.exports.indirect(0, 2) == 1002
    assert seen == [1, 2]


def test_imports_have_slots_too():
    m = load()
    inst = instance(m)
    slots = inst._state.slots
    assert slots.stubs[0] is None and callable(slots.get(0))


def test_an_import_from_another_instance_is_repointed_once_its_exporter_binds_it():
    """An importer's slot starts with the exporter's stub; the exporter's first call of the
    function (from either instance) repoints it, so later calls go straight to the code."""
    m = load()
    exporter = instance(m)
    importer_module = load(wat("""
    (module
      (import "m" "direct" (func $direct (param i32) (result i32)))
      (func (export "twice") (param i32) (result i32)
        local.get 0 call $direct call $direct))
    """))
    store = exporter._state.funcs[0].store
    importer = Instance(store, importer_module, {"m": {"direct": exporter.exports.direct}})
    slots, stub = importer._state.slots, exporter._state.slots.stub(4)
    assert slots.get(0) is stub
    assert importer.exports.twice(1) == 7  # (1 + 3) + 3
    assert slots.get(0) is exporter._state.slots.python[4] is not None
    # bound before the importer is instantiated: it gets the code at once
    late = Instance(store, importer_module, {"m": {"direct": exporter.exports.direct}})
    assert late._state.slots.get(0) is exporter._state.slots.python[4]


def test_a_pause_during_a_first_call_resumes():
    """The stub sits between the caller's and the callee's frames on a first call; a pause
    there must still record both wasm frames."""
    m = load()

    def ask(v):
        raise RuntimeError("later")

    inst = instance(m, ask)
    paused = inst.exports.indirect.call_resumable(1, 6)  # $via_host is translated right now
    assert isinstance(paused, HostTrap) and paused.depth == 2
    result = paused.resume(100)
    assert isinstance(result, Finished) and result.results == 101


def test_the_llvm_tier_translates_no_python():
    pytest.importorskip("llvmlite", reason="llvmlite is not installed")
    m = load(tier="llvm")
    assert m._llvm is not None and translated(m) == set()
    inst = instance(m)
    assert inst.exports.direct(4) == 7
    assert inst.exports.indirect(0, 5) == 10 and inst.exports.indirect(1, 5) == 51
    assert translated(m) == set()
    # resumable calls run jitted too (their frames suspend natively: wasm2py.llvm.suspend)
    r = inst.exports.direct.call_resumable(2)
    assert isinstance(r, Finished) and r.results == 5
    assert translated(m) == set()


# (the text parser does not type-check: this binary is malformed in nothing, invalid in "bad")
INVALID_BODY = wat("""
(module
  (func (export "good") (result i32) i32.const 1)
  (func (export "bad") (result i32) i32.const 1 i64.const 2 i32.add))
""")


def test_lazy_mode_defers_body_validation_to_the_first_call():
    data = INVALID_BODY
    with pytest.raises(wasm2py.ValidationError):
        load(data)  # the default mode validates everything up front
    m = load(data, compilation_mode="lazy")
    inst = Instance(Store(m.engine), m)
    assert inst.exports.good() == 1
    with pytest.raises(wasm2py.ValidationError) as e:
        inst.exports.bad()
    assert e.value.func_index == 1 and e.value.offset is not None
    with pytest.raises(wasm2py.ValidationError):
        inst.exports.bad()  # and again: nothing half-made was kept


def test_lazy_mode_decodes_a_body_once_for_validation_and_translation(monkeypatch):
    # the translator takes the instructions the validator decoded (bodies are decoded anew at
    # each use: see wasm2py.binary.module.Code.body)
    from wasm2py.binary import decoder

    decoded = []
    real = decoder.decode_body

    def counting(data, pos, *args, **kw):
        decoded.append(pos)
        return real(data, pos, *args, **kw)

    m = load(compilation_mode="lazy")
    monkeypatch.setattr(decoder, "decode_body", counting)
    inst = instance(m)
    assert inst.exports.direct(4) == 7  # (4 + 3)
    assert translated(m) == {4, 3}
    assert len(decoded) == 2 and len(set(decoded)) == 2  # direct and helper, once each


def test_lazy_mode_defers_malformed_bodies_but_not_malformed_sections():
    good = wat('(module (func (export "f") (result i32) i32.const 5) (func (export "g") nop))')
    k = good.rindex(b"\x03\x00\x01\x0b")  # g's body: its nop becomes an illegal opcode
    bad_body = good[: k + 2] + b"\xff" + good[k + 3 :]
    with pytest.raises(wasm2py.DecodeError):
        load(bad_body)
    m = load(bad_body, compilation_mode="lazy")
    inst = Instance(Store(m.engine), m)
    assert inst.exports.f() == 5
    with pytest.raises(wasm2py.DecodeError):
        inst.exports.g()
    with pytest.raises(wasm2py.DecodeError):
        load(good[:-1], compilation_mode="lazy")  # the code section itself is cut short


def test_lazy_mode_still_checks_the_module_structure():
    data = wat('(module (func) (export "f" (func 5)))')
    with pytest.raises(wasm2py.ValidationError, match="unknown function"):
        load(data, compilation_mode="lazy")


def test_modes_are_checked():
    with pytest.raises(ValueError, match="compilation_mode"):
        Config(compilation_mode="sometimes")
    with pytest.raises(ValueError, match="tier='python'"):
        Config(compilation_mode="lazy", tier="llvm")
    with pytest.raises(ValueError, match="python_shape"):
        Config(python_shape="round")


def test_eager_mode_translates_everything_up_front():
    m = load(compilation_mode="eager")
    assert translated(m) == {1, 2, 3, 4, 5, 6}
    assert instance(m).exports.direct(1) == 4


def test_the_runtime_imports_no_decoder_validator_or_translator():
    """``wasm2py/runtime/`` (what ahead-of-time files import) never imports them, not even
    inside functions."""
    forbidden = ("wasm2py.binary.decoder", "wasm2py.validate", "wasm2py.translate",
                 "wasm2py.llvm.lower", "wasm2py.llvm.jit")  # fmt: skip
    runtime = ROOT / "wasm2py" / "runtime"
    seen = 0
    for path in sorted(runtime.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                level = "." * node.level
                target = _resolve("wasm2py.runtime", level, node.module or "")
                names = [f"{target}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            seen += 1
            for n in names:
                assert not n.startswith(forbidden), f"{path.name} imports {n}"
    assert seen > 30


def _resolve(package: str, dots: str, module: str) -> str:
    if not dots:
        return module
    parts = package.split(".")
    base = parts[: len(parts) - (len(dots) - 1)]
    return ".".join(base + ([module] if module else []))


def test_a_first_call_deep_in_a_recursion_translates():
    """Translating (CPython's compiler recurses on nested statements) at the bottom of a deep
    wasm recursion, i.e. a deep Python stack: the compiler still has room."""
    nest = 90  # close to the structured shape's limit: the compiler recurses the deepest
    ifs = "".join(f"local.get 0 i32.const {k} i32.gt_u if " for k in range(nest))
    ends = "i32.const 1 global.set $g " + "end " * nest
    data = wat(f"""
    (module
      (global $g (mut i32) (i32.const 0))
      (func $deep (param i32) {ifs} {ends})
      (func $rec (export "rec") (param i32) (result i32)
        local.get 0 i32.eqz
        if (result i32)
          i32.const 1000 call $deep global.get $g
        else
          local.get 0 i32.const 1 i32.sub call $rec
        end))
    """)
    m = load(data, max_call_depth=20_000)
    inst = Instance(Store(m.engine), m)
    assert inst.exports.rec(15_000) == 1
    assert not inst._state.slots.python[0].__code__.co_varnames.count("L")  # structured


def test_ahead_of_time_files_hold_every_function(tmp_path):
    """Lazy translation is for loading; ``compile`` still writes every defined function, those
    no run has called included."""
    m = load()
    instance(m).exports.direct(1)  # only some functions translated in memory
    out = tmp_path / "prog_aot.py"
    wasm2py.compile(PROG, out)
    tree = ast.parse(out.read_text())
    defined = {n.name.split("_")[0] for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    assert {f"f{i}" for i in range(1, 7)} <= defined
