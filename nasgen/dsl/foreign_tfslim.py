"""TF-slim / TF-TPU cell lists in: ``operations``, ``hiddenstate_indices``, ``used_hiddenstates``.

Pipeline stage: front end (foreign text -> **AST**). Imports ``nasgen.dsl.ast``,
``nasgen.errors`` and the ``nasgen.dsl.foreign_*`` modules.

The lists come as JSON (one cell, ``{"normal": ..., "reduce": ...}``, or a genotypes.json
entry with ``source_raw``) or as the Python assignments of ``nasnet_utils.py`` /
``model_specs.py``; both are read by the bounded literal reader, never evaluated.
"""

from __future__ import annotations

from nasgen.dsl.ast import (
    Block,
    CellDef,
    ConventionDef,
    Module,
    NetworkDef,
    OpCall,
    Output,
    StateRef,
    VariantDef,
)
from nasgen.dsl.foreign_cells import check_block_count, settings
from nasgen.dsl.foreign_reader import Lit, LiteralReader
from nasgen.dsl.foreign_source import ForeignSource, shorten
from nasgen.dsl.foreign_values import int_of, mapping_of, seq_of, text_of, text_start
from nasgen.errors import DslSyntaxError, SourceText, did_you_mean

__all__ = ["import_tfslim"]

# TF-slim nasnet.py cifar_config (NASNet-A 6 @ 768) and mobile_imagenet_config; pnasnet.py
# mobile config for a single cell used with stride 2 (PNASNet).
_TF_CIFAR = (
    ("N", 6), ("F", 32), ("stem", "conv3x3"), ("stem_multiplier", 3), ("aux_head", "tf_slim"),
    ("drop_path", 0.4), ("head", "relu_gap"), ("classes", 10), ("input_size", 32),
)  # fmt: skip
_TF_MOBILE = (
    ("N", 4), ("F", 44), ("stem", "nasnet_imagenet"), ("stem_multiplier", 1),
    ("drop_path", 0.0), ("dropout", 0.5), ("classes", 1001), ("input_size", 224),
)  # fmt: skip
_TF_ONE_CELL = (
    ("N", 3), ("F", 54), ("reduction_mode", "stride_normal"), ("stem", "nasnet_imagenet"),
    ("stem_multiplier", 1), ("stem_cell", "normal"), ("skip_reduction_layer_input", "true"),
    ("aux_head", "tf_slim"), ("dropout", 0.5), ("head", "relu_gap"), ("classes", 1001),
    ("input_size", 224),
)  # fmt: skip
_TF_OPS = {
    "separable_3x3_2": "sep_conv_3x3",
    "separable_5x5_2": "sep_conv_5x5",
    "separable_7x7_2": "sep_conv_7x7",
    "avg_pool_3x3": "avg_pool_3x3",
    "max_pool_3x3": "max_pool_3x3",
    "none": "skip_connect",
    # TF-TPU amoeba_net only (bottlenecked there):
    "1x7_7x1": "conv_1x7_7x1",
    "1x3_3x1": "conv_1x3_3x1",
    "3x3": "conv_3x3",
    "1x1": "conv_1x1",
}
_TF_TPU_ONLY = {"1x7_7x1", "1x3_3x1", "3x3", "1x1"}
_TF_KEYS = ("operations", "hiddenstate_indices", "used_hiddenstates")
_HINT = (
    "expected operations, hiddenstate_indices and used_hiddenstates lists (TF-slim "
    "nasnet_utils.py), as JSON or Python assignments, for one cell or {normal, reduce}"
)

_Raw = tuple[dict[str, Lit], int, int]
"""One cell's lists by key, and the offsets of the text they came from."""


def _from_object(src: ForeignSource, lit: Lit) -> list[_Raw]:
    data = mapping_of(src, lit, "the input")
    raw_lit = data.get("source_raw", lit)  # a genotypes.json entry
    raw = mapping_of(src, raw_lit, "source_raw")
    if "reduce" in raw and "reduction" in raw:
        other = raw["reduction"]
        raise src.error("give the reduction cell once, as reduce", other.start, other.end)
    second = raw.get("reduce", raw.get("reduction"))
    if "normal" not in raw:
        if second is not None:
            raise src.error("a reduce cell needs a normal cell", raw_lit.start, raw_lit.end)
        return [(raw, raw_lit.start, raw_lit.end)]
    cells = [("normal", raw["normal"])] + ([] if second is None else [("reduce", second)])
    return [(mapping_of(src, c, f"the {key} cell"), c.start, c.end) for key, c in cells]


def _cells(src: ForeignSource) -> list[_Raw]:
    """The cells of a TF-slim text: JSON / a dict literal, or Python assignments."""
    groups: list[_Raw] = []
    for stmt in LiteralReader(src).statements(frozenset(_TF_KEYS)):
        if stmt.target is None and stmt.value is not None:
            groups += _from_object(src, stmt.value)
        elif stmt.target is not None and stmt.value is not None:
            key = stmt.target.rsplit(".", 1)[-1]
            if not groups or key in groups[-1][0]:
                groups.append(({}, stmt.target_start, stmt.value.end))
            lists, start, _ = groups[-1]
            lists[key] = stmt.value
            groups[-1] = (lists, start, stmt.value.end)
        if len(groups) > 2:
            _, start, end = groups[2]
            raise src.error("a third cell: expected one cell or normal + reduce", start, end)
    if not groups:
        raise DslSyntaxError("E124", f"{src.path}: no cell lists found", hint=_HINT)
    return groups


