"""The seams of a search: proposals, results, and the strategy / evaluator / executor protocols.

Pipeline stage: search. Imports nothing from nasgen but ``nasgen.errors``; never a framework.

NOTE: [Who knows what] A *strategy* turns results into new choice vectors and knows nothing of
processes, files or time; its ``state_dict`` is JSON data, so the journal can store it and a
resumed search rebuilds it exactly. An *evaluator* turns ``.cell`` text into metrics; the
same (text, seed) gives the same metrics. An *executor* runs evaluations somewhere (in this
process, a process pool, Ray) and hands back finished ones. The *loop* owns the journal and
is the only writer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "Evaluation",
    "Evaluator",
    "Executor",
    "Proposal",
    "Strategy",
    "Told",
]


@dataclass(frozen=True, slots=True)
class Proposal:
    """One architecture a strategy asked for: its trial number, choices, text and hash."""

    trial: int
    choices: tuple[int, ...]
    text: str
    arch_hash: str


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What an evaluator says of one architecture.

    ``metrics`` holds every number it reports (the reward is one of them, named by the
    search's ``--metric``); ``cost`` is the simulated seconds a tabular benchmark charges for
    it (0 when the evaluator has no such notion); ``error`` is set when the evaluation failed.
    """

    metrics: Mapping[str, float] = field(default_factory=dict)
    cost: float = 0.0
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Told:
    """A result as a strategy sees it: the proposal and its reward (None: failed/rejected)."""

    proposal: Proposal
    reward: float | None


class Strategy(Protocol):
    """Asks for choice vectors and learns from rewards; resumable through ``state_dict``."""

    name: str

    def ask(self) -> tuple[int, ...]:
        """The next choice vector to try."""
        ...

    def tell(self, told: Told) -> None:
        """The outcome of an earlier ``ask`` (told in proposal order)."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """JSON-serialisable state; ``load_state_dict`` of it gives the same future."""
        ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a state written by ``state_dict``."""
        ...


class Evaluator(Protocol):
    """Turns .cell text into metrics."""

    @property
    def name(self) -> str:
        """The evaluator's spec, e.g. ``table:nb201``."""
        ...

    @property
    def metrics(self) -> Sequence[str]:
        """Every metric it reports, the default reward first."""
        ...

    def evaluate(self, text: str, seed: int) -> Evaluation:
        """Metrics of the architecture ``text``; raise ``NasgenError`` or return an error."""
        ...


class Executor(Protocol):
    """Runs evaluations and hands back the finished ones, in any order."""

    def submit(self, trial: int, text: str, seed: int) -> None:
        """Start evaluating ``text`` as trial ``trial``."""
        ...

    def poll(self, timeout: float | None = None) -> list[tuple[int, Evaluation, float, str]]:
        """Finished trials: (trial, evaluation, seconds, worker). Waits up to ``timeout``."""
        ...

    def pending(self) -> int:
        """Trials submitted and not yet handed back."""
        ...

    def close(self) -> None:
        """Stop the workers."""
        ...
