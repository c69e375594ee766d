"""Evaluator specs: ``table:FILE``, ``proxy:NAME[,NAME...]``, ``train:DATA[,key=value...]``.

Pipeline stage: search. Imports the evaluators lazily, so a table search never imports torch.
"""

from __future__ import annotations

from nasgen.api import CompileOptions
from nasgen.errors import NasgenError, did_you_mean
from nasgen.search.base import Evaluator

__all__ = ["EVALUATOR_KINDS", "make_evaluator"]

EVALUATOR_KINDS = ("table", "proxy", "train")


def make_evaluator(spec: str, options: CompileOptions | None = None) -> Evaluator:
    """The evaluator a spec names; ``options`` are the skeleton overrides of the search."""
    kind, sep, arg = spec.partition(":")
    if not sep or not arg:
        raise NasgenError(
            "E833",
            f"evaluator {spec!r} is not KIND:ARGUMENT",
            hint="e.g. table:nb201, table:results.csv.gz, proxy:synflow",
        )
    if kind == "table":
        from nasgen.search.evaluators.table import TableEvaluator

        return TableEvaluator(arg)
    if kind == "proxy":
        from nasgen.search.evaluators.proxy import ProxyEvaluator

        return ProxyEvaluator(tuple(arg.split(",")), options=options)
    if kind == "train":
        from nasgen.search.evaluators.train import TrainEvaluator

        return TrainEvaluator(arg, options)
    hint = did_you_mean(kind, EVALUATOR_KINDS) or f"kinds: {', '.join(EVALUATOR_KINDS)}"
    raise NasgenError("E833", f"unknown evaluator kind {kind!r}", hint=hint)
