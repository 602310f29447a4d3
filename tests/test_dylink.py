"""Dynamic linking (``wasm2py.dylink``) of programs built by clang with the LLVM/Emscripten PIC
conventions (``tests/c/dylink``: a ``-pie`` main, side modules ``liba.so`` and ``libb.so``), in
every tier: data and function pointers crossing modules, a library loaded after the main has
run, the shared table as jitted code sees it, and the errors for bad input.

Expected values are worked out by hand from the C sources (see the comments beside them).
"""

from __future__ import annotations

import io
import subprocess
import sys
import time

import pytest

import wasm2py
from tests.c.build import ToolchainMissing, build_dylink
from tests.wat import wat
from wasm2py.config import TIERS
from wasm2py.dylink import DylinkInfo, DynamicLinker, SymbolFlags
from wasm2py.errors import DylinkError, LinkError, UndefinedSymbol
from wasm2py.wasi import Wasi, WasiConfig

# what main.c's _start prints (main_counter 1000 + 1 from liba's constructor; liba_table[3]
# 40 + 2; liba_ops[0] is liba_double, [1] main_scale (3x); liba_apply adds 1; liba_get_op is
# negation; 0 + 1 + 4 + ... + 81)
MAIN_OUTPUT = """\
main_counter 1001
liba_table[3] 42
counter via liba 1001
liba_ops[0](21) 42
liba_ops[1](21) 63
same pointer 1
liba_apply(main_scale, 5) 16
liba_get_op()(9) -9
sum of squares 285
"""


@pytest.fixture(scope="module")
def built():
    try:
        return build_dylink()
    except ToolchainMissing as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture(params=TIERS)
def tier(request) -> str:
    return request.param


def store_for(tier: str, **config) -> wasm2py.Store:
    return wasm2py.Store(wasm2py.Engine(wasm2py.Config(tier=tier, **config)))


def linker(store, built, out=None) -> DynamicLinker:
    wasi = Wasi(WasiConfig(stdout=out if out is not None else io.BytesIO()))
    return DynamicLinker(store, imports=wasi.imports(store), lib_path=[built])


def test_main_and_its_library_share_data_and_function_pointers(built, tier):
    out = io.BytesIO()
    dl = linker(store_for(tier), built, out)
    main = dl.load(built / "main.wasm")
    assert [lib.name for lib in dl.libraries] == ["main.wasm", "liba.so"]
    main.exports._start()
    assert out.getvalue().decode() == MAIN_OUTPUT
    liba = dl.library("liba.so")
    # liba.so's dylink.0: 28 bytes of data aligned to 16, 2 table slots (its two statics);
    # the main's data starts at GLOBAL_BASE and its one slot follows the null slot 0
    assert liba.info.memory_size == 28 and liba.info.memory_align == 4
    assert main.memory_base == 1024 and main.table_base == 1
    assert liba.memory_base % 16 == 0 and liba.memory_base >= 1024 + main.info.memory_size
    assert liba.table_base == 2
    # one address per function: the slot the main's own segment gave main_scale is what
    # liba stored in liba_ops[1] (through its GOT.func entry)
    ops = dl.dlsym("liba_ops")
    stored = int.from_bytes(dl.memory.read(ops + 4, ops + 8), "little")
    assert stored == dl.function_pointer("main_scale") == main.table_base
    assert dl.table.get(stored) is main.exports.main_scale
    tiers = {lib.instance.tier for lib in dl.libraries}
    if tier != "auto":  # ("auto": hot functions, or the units cached by earlier runs, jitted)
        assert tiers == {tier}


