"""REINFORCE over independent per-decision logits: NAS-Bench-201's REINFORCE baseline.

Pipeline stage: search (strategy). Imports torch (when constructed) and ``nasgen.errors``.

Williams (1992); as NAS-Bench-201 runs it (Dong & Yang 2020, AutoDL ``exps/algos/reinforce.py``):
a softmax over each decision's options (the "per-edge logits" controller, zeros at the start),
Adam on the logits, and an exponential moving average of the rewards as the baseline,
updated before the advantage is taken: ``b <- decay * b + (1 - decay) * r``, loss
``-(r - b) * log p(choices) - entropy * H``, one update per told result. Defaults: lr 0.01 (the
NATS-Bench value; NB-201's 0.5 stalls), baseline_decay 0.9, entropy 0. NASNet's LSTM controller
(``controller=lstm``) is not built yet.

Each ask samples with its own generator seeded by (seed, ask number); the state (logits,
Adam's moments and step, the baseline, the counter) is JSON numbers in float64, which round-trip
exactly, so a resumed search proposes and learns exactly as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from nasgen.errors import NasgenError
from nasgen.search.base import Told

__all__ = ["Reinforce"]


def _seed(seed: int, asked: int) -> int:
    digest = hashlib.sha256(f"nasgen-reinforce/{seed}/{asked}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


class Reinforce:
    """REINFORCE with a moving-average baseline over per-decision logits."""

    name = "reinforce"

    def __init__(
        self,
        sizes: tuple[int, ...],
        seed: int,
        lr: float = 0.01,
        baseline_decay: float = 0.9,
        entropy: float = 0.0,
        controller: str = "logits",
    ) -> None:
        """A uniform policy over vectors with these decision sizes."""
        import torch

        if controller != "logits":
            raise NasgenError(
                "E856",
                f"reinforce: controller={controller} is not available yet",
                hint="controller=logits (NB-201's per-decision logits)",
            )
        if not lr > 0 or not 0 <= baseline_decay < 1:
            raise NasgenError("E856", "reinforce: lr > 0 and 0 <= baseline_decay < 1")
        self.sizes, self.seed = sizes, seed
        self.decay, self.entropy = baseline_decay, entropy
        self.logits = [torch.zeros(s, dtype=torch.float64, requires_grad=True) for s in sizes]
        self.optimizer = torch.optim.Adam(self.logits, lr=lr)
        self.baseline: float | None = None
        self.asked = 0

    def ask(self) -> tuple[int, ...]:
        """A vector sampled from the current policy."""
        import torch

        generator = torch.Generator().manual_seed(_seed(self.seed, self.asked))
        self.asked += 1
        with torch.no_grad():
            return tuple(
                int(torch.multinomial(torch.softmax(x, 0), 1, generator=generator))
                for x in self.logits
            )

    def tell(self, told: Told) -> None:
        """One policy-gradient step on a result (failed and rejected ones teach nothing)."""
        import torch

        if told.reward is None:
            return
        reward = float(told.reward)
        b = (
            reward
            if self.baseline is None
            else self.decay * self.baseline + (1 - self.decay) * reward
        )
        self.baseline = b
        log_p = torch.zeros((), dtype=torch.float64)
        entropy = torch.zeros((), dtype=torch.float64)
        for x, choice in zip(self.logits, told.proposal.choices, strict=True):
            logs = torch.log_softmax(x, 0)
            log_p = log_p + logs[choice]
            entropy = entropy - (logs.exp() * logs).sum()
        loss = -(reward - b) * log_p - self.entropy * entropy
        self.optimizer.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        self.optimizer.step()

    def state_dict(self) -> dict[str, Any]:
        """Logits, Adam's moments and step counts, the baseline and the ask counter."""
        moments = []
        for x in self.logits:
            state = self.optimizer.state.get(x, {})
            if state:
                moments.append(
                    {
                        "step": float(state["step"]),
                        "exp_avg": state["exp_avg"].tolist(),
                        "exp_avg_sq": state["exp_avg_sq"].tolist(),
                    }
                )
            else:
                moments.append({})
        return {
            "asked": self.asked,
            "baseline": self.baseline,
            "logits": [x.detach().tolist() for x in self.logits],
            "adam": moments,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a state written by ``state_dict``."""
        import torch

        self.asked = int(state["asked"])
        self.baseline = None if state["baseline"] is None else float(state["baseline"])
        with torch.no_grad():
            for x, values in zip(self.logits, state["logits"], strict=True):
                x.copy_(torch.tensor(values, dtype=torch.float64))
        for x, moment in zip(self.logits, state["adam"], strict=True):
            if moment:
                self.optimizer.state[x] = {
                    "step": torch.tensor(moment["step"]),
                    "exp_avg": torch.tensor(moment["exp_avg"], dtype=torch.float64),
                    "exp_avg_sq": torch.tensor(moment["exp_avg_sq"], dtype=torch.float64),
                }
