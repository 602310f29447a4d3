"""Malformed text never crashes the parser: token-level mutations of valid modules (deleted,
repeated, swapped or replaced tokens) either parse or raise ParseError, nothing else."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wasm2py.text import ParseError, wat2wasm
from wasm2py.text.lexer import tokenize

from .test_text_parser import CASES

SEEDS = [CASES[name] for name in sorted(CASES)]
VOCABULARY = ["(", ")", "$x", "0", "-1", "0x1p3", "nan:0x1", '"s"', "func", "param", "result",
              "i32", "ref", "null", "block", "end", "else", "then", "i32.const", "local.get",
              "offset=4", "align=3", "type", "struct", "field", "mut", "(@a)", "(;c;)", "$",
              "0$x", '"a""b"', "\\", "{", "i8x16", "catch", "elem", "data", "memory", "table"]  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(SEEDS), edits=st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 10**6), st.sampled_from(VOCABULARY)),
    min_size=1, max_size=4))  # fmt: skip
def test_mutated_text_parses_or_raises_parse_error(seed, edits):
    toks = tokenize(seed).toks[:-1]
    for kind, pos, word in edits:
        if not toks:
            break
        pos %= len(toks)
        if kind == 0:
            del toks[pos]
        elif kind == 1:
            toks.insert(pos, toks[pos])
        elif kind == 2:
            toks[pos], toks[-1 - pos] = toks[-1 - pos], toks[pos]
        else:
            toks[pos] = word
    text = " ".join(toks)
    try:
        wat2wasm(text)
    except ParseError:
        pass
