"""REINFORCE with a moving-average baseline: NAS-Bench-201's baseline and Zoph & Le's controller.

Pipeline stage: search (strategy). Imports torch (when constructed) and ``nasgen.errors``.

Williams (1992). With ``controller=logits`` (the default) it is REINFORCE as NAS-Bench-201
runs it (Dong & Yang 2020, AutoDL ``exps/algos/reinforce.py``): a softmax over each
decision's options, zeros at the start, Adam on the logits, one update per told result
(``batch=1``), the baseline updated before the advantage is taken:
``b <- decay * b + (1 - decay) * r``, loss ``-(r - b) * log p(choices) - entropy * H``.
Defaults: lr 0.01 (the NATS-Bench value; NB-201's 0.5 stalls), baseline_decay 0.9, entropy 0.
With ``controller=lstm`` the policy is NASNet's recurrent controller
(``nasgen.policy.controller``; Zoph & Le 2017 used 2 layers of 35 units and Adam at 6e-4 -
pass ``lr=0.0006``). With ``batch=M`` the loss is the mean over M results, each advantage
taken against the baseline just after its own reward was folded in (so ``batch=1`` is exactly
the per-result update above).
"""

from __future__ import annotations

from nasgen.search.strategies.policy_gradient import Batch, PolicyGradient

__all__ = ["Reinforce"]


class Reinforce(PolicyGradient):
    """REINFORCE with a moving-average baseline (see the module docstring)."""

    name = "reinforce"

    def __init__(
        self,
        sizes: tuple[int, ...],
        seed: int,
        lr: float = 0.01,
        baseline_decay: float = 0.9,
        entropy: float = 0.0,
        controller: str = "logits",
        batch: int = 1,
        hidden: int = 35,
        layers: int = 2,
    ) -> None:
        """A uniform (logits) or freshly initialised (lstm) policy over these decisions."""
        super().__init__(
            sizes, seed, lr=lr, baseline_decay=baseline_decay, entropy=entropy,
            controller=controller, batch=batch, hidden=hidden, layers=layers,
        )  # fmt: skip

    def update(self, batch: Batch) -> None:
        """One policy-gradient step on the batch."""
        import torch

        advantages = [r - self.advance_baseline(r) for _, r, _ in batch]
        log_p, entropy = self.policy.log_prob([c for c, _, _ in batch])
        weights = torch.tensor(advantages, dtype=torch.float64)
        loss = -(weights * log_p).mean() - self.entropy * entropy.mean()
        self.step(loss)
