"""Search strategies: small objects that ask for choice vectors and learn from rewards."""

from nasgen.search.strategies.registry import STRATEGIES, make_strategy, parse_params

__all__ = ["STRATEGIES", "make_strategy", "parse_params"]
