"""The search loop: ask, check statically, evaluate, tell, journal; resumable after any crash.

Pipeline stage: search. Imports ``nasgen.api``, ``nasgen.review``, ``nasgen.space`` and the
rest of ``nasgen.search``; never a framework itself.

NOTE: [Deterministic with any number of workers] Results are told to the strategy in proposal
order, and trial ``t`` is asked when exactly trials ``0 .. t - workers`` have been told (every
ask the told count allows comes before the next tell), so what a strategy sees, and
therefore what it asks, depends on the seed alone, never on which worker finished first or
how many results one poll brought back. A resumed search restores the strategy's last state
from the journal (the ask or tell it was saved with) and re-runs only the evaluations that
never finished, so it ends with the rows an uninterrupted run writes (timings and workers
aside).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from nasgen.api import CompileOptions, cost_module
from nasgen.dsl.printer import print_module
from nasgen.errors import NasgenError
from nasgen.review import architecture_hash
from nasgen.search.base import Evaluation, Executor, Proposal, Strategy, Told
from nasgen.search.config import MAX_IDLE_PROPOSALS, SearchConfig
from nasgen.search.journal import Journal, TrialRow
from nasgen.search.prefilter import StagePrefilter
from nasgen.space import SearchSpace

__all__ = ["MAX_IDLE_PROPOSALS", "Progress", "Search"]


class _OutsideError(Exception):
    """The prefilter's rejection (carries the message)."""


@dataclass(slots=True)
class Progress:
    """Where a search stands: counts, spent time, the best so far."""

    evaluated: int = 0
    started: int = 0
    rejected: int = 0
    duplicates: int = 0
    failed: int = 0
    spent: float = 0.0
    best: float | None = None
    best_trial: int | None = None
    idle: int = 0
    stopped: str | None = None
    errors: list[str] = field(default_factory=list)


