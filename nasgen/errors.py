"""Diagnostics: source spans, the ``NasgenError`` tree and their rendering.

Pipeline stage: shared by every stage. Imports nothing from nasgen.

Every error a user can cause is a ``NasgenError`` with a stable code (``E1xx`` syntax and
input files, ``E2xx`` semantics of the language, ``E3xx`` IR validation, ``E4xx`` passes,
``E5xx`` backends) and, where the input is a file, a ``SourceSpan``. ``str(err)`` renders
the mypy/rustc-like form::

    nasnet_a.cell:7:12: error[E203]: unknown op 'sep_cnov_3x3'
      7 |   b2 = add(sep_cnov_3x3(h), skip_connect(h_prev))
        |            ^~~~~~~~~~~~
    hint: did you mean 'sep_conv_3x3'?
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = [
    "BackendError",
    "DslSemanticError",
    "DslSyntaxError",
    "IRValidationError",
    "NasgenError",
    "PassError",
    "SourceSpan",
    "SourceText",
    "did_you_mean",
]


@dataclass(frozen=True, slots=True)
class SourceText:
    """The text of one input and the name it is shown under (a path or ``<string>``)."""

    path: str
    text: str = field(repr=False)

    def line(self, lineno: int) -> str:
        """Return line ``lineno`` (1-based) without its newline, or '' when out of range."""
        lines = self.text.split("\n")  # the grammar's only line break (input is normalised)
        if 1 <= lineno <= len(lines):
            return lines[lineno - 1]
        return ""


@dataclass(frozen=True, slots=True)
class SourceSpan:
    """A region of a source text: 1-based line and column of its start, and its length."""

    source: SourceText = field(repr=False, compare=False)
    line: int
    column: int
    length: int = 1
    end_line: int | None = None

    @property
    def path(self) -> str:
        """The path of the source the span points into."""
        return self.source.path

    def location(self) -> str:
        """``path:line:col``."""
        return f"{self.source.path}:{self.line}:{self.column}"

    def render_excerpt(self) -> str:
        """The source line with a ``^~~~`` underline, as in mypy ``--pretty``."""
        text = self.source.line(self.line).expandtabs(1)
        if not text and self.line > self.source.text.count("\n") + 1:
            return ""
        gutter = str(self.line)
        pad = " " * len(gutter)
        width = max(1, min(self.length, max(1, len(text) - self.column + 1)))
        caret = " " * (self.column - 1) + "^" + "~" * (width - 1)
        return f"  {gutter} | {text}\n  {pad} | {caret}"


class NasgenError(Exception):
    """Root of every error a user can cause; the CLI prints ``str(err)`` and exits 1."""

    code = "E000"

    def __init__(
        self, code: str, message: str, span: SourceSpan | None = None, hint: str | None = None
    ):
        """Create an error with its stable code, a message, an optional span and hint."""
        super().__init__(message)
        self.code = code
        self.message = message
        self.span = span
        self.hint = hint

    def __str__(self) -> str:
        """Render ``path:line:col: error[CODE]: msg``, the excerpt and the hint."""
        head = f"error[{self.code}]: {self.message}"
        parts = [f"{self.span.location()}: {head}" if self.span else head]
        if self.span is not None:
            excerpt = self.span.render_excerpt()
            if excerpt:
                parts.append(excerpt)
        if self.hint:
            parts.append(f"hint: {self.hint}")
        return "\n".join(parts)


class DslSyntaxError(NasgenError):
    """The text is not a well-formed .cell file (E1xx), including unreadable input files."""

    code = "E100"


class DslSemanticError(NasgenError):
    """The text parses but means nothing valid: unknown op, undefined state... (E2xx)."""

    code = "E200"


class IRValidationError(NasgenError):
    """The lowered network is impossible: shapes, sizes, cycles, dangling states (E3xx)."""

    code = "E300"


class PassError(NasgenError):
    """An optimisation pass failed or broke an invariant (E4xx)."""

    code = "E400"


class BackendError(NasgenError):
    """A backend cannot emit the network (E5xx)."""

    code = "E500"


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """Return ``"did you mean 'x'?"`` for the closest candidate, or None when nothing is close."""
    close = difflib.get_close_matches(word, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None
