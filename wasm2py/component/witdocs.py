"""Documentation for bindings: the doc comments of a WIT package.

Two sources: the ``package-docs`` custom section that WIT binaries (``wasm-tools component wit
-w``) and some components carry (a version byte then JSON), and WIT source text, whose ``///``
comments are collected by a small scanner that attaches each comment block to the next item it
precedes (interfaces, worlds, types, fields, cases, functions).

:class:`Docs` answers ``docs.get(scope, name, member)`` with a string or None; ``scope`` is the
interface or world name.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..binary.reader import Reader

_ITEM = re.compile(r"^\s*(?:%|)(?P<kw>interface|world|record|variant|enum|flags|resource|type)"
                   r"\s+%?(?P<name>[A-Za-z0-9-]+)")  # fmt: skip
_FUNC = re.compile(r"^\s*(?:export\s+|import\s+)?%?(?P<name>[A-Za-z0-9-]+)\s*:\s*(?:async\s+)?func\b")
_CTOR = re.compile(r"^\s*constructor\s*\(")
_MEMBER = re.compile(r"^\s*%?(?P<name>[A-Za-z0-9-]+)\s*(?:[:(,]|$)")


class Docs:
    """Doc strings by (scope, item) and (scope, item, member)."""

    def __init__(self):
        self.items: dict[tuple[str, ...], str] = {}
        #: the worlds documented, in order
        self.worlds: list[str] = []

    def get(self, *key: str) -> str | None:
        """The docs of an item (``scope, name``) or member (``scope, name, member``). When the
        scope does not match, the item is looked up in any scope."""
        hit = self.items.get(key)
        if hit is not None:
            return hit
        for k, v in self.items.items():
            if k[0] and k[1:] == key[1:]:
                return v
        return None

    def update(self, other: Docs) -> None:
        """Add the docs of ``other``."""
        self.items.update(other.items)
        self.worlds += [w for w in other.worlds if w not in self.worlds]

    def __bool__(self) -> bool:
        return bool(self.items)


def from_package_docs(payload: bytes) -> Docs:
    """Docs from the contents of a ``package-docs`` custom section."""
    docs = Docs()
    if not payload:
        return docs
    try:
        data = json.loads(payload[1:].decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return docs
    docs.worlds += list((data.get("worlds") or {}).keys())
    for kind in ("worlds", "interfaces"):
        for scope, entry in (data.get(kind) or {}).items():
            if entry.get("docs"):
                docs.items[("", scope)] = entry["docs"]
            for group in ("funcs", "func_exports", "func_imports"):
                for name, f in (entry.get(group) or {}).items():
                    if f.get("docs"):
                        docs.items[(scope, name)] = f["docs"]
            for name, t in (entry.get("types") or {}).items():
                if t.get("docs"):
                    docs.items[(scope, name)] = t["docs"]
                for member, text in (t.get("items") or {}).items():
                    docs.items[(scope, name, member)] = text
    return docs


def package_docs_sections(data: bytes) -> list[bytes]:
    """The ``package-docs`` custom sections of a component binary (top level)."""
    out = []
    r = Reader(data, 8)
    try:
        while r.pos < len(data):
            sid = r.byte()
            size = r.u32()
            end = r.pos + size
            if sid == 0:
                r.end = end
                name = r.name()
                if name == "package-docs":
                    out.append(data[r.pos : end])
                r.end = len(data)
            r.pos = end
    except Exception:  # noqa: BLE001 - docs are optional: a malformed section is ignored
        return out
    return out


def from_wit_text(text: str) -> Docs:
    """Docs from WIT source: each ``///`` block documents the item on the next line."""
    docs = Docs()
    pending: list[str] = []
    stack: list[tuple[str, str]] = []  # (kind, name) of the open blocks
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("///"):
            pending.append(line[3:].strip())
            continue
        if line.startswith("//") or not line:
            continue
        scope = next((n for k, n in reversed(stack) if k in ("interface", "world")), "")
        container = stack[-1] if stack else None
        doc = "\n".join(pending).strip() or None
        pending = []
        m = _ITEM.match(line)
        f = _FUNC.match(line)
        if m:
            name = m.group("name")
            if m.group("kw") == "world":
                docs.worlds.append(name)
            if doc:
                if m.group("kw") in ("interface", "world"):
                    docs.items[("", name)] = doc
                else:
                    docs.items[(scope, name)] = doc
            if "{" in line and "}" not in line:
                stack.append((m.group("kw"), name))
            continue
        if f:
            name = f.group("name")
            if doc:
                if container is not None and container[0] == "resource":
                    docs.items[(scope, container[1], name)] = doc
                else:
                    docs.items[(scope, name)] = doc
        elif _CTOR.match(line):
            if doc and container is not None:
                docs.items[(scope, container[1], "constructor")] = doc
        elif container is not None and container[0] in ("record", "variant", "enum", "flags"):
            mm = _MEMBER.match(line)
            if mm and doc:
                docs.items[(scope, container[1], mm.group("name"))] = doc
        if line.startswith("}") and stack:
            stack.pop()
        elif line.endswith("{") and not f:
            stack.append(("block", ""))
    return docs


def load_docs(path: str | Path | None, component_bytes: bytes | None = None) -> Docs:
    """Docs from a WIT file or directory, or a WIT binary, plus the component's own
    ``package-docs`` sections."""
    docs = Docs()
    if component_bytes is not None:
        for payload in package_docs_sections(component_bytes):
            docs.update(from_package_docs(payload))
    if path is None:
        return docs
    p = Path(path)
    files = sorted(p.rglob("*.wit")) if p.is_dir() else [p]
    for f in files:
        data = f.read_bytes()
        if data[:4] == b"\x00asm":
            for payload in package_docs_sections(data):
                docs.update(from_package_docs(payload))
        else:
            docs.update(from_wit_text(data.decode("utf-8")))
    return docs
