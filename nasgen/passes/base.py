"""What a pass is and what it reports: ``Pass``, ``Change``.

Pipeline stage: IR passes (IR -> **IR**). Imports ``nasgen.ir``.

A pass rewrites an ``IRGraph`` in place and returns the changes it made, one ``Change`` per
node it removed, merged or folded, so that ``--explain`` can say what happened and where
(cell and block). A pass declares the forms it is valid in: ``train`` passes keep every
parameter the paper counts (names and totals), ``inference`` passes may remove or fold weights.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nasgen.ir import IRGraph, IRNode

__all__ = ["FORMS", "Change", "Pass", "change"]

FORMS = ("train", "inference")


@dataclass(frozen=True, slots=True)
class Change:
    """One rewrite: ``node`` was removed, merged into ``into``, or folded (``kind``)."""

    kind: str
    node: str
    op: str
    cell: str | None
    block: str | None
    into: str | None = None
    detail: str = ""

    def render(self) -> str:
        """One line for ``--explain``."""
        where = ".".join(p for p in (self.cell, self.block) if p) or self.node
        target = f" into {self.into}" if self.into else ""
        detail = f" ({self.detail})" if self.detail else ""
        return f"{where}: {self.kind} {self.op} {self.node}{target}{detail}"


def change(kind: str, node: IRNode, into: str | None = None, detail: str = "") -> Change:
    """A ``Change`` about ``node``."""
    return Change(kind, node.id, node.op, node.cell, node.block, into, detail)


@dataclass(frozen=True, slots=True)
class Pass:
    """A named rewrite with the forms it is valid in; ``run`` mutates the graph."""

    name: str
    forms: tuple[str, ...]
    run: Callable[[IRGraph], list[Change]]
    doc: str