def test_library_loaded_after_the_main_has_run(built, tier):
    dl = linker(store_for(tier), built)
    main = dl.load(built / "main.wasm")
    main.exports._start()
    table_before = dl.table.size
    libb = dl.dlopen("libb.so")  # found in lib_path; needs liba.so, loaded already
    assert [lib.name for lib in dl.libraries] == ["main.wasm", "liba.so", "libb.so"]
    # new pages from memory.grow, above the heap the main's allocator used
    assert libb.memory_base >= dl.heap_base
    assert libb.table_base == table_before
    # liba_apply(libb_square, 5) = 26, liba_table[1] = 20, main_scale(libb_data = 7 + 1) = 24
    assert dl.dlsym("libb_entry")(5) == 70
    # 1001 after liba's constructor, +100 at the end of _start, +10 from libb's constructor
    assert main.exports.main_counter_now() == 1111
    assert main.exports.read_int(dl.dlsym("libb_data")) == 8
    # libb's constructor called the main's malloc (a heap block, below libb's own data)
    buffer = main.exports.read_int(dl.dlsym("libb_buffer"))
    assert dl.heap_base <= buffer < libb.memory_base
    assert main.exports.read_int(buffer) == 1234
    # a function pointer into libb, called by the main through the shared table
    square = libb.exports.libb_get()
    assert square >= table_before
    assert main.exports.call_ptr(square, 6) == 36
    assert dl.dlopen("libb.so") is libb  # loaded once


def test_jitted_main_calls_slots_added_after_it_started(built):
    """The LLVM tier reads the table's native mirror: growth (past the mirror's capacity, so
    its array moves) and new entries written by the linker must reach it."""
    dl = linker(store_for("llvm"), built)
    main = dl.load(built / "main.wasm")
    main.exports._start()
    assert main.instance.tier == "llvm"
    libb = dl.dlopen("libb.so")
    assert libb.instance.tier == "llvm"
    square = libb.exports.libb_get()
    assert main.exports.call_ptr(square, 12) == 144
    first = dl.allocate_slots(5000)
    dl.set_slot(first + 4999, dl.dlsym("main_scale"))
    assert main.exports.call_ptr(first + 4999, 7) == 21
    dl.set_slot(first + 4999, libb.exports.libb_entry)
    assert main.exports.call_ptr(first + 4999, 5) == 70
    dl.set_slot(first + 4999, None)
    with pytest.raises(wasm2py.Trap) as e:
        main.exports.call_ptr(first + 4999, 5)
    assert e.value.code is wasm2py.TrapCode.UNINITIALIZED_ELEMENT


def test_auto_tier_moves_linked_modules_to_jitted_code(built):
    dl = linker(store_for("auto", tier_up_threshold=0, baseline=False), built)
    main = dl.load(built / "main.wasm")
    main.exports._start()
    libb = dl.dlopen("libb.so")
    assert main.exports.call_ptr(libb.exports.libb_get(), 9) == 81
    # each instance compiles its hot functions in a child process and switches at a poll
    # (every 1,000 calls and loop iterations of a hot function): keep calling until the
    # three functions called run jitted
    cheap = {"main.wasm": "main_counter_now", "liba.so": "liba_get_op", "libb.so": "libb_get"}

    def jitted(lib) -> bool:
        return lib.instance.function_tiers()[lib.exports[cheap[lib.name]].index] == "llvm"

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not all(jitted(lib) for lib in dl.libraries):
        for lib in dl.libraries:
            f = lib.exports[cheap[lib.name]]
            for _ in range(2000):
                f()
    assert all(jitted(lib) for lib in dl.libraries)
    assert {lib.instance.tier for lib in dl.libraries} <= {"mixed", "llvm"}
    assert main.exports.call_ptr(libb.exports.libb_get(), 9) == 81
    assert dl.dlsym("libb_entry")(5) == 70
    assert main.exports.main_counter_now() == 1111


def test_preload_and_the_main_program_from_bytes(built):
    store = store_for("python")
    dl = linker(store, built)
    main = dl.load((built / "main.wasm").read_bytes(), preload=["libb.so"], name="prog")
    assert main.name == "prog" and dl.main is main
    assert [lib.name for lib in dl.libraries] == ["prog", "liba.so", "libb.so"]
    # libb's data is laid out with the first group, below the stack and heap
    assert dl.library("libb.so").memory_base < dl.heap_base
    main.exports._start()
    assert dl.dlsym("libb_entry")(5) == 70
    with pytest.raises(LinkError, match="already"):
        dl.load(built / "main.wasm")


