"""Weight sharing: supernets compiled from a search space (DARTS), on PyTorch.

Pipeline stage: one-shot. Imports torch, the torch backend, the IR, the DSL and the spaces.
"""

from nasgen.oneshot.supernet import SearchNetwork, SupernetSpec

__all__ = ["SearchNetwork", "SupernetSpec"]
