"""The pass manager: run the passes of an optimisation level to a fixed point.

Pipeline stage: IR passes (lower -> validate -> **passes** -> validate -> backend). Imports
``nasgen.errors``, ``nasgen.ir`` and the pass modules.

Levels: ``0`` runs nothing; ``1`` runs every pass valid in the requested form, in the order
below, repeatedly until a whole round changes nothing. The input graph is never modified; the
result is a new graph plus the record of every change, pass by pass (``--explain``). With
``check`` the IR is validated after every pass that changed something (tests and debugging).
"""

from __future__ import annotations

from dataclasses import dataclass

from nasgen.errors import PassError
from nasgen.ir import CostReport, IRGraph, estimate, validate
from nasgen.passes.base import FORMS, Change, Pass
from nasgen.passes.bn_fold import BN_FOLD
from nasgen.passes.cse import CSE
from nasgen.passes.dead_state import DEAD_STATE
from nasgen.passes.identity_fold import IDENTITY_FOLD
from nasgen.passes.relu_share import RELU_SHARE
from nasgen.passes.zero_ops import ZERO_OPS

__all__ = ["LEVELS", "PASSES", "Optimized", "PassRecord", "count_ops", "optimize"]

PASSES: tuple[Pass, ...] = (DEAD_STATE, ZERO_OPS, IDENTITY_FOLD, CSE, RELU_SHARE, BN_FOLD)
"""Every pass, in the order a round runs them."""
LEVELS = (0, 1)
_MAX_ROUNDS = 16


@dataclass(frozen=True, slots=True)
class PassRecord:
    """What one pass did in one round."""

    name: str
    round: int
    changes: tuple[Change, ...]


@dataclass(frozen=True, slots=True)
class Optimized:
    """The optimised graph, its cost, and what every pass changed."""

    graph: IRGraph
    cost: CostReport
    records: tuple[PassRecord, ...]
    level: int
    form: str
    nodes_before: int
    params_before: int
    ops_before: int
    skipped: frozenset[str] = frozenset()

    def changes(self) -> list[Change]:
        """Every change, in the order made."""
        return [c for r in self.records for c in r.changes]

    def explain(self) -> str:
        """The ``--explain`` report: each pass, then what it changed, grouped by cell."""
        head = f"optimisation level {self.level}, {self.form} form"
        if self.level == 0:
            return head + ": no passes run\n"
        lines = [
            f"{head}: {self.nodes_before} -> {len(self.graph)} nodes, "
            f"{self.ops_before} -> {count_ops(self.graph)} ops (nodes + ReLUs inside ops), "
            f"{self.params_before:,} -> {self.cost.params:,} parameters"
        ]
        by_pass: dict[str, list[Change]] = {
            p.name: [] for p in PASSES if self.form in p.forms and p.name not in self.skipped
        }
        for record in self.records:
            by_pass[record.name].extend(record.changes)
        for name, changes in by_pass.items():
            kinds: dict[str, int] = {}
            for c in changes:
                kinds[c.kind] = kinds.get(c.kind, 0) + 1
            summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "no change"
            lines.append(f"{name}: {summary}")
            lines.extend(f"  {c.render()}" for c in changes)
        return "\n".join(lines) + "\n"


def optimize(
    graph: IRGraph,
    level: int = 1,
    form: str = "train",
    check: bool = False,
    skip: frozenset[str] = frozenset(),
) -> Optimized:
    """Run the passes of ``level`` valid in ``form`` on a copy of ``graph`` to a fixed point.

    ``skip`` names passes to leave out (the ONNX exporter folds BatchNorm itself, from the
    unfolded weights, so it skips ``bn_fold``).
    """
    if level not in LEVELS:
        raise PassError("E401", f"unknown optimisation level {level}", hint="use 0 or 1")
    if form not in FORMS:
        raise PassError("E402", f"unknown form {form!r}", hint=f"one of {', '.join(FORMS)}")
    out = graph.copy()
    records: list[PassRecord] = []
    passes = [p for p in PASSES if form in p.forms and p.name not in skip] if level else []
    for round_ in range(1, _MAX_ROUNDS + 1):
        changed = False
        for p in passes:
            changes = p.run(out)
            if changes:
                changed = True
                records.append(PassRecord(p.name, round_, tuple(changes)))
                if check:
                    validate(out)
        if not changed:
            break
    else:  # pragma: no cover - every pass only removes nodes, so rounds are bounded
        raise PassError("E403", f"passes did not reach a fixed point in {_MAX_ROUNDS} rounds")
    before = estimate(graph).params
    return Optimized(
        out,
        estimate(out),
        tuple(records),
        level,
        form,
        len(graph),
        before,
        count_ops(graph),
        frozenset(skip),
    )


def count_ops(graph: IRGraph) -> int:
    """Kernels a backend runs: IR nodes plus the ReLU each op applies to its input first."""
    relus = 0
    for node in graph.nodes():
        attr = node.op_def.relu_attr
        relus += attr is not None and node.attrs.get_bool(attr, True)
    return len(graph) + relus
