"""The networks the benchmarks time: one table, read by bench_onnx.py and bench_passes.py.

To add a model, add an entry: ``source`` (a bundled name or a .cell path), ``N`` and ``F`` (or
None for the file's own), optional ``variant``, and a ``label`` for the tables. Every
benchmark that reads this table then times it; ``--model KEY`` picks some.
"""

from __future__ import annotations

from typing import Any

MODELS: dict[str, dict[str, Any]] = {
    "nasnet_a": {"source": "nasnet_a", "N": 4, "F": 44, "label": "nasnet_a mobile 224"},
    "darts_v2": {"source": "darts_v2", "N": 6, "F": 36, "label": "darts_v2 cifar 32"},
}
