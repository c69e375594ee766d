"""A bounded, data-only reader for foreign genotype text (Python or JSON literals), with spans.

Pipeline stage: front end (tokens -> **literal tree**). Imports ``nasgen.dsl.foreign_lexer``
and ``nasgen.dsl.foreign_source``.

NOTE: [One bounded reader]
DARTS ``Genotype(...)`` strings and TF-slim cell lists are Python or JSON text written by
someone else. ``ast.parse`` and ``json.loads`` recurse once per bracket or unary minus (a
``RecursionError`` or ``MemoryError`` on hostile input), keep no position of a JSON value, and
happily read ``range(10**18)``. This reader takes data only: strings, integers, floats,
True/False/None (JSON's true/false/null), lists, tuples, dicts, names and calls
``name(arg, key=value)`` of those; the importers check every value by kind and call name. It
is one linear pass of the tokenizer (``foreign_lexer``), it refuses input over
``MAX_SOURCE_BYTES``, brackets nested deeper than ``MAX_DEPTH`` (so the recursive parser never
goes deeper than that) and more than ``MAX_VALUES`` values, and every value keeps its offsets,
so each error points into the user's own text with a ``^~~~`` excerpt.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from nasgen.dsl.foreign_lexer import CLOSERS, MAX_DEPTH, Lexer, Token
from nasgen.dsl.foreign_source import ForeignSource, shorten

__all__ = [
    "MAX_DEPTH",
    "MAX_DIGITS",
    "MAX_VALUES",
    "Binding",
    "Kind",
    "Lit",
    "LiteralReader",
    "Statement",
]

MAX_DIGITS = 100
"""Longer number literals are refused (Python itself refuses int strings of 4,300 digits)."""
MAX_VALUES = 20_000
"""Values one read may build (a published genotype has a few hundred); more is refused."""

Kind = Literal["str", "int", "float", "bool", "none", "name", "list", "tuple", "dict", "call"]

_INT = re.compile(r"[0-9](?:_?[0-9])*+", re.ASCII)
_FLOAT = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)", re.DOTALL)
_SIMPLE_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "/": "/", "n": "\n", "t": "\t", "r": "\r",
                   "b": "\b", "f": "\f", "0": "\0", "\n": ""}  # fmt: skip
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_CONSTANTS: dict[str, tuple[Kind, bool | None]] = {
    "True": ("bool", True), "False": ("bool", False), "None": ("none", None),
    "true": ("bool", True), "false": ("bool", False), "null": ("none", None),
}  # fmt: skip
_FOLLOW = frozenset(",)]}:=;")
_NOT_LITERAL = (
    "not a genotype literal: only strings, numbers, lists, tuples, dicts and calls such as "
    "range(2, 6) of those are read"
)


@dataclass(frozen=True, slots=True)
class Lit:
    """One literal value and its offsets ``[start, end)`` in the source text.

    ``value`` holds a scalar (or the name of a name or a call); ``items`` the elements of a
    list or tuple and the positional arguments of a call; ``pairs`` the (key, value) entries
    of a dict and the keyword arguments of a call (the key is a ``str`` or ``name`` Lit).
    """

    kind: Kind
    start: int
    end: int
    value: str | int | float | bool | None = None
    items: tuple[Lit, ...] = ()
    pairs: tuple[tuple[Lit, Lit], ...] = ()


@dataclass(frozen=True, slots=True)
class Binding:
    """``name = func(...)`` or a bare ``func(...)`` (``target`` None), or ``name = target``.

    ``start`` and ``end`` are the offsets of the call (of the whole line, for an alias).
    """

    name: str | None
    start: int
    end: int
    target: str | None = None


@dataclass(frozen=True, slots=True)
class Statement:
    """A top-level ``target = value`` (``target`` dotted, as written) or a bare value."""

    target: str | None
    target_start: int
    value: Lit | None
    """None for an assignment the caller chose to skip."""


class LiteralReader:
    """Reads literals and top-level statements of one ``ForeignSource``."""

    def __init__(self, src: ForeignSource, start: int = 0, end: int | None = None) -> None:
        """Read ``src.text[start:end]`` (the whole text by default)."""
        self.src = src
        self._lex = Lexer(src, start, len(src.text) if end is None else end)
        self._values = 0

    def expression(self) -> Lit:
        """The one value the text holds (blank lines and comments around it are fine)."""
        self._skip_newlines()
        lit = self.value()
        self._skip_newlines()
        tok = self._lex.peek()
        if tok.kind != "eof":
            raise self.src.error(
                f"unexpected {shorten(tok.text)} after the value", tok.start, tok.end
            )
        return lit

    def statements(self, wanted: frozenset[str]) -> Iterator[Statement]:
        """Top-level statements; values of assignments to names outside ``wanted`` are skipped.

        A target is matched by its last dotted part (``self.operations`` is ``operations``).
        """
        while True:
            self._skip_newlines()
            tok = self._lex.peek()
            if tok.kind == "eof":
                return
            if tok.kind == "name" and tok.text not in _CONSTANTS:
                yield self._assignment(wanted)
            else:
                yield Statement(None, tok.start, self.value())
            self._end_statement()

    def _assignment(self, wanted: frozenset[str]) -> Statement:
        first = self._lex.next()
        parts = [first.text]
        while self._lex.peek().text == "." and self._lex.peek(1).kind == "name":
            self._lex.next()
            parts.append(self._lex.next().text)
        tok = self._lex.peek()
        if tok.text != "=" or self._lex.peek(1).text == "=":
            raise self.src.error(
                f"unexpected statement at line {self.src.span(first.start).line}: expected "
                "JSON or Python assignments such as `operations = [...]`",
                first.start,
                tok.end,
            )
        self._lex.next()
        if parts[-1] in wanted:
            return Statement(".".join(parts), first.start, self.value())
        while self._lex.peek().kind not in ("newline", "eof") and self._lex.peek().text != ";":
            self._lex.next()
        return Statement(".".join(parts), first.start, None)

    def _end_statement(self) -> None:
        tok = self._lex.peek()
        if tok.kind in ("newline", "eof") or tok.text == ";":
            return
        message = f"unexpected {shorten(tok.text)}: expected the end of the line"
        raise self.src.error(message, tok.start)

    def _skip_newlines(self) -> None:
        while self._lex.peek().kind == "newline" or self._lex.peek().text == ";":
            self._lex.next()

    def value(self) -> Lit:
        """One value; what follows it must end it (``,`` ``)`` ``:`` a newline...)."""
        tok = self._lex.next()
        self._values += 1
        if self._values > MAX_VALUES:
            raise self.src.error(f"more than {MAX_VALUES:,} values; not a genotype", tok.start)
        lit = self._primary(tok)
        after = self._lex.peek()
        if after.kind not in ("newline", "eof") and after.text not in _FOLLOW:
            raise self.src.error(_NOT_LITERAL, tok.start, after.end)
        return lit

    def _primary(self, tok: Token) -> Lit:
        if tok.kind == "str":
            return Lit("str", tok.start, tok.end, self._string(tok))
        if tok.kind == "number":
            return self._number(tok, tok.start, 1)
        if tok.text == "-" and self._lex.peek().kind == "number":
            return self._number(self._lex.next(), tok.start, -1)
        if tok.kind == "name":
            if tok.text in _CONSTANTS:
                kind, constant = _CONSTANTS[tok.text]
                return Lit(kind, tok.start, tok.end, constant)
            if self._lex.peek().text == "(":
                self._lex.next()
                return self._call(tok)
            return Lit("name", tok.start, tok.end, tok.text)
        if tok.text in ("[", "("):
            return self._sequence(tok)
        if tok.text == "{":
            return self._dict(tok)
        shown = "the end of the input" if tok.kind == "eof" else shorten(tok.text)
        raise self.src.error(f"{_NOT_LITERAL} (found {shown})", tok.start, tok.end)

    def _number(self, tok: Token, start: int, sign: int) -> Lit:
        text = tok.text
        if len(text) > MAX_DIGITS:
            raise self.src.error(f"number of {len(text)} digits; at most {MAX_DIGITS}", tok.start)
        if _INT.fullmatch(text):
            return Lit("int", start, tok.end, sign * int(text.replace("_", "")))
        if _FLOAT.fullmatch(text):
            return Lit("float", start, tok.end, sign * float(text))
        raise self.src.error(f"not a number: {text!r}", tok.start, tok.end)

    def _string(self, tok: Token) -> str:
        text = tok.text
        quote = next(i for i, ch in enumerate(text) if ch in "'\"")
        prefix, width = text[:quote].lower(), 3 if text[quote : quote + 3] in ("'''", '"""') else 1
        if "b" in prefix or "f" in prefix:
            raise self.src.error(f"{_NOT_LITERAL} (found a {prefix}-string)", tok.start, tok.end)
        body = text[quote + width : len(text) - width]
        if "r" in prefix or "\\" not in body:
            return body
        return self._unescape(body, tok.start + quote + width)

    def _unescape(self, body: str, offset: int) -> str:
        def one(match: re.Match[str]) -> str:
            code = match.group(1)
            if code in _SIMPLE_ESCAPES:
                return _SIMPLE_ESCAPES[code]
            if len(code) > 1 and int(code[1:], 16) <= 0x10FFFF:
                return chr(int(code[1:], 16))
            start, end = offset + match.start(), offset + match.end()
            raise self.src.error(f"unsupported escape {match.group()!r}", start, end)

        text = _ESCAPE.sub(one, body)
        if _SURROGATE.search(text):
            try:  # JSON writes a character outside the BMP as a surrogate pair
                text = text.encode("utf-16", "surrogatepass").decode("utf-16")
            except UnicodeDecodeError:
                where = _SURROGATE_ESCAPE.search(body)
                at = offset + (where.start() if where else 0)
                raise self.src.error("unpaired surrogate escape", at, at + 6) from None
        return text

    def _items(self, closer: str) -> tuple[list[Lit], list[tuple[Lit, Lit]], bool, int]:
        """Comma-separated values up to ``closer``; ``key=value`` (calls) or ``key: value``.

        Returns the values, the pairs, whether a comma was seen and the closer's end.
        """
        items: list[Lit] = []
        pairs: list[tuple[Lit, Lit]] = []
        comma = False
        while self._lex.peek().text != closer:
            key = self.value()
            sep = self._lex.peek()
            if sep.text in (":", "=") and (closer != ")" or key.kind == "name"):
                self._lex.next()
                pairs.append((key, self.value()))
            elif pairs and closer == ")":
                raise self.src.error("positional argument after keyword arguments", key.start)
            else:
                items.append(key)
            tok = self._lex.next()
            if tok.text == closer:
                return items, pairs, comma, tok.end
            if tok.text != ",":
                raise self.src.error(f"expected ',' or {closer!r}", tok.start, tok.end)
            comma = True
        return items, pairs, comma, self._lex.next().end

    def _sequence(self, opener: Token) -> Lit:
        closer = "]" if opener.text == "[" else ")"
        items, pairs, comma, end = self._items(closer)
        if pairs:
            raise self.src.error(f"{_NOT_LITERAL} (found {pairs[0][0].kind} =)", pairs[0][0].start)
        if closer == ")" and len(items) == 1 and not comma:
            return items[0]  # parentheses around one value
        kind: Kind = "list" if closer == "]" else "tuple"
        return Lit(kind, opener.start, end, items=tuple(items))

    def _dict(self, opener: Token) -> Lit:
        items, pairs, _, end = self._items("}")
        if items:
            raise self.src.error(
                "a set is not a genotype literal; expected key: value", items[0].start
            )
        seen: set[object] = set()
        for key, _value in pairs:
            if key.kind != "str":
                raise self.src.error("dict keys must be strings", key.start, key.end)
            if key.value in seen:
                raise self.src.error(f"duplicate key {shorten(str(key.value))}", key.start, key.end)
            seen.add(key.value)
        return Lit("dict", opener.start, end, pairs=tuple(pairs))

    def _call(self, name: Token) -> Lit:
        items, pairs, _, end = self._items(")")
        seen: set[object] = set()
        for key, _value in pairs:
            if key.value in seen:
                message = f"keyword argument {shorten(str(key.value))} given twice"
                raise self.src.error(message, key.start)
            seen.add(key.value)
        return Lit("call", name.start, end, name.text, tuple(items), tuple(pairs))

    def scan(self, func: str) -> Iterator[Binding]:
        """Every ``[NAME =] func(...)`` and top-level ``NAME = OTHER``, in file order.

        One linear pass; nothing is interpreted, and a call inside another is not scanned.
        """
        prev: deque[Token] = deque(maxlen=2)
        at_start = True  # the token begins a statement
        while (tok := self._lex.next()).kind != "eof":
            if tok.kind == "name" and tok.text == func and self._lex.peek().text == "(":
                opener = self._lex.next()
                closer = opener
                while not (closer.text in CLOSERS and closer.depth == opener.depth):
                    closer = self._lex.next()
                named = len(prev) == 2 and prev[0].kind == "name" and prev[1].text == "="
                yield Binding(prev[0].text if named else None, tok.start, closer.end)
                tok = closer
            elif at_start and tok.kind == "name" and self._lex.peek().text == "=":
                target, end = self._lex.peek(1), self._lex.peek(2)
                if (
                    target.kind == "name"
                    and target.text not in _CONSTANTS
                    and target.text != func
                    and (end.kind in ("newline", "eof") or end.text == ";")
                ):
                    yield Binding(tok.text, tok.start, end.start, target.text)
            at_start = tok.kind == "newline" or tok.text == ";"
            prev.append(tok)
