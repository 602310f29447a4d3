"""The translator's fast tree walks (wasm2py/translate/nodes.py) against :mod:`ast`'s own.

``nodes`` and ``set_locations`` replace :func:`ast.walk` and a walk that set all four
positions; these check them against those references on real translated functions (a
``br_table`` switch, loops, calls, memory) and on parsed Python, and that the code compiled
from either location scheme is the same.
"""

from __future__ import annotations

import ast
import copy
from collections import Counter

import pytest

import wasm2py
from wasm2py.translate.codegen import translate_function
from wasm2py.translate.module import compile_tree, module_gen, set_locations
from wasm2py.translate.nodes import LOCATED, clone, nodes
from wasm2py.translate.peephole import _Counts

from .wat import wat

#: a switch over nested blocks (br_table), a loop with a call and memory, a select
_WAT = """(module (memory 1)
  (func $sq (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
  (func (export "sw") (param i32) (result i32)
    (block (block (block (block (block
      (br_table 0 1 2 3 4 (local.get 0)))
      (return (i32.const 10)))
      (return (i32.const 11)))
      (return (i32.const 12)))
      (return (i32.const 13)))
    (i32.const 14))
  (func (export "sum") (param i32) (result i32) (local i32 i32)
    (block (loop
      (br_if 1 (i32.ge_u (local.get 1) (local.get 0)))
      (i32.store (i32.const 16) (call $sq (local.get 1)))
      (local.set 2 (i32.add (local.get 2) (i32.load (i32.const 16))))
      (br_if 0 (i32.eqz (i32.and (local.tee 1 (i32.add (local.get 1) (i32.const 1)))
                                 (i32.const 0x40000000))))))
    (select (local.get 2) (i32.const -1) (i32.lt_u (local.get 0) (i32.const 1000)))))"""


def _trees(**options):
    """Every function of ``_WAT`` translated (not located), with the ModuleGen."""
    config = wasm2py.Config(cache=False, **options)
    module = wasm2py.Module(wasm2py.Engine(config), wat(_WAT))._module
    gen = module_gen(module, config)
    out = []
    for k, code in enumerate(module.codes):
        out.append(translate_function(gen, k, gen.func_types[k], code.locals, code.body,
                                      gen.func_names[k]))  # fmt: skip
    return out


_OPTIONS = [{}, {"consume_fuel": True}, {"tier": "auto"}, {"python_shape": "flat"}]


def _reference_locations(tree: ast.AST, line: int = 1) -> None:
    """What ``set_locations`` did before: every located node gets its own ``lineno`` or its
    nearest located ancestor's, column 0, and end positions equal to the start (by
    :func:`ast.iter_child_nodes`, recursively)."""
    d = tree.__dict__
    if "lineno" in tree._attributes:
        line = d.get("lineno") or line
        d["lineno"] = d["end_lineno"] = line
        d["col_offset"] = d["end_col_offset"] = 0
    for child in ast.iter_child_nodes(tree):
        _reference_locations(child, line)


def _located(found) -> Counter:
    """How many times each located node occurs in ``found`` (a node may be shared by two
    parents: both walks then meet it twice)."""
    return Counter(id(n) for n in found if type(n) in LOCATED)


@pytest.mark.parametrize("options", _OPTIONS)
def test_nodes_finds_every_located_node(options):
    for fn in _trees(**options):
        assert _located(nodes(fn)) == _located(ast.walk(fn))


def test_nodes_on_parsed_python():
    # every kind of node a walk can meet, including ones the translator never makes
    tree = ast.parse(
        "import a.b as c\nfrom . import d\n"
        "@dec(k=1)\nasync def f(x, /, y=2, *a, z: int = 3, **kw) -> None:\n"
        "    global g\n    async with m as (p, *q):\n        await x\n"
        "    try:\n        del x[1:2:3]\n    except E as e:\n        raise e from None\n"
        "    finally:\n        pass\n"
        "    match y:\n        case [1, *r] | {'k': _, **rest} if r:\n            ...\n"
        "        case C(a, b=None) as w:\n            yield from w\n"
        "    return {k: v for k, v in kw.items() if k}, f'{x!r:>{y}}', lambda u: (u := 1)\n"
    )
    assert _located(nodes(tree)) == _located(ast.walk(tree))


