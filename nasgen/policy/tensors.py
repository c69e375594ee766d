"""Learned strategy state as bytes: weights and Adam's moments as safetensors, exactly.

Pipeline stage: policy (below search and one-shot). Imports torch and safetensors (when called).

A controller's or a predictor's ``state_dict`` puts its tensors here as one ``bytes`` value
(safetensors: data only, never a pickle); the journal stores such values once by content
(``blobs``), so the many steps between two updates share one copy. Tensors keep their dtype
(float64 controllers round-trip bit for bit), so a resumed search learns exactly as an
uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

__all__ = ["load_adam", "one_thread", "pack", "save_adam", "unpack"]


def pack(tensors: Mapping[str, torch.Tensor]) -> bytes:
    """Tensors as safetensors bytes (names sorted, contiguous CPU copies)."""
    from safetensors.torch import save

    return save({k: tensors[k].detach().cpu().contiguous() for k in sorted(tensors)})


def unpack(data: bytes) -> dict[str, torch.Tensor]:
    """The tensors of ``pack``'s bytes."""
    from safetensors.torch import load

    return load(data)


def save_adam(
    optimizer: torch.optim.Optimizer, params: Sequence[torch.Tensor], prefix: str = "adam"
) -> dict[str, torch.Tensor]:
    """Per-parameter optimizer state as ``{prefix}.{i}.{key}`` (Adam's moments, SGD's momentum)."""
    import torch

    out: dict[str, torch.Tensor] = {}
    for i, p in enumerate(params):
        state = optimizer.state.get(p, {})
        for key, value in state.items():
            tensor = value if isinstance(value, torch.Tensor) else torch.tensor(float(value))
            out[f"{prefix}.{i}.{key}"] = tensor.detach().clone()
    return out


def load_adam(
    optimizer: torch.optim.Optimizer,
    params: Sequence[torch.Tensor],
    tensors: Mapping[str, torch.Tensor],
    prefix: str = "adam",
) -> None:
    """Restore what ``save_adam`` wrote (parameters with no entry have no state yet)."""
    for i, p in enumerate(params):
        head = f"{prefix}.{i}."
        state = {  # Adam's step count stays on the CPU, as torch keeps it
            k[len(head) :]: (v if k.endswith(".step") else v.to(p.device)).clone()
            for k, v in tensors.items()
            if k.startswith(head)
        }
        if state:
            optimizer.state[p] = state
        else:
            optimizer.state.pop(p, None)


@contextmanager
def one_thread() -> Iterator[None]:
    """One intra-op thread: small networks run faster, and no number depends on the machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
