"""Foreign genotype formats: DARTS, NAS-Bench-201 (both ways) and TF-slim cell lists (in).

TF-slim / TF-TPU cells are ``operations``, ``hiddenstate_indices`` and ``used_hiddenstates``.

Pipeline stage: front end (foreign text -> **AST**, AST -> foreign text). Imports
``nasgen.errors`` and ``nasgen.dsl.ast``.

A ``Genotype(...)`` string is read with Python's own *parser* (``ast.parse``) and interpreted
node by node as data: lists, tuples, strings, integers and ``range(a, b)``. Nothing is
evaluated, so a string holding code is refused, never run. TF cell lists are read the same way,
from JSON or from the Python assignments of ``nasnet_utils.py`` / ``model_specs.py``.
"""

from __future__ import annotations

import ast as pyast
import json
import re
import textwrap

from nasgen.dsl.ast import (
    Block,
    CellDef,
    ConventionDef,
    Ident,
    Module,
    NetworkDef,
    OpCall,
    Output,
    Setting,
    StateRef,
    VariantDef,
)
from nasgen.errors import DslSyntaxError, did_you_mean

__all__ = [
    "export_darts",
    "export_nb201",
    "import_darts",
    "import_nb201",
    "import_tfslim",
    "split_genotypes",
]

_DARTS_NETWORK = (
    ("N", 6), ("F", 36), ("stem", "conv3x3"), ("stem_multiplier", 3), ("aux_head", "darts_cifar"),
    ("drop_path", 0.2), ("head", "gap"), ("classes", 10), ("input_size", 32),
)  # fmt: skip
_DARTS_IMAGENET = (
    ("N", 4), ("F", 48), ("stem", "darts_imagenet"), ("aux_head", "darts_imagenet"),
    ("drop_path", 0.0), ("classes", 1000), ("input_size", 224),
)  # fmt: skip
_NB201_NETWORK = (
    ("N", 5), ("F", 16), ("reduction_mode", "resnet_block"), ("head", "bn_relu_gap"),
    ("classes", 10), ("input_size", 32),
)  # fmt: skip


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


def _settings(pairs: tuple[tuple[str, object], ...]) -> tuple[Setting, ...]:
    return tuple(Setting(k, Ident(v) if isinstance(v, str) else v) for k, v in pairs)  # type: ignore[arg-type]


def _bad(message: str) -> DslSyntaxError:
    return DslSyntaxError("E120", message, hint="expected Genotype(normal=[(op, input), ...], ...)")


def _literal(node: pyast.expr) -> object:
    """Interpret a literal expression as data (lists, tuples, str, int, range); never evaluate."""
    if isinstance(node, pyast.Constant) and isinstance(node.value, str | int):
        return node.value
    if isinstance(node, pyast.List | pyast.Tuple):
        return [_literal(e) for e in node.elts]
    if isinstance(node, pyast.Dict) and all(isinstance(k, pyast.Constant) for k in node.keys):
        return {k.value: _literal(v) for k, v in zip(node.keys, node.values, strict=True)}  # type: ignore[union-attr]
    if (
        isinstance(node, pyast.Call)
        and isinstance(node.func, pyast.Name)
        and node.func.id in ("range", "list")
        and not node.keywords
    ):
        args = [_literal(a) for a in node.args]
        if node.func.id == "list" and len(args) == 1 and isinstance(args[0], list):
            return args[0]
        ints = [a for a in args if isinstance(a, int)]
        if node.func.id == "range" and len(ints) == len(args) and 1 <= len(ints) <= 2:
            return list(range(*ints))
    raise _bad(f"not a genotype literal: {pyast.unparse(node)[:60]!r}")


def _state(index: int, blocks_before: int) -> str:
    if index == 0:
        return "h_prev"
    if index == 1:
        return "h"
    if 2 <= index < blocks_before + 2:
        return f"b{index - 1}"
    raise _bad(f"input index {index} refers to no earlier state")


