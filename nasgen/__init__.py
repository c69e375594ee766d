"""nasgen: a declarative genotype compiler for neural architecture search.

``import nasgen`` imports neither torch nor onnx; ``nasgen.compile``, ``nasgen.save``,
``nasgen.load`` and ``nasgen.train`` import the PyTorch backend when first called.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "compile", "load", "save", "train"]


def __getattr__(name: str) -> Any:
    if name in ("compile", "load", "save"):
        from nasgen import api

        return getattr(api, name)
    if name == "train":
        import importlib

        # By name: the package root is below every layer, training included.
        return importlib.import_module("nasgen.training.session").train
    raise AttributeError(f"module 'nasgen' has no attribute {name!r}")