class Search:
    """One search: its journal, space, strategy and executor."""

    def __init__(
        self,
        journal: Journal,
        config: SearchConfig,
        space: SearchSpace,
        strategy: Strategy,
        executor: Executor,
        has_cost: bool = False,
    ) -> None:
        """Bind the pieces; ``has_cost``: the evaluator charges simulated seconds."""
        self.journal = journal
        self.config = config
        self.space = space
        self.strategy = strategy
        self.executor = executor
        self.has_cost = has_cost
        self.options = CompileOptions(variant=config.variant)
        self.prefilter = StagePrefilter(space, self.options, config.constraints)
        self.rows: list[TrialRow] = list(journal.trials())
        self.seen: dict[str, int] = {}
        for row in self.rows:
            self.seen.setdefault(row.arch_hash, row.trial)
        self.progress = Progress()
        for row in self.rows:
            self._count(row)
            self.progress.started += row.status in ("done", "failed")
        # The idle count (proposals in a row that were duplicates or rejected) decides when a
        # search gives up, so a resumed search recounts it from the journal's tail.
        for row in reversed(self.rows):
            if row.status not in ("duplicate", "rejected"):
                break
            self.progress.idle += 1
        last = journal.last_state()
        self.asked, self.told = (last[0], last[1]) if last else (0, 0)
        if last is not None:
            strategy.load_state_dict(last[2])
        if self.asked != len(self.rows):
            raise NasgenError(
                "E844", f"{journal.path}: {len(self.rows)} trials but {self.asked} asked"
            )
        # --time-budget is checked against the told trials' charge, which depends on the seed
        # alone, not against results that happen to have arrived (see _can_ask)
        self.told_spent = sum(self._charge(r) for r in self.rows[: self.told])

    # -- bookkeeping -------------------------------------------------------------------------

    def _count(self, row: TrialRow) -> None:
        p = self.progress
        if row.status == "running":
            p.started += 1
        if row.status == "rejected":
            p.rejected += 1
        elif row.status == "duplicate":
            p.duplicates += 1
            original = self.rows[row.same_as] if row.same_as is not None else None
            if self.config.count_duplicates and original and original.status in ("done", "failed"):
                # NOTE: [Counted duplicates] NB-201's reference loops query the table again for
                # a repeat and charge it: the repeat counts as an evaluation against --budget
                # and charges the original's simulated cost (known: with one worker the
                # original was told before this was asked). It is still never evaluated again.
                p.started += 1
                p.spent += (original.cost or 0.0) if self.has_cost else 0.0
        elif row.status in ("done", "failed"):
            p.evaluated += 1
            p.spent += (row.cost or 0.0) if self.has_cost else (row.seconds or 0.0)
            if row.status == "failed":
                p.failed += 1
                if row.error and len(p.errors) < 3:
                    p.errors.append(f"trial {row.trial}: {row.error}")
            elif row.reward is not None and (p.best is None or row.reward > p.best):
                p.best, p.best_trial = row.reward, row.trial

    def _charge(self, row: TrialRow) -> float:
        """What a finished row charges against --time-budget (as ``_count`` adds it up)."""
        if row.status in ("done", "failed"):
            return (row.cost or 0.0) if self.has_cost else (row.seconds or 0.0)
        if row.status == "duplicate" and self.config.count_duplicates and row.same_as is not None:
            original = self.rows[row.same_as]
            if original.status in ("done", "failed") and self.has_cost:
                return original.cost or 0.0
        return 0.0

    def _reward(self, row: TrialRow) -> float | None:
        if row.status == "done":
            return row.reward
        if row.status == "duplicate" and row.same_as is not None:
            return self.rows[row.same_as].reward
        return None

    # -- the loop ----------------------------------------------------------------------------

    def _can_ask(self) -> bool:
        cfg, p = self.config, self.progress
        if p.stopped is not None or self.asked >= self.told + max(1, cfg.workers):
            return False
        if cfg.budget is not None and p.started >= cfg.budget:
            return False
        if cfg.time_budget is not None and self.told_spent >= cfg.time_budget:
            return False
        if p.idle >= cfg.max_idle:
            p.stopped = (
                f"{cfg.max_idle:,} proposals in a row were duplicates or rejected; the "
                "strategy has nothing new to try within the constraints"
            )
            return False
        return True

    def _advance(self) -> None:
        """Ask what the told count allows, then tell the next finished trial; repeat.

        Every ask comes before the next tell, so trial t is asked when exactly
        max(0, t - workers + 1) trials have been told, however the results arrived.
        """
        while True:
            while self._can_ask():
                self._propose()
            if not (self.told < self.asked and self.rows[self.told].finished):
                return
            row = self.rows[self.told]
            proposal = Proposal(row.trial, row.choices, row.text, row.arch_hash)
            self.strategy.tell(Told(proposal, self._reward(row)))
            self.told += 1
            self.told_spent += self._charge(row)
            self.journal.told(self.asked, self.told, self.strategy.state_dict())

    def run(self, on_progress: Callable[[Progress], None] | None = None) -> Progress:
        """Run until the budget is spent; returns the final progress."""
        for row in self.rows:
            if row.status == "running":  # started before a crash, never finished: again
                self.executor.submit(row.trial, row.text, self.config.eval_seed(row.trial))
        try:
            while True:
                self._advance()
                if self.executor.pending() == 0 and self.told == self.asked:
                    break
                for trial, result, seconds, worker in self.executor.poll(timeout=0.5):
                    self._record(trial, result, seconds, worker)
                    if on_progress is not None:
                        on_progress(self.progress)
        finally:
            self.executor.close()
        return self.progress

    def _propose(self) -> None:
        trial = self.asked
        choices = self.strategy.ask()
        params = macs = None
        module, text = None, ""
        early = self.prefilter.reject(choices)  # a design space far outside the MAC bounds
        try:
            if early is not None:
                raise _OutsideError(early)
            module = self.space.decode(choices)
            text = print_module(module)
            arch, cost = cost_module(module, self.options)
            params, macs = cost.params, cost.macs
            digest = architecture_hash(arch)
            error = self.config.constraints.violation(params, macs)
        except _OutsideError as out:  # no file built: no text, no hash
            digest, error = f"rejected:{trial}", str(out)
        except NasgenError as err:  # the skeleton cannot hold it, or no vector of the space
            what = "does not compile" if module is not None else "not a vector of this space"
            digest, error = f"invalid:{trial}", f"{what}: {err}"
        same_as = self.seen.get(digest)
        status = "duplicate" if same_as is not None else ("rejected" if error else "running")
        self.seen.setdefault(digest, trial)
        proposal = Proposal(trial, choices, text, digest)
        self.asked += 1
        kept_error = error if status == "rejected" else None
        self.journal.add(
            proposal, status, self.strategy.state_dict(), self.told,
            params=params, macs=macs, same_as=same_as, error=kept_error,
        )  # fmt: skip
        row = TrialRow(
            trial, choices, text, digest, status, same_as, params, macs, None, {}, None,
            kept_error, None, None,
        )  # fmt: skip
        self.rows.append(row)
        self._count(row)
        self.progress.idle = 0 if status == "running" else self.progress.idle + 1
        if status == "running":
            self.executor.submit(trial, text, self.config.eval_seed(trial))

    def _record(self, trial: int, result: Evaluation, seconds: float, worker: str) -> None:
        metric = self.config.metric
        reward = None
        finite = {k: float(v) for k, v in result.metrics.items() if math.isfinite(v)}
        undefined = sorted(set(result.metrics) - set(finite))
        if result.error is None:
            if metric in undefined:
                error = f"{metric} is {result.metrics[metric]} for this network (undefined)"
                result = Evaluation(finite, result.cost, error)
            elif metric not in result.metrics:
                shown = ", ".join(result.metrics) or "none"
                error = f"metric {metric!r} not reported (got {shown})"
                result = Evaluation(finite, result.cost, error)
            else:
                result = Evaluation(finite, result.cost)
                reward = finite[metric]
        self.journal.finish(trial, result, reward, seconds, worker)
        old = self.rows[trial]
        status = "failed" if result.error is not None else "done"
        row = TrialRow(
            old.trial, old.choices, old.text, old.arch_hash, status, old.same_as, old.params,
            old.macs, reward, dict(result.metrics), result.cost, result.error, seconds, worker,
        )  # fmt: skip
        self.rows[trial] = row
        self._count(row)
