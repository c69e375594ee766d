"""Zero-cost proxies: scores of an untrained network from one minibatch.

Pipeline stage: search (evaluators). Imports torch and nothing from nasgen; ``proxy.py`` imports
this module lazily, so the static proxies (``params``, ``macs``) never load torch.

Each proxy is a pure function ``(model, inputs, targets) -> float``: it works on a deep copy of
``model``, so the caller's weights, gradients, modes and BatchNorm statistics are untouched.

References:
    - Abdelfattah, Mehrotra, Dudziak, Lane. "Zero-Cost Proxies for Lightweight NAS". ICLR 2021
      (reference code SamsungLabs/zero-cost-nas, ``foresight/pruners/measures``).
    - synflow: Tanaka, Kunin, Yamins, Ganguli. "Pruning neural networks without any data by
      iteratively conserving synaptic flow". NeurIPS 2020.
    - snip: Lee, Ajanthan, Torr. "SNIP: Single-shot Network Pruning based on Connection
      Sensitivity". ICLR 2019.
    - grad_norm: the gradient-norm baseline of Abdelfattah et al. 2021.
    - jacob_cov: Mellor, Turner, Storkey, Crowley. "Neural Architecture Search without Training",
      arXiv:2006.04647 v1 (2020): the score on the correlation of input Jacobians.
    - naswot: Mellor, Turner, Storkey, Crowley. "Neural Architecture Search without Training".
      ICML 2021: log|det K| of the ReLU-code kernel.

NOTE: [Weights] The "weights" a proxy sums over are the ``weight`` tensors of every
``nn.Conv1d/2d/3d`` (nasgen's ``TFSameConv2d`` included) and ``nn.Linear``: biases and
BatchNorm affine terms are left out, as in the reference code's ``get_layer_metric_array``.
A weight that takes no part in the forward pass (the auxiliary head, which only runs in
training mode) has no gradient and adds 0.

NOTE: [Modes] The reference code scores a freshly built network, that is in training mode:
BatchNorm normalises with the minibatch's statistics. Here the copy is put in eval mode and then
only its BatchNorm layers in training mode: batch statistics as in the reference, but no dropout
noise and no auxiliary head (a NasgenNet returns ``(logits, aux)`` only when ``training``).
Drop path is off in both (it scales with training progress, 0 for a new network).

NOTE: [Finding the ReLUs] nasgen's layers apply ReLU functionally (``F.relu`` inside
``ConvBN``, ``SepConv``...), so there are no ``nn.ReLU`` modules to hook as NASWOT's code does.
``naswot`` instead runs the forward pass under a ``TorchFunctionMode`` that sees every call of
``F.relu``, ``torch.relu(_)`` and ``Tensor.relu(_)`` (``nn.ReLU`` calls ``F.relu``, so hand-built
networks are covered too) and records the sign pattern of its input. Nested calls (``F.relu``
calling ``torch.relu``) are not seen twice: a mode is disabled inside its own handler.

"""

from __future__ import annotations

import copy
import math
import types
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

__all__ = [
    "JACOB_COV_EPS",
    "PROXY_FUNCTIONS",
    "ProxyFunction",
    "WeightLayer",
    "grad_norm",
    "jacob_cov",
    "log_synflow",
    "naswot",
    "relu_kernel",
    "snip",
    "synthetic_batch",
    "weight_layers",
]

ProxyFunction = Callable[[nn.Module, Tensor, Tensor], float]
"""``(model, inputs, targets) -> score``."""

JACOB_COV_EPS = 1e-5
"""The ``k`` of jacob_cov's ``-sum(log(l + k) + 1 / (l + k))`` (the reference code's value)."""

_WEIGHT_LAYERS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
_BATCHNORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
_RELUS = frozenset(
    {F.relu, F.relu_, torch.relu, torch.relu_, torch.Tensor.relu, torch.Tensor.relu_}
)


