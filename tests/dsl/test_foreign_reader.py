"""The bounded literal reader shared by the DARTS and TF-slim importers (and its spans)."""

from __future__ import annotations

import pytest

from nasgen.dsl.foreign_reader import MAX_DEPTH, Lit, LiteralReader
from nasgen.dsl.foreign_source import ForeignSource
from nasgen.errors import NasgenError


def read(text: str) -> Lit:
    return LiteralReader(ForeignSource(text, "E120")).expression()


def plain(lit: Lit) -> object:
    """A literal as plain Python data (calls as ("call", name, args, kwargs))."""
    if lit.kind in ("list", "tuple"):
        items = [plain(i) for i in lit.items]
        return items if lit.kind == "list" else tuple(items)
    if lit.kind == "dict":
        return {plain(k): plain(v) for k, v in lit.pairs}
    if lit.kind == "call":
        kwargs = {str(k.value): plain(v) for k, v in lit.pairs}
        return ("call", lit.value, [plain(i) for i in lit.items], kwargs)
    return lit.value


def fail(text: str) -> NasgenError:
    with pytest.raises(NasgenError) as info:
        read(text)
    assert str(info.value)
    return info.value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("[1, -2, 3_000, 1.5e-3, .5, 1E5]", [1, -2, 3000, 1.5e-3, 0.5, 1e5]),
        ("(1,)", (1,)),
        ("(1)", 1),
        ("()", ()),
        ("[1, 2,]", [1, 2]),
        ("{'a': [True, False, None], \"b\": {}}", {"a": [True, False, None], "b": {}}),
        ('{"a": [true, false, null]}', {"a": [True, False, None]}),
        (r"'a\'b\n\x41\u00e9\U0001F600'", "a'b\nAé\U0001f600"),
        (r'"\ud83d\ude00 \/"', "\U0001f600 /"),
        (r"r'a\nb'", r"a\nb"),
        ("'''multi\nline'''", "multi\nline"),
        ("range(2, 6)", ("call", "range", [2, 6], {})),
        ("f(1, key=[2])", ("call", "f", [1], {"key": [2]})),
        ("# a comment\n  [1,  # inside\n   2]\n\n", [1, 2]),
        ("[1,\\\n 2]", [1, 2]),
        ("'é'", "é"),
    ],
)
def test_literals_read_as_data(text: str, value: object) -> None:
    assert plain(read(text)) == value


def test_every_literal_keeps_its_offsets() -> None:
    text = "Genotype(normal=[('a', 0)],\n  reduce=range(2, 6))"
    call = read(text)
    assert (call.start, call.end) == (0, len(text))
    (_, normal), (_, reduce) = call.pairs
    assert text[normal.start : normal.end] == "[('a', 0)]"
    assert text[reduce.start : reduce.end] == "range(2, 6)"
    assert text[normal.items[0].items[1].start : normal.items[0].items[1].end] == "0"


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        ("__import__('os').system('x')", 1, "not a genotype literal"),
        ("[1 + 2]", 2, "not a genotype literal"),
        ("10**18", 1, "not a genotype literal"),
        ("--1", 1, "not a genotype literal"),
        ("[x.y]", 2, "not a genotype literal"),
        ("lambda: 1", 7, "unexpected ':'"),
        ("b'bytes'", 1, "b-string"),
        ("f'{x}'", 1, "f-string"),
        ("'unterminated", 1, "unterminated string"),
        ("[1, 2", 1, "never closed"),
        ("[1, 2)", 6, "does not close '['"),
        ("]", 1, "unmatched"),
        ("{'a': 1, 'a': 2}", 10, "duplicate key"),
        ("{1: 2}", 2, "keys must be strings"),
        ("{1, 2}", 2, "a set"),
        ("f(a=1, 2)", 8, "positional argument after keyword"),
        ("f(a=1, a=2)", 8, "given twice"),
        ("[1 2]", 2, "not a genotype literal"),
        ("f(1 = 2)", 5, "expected ','"),
        (r"'\q'", 2, "unsupported escape"),
        (r"'\U00110000'", 2, "unsupported escape"),
        (r'"a\ud83d"', 3, "unpaired surrogate"),
        ("0x1F", 1, "not a number"),
        ("1" * 101, 1, "at most 100"),
        ("[1] [2]", 1, "not a genotype literal"),
        ("[1]; [2]", 6, "unexpected '['"),
        ("", 1, "found the end of the input"),
    ],
)
def test_what_is_not_data_is_a_located_error(text: str, column: int, message: str) -> None:
    err = fail(text)
    assert err.code == "E120"
    assert err.span is not None and (err.span.line, err.span.column) == (1, column), str(err)
    assert message in err.message


def test_nesting_is_limited_before_anything_is_parsed() -> None:
    assert plain(read("[" * MAX_DEPTH + "]" * MAX_DEPTH)) is not None
    err = fail("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    assert err.span is not None and err.span.column == MAX_DEPTH + 1


def test_a_long_line_is_shown_as_a_window_around_the_column() -> None:
    err = fail("[" + "1, " * 500 + "x.y]")
    assert str(err) == (
        "<string>:1:1502: error[E120]: not a genotype literal: only strings, numbers, lists, "
        "tuples, dicts and calls such as range(2, 6) of those are read\n"
        "  1 | …, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, x.y]\n"
        "    |                                                    ^~"
    )


def test_line_ends_are_normalised_and_bad_characters_refused() -> None:
    err = fail("[1,\r\n 2,\r\n x.y]")
    assert err.span is not None and (err.span.line, err.span.column) == (3, 2)
    with pytest.raises(NasgenError) as info:
        ForeignSource("[1, '\udcff']", "E120")
    assert info.value.code == "E103" and info.value.span is not None
    assert info.value.span.column == 6
    assert "\udcff" not in str(info.value)  # printable on any terminal
    with pytest.raises(NasgenError) as info:
        ForeignSource("x" * (1 << 20 + 1), "E120")
    assert info.value.code == "E106"


def test_statements_skip_unwanted_assignments_unread() -> None:
    src = ForeignSource("a = foo(bar) + 1\nself.operations = [1]; b = [2]\n{'x': 1}\n", "E124")
    found = [
        (s.target, None if s.value is None else plain(s.value))
        for s in LiteralReader(src).statements(frozenset({"operations"}))
    ]
    assert found == [("a", None), ("self.operations", [1]), ("b", None), (None, {"x": 1})]


def test_scans_find_calls_and_aliases_in_one_pass() -> None:
    text = "X = G(1)\ny = [G(2), G(G(3))]\nZ = X\n  W = Z  # ok\nV = X.y\n'G(4)'\n"
    src = ForeignSource(text, "E120")
    found = [(b.name, b.target or text[b.start : b.end]) for b in LiteralReader(src).scan("G")]
    assert found == [
        ("X", "G(1)"), (None, "G(2)"), (None, "G(G(3))"), ("Z", "X"), ("W", "Z")
    ]  # fmt: skip
