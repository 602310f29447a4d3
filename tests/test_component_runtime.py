"""Components running end to end through the embedding API, in both tiers: values of every
kind crossing the boundary, host functions, resources and handle tables, async tasks and
streams. The expected values are worked out by hand from the core code below."""

from __future__ import annotations

import threading

import pytest

from wasm2py import Config, Engine, LinkError, Store, Trap, TrapCode
from wasm2py.component import Component, Err, Linker, Ok, Resource, Variant

from .wat import wat

TIERS = ["python", "llvm"]

# A bump allocator with the canonical ABI's realloc signature (copies when it moves).
REALLOC = """
    (global $heap (mut i32) (i32.const 4096))
    (func $realloc (export "realloc") (param $old i32) (param $osz i32) (param $al i32)
                                      (param $nsz i32) (result i32)
      (local $p i32)
      (local.set $p (i32.and (i32.add (global.get $heap) (i32.sub (local.get $al) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get $al))))
      (global.set $heap (i32.add (local.get $p) (local.get $nsz)))
      (if (local.get $old) (then (memory.copy (local.get $p) (local.get $old) (local.get $osz))))
      (local.get $p))
"""

VALUES = f"""(component
  (core module $M
    (memory (export "mem") 1)
    {REALLOC}
    ;; upper(ptr, len) -> retptr: ASCII upper case copy
    (func (export "upper") (param $p i32) (param $n i32) (result i32)
      (local $q i32) (local $i i32) (local $c i32)
      (local.set $q (call $realloc (i32.const 0) (i32.const 0) (i32.const 1) (local.get $n)))
      (block $done (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $c (i32.load8_u (i32.add (local.get $p) (local.get $i))))
        (if (i32.and (i32.ge_u (local.get $c) (i32.const 97)) (i32.le_u (local.get $c) (i32.const 122)))
          (then (local.set $c (i32.sub (local.get $c) (i32.const 32)))))
        (i32.store8 (i32.add (local.get $q) (local.get $i)) (local.get $c))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
      (i32.store (i32.const 0) (local.get $q))
      (i32.store (i32.const 4) (local.get $n))
      (i32.const 0))
    (func (export "sum") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
    ;; total(ptr, len) of a list<u32> as u64
    (func (export "total") (param $p i32) (param $n i32) (result i64)
      (local $s i64)
      (block $done (loop $l
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $s (i64.add (local.get $s) (i64.extend_i32_u (i32.load (local.get $p)))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l)))
      (local.get $s))
    ;; next(option<u32>) -> result<u32, string>: none -> error "none", some x -> ok x+1
    (func (export "next") (param $some i32) (param $x i32) (result i32)
      (if (local.get $some)
        (then (i32.store8 (i32.const 16) (i32.const 0))
              (i32.store (i32.const 20) (i32.add (local.get $x) (i32.const 1))))
        (else (i32.store8 (i32.const 16) (i32.const 1))
              (i32.store (i32.const 20) (i32.const 100))
              (i32.store (i32.const 24) (i32.const 4))))
      (i32.const 16))
    ;; area(shape) -> f64 for variant (circle f32) (square f64) (empty): flat i32 + i64
    (func (export "area") (param $case i32) (param $v i64) (result f64)
      (local $f f32)
      (if (i32.eqz (local.get $case))
        (then
          (local.set $f (f32.reinterpret_i32 (i32.wrap_i64 (local.get $v))))
          (return (f64.mul (f64.const 3)
                           (f64.promote_f32 (f32.mul (local.get $f) (local.get $f)))))))
      (if (i32.eq (local.get $case) (i32.const 1))
        (then (return (f64.mul (f64.reinterpret_i64 (local.get $v))
                               (f64.reinterpret_i64 (local.get $v))))))
      (f64.const 0))
    (func (export "popcount") (param i32) (result i32) (i32.popcnt (local.get 0)))
    (func (export "next-char") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
    (data (i32.const 100) "none")
  )
  (core instance $m (instantiate $M))
  (alias core export $m "mem" (core memory $mem))
  (alias core export $m "realloc" (core func $realloc))
  (type $point' (record (field "x" s32) (field "y" s32)))
  (export $point "point" (type $point'))
  (type $shape' (variant (case "circle" f32) (case "square" f64) (case "empty")))
  (export $shape "shape" (type $shape'))
  (type $perms' (flags "read" "write" "exec"))
  (export $perms "perms" (type $perms'))
  (func (export "upper") (param "s" string) (result string)
    (canon lift (core func $m "upper") (memory $mem) (realloc $realloc)))
  (func (export "sum") (param "p" $point) (result s32) (canon lift (core func $m "sum")))
  (func (export "total") (param "xs" (list u32)) (result u64)
    (canon lift (core func $m "total") (memory $mem) (realloc $realloc)))
  (func (export "next") (param "x" (option u32)) (result (result u32 (error string)))
    (canon lift (core func $m "next") (memory $mem) (realloc $realloc)))
  (func (export "area") (param "s" $shape) (result f64) (canon lift (core func $m "area")))
  (func (export "popcount") (param "p" $perms) (result u32) (canon lift (core func $m "popcount")))
  (func (export "next-char") (param "c" char) (result char) (canon lift (core func $m "next-char")))
)"""