WeightLayer = nn.Conv1d | nn.Conv2d | nn.Conv3d | nn.Linear
"""The layers whose ``weight`` counts (see NOTE: [Weights])."""


def weight_layers(model: nn.Module) -> list[WeightLayer]:
    """The conv and linear layers whose ``weight`` the proxies sum over (see NOTE: [Weights])."""
    return [m for m in model.modules() if isinstance(m, _WEIGHT_LAYERS)]


def synthetic_batch(
    input_channels: int, input_size: int, classes: int, batch_size: int, seed: int
) -> tuple[Tensor, Tensor]:
    """A seeded minibatch: standard normal images and labels uniform in ``range(classes)``."""
    gen = torch.Generator().manual_seed(seed)
    shape = (batch_size, input_channels, input_size, input_size)
    inputs = torch.randn(shape, generator=gen)
    targets = torch.randint(0, classes, (batch_size,), generator=gen)
    return inputs, targets


def _scoring_copy(model: nn.Module) -> nn.Module:
    """A deep copy in the proxies' mode (see NOTE: [Modes]) with trainable weights."""
    net = copy.deepcopy(model)
    net.eval()
    for m in net.modules():
        if isinstance(m, _BATCHNORMS):
            m.train()
    for layer in weight_layers(net):
        layer.weight.requires_grad_(True)
    return net


def _logits(out: Any) -> Tensor:
    """The logits of a forward pass (the first element of a ``(logits, aux)`` pair)."""
    tensor = out[0] if isinstance(out, tuple | list) else out
    assert isinstance(tensor, Tensor), type(tensor)
    return tensor


def _weight_grads(net: nn.Module, objective: Tensor) -> list[tuple[Tensor, Tensor]]:
    """(weight, d objective / d weight) for every weight layer; zeros where it is unused."""
    weights = [layer.weight for layer in weight_layers(net)]
    if not objective.requires_grad:  # no weight reaches the output
        return [(w, torch.zeros_like(w)) for w in weights]
    grads = torch.autograd.grad(objective, weights, allow_unused=True)
    return [
        (w, torch.zeros_like(w) if g is None else g) for w, g in zip(weights, grads, strict=True)
    ]


def _cross_entropy(net: nn.Module, inputs: Tensor, targets: Tensor) -> Tensor:
    return F.cross_entropy(_logits(net(inputs)), targets)


def snip(model: nn.Module, inputs: Tensor, targets: Tensor) -> float:
    """SNIP: ``sum |W * dL/dW|`` over the weights, L the mean cross-entropy of the batch.

    The reference computes ``|dL/dm|`` for a mask ``m = 1`` multiplying each weight, which is
    the same number.
    """
    net = _scoring_copy(model)
    pairs = _weight_grads(net, _cross_entropy(net, inputs, targets))
    return float(sum((w * g).abs().sum().item() for w, g in pairs))


def grad_norm(model: nn.Module, inputs: Tensor, targets: Tensor) -> float:
    """Gradient norm: ``sum over layers of ||dL/dW||_2`` (the norm of the flattened gradient)."""
    net = _scoring_copy(model)
    pairs = _weight_grads(net, _cross_entropy(net, inputs, targets))
    return float(sum(g.norm().item() for _, g in pairs))


def _identity(self: nn.Module, x: Tensor) -> Tensor:
    return x


def log_synflow(model: nn.Module, inputs: Tensor, targets: Tensor) -> float:
    """The natural log of the synflow score (-inf when it is 0).

    BatchNorm is bypassed (its ``forward`` becomes the identity, as the reference's
    ``bn=False`` copy), everything is float64, every parameter is replaced by its absolute
    value, the input is a single all-ones image of ``inputs``'s shape, ``R`` is the sum of the
    logits and the score is ``sum |W * dR/dW|`` over the weights. ``targets`` is unused. The
    score reaches 1e61 on NB-201 networks, so it is compared in log space.
    """
    del targets
    net = _scoring_copy(model).double()
    for m in net.modules():
        if isinstance(m, _BATCHNORMS):
            m.forward = types.MethodType(_identity, m)  # type: ignore[method-assign]
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
    ones = torch.ones((1, *inputs.shape[1:]), dtype=torch.float64)
    pairs = _weight_grads(net, _logits(net(ones)).sum())
    score = sum(float((w * g).abs().sum().item()) for w, g in pairs)
    return math.log(score) if score > 0 else -math.inf


