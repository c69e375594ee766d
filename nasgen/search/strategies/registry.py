"""The strategy registry: names, hyper-parameters (``--param KEY=VALUE``) and constructors.

Pipeline stage: search. Imports ``nasgen.errors`` and the strategies (each imported lazily,
so a random search never imports torch).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nasgen.errors import NasgenError, did_you_mean
from nasgen.search.base import Strategy

__all__ = ["STRATEGIES", "Param", "StrategyInfo", "make_strategy", "parse_params"]


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


STRATEGIES: dict[str, StrategyInfo] = {
    "random": StrategyInfo(
        "random",
        "nasgen.search.strategies.random_search",
        "RandomSearch",
        (),
        "uniform samples of the space (the baseline of Zoph et al. 2018 and Li & Talwalkar 2019)",
    ),
}


def _convert(param: Param, text: str) -> Any:
    try:
        if param.kind is bool:
            if text.lower() not in ("true", "false"):
                raise ValueError(text)
            return text.lower() == "true"
        return param.kind(text)
    except ValueError:
        raise NasgenError(
            "E850", f"--param {param.name}={text}: not a {param.kind.__name__}"
        ) from None


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


def make_strategy(
    strategy: str, sizes: Sequence[int], seed: int, params: Mapping[str, Any]
) -> Strategy:
    """A fresh strategy over choice vectors with these decision ``sizes``."""
    info = _info(strategy)
    cls = getattr(importlib.import_module(info.module), info.cls)
    made: Strategy = cls(tuple(sizes), seed, **dict(params))
    return made
