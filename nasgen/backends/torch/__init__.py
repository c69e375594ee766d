"""PyTorch backend: IR -> trainable ``nn.Module`` and safetensors checkpoints.

Pipeline stage: backend. The only nasgen package (besides search and training code) that
imports torch; ``import nasgen`` never loads it.
"""

from nasgen.backends.torch.checkpoint import read_checkpoint, write_checkpoint
from nasgen.backends.torch.fold import fold_batchnorm_
from nasgen.backends.torch.lowerings import TORCH_LOWERINGS, lower_node, torch_lowering
from nasgen.backends.torch.module import NasgenNet, build_module, drop_path

__all__ = [
    "TORCH_LOWERINGS",
    "NasgenNet",
    "build_module",
    "drop_path",
    "fold_batchnorm_",
    "lower_node",
    "read_checkpoint",
    "torch_lowering",
    "write_checkpoint",
]
