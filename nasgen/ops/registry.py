"""The op registry: one ``OpDef`` per op, read by the DSL checker, the IR, passes and backends.

Pipeline stage: shared definitions (below the DSL). May import ``nasgen.errors`` and
``nasgen.ops.convention`` only.

NOTE: [Two kinds of op]
An op the user names in a cell (``sep_conv_3x3``) is *searchable*; it does not become an IR
node as is. Its ``expand`` function turns it, under the file's convention and the channels and
stride at that point of the network, into a short chain of IR ops (``expand`` of TF-slim's
``none`` at stride 2 is one ``conv_bn`` node; of a pool whose input has the wrong width it is
the pool followed by a 1x1 ``conv_bn``). Structural ops (``conv_bn``, ``factorized_reduce``,
``linear``...) are what the IR holds. Every op, searchable or not, has its shape and cost rule
here, so no other layer keeps a second model of what an op is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from nasgen.ops.convention import Convention

__all__ = [
    "OPS",
    "Attrs",
    "Cost",
    "CostFn",
    "ExpandContext",
    "ExpandFn",
    "OpDef",
    "OpRegistry",
    "Param",
    "ParamValue",
    "Shape",
    "ShapeError",
    "ShapeFn",
    "Step",
]

ParamValue = int | float | bool | str
Shape = tuple[int, int, int]
"""(channels, height, width) of one tensor, batch excluded."""


class ShapeError(Exception):
    """Raised by ``infer_shape`` for inputs an op cannot take; the IR adds code and span."""

    def __init__(self, code: str, message: str, hint: str | None = None):
        """Carry the diagnostic code, message and hint up to the lowering."""
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint


@dataclass(frozen=True, slots=True)
class Attrs(Mapping[str, ParamValue]):
    """An immutable, hashable, sorted mapping of op attributes (``k``, ``stride``, ``c_out``...)."""

    items_: tuple[tuple[str, ParamValue], ...] = ()

    @staticmethod
    def of(values: Mapping[str, ParamValue] | None = None, **kwargs: ParamValue) -> Attrs:
        """Build from a mapping and/or keywords; keys are sorted so equal attrs compare equal."""
        merged = dict(values or {})
        merged.update(kwargs)
        return Attrs(tuple(sorted(merged.items())))

    def __getitem__(self, key: str) -> ParamValue:
        """Value of ``key``; KeyError if absent (an internal error, never user input)."""
        for name, value in self.items_:
            if name == key:
                return value
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        """Iterate over keys in sorted order."""
        return (name for name, _ in self.items_)

    def __len__(self) -> int:
        """Number of attributes."""
        return len(self.items_)

    def get(self, key: str, default: Any = None) -> Any:
        """Value of ``key``, or ``default`` (a linear scan: attrs hold a handful of items)."""
        for name, value in self.items_:
            if name == key:
                return value
        return default

    def get_int(self, key: str, default: int | None = None) -> int:
        """Integer attribute (``bool`` excluded)."""
        value = self.get(key, default)
        assert isinstance(value, int) and not isinstance(value, bool), (key, value)
        return value

    def get_bool(self, key: str, default: bool = False) -> bool:
        """Boolean attribute."""
        value = self.get(key, default)
        assert isinstance(value, bool), (key, value)
        return value

    def get_str(self, key: str, default: str | None = None) -> str:
        """String attribute."""
        value = self.get(key, default)
        assert isinstance(value, str), (key, value)
        return value

    def replace(self, **kwargs: ParamValue) -> Attrs:
        """A copy with some attributes changed or added."""
        return Attrs.of(dict(self.items_), **kwargs)

    def render(self) -> str:
        """``k=3, stride=2`` in key order, for goldens and diagnostics."""
        return ", ".join(f"{k}={v}" for k, v in self.items_)


@dataclass(frozen=True, slots=True)
class Cost:
    """Trainable parameters, multiply-accumulates and activations of one node.

    Attributes:
        params: trainable parameters (conv and linear weights, biases, BN scale and shift).
        macs: multiply-accumulates of conv and linear layers only.
        acts: activations, the RegNet paper's third measure (Radosavovic et al. 2020, pycls
            ``blocks.py`` ``*_cx``): the output elements (C x H x W, batch excluded) of every
            conv (each conv inside a composite op), every spatial max or average pool and every
            linear layer (its out features). BN, ReLU, sigmoid, add, concat, identity and
            global pooling count nothing.

    """

    params: int = 0
    macs: int = 0
    acts: int = 0

    def __add__(self, other: Cost) -> Cost:
        """Element-wise sum."""
        return Cost(self.params + other.params, self.macs + other.macs, self.acts + other.acts)


@dataclass(frozen=True, slots=True)
class Param:
    """A DSL-visible op parameter: its type, allowed values and default."""

    kind: type[int] | type[float] | type[bool] | type[str]
    choices: tuple[ParamValue, ...] | None = None
    default: ParamValue | None = None


@dataclass(frozen=True, slots=True)
class ExpandContext:
    """What ``OpDef.expand`` may depend on: widths, stride and the file's convention."""

    c_in: int
    c_out: int
    stride: int
    convention: Convention