def _darts_cell(name: str, pairs: object, concat: object) -> CellDef:
    if not isinstance(pairs, list) or len(pairs) % 2 or not pairs:
        raise _bad(f"{name}: expected an even, non-empty list of (op, input) pairs")
    blocks = []
    for i in range(0, len(pairs), 2):
        ops = []
        for pair in pairs[i : i + 2]:
            if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
                raise _bad(f"{name}: {pair!r} is not an (op, input) pair")
            if not isinstance(pair[1], int):
                raise _bad(f"{name}: input of {pair[0]} is not an integer")
            ops.append(OpCall(pair[0], StateRef(_state(pair[1], i // 2))))
        blocks.append(Block(f"b{i // 2 + 1}", "add", tuple(ops)))
    if not isinstance(concat, list) or not all(isinstance(c, int) for c in concat):
        raise _bad(f"{name}_concat must be a list of integers")
    states = tuple(StateRef(_state(int(c), len(blocks))) for c in concat)
    return CellDef(
        name, (StateRef("h_prev"), StateRef("h")), tuple(blocks), Output("concat", states)
    )


def split_genotypes(text: str) -> list[tuple[str | None, str]]:
    """Every ``[NAME =] Genotype(...)`` in a text (a file may hold many), as (name, call text)."""
    out: list[tuple[str | None, str]] = []
    for match in re.finditer(r"(?:([A-Za-z_]\w*)\s*=\s*)?(Genotype\s*\()", text):
        start, depth = match.start(2), 0
        for j in range(match.end(2) - 1, len(text)):
            depth += {"(": 1, ")": -1}.get(text[j], 0)
            if depth == 0:
                out.append((match.group(1), text[start : j + 1]))
                break
        else:
            raise _bad("unbalanced parentheses in Genotype(...)")
    return out


def import_darts(text: str, name: str = "imported") -> Module:
    """A DARTS-family ``Genotype(normal=..., normal_concat=..., reduce=..., reduce_concat=...)``."""
    try:
        tree = pyast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        raise _bad(f"not a Genotype(...) expression: {err.msg}") from None
    call = tree.body
    if not (
        isinstance(call, pyast.Call)
        and isinstance(call.func, pyast.Name)
        and call.func.id == "Genotype"
    ):
        raise _bad("expected a Genotype(...) call")
    fields = ["normal", "normal_concat", "reduce", "reduce_concat"]
    values: dict[str, object] = dict(zip(fields, (_literal(a) for a in call.args), strict=False))
    for kw in call.keywords:
        if kw.arg not in fields:
            raise _bad(f"unknown Genotype field {kw.arg!r}")
        values[kw.arg] = _literal(kw.value)
    if set(values) != set(fields):
        raise _bad(f"Genotype needs {', '.join(fields)}")
    cells = (
        _darts_cell("normal", values["normal"], values["normal_concat"]),
        _darts_cell("reduction", values["reduce"], values["reduce_concat"]),
    )
    variant = VariantDef("imagenet", _settings(_DARTS_IMAGENET))
    network = NetworkDef(_settings(_DARTS_NETWORK))
    return Module(1, name, None, ConventionDef("darts"), cells, network, (variant,))


def import_nb201(text: str, name: str = "nb201") -> Module:
    """A NAS-Bench-201 string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``."""
    nodes = text.strip().split("+")
    blocks = []
    for j, node in enumerate(nodes, start=1):
        if not (node.startswith("|") and node.endswith("|")):
            raise DslSyntaxError("E121", f"node {j} is not |op~i|...|: {node!r}")
        ops = []
        for edge in node.strip("|").split("|"):
            op, sep, src = edge.partition("~")
            if not sep or not src.isdigit() or int(src) >= j or not op:
                raise DslSyntaxError("E121", f"bad edge {edge!r} in node {j}")
            ops.append(OpCall(op, StateRef("x" if src == "0" else f"n{src}")))
        blocks.append(Block(f"n{j}", "add", tuple(ops)))
    if not blocks:
        raise DslSyntaxError("E121", "empty NAS-Bench-201 string")
    cell = CellDef(
        "normal", (StateRef("x"),), tuple(blocks), Output(None, (StateRef(blocks[-1].name),))
    )
    return Module(
        1, name, None, ConventionDef("nb201"), (cell,), NetworkDef(_settings(_NB201_NETWORK))
    )


def _tf_bad(message: str) -> DslSyntaxError:
    return DslSyntaxError(
        "E124",
        message,
        hint="expected operations, hiddenstate_indices and used_hiddenstates lists (TF-slim "
        "nasnet_utils.py), as JSON or Python assignments, for one cell or {normal, reduce}",
    )


def _tf_groups(data: dict[str, object]) -> list[dict[str, object]]:
    raw = data.get("source_raw", data)  # a genotypes.json entry
    if not isinstance(raw, dict):
        raise _tf_bad("source_raw must be an object")
    if "normal" in raw or "reduce" in raw:
        return [raw.get("normal"), raw.get("reduce")]  # type: ignore[list-item]
    return [raw]


def _tf_cells(text: str) -> list[dict[str, object]]:
    """The cell dicts of a TF-slim text: JSON / a dict literal, or Python assignments."""
    try:
        data = json.loads(text)
    except ValueError:
        pass
    else:
        if not isinstance(data, dict):
            raise _tf_bad("the JSON must be an object")
        return _tf_groups(data)
    try:
        tree = pyast.parse(textwrap.dedent(text).strip(), mode="exec")
    except SyntaxError as err:
        raise _tf_bad(f"not JSON or Python assignments: {err.msg} (line {err.lineno})") from None
    groups: list[dict[str, object]] = []
    for stmt in tree.body:
        if isinstance(stmt, pyast.Expr) and isinstance(stmt.value, pyast.Dict):
            literal = _literal(stmt.value)
            assert isinstance(literal, dict)
            groups += _tf_groups(literal)
        elif (
            isinstance(stmt, pyast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], pyast.Name | pyast.Attribute)
        ):
            target = stmt.targets[0]
            key = target.id if isinstance(target, pyast.Name) else target.attr
            if key not in _TF_KEYS:
                continue
            if not groups or key in groups[-1]:
                groups.append({})
            groups[-1][key] = _literal(stmt.value)
        else:
            raise _tf_bad(f"unexpected statement at line {stmt.lineno}")
    if not groups or len(groups) > 2 or not all(isinstance(g, dict) for g in groups):
        raise _tf_bad(f"expected one or two cells, found {len(groups)}")
    return groups


def _tf_state(index: object, blocks_before: int, where: str) -> str:
    # TF's hidden-state list is [h_i, h_{i-1}, block outputs...]: 0 and 1 are swapped here.
    if not isinstance(index, int) or isinstance(index, bool):
        raise _tf_bad(f"{where}: hidden-state index {index!r} is not an integer")
    if index in (0, 1):
        return ("h", "h_prev")[index]
    if 2 <= index < blocks_before + 2:
        return f"b{index - 1}"
    raise _tf_bad(f"{where}: hidden-state index {index} refers to no earlier state")


def _tf_cell(name: str, raw: dict[str, object]) -> CellDef:
    missing = [k for k in _TF_KEYS if k not in raw]
    if missing:
        raise _tf_bad(f"{name} cell: missing {', '.join(missing)}")
    ops, indices, used = (raw[k] for k in _TF_KEYS)
    if not (isinstance(ops, list) and isinstance(indices, list) and isinstance(used, list)):
        raise _tf_bad(
            f"{name} cell: operations, hiddenstate_indices, used_hiddenstates must be lists"
        )
    if not ops or len(ops) % 2 or len(indices) != len(ops) or len(used) != len(ops) // 2 + 2:
        raise _tf_bad(
            f"{name} cell: {len(ops)} operations, {len(indices)} indices and {len(used)} "
            "used flags; expected 2 per block, 2 per block and blocks + 2"
        )
    blocks = []
    for i in range(0, len(ops), 2):
        calls = []
        for op, index in zip(ops[i : i + 2], indices[i : i + 2], strict=True):
            if op not in _TF_OPS:
                raise DslSyntaxError(
                    "E124",
                    f"{name} cell: unknown TF op {op!r}",
                    hint=did_you_mean(str(op), _TF_OPS) or f"known: {', '.join(_TF_OPS)}",
                )
            calls.append(OpCall(_TF_OPS[op], StateRef(_tf_state(index, i // 2, name))))
        blocks.append(Block(f"b{i // 2 + 1}", "add", tuple(calls)))
    if any(flag not in (0, 1) for flag in used):
        raise _tf_bad(f"{name} cell: used_hiddenstates must hold 0 and 1")
    names = ["h", "h_prev"] + [b.name for b in blocks]
    states = tuple(StateRef(n) for n, flag in zip(names, used, strict=True) if flag == 0)
    if not states:
        raise _tf_bad(f"{name} cell: every state is marked used; nothing to concatenate")
    return CellDef(
        name, (StateRef("h_prev"), StateRef("h")), tuple(blocks), Output("concat", states)
    )


def import_tfslim(text: str, name: str = "imported", convention: str | None = None) -> Module:
    """TF-slim / TF-TPU cell lists: one cell (PNASNet, used with stride 2) or normal + reduce.

    The output concatenates the states ``used_hiddenstates`` marks 0, in TF's order; the
    convention is ``tf_amoeba`` when a TF-TPU-only op appears, else ``tf_slim``.
    """
    raws = _tf_cells(text)
    cells = tuple(_tf_cell(n, raw) for n, raw in zip(("normal", "reduction"), raws, strict=False))
    used = {call.op for cell in cells for block in cell.blocks for call in block.ops}
    tpu_only = used & {_TF_OPS[op] for op in _TF_TPU_ONLY}
    preset = convention or ("tf_amoeba" if tpu_only else "tf_slim")
    variants: tuple[VariantDef, ...] = ()
    if len(cells) == 1:
        network = NetworkDef(_settings(_TF_ONE_CELL))
    else:
        network = NetworkDef(_settings(_TF_CIFAR))
        variants = (VariantDef("mobile", _settings(_TF_MOBILE)),)
    return Module(1, name, None, ConventionDef(preset), cells, network, variants)


def _index(cell: CellDef, state: str) -> int:
    names = [r.name for r in cell.inputs] + [b.name for b in cell.blocks]
    return names.index(state)


def _darts_pairs(cell: CellDef) -> tuple[str, str]:
    pairs = []
    for block in cell.blocks:
        if block.combine != "add" or len(block.ops) != 2 or any(op.params for op in block.ops):
            raise DslSyntaxError(
                "E122", f"block {block.name} is not add(op(x), op(y)); no DARTS form"
            )
        pairs += [f"('{op.op}', {_index(cell, op.input.name)})" for op in block.ops]
    if cell.output is None or cell.output.combine is None:
        raise DslSyntaxError("E122", f"cell {cell.name} has no explicit concat output")
    concat = [_index(cell, s.name) for s in cell.output.states]
    return f"[{', '.join(pairs)}]", f"{concat}"


def export_darts(module: Module, normal: str = "normal", reduction: str = "reduction") -> str:
    """The DARTS ``Genotype(...)`` string of a two-cell module."""
    cells = {c.name: c for c in module.cells}
    if normal not in cells or reduction not in cells:
        raise DslSyntaxError("E122", f"needs cells {normal!r} and {reduction!r}")
    n, nc = _darts_pairs(cells[normal])
    r, rc = _darts_pairs(cells[reduction])
    return f"Genotype(normal={n}, normal_concat={nc}, reduce={r}, reduce_concat={rc})"


def export_nb201(module: Module) -> str:
    """The NAS-Bench-201 string of a one-input cell whose output is its last node."""
    (cell,) = [c for c in module.cells if len(c.inputs) == 1] or [None]  # type: ignore[list-item]
    if cell is None:
        raise DslSyntaxError("E122", "no one-input (NB-201) cell")
    names = [cell.inputs[0].name] + [b.name for b in cell.blocks]
    parts = []
    for block in cell.blocks:
        edges = [f"{op.op}~{names.index(op.input.name)}" for op in block.ops]
        parts.append("|" + "|".join(edges) + "|")
    return "+".join(parts)
