"""BatchNorm folding: an eval-mode BatchNorm after a conv becomes that conv's weight and bias.

Pipeline stage: exporter (IR -> **ONNX**). Imports numpy only.

NOTE: [Exact folding] In eval mode ``bn(conv(x)) = conv(x) * s + (beta - mean * s)`` with
``s = gamma / sqrt(var + eps)`` per output channel, so scaling the conv's output-channel
weights by ``s`` and giving it the bias ``beta - mean * s`` computes the same function. The
arithmetic runs in float64 and is rounded to float32 once, so the folded network differs from
the unfolded one by float32 rounding of the conv's accumulation only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["BN_EPS", "BatchNormParams", "fold_batch_norm"]

BN_EPS = 1e-5
"""``nn.BatchNorm2d``'s default epsilon, which every torch layer of nasgen uses."""

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class BatchNormParams:
    """The four tensors of one BatchNorm (float64, one value per channel) and its epsilon."""

    gamma: F64
    beta: F64
    mean: F64
    var: F64
    eps: float = BN_EPS

    def select(self, channels: slice) -> BatchNormParams:
        """The parameters of some channels (a FactorizedReduce half)."""
        return BatchNormParams(
            self.gamma[channels],
            self.beta[channels],
            self.mean[channels],
            self.var[channels],
            self.eps,
        )

    def scale_shift(self) -> tuple[F64, F64]:
        """``(s, t)`` with ``bn(x) = x * s + t`` per channel."""
        scale = self.gamma / np.sqrt(self.var + self.eps)
        return scale, self.beta - self.mean * scale


def fold_batch_norm(weight: F64, bn: BatchNormParams) -> tuple[F32, F32]:
    """Conv weight (c_out, c_in/g, kh, kw) and BN -> folded float32 weight and bias."""
    scale, shift = bn.scale_shift()
    folded = weight * scale[:, None, None, None]
    return folded.astype(np.float32), shift.astype(np.float32)
