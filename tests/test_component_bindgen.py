"""``wasm2py bindgen``: a component built here with wasm-tools (``component embed`` and
``component new`` around a core module written below) gets a generated package, which plain
Python (a subprocess with only the package and wasm2py on its path) imports and uses."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from wasm2py.component.bindgen import method_name, pascal, snake
from wasm2py.component.witdocs import from_wit_text

from .wat import wat

ROOT = Path(__file__).resolve().parents[1]

WIT = """package demo:shapes;

/// Plane geometry.
interface geometry {
  /// A point on the plane.
  record point {
    /// Horizontal position.
    x: s32,
    y: s32,
  }
  /// How to report a result.
  enum unit { meters, feet }
  flags style { bold, italic }
  variant shape { dot(point), line(list<point>), nothing }
}

world shapes {
  use geometry.{point, unit, style, shape};
  /// Record a message on the host.
  import note: func(msg: string);
  /// The sum of a point's coordinates.
  export sum: func(p: point) -> s32;
  /// How many points a shape has.
  export count: func(s: shape) -> u32;
  /// The label of a unit.
  export label: func(u: unit) -> string;
  /// The point halfway between two points, if they differ.
  export middle: func(a: point, b: point) -> option<point>;
  /// Styles turned on, as bits.
  export bits: func(s: style) -> u32;
}
"""

CORE = """(module
  (import "$root" "note" (func $note (param i32 i32)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 4096))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $p i32)
    (local.set $p (i32.and (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
                           (i32.sub (i32.const 0) (local.get 2))))
    (global.set $heap (i32.add (local.get $p) (local.get 3)))
    (local.get $p))
  (func (export "sum") (param i32 i32) (result i32)
    (call $note (i32.const 0) (i32.const 3))
    (i32.add (local.get 0) (local.get 1)))
  ;; shape flattens to (case, a, b): dot -> (0, x, y), line -> (1, ptr, len), nothing -> 2
  (func (export "count") (param $case i32) (param $a i32) (param $b i32) (result i32)
    (if (result i32) (i32.eqz (local.get $case)) (then (i32.const 1))
      (else (if (result i32) (i32.eq (local.get $case) (i32.const 1))
        (then (local.get $b)) (else (i32.const 0))))))
  ;; unit -> string: return a pointer to (ptr, len)
  (func (export "label") (param $u i32) (result i32)
    (i32.store (i32.const 64) (select (i32.const 16) (i32.const 32) (i32.eqz (local.get $u))))
    (i32.store (i32.const 68) (select (i32.const 6) (i32.const 4) (i32.eqz (local.get $u))))
    (i32.const 64))
  (func (export "middle") (param $ax i32) (param $ay i32) (param $bx i32) (param $by i32)
                          (result i32)
    (if (i32.and (i32.eq (local.get $ax) (local.get $bx)) (i32.eq (local.get $ay) (local.get $by)))
      (then (i32.store8 (i32.const 80) (i32.const 0)) (return (i32.const 80))))
    (i32.store8 (i32.const 80) (i32.const 1))
    (i32.store (i32.const 84) (i32.div_s (i32.add (local.get $ax) (local.get $bx)) (i32.const 2)))
    (i32.store (i32.const 88) (i32.div_s (i32.add (local.get $ay) (local.get $by)) (i32.const 2)))
    (i32.const 80))
  (func (export "bits") (param i32) (result i32) (local.get 0))
  (data (i32.const 0) "sum")
  (data (i32.const 16) "meters")
  (data (i32.const 32) "feet")
)"""

USE = """
from shapes_pkg import Shapes, Point, Unit, Style, ShapeDot, ShapeLine, ShapeNothing
import shapes_pkg

class Host:
    def __init__(self):
        self.notes = []
    def note(self, msg):
        self.notes.append(msg)

host = Host()
s = Shapes(host)
print(s.sum(Point(x=40, y=2)))
print(host.notes)
print(s.count(ShapeDot(Point(1, 2))), s.count(ShapeLine([Point(0, 0)] * 5)), s.count(ShapeNothing()))
print(s.label(Unit.METERS), s.label(Unit.FEET))
print(s.middle(Point(0, 0), Point(4, 6)), s.middle(Point(1, 1), Point(1, 1)))
print(s.bits(Style.BOLD | Style.ITALIC), s.bits(Style.ITALIC))
print(Point.__doc__, '|', shapes_pkg.Shapes.sum.__doc__, '|', shapes_pkg.Imports.note.__doc__)
"""


def build_component(tmp: Path) -> Path:
    exe = shutil.which("wasm-tools")
    (tmp / "shapes.wit").write_text(WIT)
    (tmp / "core.wasm").write_bytes(wat(CORE))
    subprocess.run([exe, "component", "embed", "shapes.wit", "core.wasm", "-o", "embedded.wasm"],
                   cwd=tmp, check=True, capture_output=True)  # fmt: skip
    subprocess.run([exe, "component", "new", "embedded.wasm", "-o", "shapes.wasm"], cwd=tmp,
                   check=True, capture_output=True)  # fmt: skip
    return tmp / "shapes.wasm"


def test_generated_package_used_from_plain_python(tmp_path):
    comp = build_component(tmp_path)
    out = subprocess.run([sys.executable, "-m", "wasm2py.cli", "bindgen", str(comp), "-o",
                          str(tmp_path / "shapes_pkg"), "--wit", str(tmp_path / "shapes.wit")],
                         capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert out.returncode == 0, out.stderr
    source = (tmp_path / "shapes_pkg" / "__init__.py").read_text()
    assert "class Point:" in source and "class Imports(Protocol):" in source
    r = subprocess.run([sys.executable, "-c", USE], capture_output=True, text=True, cwd=tmp_path,
                       env={"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": "/usr/bin:/bin"})  # fmt: skip
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "42"
    assert lines[1] == "['sum']"
    assert lines[2] == "1 5 0"
    assert lines[3] == "meters feet"
    assert lines[4] == "Point(x=2, y=3) None"
    assert lines[5] == "3 2"
    assert lines[6] == ("A point on the plane. | The sum of a point's coordinates. | "
                        "Record a message on the host.")  # fmt: skip


def test_identifiers():
    assert pascal("http-request") == "HttpRequest"
    assert pascal("XML-parser") == "XmlParser"
    assert snake("get-JSON") == "get_json"
    assert snake("class") == "class_"
    assert method_name("[constructor]file") == "file_new"
    assert method_name("[method]file.read-all") == "file_read_all"


def test_wit_doc_comments():
    docs = from_wit_text(WIT)
    assert docs.get("geometry", "point") == "A point on the plane."
    assert docs.get("geometry", "point", "x") == "Horizontal position."
    assert docs.get("shapes", "sum") == "The sum of a point's coordinates."
    assert docs.get("", "geometry") == "Plane geometry."
    assert docs.worlds == ["shapes"]
