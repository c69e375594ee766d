"""From a stored configuration to a ready ``Search``: space, evaluator, strategy and executor.

Pipeline stage: search. Imports ``nasgen.api``, ``nasgen.dsl``, ``nasgen.space`` and the rest of
``nasgen.search``; never a framework itself (a strategy or an evaluator may import one).

``nasgen search run``, ``nasgen search --resume`` and ``nasgen search compare`` build every
search here, so one search runs the same way whoever started it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from nasgen.api import CompileOptions
from nasgen.dsl import parse
from nasgen.dsl.source import decode_source
from nasgen.errors import NasgenError, did_you_mean
from nasgen.search.base import Evaluator
from nasgen.search.config import SearchConfig
from nasgen.search.evaluators import make_evaluator
from nasgen.search.evaluators.train import parse_train_spec
from nasgen.search.executors import ExecutorOptions, make_executor
from nasgen.search.journal import Journal
from nasgen.search.loop import Search
from nasgen.search.oneshot_loop import OnBatch, OneShotSearch
from nasgen.search.strategies import STRATEGIES, make_strategy
from nasgen.space import SearchSpace, load_space, load_space_source, read_space

__all__ = [
    "Prepared",
    "build_oneshot",
    "build_search",
    "check_metric",
    "check_oneshot",
    "is_oneshot",
    "prepare",
    "read_source",
    "space_of",
]


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


def read_source(source: str, blocks: int | None) -> tuple[str, SearchSpace]:
    """SPACE's text and the space it reads (blocks applied)."""
    space_source = load_space_source(source)
    found = load_space(space_source)
    return space_source.text, found.with_blocks(blocks) if blocks is not None else found


def prepare(
    source: str, blocks: int | None, evaluator_spec: str, variant: str | None, metric: str | None
) -> Prepared:
    """Read SPACE, build the evaluator and check the metric (search run and compare share it)."""
    text, found = read_source(source, blocks)
    evaluator = make_evaluator(evaluator_spec, CompileOptions(variant=variant))
    return Prepared(text, found.name, found, evaluator, check_metric(evaluator, metric))


def is_oneshot(strategy: str) -> bool:
    """Whether ``strategy`` is a weight-sharing method (darts, enas)."""
    info = STRATEGIES.get(strategy)
    return info is not None and info.oneshot is not None


_ONESHOT_KEYS = {
    "epochs": "a one-shot search's epochs are its --budget",
    "lr": "set the weights' learning rate with --param lr=...",
}


def check_oneshot(strategy: str, evaluator_spec: str, metric: str | None) -> str:
    """The reward metric of a one-shot search; E866 for data it cannot train on or bad keys."""
    info = STRATEGIES[strategy]
    kind, _, arg = evaluator_spec.partition(":")
    if kind != "train":
        raise NasgenError(
            "E866",
            f"{strategy} trains a supernet on data; --evaluator {evaluator_spec} has none",
            hint="--evaluator train:DATA[,batch=64,valid=0.5,max_batches=N] (e.g. train:digits)",
        )
    _, _, given = parse_train_spec(arg, valid=0.5)
    for key in sorted(given & set(_ONESHOT_KEYS)):
        raise NasgenError(
            "E866", f"{strategy}: train:...,{key}= is not used", hint=_ONESHOT_KEYS[key]
        )
    chosen = metric or info.metrics[0]
    if chosen not in info.metrics:
        hint = did_you_mean(chosen, info.metrics)
        listed = f"rewards: {', '.join(info.metrics)}"
        raise NasgenError(
            "E854",
            f"{strategy}'s epochs are not ranked by {chosen!r} (every number is journaled; "
            "the reward is one where higher is better)",
            hint=f"{hint} ({listed})" if hint else listed,
        )
    return chosen


def _device(name: str) -> Any:
    import torch

    try:
        device = torch.device(name)
    except RuntimeError:
        raise NasgenError(
            "E867", f"--device {name}: not a torch device (cpu, cuda, cuda:1)"
        ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise NasgenError(
            "E867", f"--device {name}: this machine has no CUDA device", hint="--device cpu"
        )
    if device.type not in ("cpu", "cuda"):
        raise NasgenError("E867", f"--device {name}: nasgen trains on cpu or cuda")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        count = torch.cuda.device_count()
        raise NasgenError("E867", f"--device {name}: this machine has {count} CUDA devices")
    return device


def build_oneshot(
    journal: Journal, config: SearchConfig, on_batch: OnBatch | None = None
) -> OneShotSearch:
    """The one-shot search (darts, enas) ``config`` describes over ``journal`` (new or resumed).

    The method reads its data from the ``train:`` spec (its ``valid`` fraction, 0.5 by
    default, is the architecture's split: DARTS trains the alphas on the other half of the
    training set) and reports its progress inside an epoch to ``on_batch``.
    """
    from nasgen.oneshot.method import EpochData
    from nasgen.training.data import load_data, split_data

    check_oneshot(config.strategy, config.evaluator, config.metric)
    info = STRATEGIES[config.strategy]
    assert info.oneshot is not None
    _, _, arg = config.evaluator.partition(":")
    data_spec, values, _ = parse_train_spec(arg, valid=0.5)
    device = _device(config.device)
    data = load_data(data_spec)
    train, valid = split_data(data, values["valid"], 0)
    if len(train) < 2 or len(valid) < 2:
        raise NasgenError(
            "E866",
            f"{data_spec}: {len(train)} images for the weights and {len(valid)} for the "
            f"architecture (valid={values['valid']}); each needs at least 2",
        )
    space = space_of(config)
    module = importlib.import_module(info.module)
    settings = getattr(module, info.oneshot)(**config.params)
    shape = (data.channels, data.size, data.classes)
    method = getattr(module, info.cls)(space, settings, config.seed, shape, device)
    epoch_data = EpochData(train, valid, values["batch"], values["max_batches"], device)
    return OneShotSearch(journal, config, space, method, epoch_data, on_batch)


def build_search(
    journal: Journal,
    config: SearchConfig,
    evaluator: Evaluator | None = None,
    executor: ExecutorOptions | None = None,
) -> Search:
    """The multi-trial search ``config`` describes over ``journal`` (new or resumed).

    ``evaluator``: one already built from ``config.evaluator`` (with its variant), shared by
    several searches so a table is read once; one is built when None. More than one worker
    evaluates in a process pool, each worker building its own evaluator from the spec;
    ``executor`` (kind ``ray``) runs the trials as Ray tasks, a lost worker journaled.
    """
    space = space_of(config)
    options = CompileOptions(variant=config.variant)
    used = evaluator if evaluator is not None else make_evaluator(config.evaluator, options)
    strategy = make_strategy(config.strategy, space.decisions(), config.seed, config.params)
    runner = make_executor(
        config.evaluator, options, config.workers, lambda: used, executor,
        journal.add_failure, journal.failure_count,
    )  # fmt: skip
    return Search(journal, config, space, strategy, runner, getattr(used, "has_cost", False))
