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

#: fields never holding a node that has a location or children
_SKIPPED = frozenset({"ctx", "op", "ops"})
#: node class -> the fields worth following
FIELDS: dict[type, tuple[str, ...]] = {}


def fields(cls: type) -> tuple[str, ...]:
    """The fields of node class ``cls`` that may hold located nodes (cached)."""
    names = FIELDS.get(cls)
    if names is None:
        names = FIELDS[cls] = tuple(f for f in cls._fields if f not in _SKIPPED)  # type: ignore[attr-defined]
    return names


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
    while todo:
        node = pop()
        add(node)
        cls = node.__class__
        names = cache.get(cls) or fields(cls)
        d = node.__dict__
        for name in names:
            value = d.get(name)
            if value.__class__ is list:
                for item in value:
                    if isinstance(item, AST):
                        push(item)
            elif isinstance(value, AST):
                push(value)
    return out
