"""Resolution: AST -> ``Architecture``: ops looked up, params checked, names bound, options applied.

Pipeline stage: front end (AST -> **resolved architecture**). Imports ``nasgen.errors``,
``nasgen.ops`` and the other ``nasgen.dsl`` modules.

Everything a user can get wrong in the meaning of a file that does not need shapes is reported
here with the span of the offending text: unknown ops and keys (with "did you mean"), bad
parameters, undefined, duplicate and forward state references, bad outputs, unknown cells and
conventions, values out of range. Shapes and sizes are the IR's business.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from nasgen.design import RegNetParams, Stage, stage_list
from nasgen.dsl.ast import Block, CellDef, ConventionDef, Ident, Module, OpCall, Setting, StateRef
from nasgen.dsl.network import (
    KEYS,
    REGNET_KEYS,
    STAGE_KEYS,
    NetworkSpec,
    apply_settings,
    coerce,
)
from nasgen.dsl.options import CompileOptions
from nasgen.dsl.printer import print_value
from nasgen.errors import DslSemanticError, NasgenError, SourceSpan, did_you_mean
from nasgen.ops import OPS, PRESETS, RULES, Attrs, Convention, OpDef, ParamValue

__all__ = [
    "Architecture",
    "ResolvedBlock",
    "ResolvedCell",
    "ResolvedOp",
    "body_stages",
    "regnet_params",
    "resolve",
]


@dataclass(frozen=True, slots=True)
class ResolvedOp:
    """One op use in a block: its definition, full DSL params and input state."""

    op: OpDef
    params: Attrs
    input: str
    slot: str
    call: OpCall = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ResolvedBlock:
    """A block with resolved ops; ``combine`` is None for a single op without combine."""

    name: str
    combine: str | None
    ops: tuple[ResolvedOp, ...]
    ast: Block = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ResolvedCell:
    """A cell with resolved blocks and its final output states."""

    name: str
    inputs: tuple[str, ...]
    blocks: tuple[ResolvedBlock, ...]
    output: tuple[str, ...]
    concat_output: bool
    ast: CellDef = field(compare=False, repr=False)

    def span_of(self, state: str) -> SourceSpan | None:
        """Span of the definition of ``state`` (an input or a block)."""
        for ref in self.ast.inputs:
            if ref.name == state:
                return ref.span
        for block in self.ast.blocks:
            if block.name == state:
                return block.span
        return self.ast.span


@dataclass(frozen=True, slots=True)
class Architecture:
    """A checked file plus compile options: everything lowering needs, nothing textual."""

    module: Module = field(compare=False, repr=False)
    convention: Convention
    cells: Mapping[str, ResolvedCell]
    network: NetworkSpec
    network_spans: Mapping[str, SourceSpan | None] = field(compare=False, repr=False)

    def network_span(self, key: str) -> SourceSpan | None:
        """Span of the network setting ``key``.

        The network block when the file leaves the key to its default; None when the value came
        from the command line or the API, so no diagnostic points at text that did not say it.
        """
        if key in self.network_spans:
            return self.network_spans[key]
        return self.network_spans.get("")


def _convention(conv: ConventionDef | None) -> Convention:
    if conv is None:
        return PRESETS["tf_slim"]
    preset = PRESETS.get(conv.preset)
    if preset is None:
        hint = did_you_mean(conv.preset, PRESETS) or f"one of: {', '.join(PRESETS)}"
        span = conv.preset_span or conv.span
        raise DslSemanticError("E219", f"unknown convention {conv.preset!r}", span, hint)
    overrides: dict[str, str | int | bool] = {}
    for rule in conv.rules:
        spec = RULES.get(rule.key)
        if spec is None:
            raise DslSemanticError(
                "E208",
                f"unknown convention rule {rule.key!r}",
                rule.span,
                did_you_mean(rule.key, RULES),
            )
        value: str | int | bool | None = None
        raw = rule.value
        if isinstance(raw, Ident):
            value = {"true": True, "false": False}.get(raw.name, raw.name)
        elif isinstance(raw, int):
            value = raw
        # `True == 1` in Python: compare types too, so `sep_conv_repeats = true` is refused.
        if not any(type(value) is type(c) and value == c for c in spec.choices):
            shown = ", ".join(
                str(c).lower() if isinstance(c, bool) else str(c) for c in spec.choices
            )
            raise DslSemanticError(
                "E209",
                f"convention rule `{rule.key}` cannot be {print_value(raw)}",
                rule.value_span,
                f"one of: {shown}",
            )
        assert value is not None
        overrides[rule.key] = value
    return preset.with_rules(overrides)


def _param_value(op: OpDef, s: Setting) -> ParamValue:
    spec = op.params[s.key]
    raw = s.value
    value: ParamValue | None = None
    if spec.kind is int and isinstance(raw, int):
        value = raw
    elif spec.kind is bool and isinstance(raw, Ident) and raw.name in ("true", "false"):
        value = raw.name == "true"
    elif spec.kind is str and isinstance(raw, Ident):
        value = raw.name
    if value is None or (spec.choices is not None and value not in spec.choices):
        allowed = ", ".join(map(str, spec.choices)) if spec.choices else spec.kind.__name__
        raise DslSemanticError(
            "E207",
            f"{op.name}: `{s.key}` cannot be {print_value(raw)}",
            s.value_span,
            f"allowed: {allowed}",
        )
    return value


def _op_params(op: OpDef, fixed: Mapping[str, ParamValue], call: OpCall) -> Attrs:
    values = dict(fixed)
    for s in call.params:
        if s.key not in op.params:
            hint = did_you_mean(s.key, op.params) or (
                f"{op.name} takes: {', '.join(op.params)}"
                if op.params
                else f"{op.name} takes no parameters"
            )
            raise DslSemanticError("E207", f"{call.op} has no parameter {s.key!r}", s.span, hint)
        if s.key in fixed:
            raise DslSemanticError(
                "E207",
                f"{call.op} already fixes {s.key}={fixed[s.key]}",
                s.span,
                f"write {op.name}(..., {s.key}=...) instead",
            )
        values[s.key] = _param_value(op, s)
    for name, spec in op.params.items():
        if name not in values:
            if spec.default is None:
                raise DslSemanticError(
                    "E207",
                    f"{call.op} needs parameter `{name}`",
                    call.span,
                    f"e.g. {op.name}(x, {name}=...)",
                )
            values[name] = spec.default
    return Attrs.of(values)


def _lookup_op(call: OpCall) -> tuple[OpDef, Mapping[str, ParamValue]]:
    found = OPS.lookup(call.op)
    span = (
        SourceSpan(call.span.source, call.span.line, call.span.column, len(call.op))
        if call.span
        else None
    )
    if found is None:
        hint = did_you_mean(call.op, OPS.spellings())
        raise DslSemanticError("E203", f"unknown op {call.op!r}", span, hint)
    if not found[0].searchable:
        raise DslSemanticError(
            "E223",
            f"{call.op!r} is an internal op and cannot be used in a cell",
            span,
            "cells use searchable ops such as sep_conv_3x3, skip_connect, avg_pool_3x3",
        )
    return found


def _slots(n: int) -> tuple[str, ...]:
    return ("left", "right") if n == 2 else ("op",) if n == 1 else tuple(f"op{i}" for i in range(n))


def _check_ref(ref: StateRef, defined: set[str], later: Mapping[str, Block], cell: CellDef) -> None:
    if ref.name in defined:
        return
    if ref.name in later:
        blk = later[ref.name]
        line = blk.span.line if blk.span else "?"
        raise DslSemanticError(
            "E204",
            f"state {ref.name!r} is used before it is defined (line {line}); cells are acyclic",
            ref.span,
            "a block may read only the cell inputs and blocks defined above it",
        )
    hint = did_you_mean(ref.name, defined) or f"states defined here: {', '.join(sorted(defined))}"
    raise DslSemanticError(
        "E202", f"undefined state {ref.name!r} in cell {cell.name!r}", ref.span, hint
    )


RESERVED_STATE = "out"
"""No state may be called this: the IR's node of a cell's output is ``CELL.out``."""


def _cell(cell: CellDef) -> ResolvedCell:
    if not 1 <= len(cell.inputs) <= 2:
        raise DslSemanticError(
            "E214",
            f"cell {cell.name!r} has {len(cell.inputs)} inputs; cells take 1 or 2 (h_prev, h)",
            cell.span,
        )
    defined: set[str] = set()
    later = {b.name: b for b in cell.blocks}
    named: tuple[StateRef | Block, ...] = (*cell.inputs, *cell.blocks)
    for ref in named:
        if ref.name == RESERVED_STATE:  # the IR names a cell's output node CELL.out
            span = ref.span
            raise DslSemanticError(
                "E224", f"`{RESERVED_STATE}` is reserved for the cell's output", span,
                "rename the state",
            )  # fmt: skip
    for ref in cell.inputs:
        if ref.name in defined:
            raise DslSemanticError("E201", f"duplicate state name {ref.name!r}", ref.span)
        defined.add(ref.name)
    blocks, read = [], set()
    for block in cell.blocks:
        if block.name in defined:
            raise DslSemanticError(
                "E201", f"duplicate state name {block.name!r} in cell {cell.name!r}", block.span
            )
        ops = []
        for slot, call in zip(_slots(len(block.ops)), block.ops, strict=True):
            op, fixed = _lookup_op(call)
            _check_ref(call.input, defined, later, cell)
            read.add(call.input.name)
            ops.append(ResolvedOp(op, _op_params(op, fixed, call), call.input.name, slot, call))
        blocks.append(ResolvedBlock(block.name, block.combine, tuple(ops), block))
        defined.add(block.name)
    if cell.output is None:
        output = tuple(b.name for b in cell.blocks if b.name not in read)
        if not output:
            raise DslSemanticError("E210", f"cell {cell.name!r} has no blocks to output", cell.span)
        return ResolvedCell(
            cell.name, tuple(r.name for r in cell.inputs), tuple(blocks), output, True, cell
        )
    seen: set[str] = set()
    for ref in cell.output.states:
        _check_ref(ref, defined, {}, cell)
        if ref.name in seen:
            raise DslSemanticError("E216", f"state {ref.name!r} is output twice", ref.span)
        seen.add(ref.name)
    output = tuple(r.name for r in cell.output.states)
    concat = cell.output.combine is not None
    return ResolvedCell(
        cell.name, tuple(r.name for r in cell.inputs), tuple(blocks), output, concat, cell
    )


def _network(
    module: Module, options: CompileOptions
) -> tuple[NetworkSpec, dict[str, SourceSpan | None]]:
    if module.network is None:
        raise DslSemanticError(
            "E215", "no `network { ... }` block", module.span, "add e.g. network { N = 6  F = 36 }"
        )
    defaults = {k: getattr(NetworkSpec(), key.field) for k, key in KEYS.items()}
    values = apply_settings(defaults, module.network.settings)
    spans: dict[str, SourceSpan | None] = {"": module.network.span}
    spans.update({s.key: s.value_span for s in module.network.settings})
    required = {
        "cells": ("N", "F"),
        "regnet": ("depth", "w0", "wa", "wm", "group_width"),
        "stages": ("depths", "widths"),
    }[str(values["body"])]
    for key in required:
        if key not in spans:
            raise DslSemanticError("E215", f"the network block must set {key}", module.network.span)
    if options.variant is not None:
        variant = next((v for v in module.variants if v.name == options.variant), None)
        if variant is None:
            names = [v.name for v in module.variants]
            hint = did_you_mean(options.variant, names) or (
                f"variants: {', '.join(names)}" if names else "this file defines no variants"
            )
            raise DslSemanticError("E220", f"unknown variant {options.variant!r}", None, hint)
        values = apply_settings(values, variant.settings, f" (variant {variant.name})")
        spans.update({s.key: s.value_span for s in variant.settings})
    for key, raw in options.network_overrides():
        values[key] = coerce(key, raw, None, options.where(key))
        spans[key] = None
    _refuse_unread(str(values["body"]), spans, options)
    if "stem_cell" not in spans:
        values["stem_cell"] = values["reduction"]  # TF: "stem_cell = reduction_cell"
    if values["body"] == "stages":  # the defaults written out, so equal networks print equal
        n = len(values["depths"])  # type: ignore[arg-type]
        values["strides"] = values["strides"] or (2,) * n
        values["bottlenecks"] = values["bottlenecks"] or (1.0,) * n
    by_field = {KEYS[k].field: v for k, v in values.items()}
    return NetworkSpec(**by_field), spans  # type: ignore[arg-type]


_UNREAD = {
    "cells": ("body", *REGNET_KEYS, *STAGE_KEYS),
    "regnet": ("N", "F", *STAGE_KEYS),
    "stages": ("N", "F", *REGNET_KEYS),
}


def _refuse_unread(
    body: str, spans: Mapping[str, SourceSpan | None], options: CompileOptions
) -> None:
    """E225 for a key the body never reads (``N`` on a RegNet, ``depths`` on cells...)."""
    for key in _UNREAD[body]:
        if key in spans and not (key == "body" and body == "cells"):
            reads = {
                "cells": "N and F",
                "regnet": "depth, w0, wa, wm, group_width, bottleneck",
                "stages": "depths, widths, strides, bottlenecks, group_widths",
            }[body]
            raise DslSemanticError(
                "E225",
                f"`{key}` is not read by a `body = {body}` network"
                f"{options.where(key) if spans[key] is None else ''}",
                spans[key],
                f"its stages come from {reads}",
            )


def _check_stages(spec: NetworkSpec, spans: Mapping[str, SourceSpan | None]) -> None:
    """The RegNet rule or the stage lists must make stages (E330/E332 at the network block)."""
    try:
        body_stages(spec)
    except NasgenError as err:
        span = spans.get("depths") if spec.body == "stages" else None
        raise DslSemanticError(err.code, err.message, span or spans.get(""), err.hint) from None


def body_stages(spec: NetworkSpec) -> tuple[Stage, ...]:
    """The stages of a ``body = regnet`` or ``body = stages`` network."""
    if spec.body == "regnet":
        return regnet_params(spec).stages()
    return stage_list(
        spec.depths, spec.widths, spec.strides, spec.bottlenecks, spec.group_widths, spec.block
    )


def regnet_params(spec: NetworkSpec) -> RegNetParams:
    """The RegNet parameters of a ``body = regnet`` network."""
    return RegNetParams(
        spec.depth, spec.w0, spec.wa, spec.wm, spec.group_width, spec.bottleneck, spec.se > 0
    )


def _check_cells_used(
    module: Module, spec: NetworkSpec, spans: Mapping[str, SourceSpan | None]
) -> None:
    if spec.body != "cells":
        _check_stages(spec, spans)
        return
    needed = {"normal": spec.normal}
    if spec.reduction_mode == "insert_cell" and spec.reductions > 0:
        needed["reduction"] = spec.reduction
    if spec.stem == "nasnet_imagenet":
        needed["stem_cell"] = spec.stem_cell
    n_inputs = 1 if spec.reduction_mode == "resnet_block" else 2
    for key, name in needed.items():
        cell = module.cell(name)
        if cell is None:
            hint = did_you_mean(name, [c.name for c in module.cells]) or (
                f"cells defined: {', '.join(c.name for c in module.cells) or 'none'}"
            )
            span = spans.get(key) or spans.get("")
            raise DslSemanticError(
                "E206", f"network `{key}` names unknown cell {name!r}", span, hint
            )
        if len(cell.inputs) != n_inputs:
            raise DslSemanticError(
                "E222",
                f"cell {name!r} takes {len(cell.inputs)} input(s) but reduction_mode = "
                f"{spec.reduction_mode} feeds {n_inputs}",
                cell.span,
                "NASNet/DARTS stacking cells read (h_prev, h); NB-201 cells read one state",
            )


def resolve(module: Module, options: CompileOptions | None = None) -> Architecture:
    """Check the meaning of a parsed file and bind it to compile options."""
    if module.is_space:
        space_cell = module.space_cells[0]
        raise DslSemanticError(
            "E800",
            f"this file is a search space (space cell {space_cell.name}), not an architecture",
            space_cell.span,
            "compile one of its samples: nasgen space sample FILE -o DIR",
        )
    options = options or CompileOptions()
    convention = _convention(module.convention)
    cells: dict[str, ResolvedCell] = {}
    for cell in module.cells:
        if cell.name in cells:
            first = cells[cell.name].ast.span
            raise DslSemanticError(
                "E205",
                f"cell {cell.name!r} is defined twice",
                cell.span,
                f"first defined on line {first.line}" if first else None,
            )
        cells[cell.name] = _cell(cell)
    spec, spans = _network(module, options)
    _check_cells_used(module, spec, spans)
    return Architecture(module, convention, MappingProxyType(cells), spec, MappingProxyType(spans))
