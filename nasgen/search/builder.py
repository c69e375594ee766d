"""From a stored configuration to a ready ``Search``: space, evaluator, strategy and executor.

Pipeline stage: search. Imports ``nasgen.api``, ``nasgen.dsl``, ``nasgen.space`` and the rest of
``nasgen.search``; never a framework itself (a strategy or an evaluator may import one).

``nasgen search run``, ``nasgen search --resume`` and ``nasgen search compare`` build every
search here, so one search runs the same way whoever started it.
"""

from __future__ import annotations

from dataclasses import dataclass

from nasgen.api import CompileOptions
from nasgen.dsl import parse
from nasgen.dsl.source import decode_source
from nasgen.errors import NasgenError, did_you_mean
from nasgen.search.base import Evaluator
from nasgen.search.config import SearchConfig
from nasgen.search.evaluators import make_evaluator
from nasgen.search.executors import make_executor
from nasgen.search.journal import Journal
from nasgen.search.loop import Search
from nasgen.search.strategies import make_strategy
from nasgen.space import SearchSpace, load_space, load_space_source, read_space

__all__ = ["Prepared", "build_search", "check_metric", "prepare", "space_of"]


def space_of(config: SearchConfig) -> SearchSpace:
    """The space a configuration stores (its own text, so a resumed search needs no file)."""
    found = read_space(parse(decode_source(config.space_text.encode("utf-8"), config.space_name)))
    return found.with_blocks(config.blocks) if config.blocks is not None else found


def check_metric(evaluator: Evaluator, metric: str | None) -> str:
    """``metric``, or the evaluator's first metric when None; E854 when it reports no such one."""
    chosen = metric or evaluator.metrics[0]
    if chosen not in evaluator.metrics:
        listed = f"metrics: {', '.join(evaluator.metrics)}"
        hint = did_you_mean(chosen, evaluator.metrics)
        raise NasgenError(
            "E854",
            f"{evaluator.name} reports no {chosen!r}",
            hint=f"{hint} ({listed})" if hint else listed,
        )
    return chosen


@dataclass(frozen=True, slots=True)
class Prepared:
    """A new search's space (its text, name, blocks applied), evaluator and reward metric."""

    space_text: str
    space_name: str
    space: SearchSpace
    evaluator: Evaluator
    metric: str


def prepare(
    source: str, blocks: int | None, evaluator_spec: str, variant: str | None, metric: str | None
) -> Prepared:
    """Read SPACE, build the evaluator and check the metric (search run and compare share it)."""
    space_source = load_space_source(source)
    found = load_space(space_source)
    if blocks is not None:
        found = found.with_blocks(blocks)
    evaluator = make_evaluator(evaluator_spec, CompileOptions(variant=variant))
    return Prepared(
        space_source.text, found.name, found, evaluator, check_metric(evaluator, metric)
    )


def build_search(
    journal: Journal, config: SearchConfig, evaluator: Evaluator | None = None
) -> Search:
    """The search ``config`` describes over ``journal`` (new or resumed).

    ``evaluator``: one already built from ``config.evaluator`` (with its variant), shared by
    several searches so a table is read once; one is built when None. More than one worker
    evaluates in a process pool, each worker building its own evaluator from the spec.
    """
    space = space_of(config)
    options = CompileOptions(variant=config.variant)
    used = evaluator if evaluator is not None else make_evaluator(config.evaluator, options)
    strategy = make_strategy(config.strategy, space.decisions(), config.seed, config.params)
    executor = make_executor(config.evaluator, options, config.workers, lambda: used)
    return Search(journal, config, space, strategy, executor, getattr(used, "has_cost", False))
