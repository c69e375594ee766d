"""Diagrams: a cell as in the NASNet paper's figures, a network as a column of stages.

Pipeline stage: review (reads resolved architectures and analyses). Imports ``graphviz`` (the
Python package; Graphviz's ``dot`` program renders), ``nasgen.api``, ``nasgen.dsl``,
``nasgen.review.fingerprint`` and ``nasgen.errors``.

A cell reads top to bottom: its inputs (h_{i-1}, h_i) side by side at the top, one box per op,
a "+" circle per ``add`` (a "concat" box per ``concat``), and at the bottom the output node with
one edge from each state the compiled cell concatenates, in order, inputs included (NASNet-A's
normal cell concatenates h_{i-1}). A block of one op without a combine is that op's box. Every
node is labelled with its state's name so the picture can be read next to the file.

``render`` writes through ``nasgen.files.write_atomic`` (a temporary file and a rename), so
a failed run never leaves half a file, and output is deterministic for SVG and PNG (PDF embeds
a creation date).
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import graphviz

from nasgen.api import Analysis
from nasgen.dsl.resolve import Architecture, ResolvedBlock, ResolvedCell
from nasgen.errors import NasgenError, did_you_mean
from nasgen.files import write_atomic
from nasgen.review.fingerprint import used_cells

__all__ = ["FORMATS", "DrawError", "cell_graph", "network_graph", "render"]

FORMATS = ("svg", "png", "pdf")
"""Output formats ``render`` chooses by the path's suffix."""

_FONT = "Helvetica"
_INPUT, _OP, _COMBINE, _OUTPUT = "#dbe8f6", "#fdf1d0", "#ffffff", "#dcefd6"
_STAGE, _REDUCE, _SIDE = "#fdf1d0", "#f6d9d5", "#eeeeee"
_TIMES = "\u00d7"


class DrawError(NasgenError):
    """A diagram cannot be drawn or written (E7xx): no ``dot``, bad path, unknown cell."""

    code = "E700"


def _digraph(title: str) -> graphviz.Digraph:
    graph = graphviz.Digraph(engine="dot")
    graph.attr(
        "graph",
        label=title,
        labelloc="t",
        fontname=_FONT,
        fontsize="16",
        bgcolor="white",
        nodesep="0.3",
        ranksep="0.4",
        pad="0.2",
        ordering="in",
    )
    graph.attr("node", fontname=_FONT, fontsize="12", style="filled", penwidth="1.2")
    graph.attr("edge", color="#555555", arrowsize="0.7", penwidth="1.1")
    return graph


def _state_label(name: str, caption: str) -> str:
    return f'<<b>{escape(name)}</b><br/><font point-size="10">{caption}</font>>'


_CAPTIONS = {2: ("h<sub>i-1</sub>", "h<sub>i</sub>"), 1: ("h<sub>i</sub>",)}


def _inputs(graph: graphviz.Digraph, cell: ResolvedCell) -> None:
    with graph.subgraph(name="inputs") as row:
        row.attr(rank="source")
        for name, caption in zip(cell.inputs, _CAPTIONS[len(cell.inputs)], strict=True):
            row.node(f"s_{name}", _state_label(name, caption), shape="box", fillcolor=_INPUT)
    for left, right in zip(cell.inputs, cell.inputs[1:], strict=False):
        graph.edge(f"s_{left}", f"s_{right}", style="invis")


def _op_label(block: ResolvedBlock, i: int) -> str:
    call = block.ops[i].call
    params = ", ".join(f"{s.key}={s.value}" for s in call.params)
    return escape(f"{call.op}({params})" if params else call.op)


def _block(graph: graphviz.Digraph, block: ResolvedBlock) -> None:
    state = f"s_{block.name}"
    if block.combine is None:
        label = f'<{_op_label(block, 0)}<br/><font point-size="10">= {escape(block.name)}</font>>'
        graph.node(state, label, shape="box", style="rounded,filled", fillcolor=_OP)
        graph.edge(f"s_{block.ops[0].input}", state)
        return
    for i, op in enumerate(block.ops):
        node = f"o_{block.name}_{i}"
        label = f"<{_op_label(block, i)}>"
        graph.node(node, label, shape="box", style="rounded,filled", fillcolor=_OP)
        graph.edge(f"s_{op.input}", node)
        graph.edge(node, state)
    if block.combine == "add":
        label = f'<<font point-size="16"><b>+</b></font><br/>{escape(block.name)}>'
        graph.node(state, label, shape="circle", fillcolor=_COMBINE, margin="0")
    else:
        label = f'<concat<br/><font point-size="10">{escape(block.name)}</font>>'
        graph.node(state, label, shape="box", fillcolor=_COMBINE)


def cell_graph(arch: Architecture, cell_name: str) -> graphviz.Digraph:
    """The diagram of one cell, in the style of the NASNet paper's figures.

    Args:
        arch: a resolved architecture.
        cell_name: the cell to draw (``normal``, ``reduction``...).

    Returns:
        A ``graphviz.Digraph``; ``render`` writes it, ``.source`` is its dot text.

    Raises:
        DrawError: E706 when the file has no such cell.

    """
    cell = arch.cells.get(cell_name)
    if cell is None:
        hint = did_you_mean(cell_name, arch.cells) or f"cells: {', '.join(arch.cells)}"
        raise DrawError("E706", f"no cell named {cell_name!r}", None, hint)
    roles = [role for role, name in used_cells(arch.network).items() if name == cell_name]
    title = f"{arch.module.name or 'cell'}: cell {cell_name}"
    graph = _digraph(title + (f" ({', '.join(roles)})" if roles and roles != [cell_name] else ""))
    _inputs(graph, cell)
    for block in cell.blocks:
        _block(graph, block)
    label = '<<b>concat</b><br/><font point-size="10">cell output</font>>'
    label = label if cell.concat_output else "<<b>output</b>>"
    with graph.subgraph(name="outputs") as row:
        row.attr(rank="sink")
        row.node("output", label, shape="box", fillcolor=_OUTPUT, fontsize="13")
    for state in cell.output:
        graph.edge(f"s_{state}", "output", color="#2f7d32")
    return graph


