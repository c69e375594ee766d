"""The result of a semantic diff and its two renderings: readable text and JSON.

Pipeline stage: review. Imports nothing from nasgen; ``semantic_diff`` fills these records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["ArchDiff", "BlockChange", "CellDiff", "CostDelta", "SettingChange", "Value"]

Value = str | int | float | bool | None

_TEMPLATES = {
    "op": "block {block}: op {a} -> {b} on input {on}",
    "input": "block {block}: input of {on} {a} -> {b}",
    "operand": "block {block}: operand {a} -> {b}",
    "operand_added": "block {block}: operand {b} added",
    "operand_removed": "block {block}: operand {a} removed",
    "order": "block {block}: operand order {a} -> {b}",
    "combine": "block {block}: combine {a} -> {b}",
    "block_added": "block {block} added: {b}",
    "block_removed": "block {block} removed: {a}",
    "output": "output {a} -> {b}",
    "inputs": "inputs ({a}) -> ({b})",
    "last_block": "last block (its width is what output_adapt matches) {a} -> {b}",
    "cell_added": "only B's network uses a {on} cell ({b})",
    "cell_removed": "only A's network uses a {on} cell ({a})",
}


@dataclass(frozen=True, slots=True)
class BlockChange:
    """One difference inside a cell.

    Attributes:
        kind: ``op``, ``input``, ``operand``, ``operand_added``, ``operand_removed``, ``order``,
            ``combine``, ``block_added``, ``block_removed``, ``output``, ``inputs``,
            ``last_block``, ``cell_added`` or ``cell_removed``.
        block: the block (A's name; B's where only B has it), None for cell-level changes.
        a: A's side as text; b: B's side.
        on: the input an ``op`` change reads, the op an ``input`` change feeds.

    """

    kind: str
    block: str | None
    a: str | None
    b: str | None
    on: str | None = None

    def text(self) -> str:
        """One line of the report."""
        return _TEMPLATES[self.kind].format(block=self.block, a=self.a, b=self.b, on=self.on)

    def to_json(self) -> dict[str, Value]:
        """The change as JSON-ready data."""
        return {"kind": self.kind, "block": self.block, "a": self.a, "b": self.b, "on": self.on}


@dataclass(frozen=True, slots=True)
class CellDiff:
    """The cell one role of the network uses, in A and in B.

    Attributes:
        role: ``normal``, ``reduction`` or ``stem_cell``.
        a: the cell's name in A (None when only B's network uses the role); b: in B.
        equivalent: equal cell fingerprints.
        changes: the differences, blocks in A's order, then B's new blocks and the output.
        renamed: (A name, B name) of matched states whose names differ.

    """

    role: str
    a: str | None
    b: str | None
    equivalent: bool
    changes: tuple[BlockChange, ...]
    renamed: tuple[tuple[str, str], ...]

    def to_json(self) -> dict[str, Any]:
        """The cell diff as JSON-ready data."""
        return {
            "role": self.role,
            "a": self.a,
            "b": self.b,
            "equivalent": self.equivalent,
            "changes": [{**c.to_json(), "text": c.text()} for c in self.changes],
            "renamed": dict(self.renamed),
        }


@dataclass(frozen=True, slots=True)
class SettingChange:
    """A convention rule or network key whose value differs."""

    key: str
    a: Value
    b: Value

    def to_json(self) -> dict[str, Value]:
        """The change as JSON-ready data."""
        return {"key": self.key, "a": self.a, "b": self.b}


@dataclass(frozen=True, slots=True)
class CostDelta:
    """Size of both networks, each on its own skeleton (the auxiliary head apart)."""

    params_a: int
    params_b: int
    macs_a: int
    macs_b: int
    aux_params_a: int
    aux_params_b: int
    stages: tuple[tuple[str, int | None, int | None], ...]
    """(stage, params in A, params in B); None where a network has no such stage."""

    def to_json(self) -> dict[str, Any]:
        """The cost delta as JSON-ready data."""
        pairs = {"params": (self.params_a, self.params_b), "macs": (self.macs_a, self.macs_b)}
        pairs["aux_params"] = (self.aux_params_a, self.aux_params_b)
        out: dict[str, Any] = {k: {"a": a, "b": b, "delta": b - a} for k, (a, b) in pairs.items()}
        out["stages"] = [{"stage": s, "params_a": a, "params_b": b} for s, a, b in self.stages]
        return out


@dataclass(frozen=True, slots=True)
class ArchDiff:
    """The semantic difference between architectures A and B.

    Attributes:
        a: A's source path; b: B's.
        hash_a: A's ``architecture_hash``; hash_b: B's.
        skeleton_a: A's skeleton in words (``N=4, F=44, 3x224x224``); skeleton_b: B's.
        convention: the convention rules that differ.
        network: the network settings that differ (not cell names: cells pair by role).
        cells: one entry per role either network uses.
        cost: parameters and MACs of both.

    """

    a: str
    b: str
    hash_a: str
    hash_b: str
    skeleton_a: str
    skeleton_b: str
    convention: tuple[SettingChange, ...]
    network: tuple[SettingChange, ...]
    cells: tuple[CellDiff, ...]
    cost: CostDelta

    @property
    def equivalent(self) -> bool:
        """True when both compile to the same network (equal fingerprints)."""
        return self.hash_a == self.hash_b

    def count(self) -> int:
        """Number of reported differences."""
        return len(self.convention) + len(self.network) + sum(len(c.changes) for c in self.cells)

    def render_text(self) -> str:
        """A readable report: the verdict, one change a line, then the cost."""
        lines = [f"A: {self.a}  {self.hash_a}", f"B: {self.b}  {self.hash_b}"]
        if self.equivalent:
            lines.append("equivalent: both compile to the same network")
        else:
            lines.append(f"different: {self.count()} change(s)")
        for title, settings in (("convention", self.convention), ("network", self.network)):
            if settings:
                lines.append(f"{title}:")
                lines += [f"  {s.key}: {_show(s.a)} -> {_show(s.b)}" for s in settings]
        for cell in self.cells:
            lines += _render_cell(cell)
        return "\n".join([*lines, *_render_cost(self)])

    def to_json(self) -> dict[str, Any]:
        """The diff as JSON-ready data (``nasgen diff --json``)."""
        return {
            "a": self.a,
            "b": self.b,
            "equivalent": self.equivalent,
            "fingerprint": {"a": self.hash_a, "b": self.hash_b},
            "skeleton": {"a": self.skeleton_a, "b": self.skeleton_b},
            "convention": [c.to_json() for c in self.convention],
            "network": [c.to_json() for c in self.network],
            "cells": [c.to_json() for c in self.cells],
            "cost": self.cost.to_json(),
        }


def _show(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "(unset)" if value is None else str(value)


def _render_cell(cell: CellDiff) -> list[str]:
    if cell.equivalent and not cell.renamed:
        return []
    name = cell.a if cell.a == cell.b or cell.b is None else f"{cell.a} (B: {cell.b})"
    head = f"cell {cell.role}" if name == cell.role else f"cell {cell.role} = {name}"
    lines = [f"{head}:", *(f"  {c.text()}" for c in cell.changes)]
    if cell.renamed:
        lines.append("  states renamed: " + ", ".join(f"{a} -> {b}" for a, b in cell.renamed))
    return lines


def _delta(a: int, b: int) -> str:
    return f"{a:,} -> {b:,} ({b - a:+,})" if a != b else f"{a:,} (unchanged)"


def _render_cost(diff: ArchDiff) -> list[str]:
    cost = diff.cost
    same = diff.skeleton_a == diff.skeleton_b
    where = diff.skeleton_a if same else f"A: {diff.skeleton_a}; B: {diff.skeleton_b}"
    lines = [f"cost ({where}):", f"  params  {_delta(cost.params_a, cost.params_b)}"]
    lines.append(f"  MACs    {_delta(cost.macs_a, cost.macs_b)}")
    if cost.aux_params_a or cost.aux_params_b:
        aux = _delta(cost.aux_params_a, cost.aux_params_b)
        lines.append(f"  aux     {aux}, auxiliary head (not in params)")
    return lines