def test_cli_runs_the_main_with_preloads(built):
    cmd = [sys.executable, "-m", "wasm2py.cli", "run", str(built / "main.wasm"), "--lib-path",
           str(built), "--preload", "libb.so"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    # libb's constructor ran before _start too: 10 more
    assert proc.stdout == MAIN_OUTPUT.replace(" 1001", " 1011")
    proc = subprocess.run([*cmd[:5], "--invoke", "main_counter_now"], capture_output=True,
                          text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "1001\n"  # liba's constructor ran; _start did not


def test_cli_reports_a_missing_library(built, tmp_path):
    main = tmp_path / "main.wasm"
    main.write_bytes((built / "main.wasm").read_bytes())  # liba.so is not beside it
    proc = subprocess.run([sys.executable, "-m", "wasm2py.cli", "run", str(main)],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode != 0
    assert "liba.so" in proc.stderr and "not found" in proc.stderr
    assert "Traceback" not in proc.stderr


# -- modules written in the text format (wasm-tools parses the @dylink.0 annotation) ----------

_SIDE = """(module (@dylink.0 {dylink})
  (import "env" "memory" (memory 0))
  (import "env" "__indirect_function_table" (table 0 funcref))
  (import "env" "__memory_base" (global $mb i32))
  (import "env" "__table_base" (global $tb i32))
  {body})"""


def side(body: str, dylink: str = "(mem-info)") -> bytes:
    return wat(_SIDE.format(body=body, dylink=dylink))


def test_dylink_section_parsed_as_wasm_tools_writes_it():
    data = wat("""(module (@dylink.0
        (mem-info (memory 100 3) (table 7 2))
        (needed "liba.so" "libb.so")
        (export-info "tls_var" tls)
        (import-info "env" "maybe" binding-weak undefined)
        (runtime-path "$ORIGIN/lib")))""")
    info = wasm2py.Module(data)._module.customs[0]
    assert info[0] == "dylink.0"
    parsed = DylinkInfo.parse(info[1])
    assert parsed == DylinkInfo(100, 3, 7, 2, ("liba.so", "libb.so"),
                                (("tls_var", SymbolFlags.TLS),),
                                (("env", "maybe", SymbolFlags.BINDING_WEAK | SymbolFlags.UNDEFINED),),
                                ("$ORIGIN/lib",))  # fmt: skip
    assert parsed.encode() == info[1]  # the same subsections, in the same order
    assert parsed.is_weak("env", "maybe") and not parsed.is_weak("env", "other")


def test_clang_outputs_dylink_sections(built):
    main = DylinkInfo.parse(dict(wasm2py.Module((built / "main.wasm").read_bytes())
                                 ._module.customs)["dylink.0"])  # fmt: skip
    assert main.needed == ("liba.so",)
    libb = DylinkInfo.parse(dict(wasm2py.Module((built / "libb.so").read_bytes())
                                 ._module.customs)["dylink.0"])  # fmt: skip
    assert libb.needed == ("liba.so",)
    # libb.c: int libb_data (4 bytes) and int *libb_buffer (4 bytes), int-aligned
    assert (libb.memory_size, libb.memory_align) == (8, 2)


@pytest.mark.parametrize("payload, message", [
    (b"\x01\x05\x00\x00", "runs past the end"),                # mem-info of 5 bytes, 2 given
    (b"\x01\x05\x00\x00\x00\x00\x00", "left over"),            # 4 fields in 4 bytes, 5 declared
    (b"\x01\x04\x00\x20\x00\x00", "alignment"),                # memory alignment 2**32
    (b"\x02\x03\x01\x01\xff", "UTF-8"),                        # needed name not UTF-8
    (b"\x01\x04\x00\x00\x00\x00\x01\x04\x00\x00\x00\x00", "two memory info"),
    (b"\x03\x01\x01", "unexpected end"),                       # export info: 1 entry, no bytes
])  # fmt: skip
def test_malformed_dylink_sections_are_typed_errors(payload, message):
    with pytest.raises(DylinkError, match=message) as e:
        DylinkInfo.parse(payload)
    assert isinstance(e.value, wasm2py.DecodeError)
    from wasm2py.build import ModuleBuilder

    b = ModuleBuilder()
    b.custom("dylink.0", payload, first=True)
    dl = DynamicLinker(store_for("python"))
    with pytest.raises(DylinkError, match=message):
        dl.dlopen(b.encode(), name="bad.so")
    assert dl.libraries == [] and dl.memory is None


def test_unknown_subsections_are_skipped():
    assert DylinkInfo.parse(b"\x09\x02\xaa\xbb\x02\x02\x01\x00") == DylinkInfo(needed=("",))


def test_legacy_dylink_section():
    data = wat('(module (@custom "dylink" "\\10\\02\\03\\00\\01\\04libx"))')
    from wasm2py.dylink import dylink_info

    info = dylink_info(wasm2py.Module(data)._module.customs)
    assert info == DylinkInfo(16, 2, 3, 0, ("libx",))


def test_a_module_without_dylink_section_is_refused():
    dl = DynamicLinker(store_for("python"))
    with pytest.raises(DylinkError, match="no dylink.0 section"):
        dl.load(wat('(module (func (export "_start")))'))
    with pytest.raises(DylinkError, match="more than one|2 dylink"):
        dl.dlopen(wat('(module (@dylink.0 (mem-info)) (@custom "dylink" ""))'))


def test_missing_symbols_are_typed_errors_and_change_nothing(built, tier):
    dl = linker(store_for(tier), built)
    dl.load(built / "main.wasm")
    before = (dl.table.size, dl.memory.size, list(dl.libraries))
    cases = [
        (side('(import "GOT.mem" "no_such_data" (global (mut i32)))'), "no_such_data", "data"),
        (side('(import "GOT.func" "no_such_fn" (global (mut i32)))'), "no_such_fn",
         "function address"),
        (side('(import "env" "no_such_fn" (func))'), "no_such_fn", "function"),
    ]  # fmt: skip
    for wasm, symbol, kind in cases:
        with pytest.raises(UndefinedSymbol) as e:
            dl.dlopen(wasm, name="needs.so")
        assert (e.value.symbol, e.value.library, e.value.kind) == (symbol, "needs.so", kind)
        assert isinstance(e.value, LinkError)
    assert (dl.table.size, dl.memory.size, list(dl.libraries)) == before
    with pytest.raises(UndefinedSymbol):
        dl.dlsym("no_such_symbol")


def test_incompatible_imports_are_link_errors(built):
    dl = linker(store_for("python"), built)
    dl.load(built / "main.wasm")
    # main_scale is (i32) -> i32
    with pytest.raises(LinkError, match=r"main_scale.*incompatible import type.*\[i64\]"):
        dl.dlopen(side('(import "env" "main_scale" (func (param i64) (result i32)))'))
    with pytest.raises(LinkError, match="defines 'main_counter' as data"):
        dl.dlopen(side('(import "env" "main_counter" (func))'))
    with pytest.raises(LinkError, match="defines 'main_scale' as a function"):
        dl.dlopen(side('(import "GOT.mem" "main_scale" (global (mut i32)))'))
    with pytest.raises(DylinkError, match="GOT entry must be an i32 global"):
        dl.dlopen(side('(import "GOT.mem" "main_counter" (global (mut i64)))'))
    with pytest.raises(LinkError, match="expected a mutable i32 global"):
        dl.dlopen(side('(import "env" "__stack_pointer" (global i32))'))
    with pytest.raises(LinkError, match="unknown import"):
        dl.dlopen(side('(import "somewhere" "else" (func))'))
    with pytest.raises(LinkError, match="'nowhere.so' not found"):
        dl.dlopen(side("", '(mem-info) (needed "nowhere.so")'))


def test_weak_undefined_symbols_resolve_to_null(tier):
    dl = DynamicLinker(store_for(tier))
    lib = dl.dlopen(side("""
        (import "GOT.mem" "maybe_data" (global $d (mut i32)))
        (import "GOT.func" "maybe_fn" (global $f (mut i32)))
        (import "env" "maybe_fn" (func $call (result i32)))
        (func (export "addrs") (result i32 i32) global.get $d global.get $f)
        (func (export "call") (result i32) call $call)""",
        """(mem-info) (import-info "GOT.mem" "maybe_data" binding-weak undefined)
           (import-info "GOT.func" "maybe_fn" binding-weak undefined)
           (import-info "env" "maybe_fn" binding-weak undefined)"""))  # fmt: skip
    assert lib.exports.addrs() == (0, 0)
    with pytest.raises(UndefinedSymbol, match="maybe_fn"):
        lib.exports.call()


def test_host_functions_satisfy_env_imports_and_have_addresses(tier):
    calls = []
    dl = DynamicLinker(store_for(tier), imports={"env": {"host_log": calls.append}})
    lib = dl.dlopen(side("""
        (import "env" "host_log" (func $log (param i32)))
        (import "GOT.func" "host_log" (global $p (mut i32)))
        (type $t (func (param i32)))
        (func (export "go") (param i32)
          local.get 0 call $log
          local.get 0 i32.const 1 i32.add global.get $p call_indirect (type $t))"""))
    lib.exports.go(41)
    assert calls == [41, 42]


def test_circular_needs_and_forward_references(tier, tmp_path):
    """a.so needs b.so and b.so needs a.so; each calls the other: one of them is instantiated
    first, with a stand-in for the other's function that is then replaced by the function
    itself (jitted callers call it directly)."""
    (tmp_path / "a.so").write_bytes(side("""
        (import "env" "b_fn" (func $b (param i32) (result i32)))
        (func (export "a_fn") (param i32) (result i32)
          local.get 0 i32.eqz if (result i32) i32.const 100 else
          local.get 0 i32.const 1 i32.sub call $b end)""", '(mem-info) (needed "b.so")'))
    (tmp_path / "b.so").write_bytes(side("""
        (import "env" "a_fn" (func $a (param i32) (result i32)))
        (func (export "b_fn") (param i32) (result i32)
          local.get 0 call $a i32.const 1 i32.add)""", '(mem-info) (needed "a.so")'))
    dl = DynamicLinker(store_for(tier), lib_path=[tmp_path])
    dl.dlopen("a.so")
    assert [lib.name for lib in dl.libraries] == ["a.so", "b.so"]
    # a(n) = b(n-1) = a(n-1) + 1, a(0) = 100
    assert dl.dlsym("a_fn")(10) == 110
    a = dl.library("a.so").instance._state
    b = dl.library("b.so").instance._state
    assert a.funcs[0] is dl.dlsym("b_fn") and b.funcs[0] is dl.dlsym("a_fn")
    if tier == "python":  # direct calls go to the function itself, not to the stand-in
        for state, target in ((a, "b_fn"), (b, "a_fn")):
            assert state.slots.get(0) is dl.dlsym(target).pyraw


def test_a_main_with_its_own_memory_is_refused():
    dl = DynamicLinker(store_for("python"))
    with pytest.raises(DylinkError, match="--import-memory"):
        dl.load(wat('(module (@dylink.0 (mem-info)) (memory 1) (func (export "_start")))'))


def test_impossible_sizes_are_link_errors():
    dl = DynamicLinker(store_for("python"))
    with pytest.raises(LinkError, match="65536"):
        dl.dlopen(side("", "(mem-info (memory 0xffffff00 0))"))
    assert dl.memory is None
    dl.dlopen(side(""), name="ok.so")
    with pytest.raises(LinkError, match="out of memory"):
        dl.dlopen(side("", "(mem-info (memory 0xffffff00 0))"))
    with pytest.raises(LinkError, match="table cannot grow"):
        dl.dlopen(side("", "(mem-info (table 0xffffff00 0))"))
    assert [lib.name for lib in dl.libraries] == ["ok.so"]


def test_trap_in_a_constructor_leaves_the_library_unloaded(tier):
    dl = DynamicLinker(store_for(tier))
    with pytest.raises(wasm2py.Trap):
        dl.dlopen(side('(func (export "__wasm_call_ctors") unreachable)'), name="bad.so")
    assert dl.libraries == []
    with pytest.raises(KeyError):
        dl.library("bad.so")


def test_data_symbols_are_relocated_and_weak_mixed_with_strong(tier):
    dl = DynamicLinker(store_for(tier))
    provider = dl.dlopen(side("""
        (global (export "thing") i32 (i32.const 8))
        (data (global.get $mb) "\\00\\00\\00\\00\\00\\00\\00\\00\\2a\\00\\00\\00")""",
                              "(mem-info (memory 12 2))"), name="p.so")  # fmt: skip
    user = dl.dlopen(side("""
        (import "GOT.mem" "thing" (global $t (mut i32)))
        (func (export "read") (result i32) global.get $t i32.load)"""), name="u.so")
    assert dl.dlsym("thing") == provider.memory_base + 8 == provider.address("thing")
    assert user.exports.read() == 42
