"""The tokenizer of the foreign-genotype reader: one linear pass, brackets checked as it goes.

Pipeline stage: front end (foreign text -> **tokens**). Imports ``nasgen.dsl.foreign_source``.

Python and JSON tokens, enough to skip any Python file and to read literals: names, numbers,
strings (any prefix, triple-quoted), single punctuation (other punctuation in runs), and
newlines outside brackets only. One possessive regex, so there is no backtracking; brackets
are matched with a stack of at most ``MAX_DEPTH`` openers, so deeper nesting, a stray or
mismatched closer, an unclosed opener and an unterminated string are located errors here,
before any parser recursion.
"""

from __future__ import annotations

import re
from collections import deque
from typing import NamedTuple

from nasgen.dsl.foreign_source import ForeignSource

__all__ = ["CLOSERS", "MAX_DEPTH", "Lexer", "Token"]

MAX_DEPTH = 32
"""Brackets nested deeper than this are refused (published genotypes nest 4 deep)."""
_TOKEN = re.compile(
    r"""
    (?P<skip>[ \t\f]++|\\\n|\#[^\n]*+)
    |(?P<newline>\n(?:[ \t\f]*+\n)*+)
    |(?P<str>[rRbBuUfF]{0,2}(?:
        '''(?:[^'\\]++|\\.|'(?!''))*+'''
        |\"\"\"(?:[^"\\]++|\\.|"(?!""))*+\"\"\"
        |'(?:[^'\\\n]++|\\.)*+'
        |"(?:[^"\\\n]++|\\.)*+"))
    |(?P<number>(?:[0-9][0-9A-Za-z_]*+(?:\.[0-9A-Za-z_]*+)?|\.[0-9][0-9A-Za-z_]*+)
        (?:(?<=[eE])[+-][0-9_]++)?)
    |(?P<name>[^\W\d]\w*+)
    |(?P<op>[^\w\s'"()\[\]{},;:=.\#\\]++|.)
    """,
    re.VERBOSE | re.DOTALL,
)
CLOSERS = {")": "(", "]": "[", "}": "{"}
_OPENERS = frozenset("([{")
_QUOTES = frozenset("'\"")


class Token(NamedTuple):
    """One token: its kind, offsets ``[start, end)``, text and bracket depth."""

    kind: str  # name, number, str, op, newline or eof
    start: int
    end: int
    text: str
    depth: int  # brackets open around the token (an opener or closer: around the pair)


class Lexer:
    """Tokens of ``text[start:end]``; newlines only outside brackets; brackets checked."""

    def __init__(self, src: ForeignSource, start: int, end: int) -> None:
        """Tokenize ``src.text[start:end]``."""
        self._src, self._pos, self._end = src, start, end
        self._open: list[tuple[str, int]] = []
        self._ahead: deque[Token] = deque()

    def peek(self, k: int = 0) -> Token:
        """The token ``k`` ahead of the next one (lexed now, consumed later)."""
        while len(self._ahead) <= k:
            self._ahead.append(self._lex())
        return self._ahead[k]

    def next(self) -> Token:
        """Consume and return the next token (``eof`` at the end, again and again)."""
        return self._ahead.popleft() if self._ahead else self._lex()

    def _lex(self) -> Token:
        text = self._src.text
        while self._pos < self._end:
            match = _TOKEN.match(text, self._pos, self._end)
            assert match is not None  # `.` with DOTALL matches any character
            kind, start, self._pos = match.lastgroup or "op", match.start(), match.end()
            if kind == "skip" or (kind == "newline" and self._open):
                continue
            if kind == "op":
                return self._bracket(match.group(), start)
            return Token(kind, start, self._pos, match.group(), len(self._open))
        if self._open:
            char, at = self._open[-1]
            raise self._src.error(f"{char!r} is never closed", at, at + 1)
        return Token("eof", self._end, self._end, "", 0)

    def _bracket(self, char: str, start: int) -> Token:
        depth = len(self._open)
        if char in _OPENERS:
            if depth >= MAX_DEPTH:
                raise self._src.error(f"brackets nested more than {MAX_DEPTH} deep", start)
            self._open.append((char, start))
        elif char in CLOSERS:
            if not self._open:
                raise self._src.error(f"unmatched {char!r}", start)
            opener, at = self._open.pop()
            if opener != CLOSERS[char]:
                line = self._src.span(at).line
                raise self._src.error(f"{char!r} does not close {opener!r} (line {line})", start)
            depth -= 1
        elif char in _QUOTES:
            raise self._src.error("unterminated string", start)
        return Token("op", start, start + len(char), char, depth)