@pytest.fixture(params=TIERS)
def engine(request):
    return Engine(Config(tier=request.param, cache=False))


def instantiate(engine, text: str, linker: Linker | None = None):
    linker = linker or Linker(engine)
    return linker.instantiate(Store(engine), Component(engine, wat(text)))


def test_values_cross_the_boundary(engine):
    ex = instantiate(engine, VALUES).exports
    assert ex["upper"]("héllo, wasm") == "HéLLO, WASM"
    assert ex["sum"]({"x": 40, "y": 2}) == 42
    assert ex["sum"]({"x": -5, "y": 2}) == -3
    assert ex["total"]([1, 2, 2**32 - 1]) == 2**32 + 2
    assert ex["total"]([]) == 0
    assert ex["next"](41) == Ok(42)
    assert ex["next"](None) == Err("none")
    assert ex["area"](Variant("circle", 2.0)) == 12.0
    assert ex["area"](Variant("square", 1.5)) == 2.25
    assert ex["area"](Variant("empty")) == 0.0
    assert ex["popcount"]({"read", "exec"}) == 2
    assert ex["next-char"]("a") == "b"


def test_bad_python_values_raise_type_errors(engine):
    ex = instantiate(engine, VALUES).exports
    with pytest.raises(TypeError):
        ex["sum"]({"x": 1, "y": 2}, 3)
    with pytest.raises(OverflowError):
        ex["sum"]({"x": 2**31, "y": 0})
    with pytest.raises(ValueError):
        ex["popcount"]({"fly"})


def test_invalid_char_result_traps(engine):
    # next-char of U+D7FF is U+D800, a surrogate: lifting the result traps
    ex = instantiate(engine, VALUES).exports
    with pytest.raises(Trap) as info:
        ex["next-char"]("\ud7ff")
    assert info.value.code is TrapCode.INVALID_VALUE


HOST = """(component
  (import "add" (func $add (param "a" u32) (param "b" u32) (result u32)))
  (import "log" (func $log (param "msg" string)))
  (core module $Mem (memory (export "mem") 1) (data (i32.const 8) "hi!"))
  (core instance $mem (instantiate $Mem))
  (core func $add' (canon lower (func $add)))
  (core func $log' (canon lower (func $log) (memory (core memory $mem "mem"))))
  (core module $M
    (import "" "add" (func $add (param i32 i32) (result i32)))
    (import "" "log" (func $log (param i32 i32)))
    (func (export "run") (result i32)
      (call $log (i32.const 8) (i32.const 3))
      (call $add (i32.const 40) (i32.const 2))))
  (core instance $m (instantiate $M (with "" (instance
    (export "add" (func $add')) (export "log" (func $log'))))))
  (func (export "run") (result u32) (canon lift (core func $m "run")))
)"""


def test_host_functions(engine):
    logged = []
    linker = Linker(engine)
    linker.define_func("add", lambda a, b: a + b)
    linker.define_func("log", logged.append)
    assert instantiate(engine, HOST, linker).exports["run"]() == 42
    assert logged == ["hi!"]


def test_missing_import_is_a_link_error(engine):
    linker = Linker(engine)
    linker.define_func("add", lambda a, b: a + b)
    with pytest.raises(LinkError):
        instantiate(engine, HOST, linker)


