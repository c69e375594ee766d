"""The strategy registry: names, hyper-parameters (``--param KEY=VALUE``) and constructors.

Pipeline stage: search. Imports ``nasgen.errors`` and the strategies (each imported lazily,
so a random search never imports torch).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nasgen.errors import NasgenError, did_you_mean
from nasgen.search.base import Strategy
from nasgen.space import Decision

__all__ = [
    "STRATEGIES",
    "Param",
    "StrategyInfo",
    "decision_kind",
    "make_strategy",
    "parse_params",
]


@dataclass(frozen=True, slots=True)
class Param:
    """One hyper-parameter: its name (as in SEARCH.md), type, default and meaning."""

    name: str
    kind: type
    default: Any
    doc: str


@dataclass(frozen=True, slots=True)
class StrategyInfo:
    """A strategy's name, module, class, hyper-parameters and one-line description."""

    name: str
    module: str
    cls: str
    params: tuple[Param, ...]
    doc: str
    wants_kinds: bool = False  # told which decisions are inputs (wiring) and which ops
    wants_blocks: bool = False  # told the block (0-based, within its cell) of each decision
    oneshot: str | None = None  # a weight-sharing method: its settings class (cls is the method)
    metrics: tuple[str, ...] = ()  # a one-shot method's reward choices (higher is better)


STRATEGIES: dict[str, StrategyInfo] = {
    "random": StrategyInfo(
        "random",
        "nasgen.search.strategies.random_search",
        "RandomSearch",
        (),
        "uniform samples of the space (the baseline of Zoph et al. 2018 and Li & Talwalkar 2019)",
    ),
    "rea": StrategyInfo(
        "rea",
        "nasgen.search.strategies.evolution",
        "RegularizedEvolution",
        (
            Param("population", int, 100, "population size P (NB-201's baseline: 10)"),
            Param("sample", int, 25, "tournament size S (NB-201's baseline: 3)"),
            Param("with_replacement", bool, True, "draw the tournament with replacement"),
            Param("identity", float, 0.05, "probability that a mutation changes nothing"),
        ),
        "regularized (aging) evolution, Real et al. 2019: tournament, mutate, drop the oldest",
        wants_kinds=True,
    ),
    "reinforce": StrategyInfo(
        "reinforce",
        "nasgen.search.strategies.reinforce",
        "Reinforce",
        (
            Param("lr", float, 0.01, "Adam learning rate (NATS-Bench; NB-201's 0.5 stalls)"),
            Param("baseline_decay", float, 0.9, "decay of the moving-average baseline"),
            Param("entropy", float, 0.0, "weight of the entropy bonus"),
            Param(
                "controller",
                str,
                "logits",
                "logits: NB-201's per-decision softmax; lstm: NASNet's recurrent controller",
            ),
            Param("batch", int, 1, "results per policy update (NB-201: 1)"),
            Param("hidden", int, 35, "LSTM units (controller=lstm; Zoph & Le 2017: 35)"),
            Param("layers", int, 2, "LSTM layers (controller=lstm; Zoph & Le 2017: 2)"),
        ),
        "REINFORCE with a moving-average baseline (Williams 1992; NB-201's baseline)",
    ),
    "ppo": StrategyInfo(
        "ppo",
        "nasgen.search.strategies.ppo",
        "PPO",
        (
            Param("lr", float, 0.00035, "Adam learning rate (NASNet, Zoph et al. 2018, App. A)"),
            Param("baseline_decay", float, 0.95, "decay of the moving-average baseline"),
            Param("entropy", float, 0.00001, "weight of the entropy bonus"),
            Param(
                "controller",
                str,
                "lstm",
                "lstm: NASNet's recurrent controller; logits: per-decision softmax",
            ),
            Param("batch", int, 20, "architectures per policy update (NASNet: 20)"),
            Param("clip", float, 0.2, "PPO's clipping range epsilon (Schulman et al. 2017)"),
            Param("epochs", int, 4, "passes over each batch per update"),
            Param("hidden", int, 100, "LSTM units (NASNet: one layer of 100)"),
            Param("layers", int, 1, "LSTM layers"),
        ),
        "proximal policy optimisation of NASNet's controller (Zoph et al. 2018; clipped objective)",
    ),
    "pnas": StrategyInfo(
        "pnas",
        "nasgen.search.strategies.pnas",
        "PNAS",
        (
            Param("beam", int, 256, "beam size K: cells trained per block count (PNAS: 256)"),
            Param("blocks", int, 0, "largest block count B (0: the space's own; PNAS: 5)"),
            Param("predictor", str, "lstm", "lstm or mlp: the surrogate's form"),
            Param("ensemble", int, 5, "predictors in the surrogate ensemble (PNAS: 5)"),
        ),
        "progressive growth with a learned surrogate, Liu et al. 2018 (beam over 1..B blocks)",
        wants_blocks=True,
    ),
    "darts": StrategyInfo(
        "darts",
        "nasgen.oneshot.darts_search",
        "DartsSearch",
        (
            Param("order", int, 1, "1: first-order DARTS; 2: the unrolled second-order step"),
            Param("gumbel", bool, False, "GDAS: one Gumbel-softmax draw per edge (memory-lean)"),
            Param("C", int, 16, "the search network's initial channels (DARTS: 16)"),
            Param("layers", int, 8, "cells in the search network (DARTS: 8)"),
            Param("lr", float, 0.025, "weights' SGD lr, cosine-annealed to lr_min (DARTS)"),
            Param("lr_min", float, 0.001, "the weights' final lr (DARTS)"),
            Param("arch_lr", float, 0.0003, "alphas' Adam lr (DARTS)"),
            Param("tau_max", float, 10.0, "GDAS's first temperature"),
            Param("tau_min", float, 0.1, "GDAS's last temperature"),
        ),
        "DARTS weight sharing, Liu et al. 2019: --budget epochs of bilevel steps on a supernet",
        oneshot="DartsSearchConfig",
        metrics=("valid_acc",),
    ),
    "enas": StrategyInfo(
        "enas",
        "nasgen.oneshot.enas",
        "EnasSearch",
        (
            Param("C", int, 20, "the shared network's initial channels (ENAS micro: 20)"),
            Param("layers", int, 8, "cells, reductions included (ENAS micro: 6 + 2)"),
            Param("lr", float, 0.05, "weights' SGD lr, cosine with restarts to lr_min (ENAS)"),
            Param("lr_min", float, 0.0005, "the weights' lowest lr (ENAS)"),
            Param("controller_lr", float, 0.0035, "controller's Adam lr (ENAS micro)"),
            Param("hidden", int, 64, "controller LSTM units (ENAS: 64)"),
            Param("tanh", float, 1.10, "logits bound c * tanh (ENAS micro: 1.10)"),
            Param("op_tanh_reduce", float, 2.5, "the ops' bound is tanh / this (ENAS: 2.5)"),
            Param("entropy", float, 0.0001, "entropy bonus added to the reward (ENAS: 1e-4)"),
            Param("baseline_decay", float, 0.99, "moving-average baseline decay (ENAS: 0.99)"),
            Param("aggregate", int, 10, "samples per controller step (ENAS: 10)"),
            Param("controller_steps", int, 30, "controller steps an epoch (ENAS micro: 30)"),
            Param("derive", int, 100, "samples scored to pick the epoch's architecture"),
            Param("skip_weight", float, 0.0, "chain spaces: skip penalty weight (ENAS macro: 0.8)"),
            Param("skip_target", float, 0.4, "chain spaces: the skip probability aimed at (0.4)"),
        ),
        "ENAS weight sharing, Pham et al. 2018: --budget epochs of shared weights + controller",
        oneshot="EnasConfig",
        metrics=("valid_acc", "derive_acc", "reward", "train_acc"),
    ),
}


