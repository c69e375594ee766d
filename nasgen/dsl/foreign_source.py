"""One foreign input (a DARTS, NB-201 or TF-slim genotype): checked text and spans into it.

Pipeline stage: front end (foreign text, before the literal reader). Imports ``nasgen.errors``
and ``nasgen.dsl.source``.

Every importer error points into the text the user gave (a file or an inline string), so the
diagnostic shows *their* line and column; a very long line (a one-line genotype, a hostile
input) is shown as a window around the column instead of in full.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from nasgen.dsl.source import MAX_SOURCE_BYTES
from nasgen.errors import DslSyntaxError, SourceSpan, SourceText

__all__ = ["ForeignSource", "ForeignSpan", "shorten"]

_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTEXT = 50
"""Characters shown on each side of the column in the excerpt of a long line."""


@dataclass(frozen=True, slots=True)
class ForeignSpan(SourceSpan):
    """A ``SourceSpan`` whose excerpt of a long line is a window around the column."""

    def render_excerpt(self) -> str:
        """The line (or the part of it around the column) with a ``^~~~`` underline."""
        text = self.source.line(self.line).expandtabs(1)
        if len(text) <= 3 * _CONTEXT:
            return SourceSpan.render_excerpt(self)
        first = max(0, self.column - 1 - _CONTEXT)
        last = min(len(text), self.column - 1 + 2 * _CONTEXT)
        left, right = ("…" if first else ""), ("…" if last < len(text) else "")
        piece = left + text[first:last] + right
        gutter = str(self.line)
        column = self.column - first + len(left)
        width = max(1, min(self.length, last - self.column + 1))
        caret = " " * (column - 1) + "^" + "~" * (width - 1)
        return f"  {gutter} | {piece}\n  {' ' * len(gutter)} | {caret}"


class ForeignSource:
    """A foreign input: its text (size-checked, line ends normalised) and located errors.

    ``code`` and ``hint`` are what an error of this format gets unless told otherwise.
    """

    __slots__ = ("_newlines", "code", "hint", "source", "text")

    def __init__(
        self, text: str | SourceText, code: str, hint: str | None = None, path: str = "<string>"
    ) -> None:
        """Check ``text`` (its size and its characters); errors get ``code`` and ``hint``."""
        if isinstance(text, SourceText):
            path, text = text.path, text.text
        self.code, self.hint = code, hint
        self._newlines: list[int] | None = None
        _check_size(text, path)
        # The DSL's own rule: CRLF and CR line ends count as one "\n" (columns stay as shown).
        self.text = text.replace("\r\n", "\n").replace("\r", "\n")
        self.source = SourceText(path, _SURROGATE.sub("\ufffd", self.text))
        bad = _SURROGATE.search(self.text)
        if bad is not None:  # an undecodable byte of a command-line argument
            raise DslSyntaxError(
                "E103", "the input is not valid UTF-8", self.span(bad.start()), "give UTF-8 text"
            )

    @property
    def path(self) -> str:
        """The name the input is shown under (its path, or ``<string>``)."""
        return self.source.path

    def span(self, start: int, end: int | None = None) -> ForeignSpan:
        """The span of ``text[start:end]`` (one character when ``end`` is None)."""
        if self._newlines is None:
            self._newlines = [m.start() for m in re.finditer("\n", self.text)]
        start = max(0, min(start, len(self.text)))
        line = bisect.bisect_left(self._newlines, start)
        line_start = self._newlines[line - 1] + 1 if line else 0
        length = max(1, (start + 1 if end is None else end) - start)
        last = bisect.bisect_left(self._newlines, max(start, start + length - 1))
        return ForeignSpan(
            self.source, line + 1, start - line_start + 1, length, last + 1 if last > line else None
        )

    def error(
        self,
        message: str,
        start: int,
        end: int | None = None,
        hint: str | None = None,
        code: str | None = None,
    ) -> DslSyntaxError:
        """A ``DslSyntaxError`` located at ``text[start:end]`` (this format's code and hint)."""
        return DslSyntaxError(code or self.code, message, self.span(start, end), hint or self.hint)

    def blank(self) -> bool:
        """True when the input holds nothing but white space."""
        return not self.text.strip()


def shorten(text: str, limit: int = 40) -> str:
    """``repr(text)``, cut to about ``limit`` characters (a message quotes user input)."""
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}..."


def _check_size(text: str, path: str) -> None:
    # len(text) first: a huge string is refused before it is encoded.
    size = len(text) if len(text) > MAX_SOURCE_BYTES else len(text.encode("utf-8", "replace"))
    if size > MAX_SOURCE_BYTES:
        raise DslSyntaxError(
            "E106",
            f"{path}: input is {size:,} bytes or more; genotypes are limited to "
            f"{MAX_SOURCE_BYTES:,} bytes, as .cell files are",
            hint="a published genotype is a few KiB at most",
        )
