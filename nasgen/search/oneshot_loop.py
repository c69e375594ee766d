"""The one-shot loop: a weight-sharing method's epochs, each one a trial of the journal.

Pipeline stage: search. Imports ``nasgen.api``, ``nasgen.review``, ``nasgen.space`` and the
rest of ``nasgen.search``; never a framework itself (the method it drives imports torch).

NOTE: [One epoch, one transaction] After each epoch the loop writes, in one transaction, a
trial (the cell the method derives now, as .cell text with its hash and static cost, and
the epoch's numbers; the reward is ``--metric``), the method's state with the architecture
distribution of the epoch (``nasgen search report --heatmap`` draws it) and the checkpoint
(the supernet and its optimizers). A search killed mid-epoch resumes from the last epoch
written and runs the lost epoch again from the same state and seeds, so it ends with the
rows an uninterrupted run writes. ``DIR/epochs/NNN.cell`` and ``DIR/derived.cell`` (the
last epoch's cell) are rewritten from the journal, so they never disagree with it.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nasgen.api import CompileOptions, cost_module
from nasgen.dsl.printer import print_module
from nasgen.errors import NasgenError
from nasgen.files import write_atomic
from nasgen.review import architecture_hash
from nasgen.search.base import Evaluation, Proposal
from nasgen.search.config import SearchConfig
from nasgen.search.journal import Journal, TrialRow
from nasgen.search.loop import Progress
from nasgen.space import SearchSpace

__all__ = ["OneShotSearch", "epoch_text"]

OnBatch = Callable[[str, int, int], None]


def epoch_text(config: SearchConfig, row: TrialRow, epochs: int) -> str:
    """An epoch's derived .cell text with comments saying where it comes from."""
    others = ", ".join(f"{k} = {v:g}" for k, v in sorted(row.metrics.items()))
    reward = f"{row.reward:g}" if row.reward is not None else "undefined (not finite)"
    params = f"{row.params:,}" if row.params is not None else "?"
    macs = f"{row.macs:,}" if row.macs is not None else "?"
    header = [
        f"# nasgen search: the cell {config.strategy} derives after epoch {row.trial + 1} of "
        f"{epochs} (seed {config.seed}).",
        f"# space {config.space_name}, data {config.evaluator}.",
        f"# reward (weight-sharing, not stand-alone): {config.metric} = {reward}",
        f"# the epoch's numbers: {others}",
        f"# static cost on the space's skeleton: {params} params, {macs} MACs",
        f"# choices: {' '.join(map(str, row.choices))}; nasgen hash {row.arch_hash}",
    ]
    return "\n".join(header) + "\n" + row.text


class OneShotSearch:
    """A one-shot method's search over a journal: ``run`` goes on from the last epoch written."""

    def __init__(
        self,
        journal: Journal,
        config: SearchConfig,
        space: SearchSpace,
        method: Any,
        data: Any,
        on_batch: OnBatch | None = None,
    ) -> None:
        """Bind the pieces and restore the method's state after the last epoch written."""
        if config.budget is None:
            raise NasgenError("E852", f"{config.strategy} needs --budget EPOCHS")
        self.journal, self.config, self.space = journal, config, space
        self.method, self.data, self.on_batch = method, data, on_batch
        self.options = CompileOptions(variant=config.variant)
        self.rows: list[TrialRow] = list(journal.trials())
        last = journal.last_state()
        if last is not None:
            checkpoint = journal.checkpoint()
            if checkpoint is None or last[0] != len(self.rows):
                raise NasgenError(
                    "E844", f"{journal.path}: {len(self.rows)} epochs but no matching checkpoint"
                )
            method.load_state_dict({**last[2]["method"], "checkpoint": checkpoint})
        elif self.rows:
            raise NasgenError("E844", f"{journal.path}: {len(self.rows)} epochs but no state")
        self.progress = Progress()
        for row in self.rows:
            self._count(row)

    @property
    def epochs(self) -> int:
        """The epochs the search runs (``--budget``)."""
        assert self.config.budget is not None
        return self.config.budget

    def _count(self, row: TrialRow) -> None:
        p = self.progress
        p.evaluated += 1
        p.started += 1
        p.spent += row.seconds or 0.0
        if row.reward is not None and (p.best is None or row.reward > p.best):
            p.best, p.best_trial = row.reward, row.trial

    def run(self, on_progress: Callable[[Progress], None] | None = None) -> Progress:
        """Run the remaining epochs; returns the final progress."""
        cfg = self.config
        self.write_cells()
        while len(self.rows) < self.epochs:
            if cfg.time_budget is not None and self.progress.spent >= cfg.time_budget:
                self.progress.stopped = f"the time budget of {cfg.time_budget:g} s is spent"
                break
            epoch = len(self.rows)
            start = time.perf_counter()
            result = self.method.run_epoch(epoch, self.epochs, self.data, self.on_batch)
            seconds = time.perf_counter() - start
            self._record(epoch, result, seconds)
            self.write_cells(epoch)
            if on_progress is not None:
                on_progress(self.progress)
        return self.progress

    def _record(self, epoch: int, result: Any, seconds: float) -> None:
        choices = tuple(result.choices)
        module = self.space.decode(choices)
        text = print_module(module)
        params: int | None
        macs: int | None
        try:
            arch, cost = cost_module(module, self.options)
            params, macs, digest = cost.params, cost.macs, architecture_hash(arch)
        except NasgenError as err:  # derived, so of the space; its skeleton may not hold it
            params = macs = None
            digest = f"invalid:{epoch}"
            result.metrics["compiles"] = 0.0
            self.progress.errors.append(f"epoch {epoch + 1}: {err}")
        metrics = {k: float(v) for k, v in result.metrics.items() if math.isfinite(v)}
        reward = metrics.get(self.config.metric)  # None when it was not finite (SQLite: NULL)
        state = self.method.state_dict()
        checkpoint = state.pop("checkpoint")
        arch_maps = {kind: m.to_json() for kind, m in result.arch.items()}
        worker = f"inline:{os.getpid()}"
        self.journal.add_epoch(
            Proposal(epoch, choices, text, digest),
            Evaluation(metrics),
            reward,
            {"method": state, "arch": arch_maps},
            checkpoint,
            params=params,
            macs=macs,
            seconds=seconds,
            worker=worker,
        )
        row = TrialRow(
            epoch, choices, text, digest, "done", None, params, macs, reward, metrics, 0.0,
            None, seconds, worker,
        )  # fmt: skip
        self.rows.append(row)
        self._count(row)

    def write_cells(self, only: int | None = None) -> list[Path]:
        """``DIR/epochs/NNN.cell`` (every epoch, or ``only``) and ``DIR/derived.cell``."""
        folder = self.journal.directory / "epochs"
        folder.mkdir(exist_ok=True)
        written = []
        for row in self.rows if only is None else [self.rows[only]]:
            text = epoch_text(self.config, row, self.epochs)
            written.append(write_atomic(folder / f"{row.trial + 1:03d}.cell", text))
        if self.rows:
            last = epoch_text(self.config, self.rows[-1], self.epochs)
            written.append(write_atomic(self.journal.directory / "derived.cell", last))
        return written
