"""Evaluators: .cell text -> metrics (``table:``, ``proxy:``); see ``registry.make_evaluator``."""

from nasgen.search.evaluators.registry import EVALUATOR_KINDS, make_evaluator

__all__ = ["EVALUATOR_KINDS", "make_evaluator"]
