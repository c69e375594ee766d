"""``CompileOptions``: what the CLI and the API may override in a file, as one frozen value.

Pipeline stage: front end. Imports ``nasgen.dsl.ast`` only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nasgen.dsl.ast import Ident, Numbers, Value

__all__ = ["ARGUMENT", "COMMAND_LINE", "CompileOptions"]

COMMAND_LINE = "command-line option"
"""The origin of options given on the command line (the default)."""
ARGUMENT = "argument"
"""The origin of options given as keyword arguments of the Python API."""


@dataclass(frozen=True, slots=True)
class CompileOptions:
    """Overrides of a file's network block; None means "as the file says".

    Attributes:
        n_cells: ``N``, normal cells per stage.
        num_filters: ``F``, filters of the first stage.
        variant: a ``variant NAME { ... }`` block of the file to apply first.
        settings: further ``(key, value)`` network overrides (``classes``, ``input_size``...),
            applied last, in order.
        origin: where the values came from, as diagnostics name it before the key:
            ``COMMAND_LINE`` (``(command-line option F)``), ``ARGUMENT`` (``(argument F)``) or
            e.g. ``"checkpoint metadata m.safetensors#nasgen.options, key"``. Not compared.

    """

    n_cells: int | None = None
    num_filters: int | None = None
    variant: str | None = None
    settings: tuple[tuple[str, Value], ...] = ()
    origin: str = field(default=COMMAND_LINE, compare=False)

    def where(self, key: str) -> str:
        """The origin of the value of ``key``, as a diagnostic's suffix: `` (argument F)``.

        A key that is not a plain name (from a file: a newline, an escape code) is quoted.
        """
        return f" ({self.origin} {key if key.isidentifier() else repr(key)})"

    def network_overrides(self) -> list[tuple[str, Value]]:
        """All overrides as network ``(key, value)`` pairs, N and F first."""
        out: list[tuple[str, Value]] = []
        if self.n_cells is not None:
            out.append(("N", self.n_cells))
        if self.num_filters is not None:
            out.append(("F", self.num_filters))
        return out + list(self.settings)

    @staticmethod
    def parse_setting(text: str) -> tuple[str, Value]:
        """``key=value`` from the command line: numbers stay numbers, words become names."""
        key, sep, raw = text.partition("=")
        if not sep:
            return (text.strip(), Ident(""))
        raw = raw.strip()
        value: Value
        if "," in raw or raw.startswith("["):  # depths=1,1,4,7 or depths=[1, 1, 4, 7]
            return (key.strip(), _numbers(raw.strip("[]")))
        try:
            value = int(raw)
        except ValueError:
            try:
                value = float(raw)
            except ValueError:
                value = Ident(raw)
        return (key.strip(), value)


def _numbers(raw: str) -> Value:
    """``1,1,4,7`` as ``Numbers``; anything else stays a name, for the key's own error."""
    values: list[int | float] = []
    for part in raw.split(","):
        try:
            values.append(int(part))
        except ValueError:
            try:
                values.append(float(part))
            except ValueError:
                return Ident(raw)
    return Numbers(tuple(values))
