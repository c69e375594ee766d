"""Search-space specs: a ``space cell``'s settings read into typed rules, with located errors.

Pipeline stage: search spaces (AST ``SpaceCellDef`` -> **CellSpec**). Imports ``nasgen.errors``,
``nasgen.ops`` and ``nasgen.dsl``; never a framework.

A space cell states, as data, the decisions of a controller for each of its ``blocks``:
  1. ``inputs``: ``all`` (every earlier state, one op per edge: NAS-Bench-201), ``choose(K)``
     (K states, each any earlier state, repeats allowed: NASNet, PNAS, ENAS micro),
     ``choose(K, distinct)`` (K different earlier states: DARTS) or ``previous`` (the state
     just before: a chain, as ENAS macro);
  2. ``skips = earlier``: with ``previous``, any subset of the earlier *blocks* is added
     through identities (ENAS macro's skip connections);
  3. ``ops``: the op of each chosen input, from a named ``ops`` list or ``[op, ...]``;
  4. ``combine``: ``add``, ``concat`` or a choice ``[add, concat]``;
  5. ``output``: ``loose_ends`` (blocks nothing reads), ``unused`` (every state nothing reads,
     cell inputs included: NASNet's rule), ``all_blocks`` (DARTS), ``last`` (NB-201) or a
     fixed ``[state, ...]``.
"Earlier states" are the cell's inputs and the blocks before the block, in that order.
"""

from __future__ import annotations

from dataclasses import dataclass

from nasgen.dsl.ast import Choice, Ident, Module, NameList, SpaceCellDef, SpaceSetting
from nasgen.errors import DslSemanticError, SourceSpan, did_you_mean
from nasgen.ops import OPS

__all__ = ["INPUT_MODES", "MAX_BLOCKS", "OUTPUT_MODES", "CellSpec", "read_cell_spec"]

INPUT_MODES = ("all", "choose", "distinct", "previous")
OUTPUT_MODES = ("loose_ends", "unused", "all_blocks", "last", "fixed")
_KEYS = ("blocks", "prefix", "inputs", "skips", "ops", "combine", "output")
_COMBINES = ("add", "concat")
MAX_BLOCKS = 64
"""No published cell has more than 7 blocks; more is a typo, refused before counting."""


@dataclass(frozen=True, slots=True)
class CellSpec:
    """The decisions of one cell of a search space."""

    name: str
    inputs: tuple[str, ...]
    blocks: int
    prefix: str
    input_mode: str
    k: int
    skips: bool
    ops: tuple[str, ...]
    combines: tuple[str, ...]
    output: str
    fixed_output: tuple[str, ...] = ()

    def block_name(self, index: int) -> str:
        """The name of block ``index`` (0-based): ``b1``, ``n1``..."""
        return f"{self.prefix}{index + 1}"

    def earlier(self, index: int) -> tuple[str, ...]:
        """The states block ``index`` (0-based) may read: the inputs, then earlier blocks."""
        return self.inputs + tuple(self.block_name(j) for j in range(index))


def _error(message: str, span: SourceSpan | None, hint: str | None = None) -> DslSemanticError:
    return DslSemanticError("E801", message, span, hint)


def _setting(cell: SpaceCellDef, key: str) -> SpaceSetting | None:
    return cell.setting(key)


def _word(setting: SpaceSetting, choices: tuple[str, ...]) -> str:
    value = setting.value
    if isinstance(value, Ident) and value.name in choices:
        return value.name
    shown = value.name if isinstance(value, Ident) else repr(value)
    hint = did_you_mean(shown, choices) or f"one of: {', '.join(choices)}"
    raise _error(f"`{setting.key}` cannot be {shown}", setting.value_span, hint)


def _int(setting: SpaceSetting, low: int, high: int) -> int:
    value = setting.value
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value
    raise _error(f"`{setting.key}` must be an integer from {low} to {high}", setting.value_span)


def _op_names(module: Module, setting: SpaceSetting) -> tuple[str, ...]:
    value = setting.value
    if isinstance(value, Ident):
        found = next((o for o in module.op_lists if o.name == value.name), None)
        if found is None:
            names = [o.name for o in module.op_lists]
            hint = did_you_mean(value.name, names) or "define it: ops NAME = [op, ...]"
            raise _error(f"no op list named {value.name!r}", setting.value_span, hint)
        value = found.ops
    if not isinstance(value, NameList) or not value.names:
        raise _error("`ops` must name an op list or be [op, ...]", setting.value_span)
    _check_ops(value)
    return value.names


