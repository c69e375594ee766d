"""Cell lowering: one use of a DSL cell -> IR nodes (preprocessing, blocks, output).

Pipeline stage: IR (AST + N, F -> IR). Imports ``nasgen.errors``, ``nasgen.ops``,
``nasgen.dsl`` and ``nasgen.ir.emit``/``graph``.

Rules (TF-slim ``nasnet_utils.py``, DARTS ``cnn/model.py``, ENAS ``micro_child.py``; the file's
``Convention`` picks between sources):
  1. h_i -> ReLU-1x1-BN to F (TF `_cell_base`, DARTS `preprocess1`), for two-input cells;
     with ``h_calibrate``, an h_i of another width gets a ReLU-1x1-BN to F first (ENAS).
  2. h_{i-1}: missing -> raw h_i (``first_prev = raw``) or h_i through rules 3-4
     (``projected``); 3. larger than h_i -> ReLU + factorized reduction to F; 4. same size ->
     ReLU-1x1-BN if its width differs from F or ``prev_same_size = always``.
  5. An op strides only when it reads a cell input (``is_from_original_input``).
  6. Output: ``concat`` of the listed states, each one whose shape differs from the last
     block's first passed through a factorized reduction when ``output_adapt`` says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from nasgen.dsl.resolve import ResolvedBlock, ResolvedCell
from nasgen.errors import IRValidationError
from nasgen.ir.emit import Emitter, Place
from nasgen.ir.graph import IRNode
from nasgen.ops import Attrs, Convention, ExpandContext

__all__ = ["CellUse", "lower_body", "lower_cell", "lower_inputs"]


@dataclass(frozen=True, slots=True)
class CellUse:
    """One instance of a cell in the network."""

    cell: ResolvedCell
    prefix: str
    stage: str
    stride: int
    filters: int
    h_prev: str | None
    h: str


def _project(em: Emitter, use: CellUse, name: str, src: IRNode, rule: str) -> str:
    place = Place(use.stage, "preprocess", use.prefix, name, use.cell.span_of(name))
    node_id = f"{use.prefix}.{name}"
    c_in, size = src.shape[0], src.shape[1:]
    h_size = em.graph.node(use.h).shape[1:]
    if size != h_size:
        if tuple(-(-s // 2) for s in size) != h_size:
            raise IRValidationError(
                "E310",
                f"{use.prefix}: h_prev is {size[0]}x{size[1]} but h is {h_size[0]}x{h_size[1]}; "
                "only a factor 2 can be reconciled",
                place.span,
            )
        attrs = Attrs.of(stride=2, c_out=use.filters, relu=True)
        return em.emit(node_id, "factorized_reduce", attrs, (src.id,), place).id
    if c_in != use.filters or rule == "always":
        attrs = Attrs.of(k=1, stride=1, c_out=use.filters, relu=True)
        return em.emit(node_id, "conv_bn", attrs, (src.id,), place).id
    return src.id


def lower_inputs(em: Emitter, use: CellUse, conv: Convention) -> dict[str, str]:
    """Emit the cell's input projections; return each input name's state (a node id)."""
    names = use.cell.inputs
    if len(names) == 1:
        return {names[0]: use.h}
    prev_name, h_name = names
    h_place = Place(use.stage, "preprocess", use.prefix, h_name, use.cell.span_of(h_name))
    attrs = Attrs.of(k=1, stride=1, c_out=use.filters, relu=True)
    h_src = use.h
    if conv.h_calibrate and em.graph.node(h_src).shape[0] != use.filters:
        node_id = f"{use.prefix}.{h_name}.calibrate"
        h_src = em.emit(node_id, "conv_bn", attrs, (h_src,), h_place).id
    h_id = em.emit(f"{use.prefix}.{h_name}", "conv_bn", attrs, (h_src,), h_place).id
    if use.h_prev is None and conv.first_prev == "raw":
        return {prev_name: use.h, h_name: h_id}
    src = em.graph.node(use.h_prev if use.h_prev is not None else use.h)
    prev_id = _project(em, use, prev_name, src, conv.prev_same_size)
    return {prev_name: prev_id, h_name: h_id}


def _block(
    em: Emitter, use: CellUse, block: ResolvedBlock, states: dict[str, str], conv: Convention
) -> str:
    base = f"{use.prefix}.{block.name}"
    outs = []
    for rop in block.ops:
        src = em.graph.node(states[rop.input])
        stride = use.stride if rop.input in use.cell.inputs else 1
        ctx = ExpandContext(src.shape[0], use.filters, stride, conv)
        assert rop.op.expand is not None
        op_id = base if block.combine is None else f"{base}.{rop.slot}"
        span = rop.call.span if block.combine is not None else block.ast.span
        place = Place(use.stage, "op", use.prefix, block.name, span)
        last = src.id
        for step in rop.op.expand(rop.params, ctx):
            node_id = f"{op_id}.{step.suffix}" if step.suffix else op_id
            last = em.emit(node_id, step.op, step.attrs, (last,), place).id
        outs.append(last)
    if block.combine is None:
        return outs[0]
    place = Place(use.stage, "combine", use.prefix, block.name, block.ast.span)
    return em.emit(base, block.combine, Attrs(), tuple(outs), place).id


def _output(em: Emitter, use: CellUse, states: dict[str, str], conv: Convention) -> str:
    cell = use.cell
    if not cell.concat_output:
        return states[cell.output[0]]
    span = cell.ast.output.span if cell.ast.output else cell.ast.span
    ref = em.graph.node(states[cell.blocks[-1].name]) if cell.blocks else None
    members = []
    for name in cell.output:
        node = em.graph.node(states[name])
        if (
            conv.output_adapt == "factorized_reduce"
            and ref is not None
            and node.shape[:2] != ref.shape[:2]
        ):
            stride = 2 if node.shape[1] != ref.shape[1] else 1
            attrs = Attrs.of(stride=stride, c_out=ref.shape[0], relu=False)
            place = Place(use.stage, "adapt", use.prefix, name, span)
            node = em.emit(
                f"{use.prefix}.out.{name}", "factorized_reduce", attrs, (node.id,), place
            )
        members.append(node.id)
    place = Place(use.stage, "output", use.prefix, None, span)
    return em.emit(f"{use.prefix}.out", "concat", Attrs(), tuple(members), place).id


def lower_body(em: Emitter, use: CellUse, inputs: dict[str, str], conv: Convention) -> str:
    """Emit the blocks and the output of a cell whose inputs are ``inputs``; return the output.

    What it emits depends only on the cell, the use's stride and filters, and the shapes of
    ``inputs`` (the static cost path lowers one body per distinct such key).
    """
    states = dict(inputs)
    for block in use.cell.blocks:
        states[block.name] = _block(em, use, block, states, conv)
    return _output(em, use, states, conv)


def lower_cell(em: Emitter, use: CellUse, conv: Convention) -> str:
    """Emit one cell instance and return the id of its output node."""
    return lower_body(em, use, lower_inputs(em, use, conv), conv)
