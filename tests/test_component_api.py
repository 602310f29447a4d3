"""The component embedding API: Component, Linker, Instance exports, value forms."""

from __future__ import annotations

import pytest

from wasm2py import Engine, LinkError, Store
from wasm2py.component import Component, Linker, Some
from wasm2py.component.types import FuncType, OptionType, Prim
from wasm2py.wast.component import SuiteMissing, convert, suite_dir

from .wat import wat

NESTED = """(component
  (core module $M (func (export "f") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2))))
  (core instance $m (instantiate $M))
  (func $f (param "x" u32) (result u32) (canon lift (core func $m "f")))
  (instance $inner (export "double" (func $f)))
  (export "math" (instance $inner))
  (export "double" (func $f))
)"""


def test_exports_mapping_and_types():
    engine = Engine()
    comp = Component(engine, wat(NESTED))
    assert list(comp.exports) == ["math", "double"]
    inst = Linker(engine).instantiate(Store(engine), comp)
    assert set(inst.exports) == {"math", "double"}
    assert inst.exports["math"]["double"](21) == 42
    f = inst.exports["double"]
    assert isinstance(f.type, FuncType) and f.type.result is Prim.U32
    with pytest.raises(KeyError):
        inst.exports["nope"]
    with pytest.raises(TypeError):
        f()


def test_linker_rejects_redefinition():
    linker = Linker()
    linker.define_func("f", print)
    with pytest.raises(LinkError):
        linker.define_func("f", print)
    ns = linker.instance("wasi:cli/stdout")
    assert linker.instance("wasi:cli/stdout") is ns


def test_nested_option_uses_some():
    from wasm2py.component.canonical import match_case

    t = OptionType(OptionType(Prim.U8))
    assert match_case(None, t) == (0, None)
    assert match_case(Some(None), t) == (1, None)
    assert match_case(Some(3), t) == (1, 3)
    with pytest.raises(TypeError):
        match_case(3, t)


def test_component_from_file(tmp_path):
    p = tmp_path / "nested.wasm"
    p.write_bytes(wat(NESTED))
    comp = Component.from_file(p)
    assert comp.name == "nested"


def test_handle_table_reference_component_through_the_api():
    # the first component of the reference test resources/handle-table.wast, through the API
    try:
        directory, commands = convert(suite_dir() / "resources" / "handle-table.wast")
    except (SuiteMissing, FileNotFoundError) as exc:
        pytest.skip(str(exc))
    first = next(c for c in commands if c["type"] == "module")
    engine = Engine()
    comp = Component(engine, (directory / first["filename"]).read_bytes())
    instance = Linker(engine).instantiate(Store(engine), comp)
    assert instance.exports["run"]() == 42


def test_cli_validate_and_inspect_components(tmp_path, capsys):
    from wasm2py.cli import main

    p = tmp_path / "nested.wasm"
    p.write_bytes(wat(NESTED))
    assert main(["validate", str(p)]) == 0
    assert "valid component" in capsys.readouterr().out
    assert main(["inspect", str(p)]) == 0
    out = capsys.readouterr().out
    assert "math: instance { double: func(x: u32) -> u32 }" in out
    assert "double: func(x: u32) -> u32" in out
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(wat(NESTED)[:-3])
    assert main(["validate", str(bad)]) == 2
