"""Validation of components: each invalid component below breaks one rule of the explainer
(the comment says which) and must raise ValidationError with a byte offset; the valid ones must
be accepted."""

from __future__ import annotations

import pytest

from wasm2py import DecodeError, ValidationError
from wasm2py.component import Component
from wasm2py.component.types import FuncType, Prim, TypeExtern

from .wat import wat

MOD = '(core module $m (func (export "f") (result i32) unreachable)) (core instance $i (instantiate $m))'


def invalid(text: str) -> ValidationError:
    data = wat(text)
    with pytest.raises(ValidationError) as info:
        Component(data)
    err = info.value
    assert isinstance(err.offset, int) and 0 <= err.offset < len(data)
    return err


@pytest.mark.parametrize(("text", "words"), [
    # labels are kebab case and unique ignoring case
    ('(component (type (record (field "Ab" u8))))', "kebab"),
    ('(component (type (enum "a" "A")))', "conflicts"),
    # compound types are not empty; at most 32 flags
    ('(component (type (record)))', "at least one"),
    ('(component (type (flags ' + " ".join(f'"f{i}"' for i in range(33)) + ")))", "32 flags"),
    # handles refer to resources; results hold no borrows
    ('(component (type $t u8) (type (own $t)))', "not a resource type"),
    ('(component (type $r (resource (rep i32))) (type (func (result (borrow $r)))))', "borrow"),
    # indices in bounds
    ('(component (type (list 3)))', "out of bounds"),
    # import names are unique (strongly: case-insensitive)
    ('(component (import "a" (func)) (import "A" (func)))', "conflicts"),
    # `stream<char>` is not valid yet
    ('(component (type (stream char)))', "not valid"),
    # resources are defined only in concrete components
    ('(component (type (instance (type (resource (rep i32))))))', "concrete component"),
    # a lifted core function has the flattened signature
    (f'(component {MOD} (func (canon lift (core func $i "f"))))', "result types"),
    # lifting a string needs memory (and realloc for parameters)
    (f'(component {MOD} (func (result string) (canon lift (core func $i "f"))))', "memory"),
    # exported types must be named (external visibility)
    (f'(component {MOD} (type $r (record (field "x" u32)))'
     ' (func $f (result $r) (canon lift (core func $i "f"))) (export "f" (func $f)))', "export"),
    # resource.new needs a local resource
    ('(component (import "t" (type $t (sub resource))) (core func (canon resource.new $t)))',
     "local resource"),
    # outer aliases across a component boundary may not mention resources
    ('(component $c (type $r (resource (rep i32))) (component (alias outer $c $r (type))))',
     "resources"),
])  # fmt: skip
def test_invalid(text, words):
    err = invalid(text)
    assert words in err.reason


def test_instantiation_checks_resource_identity():
    # two distinct imported resources cannot satisfy an import that requires them equal
    invalid("""(component
      (import "a" (type $a (sub resource)))
      (import "b" (type $b (sub resource)))
      (component $c (import "x" (type $x (sub resource))) (import "y" (type (eq $x))))
      (instance (instantiate $c (with "x" (type $a)) (with "y" (type $b)))))""")


def test_instantiation_checks_function_types():
    err = invalid("""(component
      (import "f" (func $f (param "x" u32)))
      (component $c (import "g" (func (param "x" s32))))
      (instance (instantiate $c (with "g" (func $f)))))""")
    assert "parameter" in err.reason


def test_core_module_errors_point_into_the_component():
    data = wat('(component (core module (func (result i32) (i64.const 0))))')
    with pytest.raises(ValidationError) as info:
        Component(data)
    # the offending instruction lies inside the embedded module, after the outer preamble
    assert 8 < info.value.offset < len(data)
    assert "core module" in info.value.reason


def test_malformed_core_module_is_a_decode_error():
    data = bytearray(wat("(component (core module (func)))"))
    # corrupt the embedded module's type section id (first byte after its preamble)
    inner = data.index(b"\x00asm\x01\x00\x00\x00") + 8
    data[inner] = 0x0E
    with pytest.raises(DecodeError) as info:
        Component(bytes(data))
    assert info.value.offset == inner


def test_valid_component_type():
    c = Component(wat(f"""(component {MOD}
      (type $p (record (field "x" u32) (field "y" u32)))
      (export $p2 "point" (type $p))
      (func $f (result u32) (canon lift (core func $i "f")))
      (export "get" (func $f)))"""))
    assert set(c.exports) == {"point", "get"}
    get = c.exports["get"]
    assert isinstance(get, FuncType) and get.result is Prim.U32
    assert isinstance(c.exports["point"], TypeExtern)


def test_resources_are_fresh_per_import():
    # two imports of one instance type get distinct resources: mixing them is invalid
    invalid("""(component
      (type $I (instance (export "r" (type $r (sub resource)))
                         (export "f" (func (result (own $r))))))
      (import "i1" (instance $i1 (type $I)))
      (import "i2" (instance $i2 (type $I)))
      (component $C (import "r" (type $r (sub resource))) (import "f" (func (result (own $r)))))
      (instance (instantiate $C (with "r" (type $i1 "r")) (with "f" (func $i2 "f")))))""")


def test_interface_names_and_versions():
    Component(wat('(component (import "wasi:http/types@0.2.0" (func)) '
                  '(import "wasi:http/types@1.0.0" (func)))'))
    assert "semver" in invalid('(component (import "a:b/c@1." (func)))').reason
