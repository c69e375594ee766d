"""IR optimisation passes and their manager (``optimize``).

Pipeline stage: IR passes, between validation and the backends. Imports ``nasgen.errors`` and
``nasgen.ir``; never a framework.
"""

from nasgen.passes.base import FORMS, Change, Pass
from nasgen.passes.manager import LEVELS, PASSES, Optimized, PassRecord, count_ops, optimize

__all__ = [
    "FORMS",
    "LEVELS",
    "PASSES",
    "Change",
    "Optimized",
    "Pass",
    "PassRecord",
    "count_ops",
    "optimize",
]