def _convert(param: Param, text: str) -> Any:
    try:
        if param.kind is bool:
            if text.lower() not in ("true", "false"):
                raise ValueError(text)
            return text.lower() == "true"
        value = param.kind(text)
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(text)
        return value
    except ValueError:
        what = "finite number" if param.kind is float else param.kind.__name__
        raise NasgenError("E850", f"--param {param.name}={text}: not a {what}") from None


def parse_params(strategy: str, pairs: Sequence[str]) -> dict[str, Any]:
    """``KEY=VALUE`` texts as the strategy's typed hyper-parameters (defaults filled in)."""
    info = _info(strategy)
    known = {p.name: p for p in info.params}
    values = {p.name: p.default for p in info.params}
    for text in pairs:
        key, sep, value = text.partition("=")
        if not sep:
            raise NasgenError("E850", f"--param {text!r} is not KEY=VALUE")
        if key not in known:
            names = ", ".join(known) or "none"
            hint = did_you_mean(key, known) or f"{strategy}'s parameters: {names}"
            raise NasgenError("E850", f"{strategy} has no parameter {key!r}", hint=hint)
        values[key] = _convert(known[key], value)
    return values


def _info(strategy: str) -> StrategyInfo:
    if strategy not in STRATEGIES:
        hint = did_you_mean(strategy, STRATEGIES) or f"strategies: {', '.join(STRATEGIES)}"
        raise NasgenError("E851", f"unknown strategy {strategy!r}", hint=hint)
    return STRATEGIES[strategy]


def decision_kind(name: str) -> str:
    """``input`` for a wiring decision (an input or a skip), ``op`` for an op or a combine."""
    last = name.rsplit(".", 1)[-1]
    return "input" if last.startswith(("input", "skip")) else "op"


MAX_LEARNED_OPTIONS = 100_000
"""Options of one decision a learning strategy (a controller, PNAS's predictor) can hold: it
keeps an embedding and an output row per option. A design space's non-decreasing widths are
one decision of some 1e7 options (docs/spaces.md)."""
_ANY_SIZE = ("random", "rea")


def make_strategy(
    strategy: str, decisions: Sequence[Decision], seed: int, params: Mapping[str, Any]
) -> Strategy:
    """A fresh strategy over the choice vectors of a space with these ``decisions``."""
    info = _info(strategy)
    if info.oneshot is not None:
        raise NasgenError(
            "E866",
            f"{strategy} is a one-shot (weight-sharing) method, not a multi-trial strategy",
            hint=f"run it with `nasgen search SPACE --strategy {strategy} --evaluator train:DATA`",
        )
    cls = getattr(importlib.import_module(info.module), info.cls)
    sizes = tuple(d.size for d in decisions)
    widest = max(decisions, key=lambda d: d.size, default=None)
    if strategy not in _ANY_SIZE and widest is not None and widest.size > MAX_LEARNED_OPTIONS:
        raise NasgenError(
            "E856",
            f"{strategy} learns a weight per option of each decision; {widest.name} has "
            f"{widest.size:,} options (over {MAX_LEARNED_OPTIONS:,})",
            hint="search this space with random or rea, which draw and mutate without weights",
        )
    extra: dict[str, Any] = {}
    if info.wants_kinds:
        extra["kinds"] = tuple(decision_kind(d.name) for d in decisions)
    if info.wants_blocks:
        extra["blocks_of"] = tuple(d.block for d in decisions)
    made: Strategy = cls(sizes, seed, **dict(params), **extra)
    return made