def _tf_op(src: ForeignSource, lit: Lit, where: str, ref: StateRef) -> OpCall:
    op = text_of(src, lit, f"{where}: an operation")
    if op not in _TF_OPS:
        hint = did_you_mean(op, _TF_OPS) if len(op) <= 64 else None
        raise src.error(
            f"{where}: unknown TF op {shorten(op)}",
            lit.start,
            lit.end,
            hint or f"known: {', '.join(_TF_OPS)}",
        )
    start = text_start(src, lit)
    return OpCall(_TF_OPS[op], ref, span=src.span(start, start + len(op)))


def _tf_state(src: ForeignSource, lit: Lit, where: str, blocks_before: int) -> StateRef:
    # TF's hidden-state list is [h_i, h_{i-1}, block outputs...]: 0 and 1 are swapped here.
    index = int_of(src, lit, f"{where}: a hidden-state index")
    if not 0 <= index < blocks_before + 2:
        raise src.error(
            f"{where}: hidden-state index {index} refers to no earlier state",
            lit.start,
            lit.end,
            f"block {blocks_before + 1} reads 0 (h_i), 1 (h_(i-1))"
            + (f" or an earlier block (2..{blocks_before + 1})" if blocks_before else ""),
        )
    name = ("h", "h_prev")[index] if index < 2 else f"b{index - 1}"
    return StateRef(name, src.span(lit.start, lit.end))


def _lists(src: ForeignSource, name: str, raw: _Raw) -> tuple[tuple[Lit, ...], ...]:
    lists, start, end = raw
    missing = [k for k in _TF_KEYS if k not in lists]
    if missing:
        raise src.error(f"{name} cell: missing {', '.join(missing)}", start, end)
    ops, indices, used = (seq_of(src, lists[k], f"{name} cell: {k}") for k in _TF_KEYS)
    if not ops or len(ops) % 2 or len(indices) != len(ops) or len(used) != len(ops) // 2 + 2:
        raise src.error(
            f"{name} cell: {len(ops)} operations, {len(indices)} indices and {len(used)} "
            "used flags; expected 2 per block, 2 per block and blocks + 2",
            start,
            end,
        )
    check_block_count(src, len(ops) // 2, f"{name} cell", start, end)
    return ops, indices, used


def _cell(src: ForeignSource, name: str, raw: _Raw) -> CellDef:
    ops, indices, used = _lists(src, name, raw)
    blocks = []
    for b in range(len(ops) // 2):
        pairs = zip(ops[2 * b : 2 * b + 2], indices[2 * b : 2 * b + 2], strict=True)
        where = f"{name} cell"
        calls = tuple(_tf_op(src, op, where, _tf_state(src, i, where, b)) for op, i in pairs)
        blocks.append(
            Block(f"b{b + 1}", "add", calls, src.span(ops[2 * b].start, ops[2 * b + 1].end))
        )
    names = ["h", "h_prev"] + [block.name for block in blocks]
    states = []
    for state, flag in zip(names, used, strict=True):
        value = int_of(src, flag, f"{name} cell: a used_hiddenstates flag")
        if value not in (0, 1):
            raise src.error(
                f"{name} cell: used_hiddenstates must hold 0 and 1", flag.start, flag.end
            )
        if value == 0:
            states.append(StateRef(state, src.span(flag.start, flag.end)))
    if not states:
        _, start, end = raw
        raise src.error(
            f"{name} cell: every state is marked used; nothing to concatenate", start, end
        )
    inputs = (StateRef("h_prev"), StateRef("h"))
    output = Output("concat", tuple(states))
    return CellDef(name, inputs, tuple(blocks), output, src.span(raw[1], raw[2]))


def import_tfslim(
    text: str | SourceText, name: str = "imported", convention: str | None = None
) -> Module:
    """TF-slim / TF-TPU cell lists: one cell (PNASNet, used with stride 2) or normal + reduce.

    The output concatenates the states ``used_hiddenstates`` marks 0, in TF's order; the
    convention is ``tf_amoeba`` when a TF-TPU-only op appears, else ``tf_slim``.
    """
    src = ForeignSource(text, "E124", _HINT)
    raws = _cells(src)
    cells = tuple(_cell(src, n, raw) for n, raw in zip(("normal", "reduction"), raws, strict=False))
    used = {call.op for cell in cells for block in cell.blocks for call in block.ops}
    tpu_only = used & {_TF_OPS[op] for op in _TF_TPU_ONLY}
    preset = convention or ("tf_amoeba" if tpu_only else "tf_slim")
    variants: tuple[VariantDef, ...] = ()
    if len(cells) == 1:
        network = NetworkDef(settings(_TF_ONE_CELL))
    else:
        network = NetworkDef(settings(_TF_CIFAR))
        variants = (VariantDef("mobile", settings(_TF_MOBILE)),)
    span = src.span(raws[0][1], raws[-1][2])
    return Module(1, name, None, ConventionDef(preset), cells, network, variants, span)