def _check_ops(names: NameList) -> None:
    known = [d.name for d in OPS] + [a for d in OPS for a in d.aliases]
    seen: set[str] = set()
    for i, name in enumerate(names.names):
        span = names.spans[i] if i < len(names.spans) else None
        found = OPS.lookup(name)
        if found is None or found[0].combine:
            hint = did_you_mean(name, known) or "`nasgen ops` lists the ops"
            raise DslSemanticError("E203", f"unknown op {name!r} in an op list", span, hint)
        if name in seen:
            raise _error(f"op {name!r} is listed twice", span)
        seen.add(name)


def _inputs(setting: SpaceSetting | None) -> tuple[str, int]:
    if setting is None:
        return "choose", 2
    value = setting.value
    if isinstance(value, Ident) and value.name in ("all", "previous"):
        return value.name, 1
    if isinstance(value, Choice) and value.name == "choose" and 1 <= len(value.args) <= 2:
        k, *rest = value.args
        distinct = rest == [Ident("distinct")]
        if (
            isinstance(k, int)
            and not isinstance(k, bool)
            and 1 <= k <= 8
            and (distinct or not rest)
        ):
            return ("distinct" if distinct else "choose"), k
    raise _error(
        "`inputs` is all, previous, choose(K) or choose(K, distinct), K from 1 to 8",
        setting.value_span,
    )


def _combines(setting: SpaceSetting | None) -> tuple[str, ...]:
    if setting is None:
        return ("add",)
    value = setting.value
    names = value.names if isinstance(value, NameList) else None
    if isinstance(value, Ident):
        names = (value.name,)
    if not names or any(n not in _COMBINES for n in names) or len(set(names)) != len(names):
        raise _error("`combine` is add, concat or [add, concat]", setting.value_span)
    return names


def _output(setting: SpaceSetting | None) -> tuple[str, tuple[str, ...]]:
    if setting is None:
        return "loose_ends", ()
    if isinstance(setting.value, NameList) and setting.value.names:
        return "fixed", setting.value.names
    return _word(setting, OUTPUT_MODES[:-1]), ()


def read_cell_spec(module: Module, cell: SpaceCellDef) -> CellSpec:
    """The typed spec of one space cell; every mistake is a located ``NasgenError``."""
    for s in cell.settings:
        if s.key not in _KEYS:
            hint = did_you_mean(s.key, _KEYS) or f"keys: {', '.join(_KEYS)}"
            raise _error(f"unknown space cell key {s.key!r}", s.span, hint)
    blocks_setting = _setting(cell, "blocks")
    if blocks_setting is None:
        raise _error(f"space cell {cell.name} does not say how many `blocks`", cell.span)
    ops_setting = _setting(cell, "ops")
    if ops_setting is None:
        raise _error(f"space cell {cell.name} has no `ops` to choose from", cell.span)
    prefix_setting = _setting(cell, "prefix")
    prefix = "b"
    if prefix_setting is not None:
        if not isinstance(prefix_setting.value, Ident):
            raise _error("`prefix` is a bare word, e.g. prefix = n", prefix_setting.value_span)
        prefix = prefix_setting.value.name
    mode, k = _inputs(_setting(cell, "inputs"))
    skips_setting = _setting(cell, "skips")
    skips = skips_setting is not None and _word(skips_setting, ("earlier", "none")) == "earlier"
    if skips and mode != "previous":
        assert skips_setting is not None
        raise _error("`skips = earlier` goes with `inputs = previous`", skips_setting.span)
    output, fixed = _output(_setting(cell, "output"))
    spec = CellSpec(
        cell.name,
        tuple(r.name for r in cell.inputs),
        _int(blocks_setting, 1, MAX_BLOCKS),
        prefix,
        mode,
        k,
        skips,
        _op_names(module, ops_setting),
        _combines(_setting(cell, "combine")),
        output,
        fixed,
    )
    _check_reachable(spec, cell)
    return spec


def _check_reachable(spec: CellSpec, cell: SpaceCellDef) -> None:
    """Refuse a choice that can name nothing, or names that collide."""
    if spec.input_mode == "distinct" and spec.k > len(spec.inputs):
        setting = cell.setting("inputs")
        raise _error(
            f"block {spec.block_name(0)} must read {spec.k} distinct states but only "
            f"{len(spec.inputs)} come before it",
            setting.value_span if setting is not None else cell.span,
        )
    names = set(spec.inputs)
    for j in range(spec.blocks):
        if spec.block_name(j) in names:
            raise _error(f"block name {spec.block_name(j)} is also an input", cell.span)
    valid = set(spec.earlier(spec.blocks))
    bad = [s for s in spec.fixed_output if s not in valid]
    if bad:
        setting = cell.setting("output")
        raise _error(
            f"output names {bad[0]!r}, which is no state of this cell",
            setting.value_span if setting is not None else cell.span,
            f"states: {', '.join(sorted(valid))}",
        )
