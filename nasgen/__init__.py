"""nasgen: a declarative genotype compiler for neural architecture search.

Importing ``nasgen`` imports neither torch nor onnx (see ``nasgen.api`` for the pipeline).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
