"""Printer: AST -> canonical .cell text (``parse(print(m)) == m`` for every module).

Pipeline stage: front end (**AST -> text**). Imports ``nasgen.dsl.ast`` only.

Canonical form: header, name, source, convention, op lists (one a line), cells, space cells,
network, variants, each separated by a blank line; two-space indentation; one setting or block
a line; strings JSON-escaped; floats in Python's shortest round-trip spelling. Comments are not
part of the AST and are not printed.
"""

from __future__ import annotations

import json

from nasgen.dsl.ast import (
    Block,
    CellDef,
    Choice,
    ConventionDef,
    Ident,
    Module,
    NameList,
    Numbers,
    OpCall,
    OpList,
    Output,
    Setting,
    SpaceCellDef,
    SpaceDesignDef,
    SpaceValue,
    Value,
)

__all__ = ["print_cell", "print_module", "print_space_cell", "print_space_value", "print_value"]


def print_value(value: Value) -> str:
    """One value as the language spells it."""
    if isinstance(value, Ident):
        return value.name
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):  # never produced by the parser; keep printing total
        return "true" if value else "false"
    if isinstance(value, Numbers):
        return f"[{', '.join(repr(v) for v in value.values)}]"
    return repr(value)


def _setting(s: Setting) -> str:
    return f"{s.key} = {print_value(s.value)}"


def _settings_block(head: str, settings: tuple[Setting, ...]) -> list[str]:
    return [f"{head} {{", *(f"  {_setting(s)}" for s in settings), "}"]


def _op(call: OpCall) -> str:
    args = [call.input.name, *(f"{s.key}={print_value(s.value)}" for s in call.params)]
    return f"{call.op}({', '.join(args)})"


def _block(block: Block) -> str:
    ops = ", ".join(_op(c) for c in block.ops)
    rhs = f"{block.combine}({ops})" if block.combine is not None else ops
    return f"{block.name} = {rhs}"


def _output(out: Output) -> str:
    names = ", ".join(s.name for s in out.states)
    return f"output {out.combine}({names})" if out.combine is not None else f"output {names}"


def print_cell(cell: CellDef) -> str:
    """One cell definition."""
    inputs = ", ".join(r.name for r in cell.inputs)
    lines = [f"cell {cell.name}({inputs}) {{", *(f"  {_block(b)}" for b in cell.blocks)]
    if cell.output is not None:
        lines.append(f"  {_output(cell.output)}")
    lines.append("}")
    return "\n".join(lines)


def print_space_value(value: SpaceValue) -> str:
    """A space setting's value: a value, ``[a, b]`` or ``choose(2, distinct)``."""
    if isinstance(value, NameList):
        return f"[{', '.join(value.names)}]"
    if isinstance(value, Choice):
        return f"{value.name}({', '.join(print_value(a) for a in value.args)})"
    return print_value(value)


def _op_list(ops: OpList) -> str:
    return f"ops {ops.name} = {print_space_value(ops.ops)}"


def print_space_cell(cell: SpaceCellDef | SpaceDesignDef) -> str:
    """One ``space cell`` definition, or a design space's ``space stages|regnet`` block."""
    if isinstance(cell, SpaceDesignDef):
        lines = [f"space {cell.kind} {{"]
    else:
        inputs = ", ".join(r.name for r in cell.inputs)
        lines = [f"space cell {cell.name}({inputs}) {{"]
    lines += [f"  {s.key} = {print_space_value(s.value)}" for s in cell.settings]
    return "\n".join([*lines, "}"])


def _convention(conv: ConventionDef) -> str:
    if not conv.rules:
        return f"convention {conv.preset}"
    return "\n".join(_settings_block(f"convention {conv.preset}", conv.rules))


def print_module(module: Module) -> str:
    """The canonical text of a whole file."""
    sections = [f"nasgen {module.version}"]
    meta = []
    if module.name is not None:
        meta.append(f"name {print_value(module.name)}")
    if module.source is not None:
        meta.append(f"source {print_value(module.source)}")
    if meta:
        sections.append("\n".join(meta))
    if module.convention is not None:
        sections.append(_convention(module.convention))
    if module.op_lists:
        sections.append("\n".join(_op_list(o) for o in module.op_lists))
    sections += [print_cell(c) for c in module.cells]
    sections += [print_space_cell(c) for c in module.space_cells]
    if module.design is not None:
        sections.append(print_space_cell(module.design))
    if module.network is not None:
        sections.append("\n".join(_settings_block("network", module.network.settings)))
    sections += [
        "\n".join(_settings_block(f"variant {v.name}", v.settings)) for v in module.variants
    ]
    return "\n\n".join(sections) + "\n"
