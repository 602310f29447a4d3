"""Fast walks over the generated ``ast`` trees.

:func:`ast.walk` costs about a microsecond per node (two nested generators per node, a
``getattr`` per field); a translated function has thousands of nodes and is walked whole more
than once, which made these walks a quarter of a cold translation's time
(``python tools/bench/translate_speed.py --realworld``). These read each node's ``__dict__``
with the fields of its class looked up once, and skip the fields that only ever hold
operators and contexts (``ctx``, ``op``, ``ops``: nodes without a location or children).
"""

from __future__ import annotations

import ast
import copy
from enum import Enum
from typing import TypeVar

T = TypeVar("T")

#: fields that never hold a node with a location or children: operators, contexts, names,
#: flags (``Constant.value`` too: a Python value)
_SKIPPED = frozenset({"ctx", "op", "ops", "id", "kind", "attr", "arg", "name", "module", "level",
                      "conversion", "is_async", "simple", "type_comment"})  # fmt: skip
#: node class -> the fields worth following (filled by :func:`fields`)
FIELDS: dict[type, tuple[str, ...]] = {ast.Constant: ()}


def fields(cls: type) -> tuple[str, ...]:
    """The fields of node class ``cls`` that may hold located nodes (cached in
    :data:`FIELDS`)."""
    names = FIELDS.get(cls)
    if names is None:
        names = FIELDS[cls] = tuple(f for f in cls._fields if f not in _SKIPPED)  # type: ignore[attr-defined]
    return names


#: the node classes with a location (statements, expressions, handlers, arguments...)
LOCATED = frozenset(
    cls for cls in (getattr(ast, n) for n in dir(ast))
    if isinstance(cls, type) and issubclass(cls, ast.AST) and "lineno" in cls._attributes
)  # fmt: skip
#: the located expression classes (see module.set_locations)
EXPRESSIONS = frozenset(cls for cls in LOCATED if issubclass(cls, ast.expr))
#: the located node classes without located nodes under them (names, constants...): walks
#: take them in without queueing them
LEAVES = frozenset(cls for cls in LOCATED if not fields(cls))


def nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of ``tree`` (itself included) except operators and expression contexts, in
    no particular order."""
    AST = ast.AST
    out: list[ast.AST] = []
    add = out.append
    todo = [tree]
    pop = todo.pop
    push = todo.append
    cache = FIELDS
    leaves = LEAVES
    while todo:
        node = pop()
        add(node)
        d = node.__dict__
        for name in cache.get(node.__class__) or fields(node.__class__):
            value = d.get(name)
            if value.__class__ is list:
                for item in value:
                    if item.__class__ in leaves:
                        add(item)
                    elif isinstance(item, AST):
                        push(item)
            elif value.__class__ in leaves:
                add(value)
            elif isinstance(value, AST):
                push(value)
    return out


#: the location attributes of a parsed node
_LOCATION = ("lineno", "end_lineno", "col_offset", "end_col_offset")


def unlocated(tree: ast.AST) -> None:
    """Drop the locations of parsed nodes (the translator gives them their statement's line:
    a wasm offset, see ``module.set_locations``)."""
    for node in nodes(tree):
        d = node.__dict__
        for attr in _LOCATION:
            d.pop(attr, None)


#: attribute values a copy can share (immutable)
_SHARED = (int, float, complex, str, bytes, type(None), Enum)


def clone(node: T) -> T:
    """A deep copy of ``node`` (an ``ast`` node, or a list of them), as :func:`copy.deepcopy`
    makes it: every attribute copied (locations and the translator's own, such as
    ``wasm_op``), a node or list shared inside it shared in the copy too, immutable values
    shared.
    Several times faster: no ``__reduce_ex__`` per node."""
    return _clone(node, {})


def _clone(value, memo: dict):
    cls = value.__class__
    if cls is list:
        # (statement lists can be shared too: a br_table's arms with the same target)
        done = memo.get(id(value))
        if done is None:
            done = memo[id(value)] = []
            done.extend(_clone(v, memo) for v in value)
        return done
    if isinstance(value, ast.AST):
        done = memo.get(id(value))
        if done is not None:
            return done
        new = cls.__new__(cls)
        memo[id(value)] = new
        # (the source is kept alive by the caller for the whole copy, so ids stay unique)
        d = new.__dict__
        for k, v in value.__dict__.items():
            d[k] = v if isinstance(v, _SHARED) else _clone(v, memo)
        return new
    if cls is tuple:  # (e.g. the operands codegen notes on an assignment: nodes in tuples)
        items = tuple(v if isinstance(v, _SHARED) else _clone(v, memo) for v in value)
        return value if all(a is b for a, b in zip(items, value)) else items
    if isinstance(value, _SHARED):
        return value
    return copy.deepcopy(value, memo)  # (the same memo: what it shares stays shared)
