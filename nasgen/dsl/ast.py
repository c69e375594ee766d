"""The .cell AST: frozen dataclasses named after the grammar rules they come from.

Pipeline stage: front end (text -> lark Tree -> **AST**). Imports ``nasgen.errors`` only.

Every node keeps the ``span`` of the text it came from; spans never take part in equality, so
``parse(print(ast)) == ast`` holds for any AST (printer round trip).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nasgen.errors import SourceSpan

__all__ = [
    "Block",
    "CellDef",
    "Choice",
    "ConventionDef",
    "Ident",
    "Module",
    "NameList",
    "NetworkDef",
    "Numbers",
    "OpCall",
    "OpList",
    "Output",
    "Setting",
    "SpaceCellDef",
    "SpaceDesignDef",
    "SpaceSetting",
    "SpaceValue",
    "StateRef",
    "Value",
    "VariantDef",
]


@dataclass(frozen=True, slots=True)
class Ident:
    """A bare word used as a value (``stem = conv3x3``, ``true``), as opposed to a string."""

    name: str


@dataclass(frozen=True, slots=True)
class Numbers:
    """``[1, 1, 4, 7]``: a list of numbers, one per stage (network keys and design spaces)."""

    values: tuple[int | float, ...]


Value = int | float | str | Ident | Numbers
"""A setting or op-parameter value: number, "string", bare identifier or list of numbers.

Only settings (``network``, ``variant``, ``space``) may hold ``Numbers``; op parameters never do.
"""


@dataclass(frozen=True, slots=True)
class Setting:
    """``key = value`` inside ``convention``, ``network`` and ``variant`` blocks, or an op kwarg."""

    key: str
    value: Value
    span: SourceSpan | None = field(default=None, compare=False, repr=False)
    value_span: SourceSpan | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class StateRef:
    """A use of a state name (an op's input, an output member)."""

    name: str
    span: SourceSpan | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class OpCall:
    """``sep_conv_3x3(h)`` / ``sep_conv(h, k=5)``: an op, as spelled, on one state."""

    op: str
    input: StateRef
    params: tuple[Setting, ...] = ()
    span: SourceSpan | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Block:
    """``name = combine(op(x), op(y), ...)`` or ``name = op(x)`` (``combine`` is None)."""

    name: str
    combine: str | None
    ops: tuple[OpCall, ...]
    span: SourceSpan | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Output:
    """``output concat(a, b, ...)`` or ``output a`` (``combine`` is None)."""

    combine: str | None
    states: tuple[StateRef, ...]
    span: SourceSpan | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class CellDef:
    """``cell name(inputs) { blocks output }``."""

    name: str
    inputs: tuple[StateRef, ...]
    blocks: tuple[Block, ...]
    output: Output | None = None
    span: SourceSpan | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ConventionDef:
    """``convention preset { rule = value ... }``."""

    preset: str
    rules: tuple[Setting, ...] = ()
    span: SourceSpan | None = field(default=None, compare=False, repr=False)
    preset_span: SourceSpan | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class NetworkDef:
    """``network { key = value ... }``."""

    settings: tuple[Setting, ...]
    span: SourceSpan | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class VariantDef:
    """``variant name { key = value ... }``: named network overrides."""

    name: str
    settings: tuple[Setting, ...]
    span: SourceSpan | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class NameList:
    """``[a, b, c]``: a list of names (ops, combines or states) in a search space."""

    names: tuple[str, ...]
    spans: tuple[SourceSpan, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Choice:
    """``choose(2, distinct)``: a space setting spelled as a call of values."""

    name: str
    args: tuple[Value, ...]


SpaceValue = Value | NameList | Choice
"""The value of a ``space cell`` setting."""


@dataclass(frozen=True, slots=True)
class SpaceSetting:
    """``key = value`` inside a ``space cell``."""

    key: str
    value: SpaceValue
    span: SourceSpan | None = field(default=None, compare=False, repr=False)
    value_span: SourceSpan | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class OpList:
    """``ops name = [op, ...]``: a named list of ops a search space chooses from."""

    name: str
    ops: NameList
    span: SourceSpan | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class SpaceCellDef:
    """``space cell name(inputs) { key = value ... }``: the choices of one cell of a space."""

    name: str
    inputs: tuple[StateRef, ...]
    settings: tuple[SpaceSetting, ...]
    span: SourceSpan | None = field(default=None, compare=False, repr=False)

    def setting(self, key: str) -> SpaceSetting | None:
        """The setting ``key``, or None."""
        return next((s for s in self.settings if s.key == key), None)


@dataclass(frozen=True, slots=True)
class SpaceDesignDef:
    """``space stages { ... }`` or ``space regnet { ... }``: the network-level choices of a space.

    A design space (Radosavovic et al. 2020) chooses a network's stages rather than its cells.
    """

    kind: str
    settings: tuple[SpaceSetting, ...]
    span: SourceSpan | None = field(default=None, compare=False, repr=False)
    kind_span: SourceSpan | None = field(default=None, compare=False, repr=False)

    def setting(self, key: str) -> SpaceSetting | None:
        """The setting ``key``, or None."""
        return next((s for s in self.settings if s.key == key), None)


@dataclass(frozen=True, slots=True)
class Module:
    """One .cell file: an architecture, or (with ``space_cells``) a search space."""

    version: int
    name: str | None
    source: str | None
    convention: ConventionDef | None
    cells: tuple[CellDef, ...]
    network: NetworkDef | None
    variants: tuple[VariantDef, ...] = ()
    span: SourceSpan | None = field(default=None, compare=False, repr=False)
    op_lists: tuple[OpList, ...] = ()
    space_cells: tuple[SpaceCellDef, ...] = ()
    design: SpaceDesignDef | None = None

    def cell(self, name: str) -> CellDef | None:
        """The cell called ``name``, or None."""
        return next((c for c in self.cells if c.name == name), None)

    @property
    def is_space(self) -> bool:
        """Whether the file is a search space (``space cell`` or ``space stages|regnet``)."""
        return bool(self.space_cells) or self.design is not None
