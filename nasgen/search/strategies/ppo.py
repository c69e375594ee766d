"""Proximal policy optimisation of NASNet's controller (Zoph et al. 2018; Schulman et al. 2017).

Pipeline stage: search (strategy). Imports torch (when constructed) and ``nasgen.errors``.

NASNet (Zoph, Vasudevan, Shlens, Le, "Learning Transferable Architectures for Scalable Image
Recognition", CVPR 2018, App. A) trains its controller - one LSTM layer of 100 units, weights
U(-0.1, 0.1) - with PPO: Adam at lr 0.00035, an entropy bonus of weight 1e-5, a baseline that is
an exponential moving average of the rewards with weight 0.95, and updates on batches of 20
architectures. Those are the defaults here. The paper gives no clipping range or number of
passes over a batch; ``clip=0.2`` and ``epochs=4`` are Schulman et al.'s usual values.

Each update: the advantage of a result is its reward minus the baseline as it stood before the
batch (the batch's mean for the first one); the baseline then folds in the batch's rewards in
order. The objective is the clipped surrogate
``mean(min(ratio * A, clip(ratio, 1 - eps, 1 + eps) * A)) + entropy * mean(H)``, ``ratio`` the
probability of each vector under the current policy over its probability when it was sampled
(remembered at ``ask``), maximised with ``epochs`` full-batch Adam steps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nasgen.errors import NasgenError
from nasgen.search.strategies.policy_gradient import Batch, PolicyGradient

if TYPE_CHECKING:
    import torch

__all__ = ["PPO", "clipped_objective"]


def clipped_objective(
    log_p: torch.Tensor, old_log_p: torch.Tensor, advantages: torch.Tensor, clip: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """PPO's clipped surrogate (to maximise) and the fraction of ratios outside the clip."""
    import torch

    ratio = torch.exp(log_p - old_log_p)
    clipped = torch.clamp(ratio, 1 - clip, 1 + clip)
    surrogate = torch.minimum(ratio * advantages, clipped * advantages).mean()
    outside = ((ratio < 1 - clip) | (ratio > 1 + clip)).double().mean()
    return surrogate, outside


class PPO(PolicyGradient):
    """PPO on a controller (see the module docstring)."""

    name = "ppo"

    def __init__(
        self,
        sizes: tuple[int, ...],
        seed: int,
        lr: float = 0.00035,
        baseline_decay: float = 0.95,
        entropy: float = 0.00001,
        controller: str = "lstm",
        batch: int = 20,
        clip: float = 0.2,
        epochs: int = 4,
        hidden: int = 100,
        layers: int = 1,
    ) -> None:
        """NASNet's controller (or per-decision logits) trained with PPO."""
        if not 0 < clip < 1 or not 1 <= epochs <= 100:
            raise NasgenError("E856", "ppo: needs 0 < clip < 1 and 1 <= epochs <= 100")
        super().__init__(
            sizes, seed, lr=lr, baseline_decay=baseline_decay, entropy=entropy,
            controller=controller, batch=batch, hidden=hidden, layers=layers,
        )  # fmt: skip
        self.clip, self.epochs = clip, epochs

    def update(self, batch: Batch) -> None:
        """``epochs`` Adam steps on the clipped surrogate of the batch."""
        import torch

        rewards = [r for _, r, _ in batch]
        base = sum(rewards) / len(rewards) if self.baseline is None else self.baseline
        advantages = torch.tensor([r - base for r in rewards], dtype=torch.float64)
        for r in rewards:
            self.advance_baseline(r)
        old = torch.tensor([p for _, _, p in batch], dtype=torch.float64)
        choices = [c for c, _, _ in batch]
        for _ in range(self.epochs):
            log_p, entropy = self.policy.log_prob(choices)
            surrogate, _ = clipped_objective(log_p, old, advantages, self.clip)
            self.step(-surrogate - self.entropy * entropy.mean())
