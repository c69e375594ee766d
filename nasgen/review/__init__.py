"""Architectures as text people review: fingerprints, semantic diffs and cell diagrams.

Pipeline stage: review, beside the CLI (reads analyses). Imports ``nasgen.api``, ``nasgen.dsl``,
``nasgen.ir``, ``nasgen.ops`` and ``nasgen.errors``; never a framework. ``draw`` needs the
``graphviz`` package and Graphviz's ``dot``, and is imported only when used.
"""

from nasgen.review.fingerprint import architecture_hash, cell_hashes, fingerprint_cell
from nasgen.review.semantic_diff import ArchDiff, diff_architectures

__all__ = [
    "ArchDiff",
    "architecture_hash",
    "cell_hashes",
    "diff_architectures",
    "fingerprint_cell",
]
