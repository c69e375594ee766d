"""Policies and their tensors: the controllers REINFORCE, PPO (search) and ENAS (one-shot) share.

Pipeline stage: below ``nasgen.search`` and ``nasgen.oneshot``, so both import it. Imports
torch and safetensors (when called) and ``nasgen.errors``.
"""

__all__: list[str] = []