def _human(n: int) -> str:
    for unit, scale in (("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f}{unit}"
    return str(n)


def _stage_text(analysis: Analysis, stage: str, cells: int) -> tuple[str, str]:
    """What a cost row is, in words, and its fill colour."""
    spec = analysis.arch.network
    if stage == "stem":
        extra = f" + {cells} {_TIMES} {spec.stem_cell}" if cells else ""
        return f"stem: {spec.stem}{extra}", _SIDE
    if stage == "head":
        return f"head: {spec.head}, {spec.classes} classes", _SIDE
    if stage == "aux":
        return f"auxiliary head: {spec.aux_head}", _SIDE
    if stage.startswith("reduce"):
        what = "resnet block" if spec.reduction_mode == "resnet_block" else spec.reduction
        return f"{stage}: {cells} {_TIMES} {what}", _REDUCE
    strided = spec.reduction_mode == "stride_normal" and stage != "stage1"
    return f"{stage}: {cells} {_TIMES} {spec.normal}{' (first strides)' if strided else ''}", _STAGE


def network_graph(analysis: Analysis) -> graphviz.Digraph:
    """A compact diagram of the whole network: stem, stages, reductions, heads.

    Each node is a row of ``analysis.cost``: its cells, output shape, parameters and MACs; the
    auxiliary head hangs off the stage it reads, dashed (its parameters are not in the total).

    Args:
        analysis: an analysed architecture (``nasgen.api.analyze``).

    Returns:
        A ``graphviz.Digraph``.

    """
    spec, cost = analysis.arch.network, analysis.cost
    title = (
        f"{analysis.module.name or analysis.source.path}  ({analysis.arch.convention.name}, "
        f"{spec.skeleton()})"
    )
    graph = _digraph(title)
    graph.attr("graph", ranksep="0.25")
    size = f"{spec.input_channels}x{spec.input_size}x{spec.input_size}"
    graph.node("input", f"input {size}", shape="box", style="rounded,filled", fillcolor=_INPUT)
    previous = "input"
    for i, row in enumerate(cost.stages):
        text, fill = _stage_text(analysis, row.stage, row.cells)
        shape = "x".join(map(str, row.shape))
        numbers = f"{row.params:,} params, {_human(row.macs)} MACs"
        label = f'<<b>{escape(text)}</b><br/><font point-size="10">{shape}  ·  {numbers}</font>>'
        node = f"row{i}"
        graph.node(node, label, shape="box", fillcolor=fill, width="3.6")
        if row.stage == "aux":
            graph.edge(previous, node, style="dashed")
            with graph.subgraph(name=f"aux{i}") as side:
                side.attr(rank="same")
                side.node(previous)
                side.node(node)
            continue
        graph.edge(previous, node)
        previous = node
    total = f"total: {cost.params:,} params, {_human(cost.macs)} MACs"
    if cost.aux_params:
        total += f"\nauxiliary head: {cost.aux_params:,} params (not in total)"
    graph.node("total", total, shape="plaintext", style="", fontsize="11")
    graph.edge(previous, "total", style="invis")
    return graph


def _pipe(graph: graphviz.Digraph, fmt: str) -> bytes:
    try:
        data: bytes = graph.pipe(format=fmt)
    except graphviz.ExecutableNotFound as err:
        raise DrawError(
            "E701",
            "graphviz `dot` not found",
            None,
            "install Graphviz: apt-get install graphviz (brew install graphviz on macOS)",
        ) from err
    except graphviz.CalledProcessError as err:
        stderr = (err.stderr or b"").decode("utf-8", "replace").strip()
        raise DrawError("E705", f"`dot` failed: {stderr or err}") from err
    return data


def render(graph: graphviz.Digraph, path: str | Path, *, force: bool = False) -> Path:
    """Write a diagram as SVG, PNG or PDF, chosen by the suffix of ``path``.

    Args:
        graph: from ``cell_graph`` or ``network_graph``.
        path: the file to write (``.svg``, ``.png`` or ``.pdf``).
        force: replace an existing file.

    Returns:
        The path written.

    Raises:
        DrawError: E701 no ``dot``; E702 unknown suffix; E703 the file exists and not
            ``force``; E705 ``dot`` failed.
        NasgenError: E507 the file cannot be written (``nasgen.files``).

    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        shown = ", ".join(f".{f}" for f in FORMATS)
        raise DrawError("E702", f"cannot tell the format of {path}", None, f"use {shown}")
    if path.exists() and not force:
        raise DrawError("E703", f"{path} exists; pass --force to overwrite it")
    if not path.parent.is_dir():
        raise DrawError("E704", f"cannot write {path}: {path.parent} is not a directory")
    data = _pipe(graph, fmt)
    write_atomic(path, data)
    return path
