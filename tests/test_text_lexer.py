"""The text lexer: the fast path (one ``re.findall``, whole annotations as single tokens) must
split any text exactly as the one-token-at-a-time path does, positions included; comments and
annotations are white space; errors name line and column."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wasm2py.text import ParseError, wat2wasm
from wasm2py.text.lexer import _tokenize_slowly, tokenize

PIECES = [
    "(", ")", "module", "func", "$f", "$\"a b\"", "i32.const", "0x1_F", "-0.5e3", "nan:0x7",
    '"str"', '"esc\\n\\u{41}\\ff"', "offset=8", " ", "\n", "\t", ";; line comment\n",
    "(; block ;)", "(; nested (; inner ;) ;)", "(@a x (y) \"s\")", "(@name \"n\")",
    "(@custom \"c\" (after func) \"d\")", "(@x (@y (z)))", "(@p (a (b (c (d)))))",
    ",", "{", "]", "0$x", '"a""b"',
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40))
def test_fast_and_slow_paths_agree(pieces):
    text = " ".join(pieces)
    try:
        slow = _tokenize_slowly(text, None)
    except ParseError as e:
        with pytest.raises(ParseError) as info:
            tokenize(text)
        assert (info.value.line, info.value.column) == (e.line, e.column)
        return
    fast = tokenize(text)
    assert fast.toks == slow.toks
    assert [fast.offset(i) for i in range(len(fast.toks))] == \
        [slow.offset(i) for i in range(len(slow.toks))]
    assert {k: [(a.name, a.tokens) for a in v] for k, v in fast.annotations.items()} == \
        {k: [(a.name, a.tokens) for a in v] for k, v in slow.annotations.items()}
    for anns in fast.annotations.values():
        for ann in anns:
            assert text[fast.annotation_offset(ann):].startswith("(@")


def test_comments_and_annotations_are_white_space():
    plain = wat2wasm("(module (func (nop)))")
    assert wat2wasm("(module;;c\n(func(;x;)(nop(@a b))))") == plain
    assert wat2wasm("((@a) module (@b (c)) (func (; (; ;) ;) (nop)))") == plain


def test_tokens_end_with_empty_string():
    assert tokenize("").toks == [""]
    assert tokenize("  ;; only a comment").toks == [""]
    assert tokenize("(a)").toks == ["(", "a", ")", ""]


@pytest.mark.parametrize("text, line, column, message", [
    ("(module)\n  (@a \x01)", 2, 7, "illegal character"),
    ("(module\n (@\"\\ff\"))", 2, 2, "malformed UTF-8"),
    ("(module (@ x))", 1, 9, "empty annotation id"),
    ("(module\n\n (@a (b)", 3, 2, "unclosed annotation"),
    ('(module (@a "x))', 1, 13, "unclosed string"),
    ("(module (; (; ;)", 1, 9, "unclosed block comment"),
])  # fmt: skip
def test_lexer_errors(text, line, column, message):
    with pytest.raises(ParseError) as info:
        wat2wasm(text)
    assert message in info.value.reason
    assert (info.value.line, info.value.column) == (line, column)


def test_error_after_annotation_has_the_right_position():
    text = '(module (@producers (language "C" "1"))\n  (func (i32.bad)))'
    with pytest.raises(ParseError) as info:
        wat2wasm(text)
    assert (info.value.line, info.value.column) == (2, 10)


def test_malformed_kept_annotation_is_reported_at_it():
    with pytest.raises(ParseError, match="@custom") as info:
        wat2wasm('(module\n   (@custom 5))')
    assert (info.value.line, info.value.column) == (2, 4)