def jacob_cov(model: nn.Module, inputs: Tensor, targets: Tensor) -> float:
    """Jacobian covariance: ``-sum(log(l + k) + 1/(l + k))``, ``k = JACOB_COV_EPS``.

    ``J`` holds, per sample, the gradient of the sum of the batch's logits with respect to that
    sample's input, flattened; ``l`` are the eigenvalues of the correlation matrix of the rows
    of ``J`` (float64; ``eigvalsh``, as the matrix is symmetric, where the reference calls
    ``np.linalg.eig``). NaN when a row is constant (a network whose outputs ignore its input),
    where the correlation is undefined, as in the reference. ``targets`` is unused.
    """
    del targets
    net = _scoring_copy(model)
    x = inputs.detach().clone().requires_grad_(True)
    total = _logits(net(x)).sum()
    if not total.requires_grad:
        return math.nan
    (grad,) = torch.autograd.grad(total, x, allow_unused=True)
    if grad is None:  # the outputs do not depend on the input
        return math.nan
    jac = grad.reshape(grad.shape[0], -1).double()
    corr = torch.corrcoef(jac)
    if not bool(torch.isfinite(corr).all()):
        return math.nan
    eig = torch.linalg.eigvalsh(corr) + JACOB_COV_EPS
    return float(-(torch.log(eig) + 1.0 / eig).sum().item())


class _ReluCodes(TorchFunctionMode):
    """Accumulates NASWOT's kernel over every ReLU call (see NOTE: [Finding the ReLUs])."""

    def __init__(self, batch: int) -> None:
        super().__init__()
        self.kernel = torch.zeros((batch, batch), dtype=torch.float64)
        self.calls = 0

    def __torch_function__(
        self,
        func: Callable[..., Any],
        kinds: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        if func in _RELUS and args and isinstance(args[0], Tensor):
            # Read the input before calling: an in-place ReLU overwrites it.
            codes = (args[0].detach() > 0).reshape(args[0].shape[0], -1).double()
            self.kernel += codes @ codes.T + (1.0 - codes) @ (1.0 - codes).T
            self.calls += 1
        return func(*args, **(kwargs or {}))


def relu_kernel(model: nn.Module, inputs: Tensor) -> tuple[Tensor, int]:
    """NASWOT's kernel ``K`` (batch x batch, float64) and the number of ReLU calls seen.

    ``K[i, j]`` counts the ReLU units on which samples ``i`` and ``j`` agree (both active or
    both inactive), over every ReLU of the forward pass; ``K[i, i]`` is the number of units.
    """
    net = _scoring_copy(model)
    mode = _ReluCodes(inputs.shape[0])
    with torch.no_grad(), mode:
        net(inputs)
    return mode.kernel, mode.calls


def naswot(model: nn.Module, inputs: Tensor, targets: Tensor) -> float:
    """NASWOT: ``log|det K|`` of the ReLU-code kernel (``relu_kernel``); ``targets`` unused.

    -inf when ``K`` is singular (two samples with the same codes everywhere).
    """
    del targets
    kernel, _ = relu_kernel(model, inputs)
    return float(torch.linalg.slogdet(kernel).logabsdet.item())


PROXY_FUNCTIONS: Mapping[str, ProxyFunction] = MappingProxyType(
    {
        "synflow": log_synflow,
        "naswot": naswot,
        "snip": snip,
        "grad_norm": grad_norm,
        "jacob_cov": jacob_cov,
    }
)
"""The proxies computed on a network, by name (``synflow`` is ``log_synflow``)."""