@dataclass(frozen=True, slots=True)
class Step:
    """One IR node of an op's expansion; ``suffix`` names it under the op's id ('' = the id)."""

    op: str
    attrs: Attrs
    suffix: str = ""


ShapeFn = Callable[[Attrs, tuple[Shape, ...]], Shape]
CostFn = Callable[[Attrs, tuple[Shape, ...], Shape], Cost]
ExpandFn = Callable[[Attrs, ExpandContext], tuple[Step, ...]]


def _zero_cost(attrs: Attrs, in_shapes: tuple[Shape, ...], out: Shape) -> Cost:
    return Cost()


def _never_identity(attrs: Attrs) -> bool:
    return False


@dataclass(frozen=True, slots=True)
class OpDef:
    """The one definition of an op.

    Attributes:
        name: registry key and IR op name.
        doc: one line for ``--help`` and the language reference.
        infer_shape: output shape from attrs and input shapes; None for ops that only exist in
            the DSL and always expand to other ops (``dil_conv``, ``none``).
        cost: trainable params, MACs and activations of one node.
        params: DSL-visible parameters of a searchable op (``k``, ``dilation``...).
        aliases: spelled-out DSL names and the params they fix (``sep_conv_3x3`` -> k=3).
        expand: searchable ops only: the IR chain for one use in a cell.
        arity: number of inputs; None means one or more (combine ops).
        pure: same inputs and attrs give the same value (CSE may merge two such nodes).
        is_identity: attrs for which the node returns its input unchanged.
        has_weights: the node owns trainable tensors (backends must name them).
        combine: a block may combine its op outputs with it (``add``, ``concat``).
        bn_channels: BatchNorm channels that directly follow a conv inside the op (foldable
            into that conv for inference: 2 parameters become 1 bias each).
        relu_attr: the boolean attribute that switches the ReLU the op applies to its input
            first (default true where absent), so that one shared ReLU can replace several.

    """

    name: str
    doc: str
    infer_shape: ShapeFn | None = None
    cost: CostFn = _zero_cost
    params: Mapping[str, Param] = field(default_factory=dict)
    aliases: Mapping[str, Mapping[str, ParamValue]] = field(default_factory=dict)
    expand: ExpandFn | None = None
    arity: int | None = 1
    pure: bool = False
    is_identity: Callable[[Attrs], bool] = _never_identity
    has_weights: bool = False
    combine: bool = False
    bn_channels: Callable[[Attrs, Shape], int] | None = None
    relu_attr: str | None = None

    @property
    def searchable(self) -> bool:
        """True when a cell may name this op."""
        return self.expand is not None

    @property
    def in_ir(self) -> bool:
        """True when IR nodes may carry this op (it has shape and cost rules)."""
        return self.infer_shape is not None

    def shape(self, attrs: Attrs, in_shapes: tuple[Shape, ...]) -> Shape:
        """Output shape of an IR node (``infer_shape``, which IR ops always have)."""
        assert self.infer_shape is not None, self.name
        return self.infer_shape(attrs, in_shapes)


class OpRegistry:
    """Name -> ``OpDef``, with DSL aliases; registering a name twice raises."""

    def __init__(self) -> None:
        """Create an empty registry (tests build private ones)."""
        self._ops: dict[str, OpDef] = {}
        self._aliases: dict[str, tuple[str, Mapping[str, ParamValue]]] = {}

    def add(self, op: OpDef) -> OpDef:
        """Register ``op`` and its aliases; a name already taken raises ValueError."""
        names = [op.name, *op.aliases]
        for name in names:
            if name in self._ops or name in self._aliases:
                raise ValueError(f"op name {name!r} is registered twice")
        self._ops[op.name] = op
        for alias, fixed in op.aliases.items():
            self._aliases[alias] = (op.name, MappingProxyType(dict(fixed)))
        return op

    def __getitem__(self, name: str) -> OpDef:
        """The ``OpDef`` registered under ``name`` (not an alias)."""
        return self._ops[name]

    def __contains__(self, name: object) -> bool:
        """True for a registered op name (aliases excluded)."""
        return name in self._ops

    def __iter__(self) -> Iterator[OpDef]:
        """All ops in name order."""
        return iter(sorted(self._ops.values(), key=lambda op: op.name))

    def lookup(self, spelled: str) -> tuple[OpDef, Mapping[str, ParamValue]] | None:
        """Resolve a DSL spelling (name or alias) to its op and the params the alias fixes."""
        if spelled in self._aliases:
            name, fixed = self._aliases[spelled]
            return self._ops[name], fixed
        if spelled in self._ops:
            return self._ops[spelled], MappingProxyType({})
        return None

    def spellings(self, *, searchable: bool = True) -> list[str]:
        """Every name and alias a cell may write (for "did you mean" and docs)."""
        out = [op.name for op in self._ops.values() if op.searchable or not searchable]
        out += [
            a for a, (n, _) in self._aliases.items() if self._ops[n].searchable or not searchable
        ]
        return sorted(out)


OPS = OpRegistry()
"""The default registry; ``nasgen.ops`` fills it on import."""