def test_host_exception_propagates(engine):
    linker = Linker(engine)
    linker.define_func("add", lambda a, b: 1 // 0)
    linker.define_func("log", lambda msg: None)
    with pytest.raises(ZeroDivisionError):
        instantiate(engine, HOST, linker).exports["run"]()


# --- resources --------------------------------------------------------------------------------

COUNTER = """(component
  (core module $Dtor
    (global $drops (export "drops") (mut i32) (i32.const 0))
    (func (export "dtor") (param i32) (global.set $drops (i32.add (global.get $drops) (i32.const 1)))))
  (core instance $d (instantiate $Dtor))
  (type $R (resource (rep i32) (dtor (core func $d "dtor"))))
  (core func $new (canon resource.new $R))
  (core func $rep (canon resource.rep $R))
  (core func $drop (canon resource.drop $R))
  (core module $M
    (import "" "new" (func $new (param i32) (result i32)))
    (import "" "rep" (func $rep (param i32) (result i32)))
    (import "" "drop" (func $drop (param i32)))
    (import "" "drops" (global $drops (mut i32)))
    (memory 1)
    ;; a counter's state lives at address rep*4; reps are handed out 1, 2, ...
    (global $next (mut i32) (i32.const 1))
    (func (export "ctor") (param $start i32) (result i32)
      (i32.store (i32.shl (global.get $next) (i32.const 2)) (local.get $start))
      (global.set $next (i32.add (global.get $next) (i32.const 1)))
      (call $new (i32.sub (global.get $next) (i32.const 1))))
    (func (export "get") (param $rep i32) (result i32)
      (i32.load (i32.shl (local.get $rep) (i32.const 2))))
    (func (export "inc") (param $rep i32)
      (i32.store (i32.shl (local.get $rep) (i32.const 2))
                 (i32.add (i32.load (i32.shl (local.get $rep) (i32.const 2))) (i32.const 1))))
    (func (export "drops") (result i32) (global.get $drops))
    ;; handle indices: three new handles get 1, 2, 3; after dropping 2 the next one reuses 2,
    ;; after dropping 3 and 1 (in that order) the next ones get 1, then 3 (last freed first)
    (func (export "indices") (result i64)
      (local $a i32) (local $b i32) (local $c i32) (local $out i64)
      (local.set $a (call $new (i32.const 100)))
      (local.set $b (call $new (i32.const 200)))
      (local.set $c (call $new (i32.const 300)))
      (call $drop (local.get $b))
      (local.set $b (call $new (i32.const 400)))
      (call $drop (local.get $c))
      (call $drop (local.get $a))
      (local.set $out (i64.extend_i32_u (call $rep (local.get $b))))
      (local.set $out (i64.or (i64.shl (local.get $out) (i64.const 8)) (i64.extend_i32_u (local.get $a))))
      (local.set $out (i64.or (i64.shl (local.get $out) (i64.const 8)) (i64.extend_i32_u (local.get $b))))
      (local.set $out (i64.or (i64.shl (local.get $out) (i64.const 8)) (i64.extend_i32_u (local.get $c))))
      (local.set $out (i64.or (i64.shl (local.get $out) (i64.const 8)) (i64.extend_i32_u (call $new (i32.const 1)))))
      (local.set $out (i64.or (i64.shl (local.get $out) (i64.const 8)) (i64.extend_i32_u (call $new (i32.const 2)))))
      (local.get $out))
    (func (export "use") (param $h i32) (result i32) (call $rep (local.get $h))))
  (core instance $m (instantiate $M (with "" (instance
    (export "new" (func $new)) (export "rep" (func $rep)) (export "drop" (func $drop))
    (export "drops" (global $d "drops"))))))
  (export $C "counter" (type $R))
  (func (export "[constructor]counter") (param "start" u32) (result (own $C))
    (canon lift (core func $m "ctor")))
  (func (export "[method]counter.get") (param "self" (borrow $C)) (result u32)
    (canon lift (core func $m "get")))
  (func (export "[method]counter.inc") (param "self" (borrow $C)) (canon lift (core func $m "inc")))
  (func (export "drops") (result u32) (canon lift (core func $m "drops")))
  (func (export "indices") (result u64) (canon lift (core func $m "indices")))
  (func (export "use") (param "h" u32) (result u32) (canon lift (core func $m "use")))
)"""


def test_guest_resource_owned_by_python(engine):
    ex = instantiate(engine, COUNTER).exports
    c = ex["[constructor]counter"](5)
    assert isinstance(c, Resource) and c.own
    ex["[method]counter.inc"](c)
    ex["[method]counter.inc"](c)
    assert ex["[method]counter.get"](c) == 7
    assert ex["drops"]() == 0
    c.drop()
    assert ex["drops"]() == 1
    with pytest.raises(ValueError):
        ex["[method]counter.get"](c)


def test_handle_index_allocation_order(engine):
    # (rep of b after reuse, a, b, c, next, next) packed one per byte, see "indices" above
    packed = instantiate(engine, COUNTER).exports["indices"]()
    assert [(packed >> s) & 0xFF for s in (40, 32, 24, 16, 8, 0)] == [400 & 0xFF, 1, 2, 3, 1, 3]


def test_unknown_handle_traps_and_poisons_the_instance(engine):
    ex = instantiate(engine, COUNTER).exports
    with pytest.raises(Trap) as info:
        ex["use"](7)
    assert info.value.code is TrapCode.INVALID_HANDLE
    with pytest.raises(Trap) as info:
        ex["drops"]()
    assert info.value.code is TrapCode.CANNOT_ENTER


HOST_RESOURCE = """(component
  (import "file" (type $F (sub resource)))
  (import "[constructor]file" (func $open (param "size" u32) (result (own $F))))
  (import "[method]file.size" (func $size (param "self" (borrow $F)) (result u32)))
  (core func $open' (canon lower (func $open)))
  (core func $size' (canon lower (func $size)))
  (core func $drop (canon resource.drop $F))
  (core module $M
    (import "" "open" (func $open (param i32) (result i32)))
    (import "" "size" (func $size (param i32) (result i32)))
    (import "" "drop" (func $drop (param i32)))
    (func (export "run") (result i32)
      (local $f i32) (local $s i32)
      (local.set $f (call $open (i32.const 21)))
      (local.set $s (call $size (local.get $f)))
      (call $drop (local.get $f))
      (i32.mul (local.get $s) (i32.const 2))))
  (core instance $m (instantiate $M (with "" (instance
    (export "open" (func $open')) (export "size" (func $size')) (export "drop" (func $drop))))))
  (func (export "run") (result u32) (canon lift (core func $m "run")))
)"""


def test_host_resource(engine):
    class File:
        def __init__(self, size):
            self.size = size
            self.closed = False

    opened = []
    linker = Linker(engine)
    linker.define_resource("file", destructor=lambda f: setattr(f, "closed", True))
    linker.define_func("[constructor]file", lambda size: opened.append(File(size)) or opened[-1])
    linker.define_func("[method]file.size", lambda f: f.size)
    assert instantiate(engine, HOST_RESOURCE, linker).exports["run"]() == 42
    assert len(opened) == 1 and opened[0].closed


# --- async ------------------------------------------------------------------------------------

ASYNC = """(component
  (core module $M
    (import "" "task.return" (func $task.return (param i32)))
    (import "" "waitable-set.new" (func $ws.new (result i32)))
    (global $sum (mut i32) (i32.const 0))
    ;; slow-add: yields once, the callback then returns a+b
    (func (export "slow-add") (param i32 i32) (result i32)
      (global.set $sum (i32.add (local.get 0) (local.get 1)))
      (i32.const 1 (; YIELD ;)))
    (func (export "slow-add-cb") (param i32 i32 i32) (result i32)
      (call $task.return (global.get $sum))
      (i32.const 0 (; EXIT ;)))
    ;; stuck: waits on an empty waitable set, which never gets an event
    (func (export "stuck") (result i32)
      (i32.or (i32.const 2 (; WAIT ;)) (i32.shl (call $ws.new) (i32.const 4))))
    (func (export "stuck-cb") (param i32 i32 i32) (result i32) unreachable))
  (core func $task.return (canon task.return (result u32)))
  (core func $ws.new (canon waitable-set.new))
  (core instance $m (instantiate $M (with "" (instance
    (export "task.return" (func $task.return)) (export "waitable-set.new" (func $ws.new))))))
  (func (export "slow-add") async (param "a" u32) (param "b" u32) (result u32)
    (canon lift (core func $m "slow-add") async (callback (core func $m "slow-add-cb"))))
  (func (export "stuck") async (result u32)
    (canon lift (core func $m "stuck") async (callback (core func $m "stuck-cb"))))
)"""


def test_async_export_called_from_python(engine):
    ex = instantiate(engine, ASYNC).exports
    assert ex["slow-add"](40, 2) == 42
    assert ex["slow-add"](1, 2) == 3


def test_deadlock_traps_and_leaves_no_thread_behind(engine):
    ex = instantiate(engine, ASYNC).exports
    before = threading.active_count()
    with pytest.raises(Trap) as info:
        ex["stuck"]()
    assert info.value.code is TrapCode.DEADLOCK
    assert threading.active_count() <= before


STREAM = """(component
  (core module $Mem (memory (export "mem") 1))
  (core instance $mem (instantiate $Mem))
  (type $S (stream u32))
  (core func $new (canon stream.new $S))
  (core func $read (canon stream.read $S async (memory (core memory $mem "mem"))))
  (core func $write (canon stream.write $S async (memory (core memory $mem "mem"))))
  (core func $ws.new (canon waitable-set.new))
  (core func $join (canon waitable.join))
  (core func $poll (canon waitable-set.poll (memory (core memory $mem "mem"))))
  (core module $M
    (import "" "mem" (memory 1))
    (import "" "new" (func $new (result i64)))
    (import "" "read" (func $read (param i32 i32 i32) (result i32)))
    (import "" "write" (func $write (param i32 i32 i32) (result i32)))
    (import "" "ws.new" (func $ws.new (result i32)))
    (import "" "join" (func $join (param i32 i32)))
    (import "" "poll" (func $poll (param i32 i32) (result i32)))
    (func (export "run") (result i64)
      (local $pair i64) (local $rx i32) (local $tx i32) (local $ws i32) (local $out i64)
      (local.set $pair (call $new))
      (local.set $rx (i32.wrap_i64 (local.get $pair)))
      (local.set $tx (i32.wrap_i64 (i64.shr_u (local.get $pair) (i64.const 32))))
      (i32.store (i32.const 100) (i32.const 10))
      (i32.store (i32.const 104) (i32.const 20))
      (i32.store (i32.const 108) (i32.const 30))
      ;; the write of 3 values waits for a reader: BLOCKED (-1)
      (local.set $out (i64.extend_i32_u (call $write (local.get $tx) (i32.const 100) (i32.const 3))))
      ;; a read of 2 takes 2 (COMPLETED | 2<<4), a second read of 2 takes the last one (1<<4)
      (local.set $out (i64.or (i64.shl (local.get $out) (i64.const 8))
        (i64.extend_i32_u (call $read (local.get $rx) (i32.const 200) (i32.const 2)))))
      (local.set $out (i64.or (i64.shl (local.get $out) (i64.const 8))
        (i64.extend_i32_u (call $read (local.get $rx) (i32.const 208) (i32.const 2)))))
      ;; the writer's event: STREAM_WRITE (3) with COMPLETED | 3<<4
      (local.set $ws (call $ws.new))
      (call $join (local.get $tx) (local.get $ws))
      (local.set $out (i64.or (i64.shl (local.get $out) (i64.const 8))
        (i64.extend_i32_u (call $poll (local.get $ws) (i32.const 300)))))
      (local.set $out (i64.or (i64.shl (local.get $out) (i64.const 8))
        (i64.extend_i32_u (i32.load (i32.const 304)))))
      ;; the sum of what was read
      (i64.or (i64.shl (local.get $out) (i64.const 8))
        (i64.extend_i32_u (i32.add (i32.load (i32.const 200))
          (i32.add (i32.load (i32.const 204)) (i32.load (i32.const 208))))))))
  (core instance $m (instantiate $M (with "" (instance
    (export "mem" (memory $mem "mem")) (export "new" (func $new)) (export "read" (func $read))
    (export "write" (func $write)) (export "ws.new" (func $ws.new)) (export "join" (func $join))
    (export "poll" (func $poll))))))
  (func (export "run") (result u64) (canon lift (core func $m "run")))
)"""


def test_stream_partial_copies(engine):
    packed = instantiate(engine, STREAM).exports["run"]()
    got = [(packed >> s) & 0xFF for s in (40, 32, 24, 16, 8, 0)]
    assert got == [0xFF, 0x20, 0x10, 3, 0x30, 60]


def test_component_is_reusable_across_stores():
    engine = Engine(Config(tier="python", cache=False))
    comp = Component(engine, wat(VALUES))
    a = Linker(engine).instantiate(Store(engine), comp)
    b = Linker(engine).instantiate(Store(engine), comp)
    assert a.exports["sum"]({"x": 1, "y": 2}) == b.exports["sum"]({"x": 1, "y": 2}) == 3


def test_auto_tier():
    engine = Engine(Config(tier="auto", cache=False))
    ex = instantiate(engine, VALUES).exports
    assert [ex["sum"]({"x": i, "y": i}) for i in range(50)][-1] == 98