@pytest.mark.parametrize("options", _OPTIONS)
def test_set_locations_matches_the_reference(options):
    for fn in _trees(**options):
        ours, ref = fn, copy.deepcopy(fn)
        set_locations(ours)
        _reference_locations(ref)
        for a, b in zip(ast.walk(ours), ast.walk(ref), strict=True):
            if type(a) in LOCATED:
                assert (a.lineno, a.col_offset) == (b.lineno, b.col_offset)
        # the compiled code is the same, line table included (the compiler takes a missing
        # end position from the start)
        ca = compile_tree(ast.Module([ours], []), "wasm://t")
        cb = compile_tree(ast.Module([ref], []), "wasm://t")
        fa, fb = (next(c for c in m.co_consts if hasattr(c, "co_code")) for m in (ca, cb))
        assert fa.co_code == fb.co_code
        assert fa.co_linetable == fb.co_linetable
        assert fa.co_consts == fb.co_consts


@pytest.mark.parametrize("options", _OPTIONS[:2])
def test_brk_counts_match_a_plain_walk(options):
    # the switch's translation sets and tests ``brk``: count both by ast.walk
    config = wasm2py.Config(cache=False, **options)
    module = wasm2py.Module(wasm2py.Engine(config), wat(_WAT))._module
    gen = module_gen(module, config)
    code = module.codes[1]
    from wasm2py.translate.codegen import FuncGen, analyze

    fn = FuncGen(gen, 1, gen.func_types[1], code.locals, code.body, "sw", analyze(code.body)).run()
    names = sum(isinstance(n, ast.Name) and n.id == "brk" for n in ast.walk(fn))
    sets: dict[int, int] = {}
    for n in ast.walk(fn):
        if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name) \
                and n.targets[0].id == "brk":  # fmt: skip
            for c in ast.walk(n.value):
                if isinstance(c, ast.Constant):
                    for k in c.value if isinstance(c.value, tuple) else (c.value,):
                        sets[k] = sets.get(k, 0) + 1
    counts = _Counts(fn)
    assert names > 10 and len(sets) >= 5  # (the switch really uses the flag)
    assert counts.names == names
    assert counts.sets == sets


@pytest.mark.parametrize("options", _OPTIONS)
def test_translated_functions_still_run(options):
    store = wasm2py.Store(wasm2py.Engine(wasm2py.Config(cache=False, **options)))
    if options.get("consume_fuel"):
        store.set_fuel(10**9)
    ex = wasm2py.Instance(store, wasm2py.Module(store.engine, wat(_WAT)), {}).exports
    # br_table picks label i for i < 4, else the default (label 4: falls to 14)
    assert [ex.sw(i) for i in range(7)] == [10, 11, 12, 13, 14, 14, 14]
    # sum of squares below n: n(n-1)(2n-1)/6
    assert ex.sum(10) == 285
    assert ex.sum(100) == 328350
    assert ex.sum(5000) == -1  # select: n >= 1000 gives -1


def _shape(x, seen: dict) -> object:
    """``x`` as plain data: every node's class and attributes (the translator's own too), each
    node or list met again named by the order it was first met (so sharing shows)."""
    if isinstance(x, (ast.AST, list)):
        if id(x) in seen:
            return ("again", seen[id(x)])
        seen[id(x)] = len(seen)
        if isinstance(x, list):
            return [_shape(v, seen) for v in x]
        return (type(x).__name__, sorted((k, _shape(v, seen)) for k, v in vars(x).items()))
    if isinstance(x, tuple):  # (codegen notes operands, nodes included, in tuples)
        return ("tuple", [_shape(v, seen) for v in x])
    return x


@pytest.mark.parametrize("options", _OPTIONS)
def test_clone_is_a_deepcopy(options):
    for fn in _trees(**options):
        set_locations(fn)
        fn.body[0].wasm_op = "marker"  # an attribute of the translator's own
        shared = fn.body[0]
        fn.body.append(shared)  # a node met twice
        ours, ref = clone(fn), copy.deepcopy(fn)
        assert _shape(ours, {}) == _shape(ref, {}) == _shape(fn, {})
        assert ours.body[0] is ours.body[-1] and ours.body[0] is not shared
        mine = set(map(id, nodes(ours)))
        assert not mine & set(map(id, nodes(fn)))  # nothing of the original in the copy
    arms = [ast.Pass()]
    pair = [ast.If(ast.Name("a", ast.Load()), arms, []), ast.If(ast.Name("b", ast.Load()), arms, [])]
    copied = clone(pair)
    assert copied[0].body is copied[1].body and copied[0].body is not arms
