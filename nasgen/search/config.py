"""A search's configuration: what the journal stores so that ``--resume`` needs nothing else.

Pipeline stage: search. Imports ``nasgen.errors`` only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from nasgen.errors import NasgenError

__all__ = ["Constraints", "SearchConfig"]


@dataclass(frozen=True, slots=True)
class Constraints:
    """Static bounds on params and MACs, checked on the IR before anything is evaluated."""

    min_params: int | None = None
    max_params: int | None = None
    min_macs: int | None = None
    max_macs: int | None = None

    def violation(self, params: int, macs: int) -> str | None:
        """Why a network of this cost is outside the bounds, or None."""
        for low, high, value, what in (
            (self.min_params, self.max_params, params, "params"),
            (self.min_macs, self.max_macs, macs, "MACs"),
        ):
            if low is not None and value < low:
                return f"{value:,} {what} is below the bound {low:,}"
            if high is not None and value > high:
                return f"{value:,} {what} is above the bound {high:,}"
        return None

    def describe(self) -> str:
        """The bounds in words (empty when there are none)."""
        parts = [
            f"{name.replace('_', ' ')} {value:,}"
            for name, value in asdict(self).items()
            if value is not None
        ]
        return ", ".join(parts)


MAX_IDLE_PROPOSALS = 10_000
"""Consecutive proposals that are duplicates or rejected before a search gives up (default)."""


@dataclass(frozen=True, slots=True)
class SearchConfig:
    """Everything that defines a search (the space's text included)."""

    space_text: str
    space_name: str
    strategy: str
    evaluator: str
    metric: str
    seed: int
    budget: int | None
    time_budget: float | None = None
    params: dict[str, Any] = field(default_factory=dict)
    workers: int = 1
    constraints: Constraints = Constraints()
    variant: str | None = None
    blocks: int | None = None
    top_k: int = 5
    count_duplicates: bool = False  # a duplicate counts against the budget (NB-201's loops)
    device: str = "cpu"  # where a one-shot method trains its supernet
    max_idle: int = MAX_IDLE_PROPOSALS  # proposals in a row duplicate or rejected: it stops

    def __post_init__(self) -> None:
        """Refuse a search that could never stop."""
        if self.budget is None and self.time_budget is None:
            raise NasgenError("E852", "a search needs --budget N or --time-budget SECONDS")
        if self.budget is not None and self.budget < 1:
            raise NasgenError("E852", "--budget must be at least 1")
        if self.count_duplicates and self.workers > 1:
            # a counted duplicate charges its original's cost, which with several workers may
            # still be running when the duplicate is proposed: the charge would depend on timing
            raise NasgenError(
                "E852", "--count-duplicates runs with one worker", hint="drop --workers"
            )

    def to_json(self) -> dict[str, Any]:
        """As JSON data (``from_json`` reads it back)."""
        data = asdict(self)
        data["constraints"] = asdict(self.constraints)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SearchConfig:
        """Read a configuration stored by ``to_json``."""
        try:
            fields = dict(data)
            fields["constraints"] = Constraints(**fields.get("constraints", {}))
            return cls(**fields)
        except TypeError as err:
            raise NasgenError(
                "E842", f"the journal's configuration is not readable ({err})"
            ) from None

    def eval_seed(self, trial: int) -> int:
        """The seed of one trial's evaluation: fixed by the search seed and the trial."""
        return (self.seed * 1_000_003 + trial) % 2**32
