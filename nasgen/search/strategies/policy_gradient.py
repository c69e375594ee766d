"""What REINFORCE and PPO share: a controller, its Adam, a moving-average baseline, batches.

Pipeline stage: search (strategy helper). Imports torch (when constructed) and
``nasgen.errors``.

A strategy of this family samples each proposal from its controller
(``nasgen.policy.controller``) with
a generator seeded by (strategy, seed, ask number), remembers the log-probability the vector
had when it was sampled, and collects told results until it has ``batch`` of them; then the
subclass's ``update`` takes Adam steps on them. Failed and rejected proposals (no reward)
teach nothing. The baseline is an exponential moving average of the rewards,
``b <- decay * b + (1 - decay) * r``, started at the first reward.

State: counters, the baseline, the pending log-probabilities and the unfinished batch are JSON
numbers (float64 round-trips exactly); the controller's weights and Adam's moments are one
safetensors value (``tensors.pack``), packed again only after an update, so the journal stores
one copy per update however many steps share it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from nasgen.errors import NasgenError
from nasgen.policy.controller import make_policy
from nasgen.policy.tensors import load_adam, one_thread, pack, save_adam, unpack
from nasgen.search.base import Told

if TYPE_CHECKING:
    import torch

__all__ = ["Batch", "PolicyGradient"]

Batch = list[tuple[tuple[int, ...], float, float]]
"""Told results awaiting an update: (choices, reward, log-probability when sampled)."""


def _seed(name: str, seed: int, asked: int) -> int:
    digest = hashlib.sha256(f"nasgen-{name}/{seed}/{asked}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


class PolicyGradient:
    """A controller trained on told rewards; subclasses define ``update``."""

    name = "policy_gradient"

    def __init__(
        self,
        sizes: tuple[int, ...],
        seed: int,
        *,
        lr: float,
        baseline_decay: float,
        entropy: float,
        controller: str,
        batch: int,
        hidden: int,
        layers: int,
    ) -> None:
        """A fresh controller over vectors with these decision sizes."""
        import torch

        if not lr > 0 or not 0 <= baseline_decay < 1 or not entropy >= 0 or batch < 1:
            raise NasgenError(
                "E856",
                f"{self.name}: needs lr > 0, 0 <= baseline_decay < 1, entropy >= 0, batch >= 1",
            )
        self.sizes, self.seed = sizes, seed
        self.decay, self.entropy, self.batch_size = baseline_decay, entropy, batch
        self.controller = controller
        self.policy = make_policy(controller, sizes, hidden, layers, seed, self.name)
        self.params = self.policy.parameters()
        self.optimizer = torch.optim.Adam(self.params, lr=lr)
        self.baseline: float | None = None
        self.asked = 0
        self.updates = 0
        self.pending: dict[str, float] = {}  # trial -> log-probability when sampled
        self.batch: Batch = []
        self._packed: bytes | None = None

    def ask(self) -> tuple[int, ...]:
        """A vector sampled from the current policy."""
        import torch

        generator = torch.Generator().manual_seed(_seed(self.name, self.seed, self.asked))
        with one_thread():
            choices, log_p = self.policy.sample(generator)
        self.pending[str(self.asked)] = log_p
        self.asked += 1
        return choices

    def tell(self, told: Told) -> None:
        """Add a result to the batch; update when the batch is full."""
        log_p = self.pending.pop(str(told.proposal.trial), None)
        if told.reward is None:
            return
        if log_p is None:  # not asked by this strategy (tests, a hand-made history)
            log_p = self._log_prob(told.proposal.choices)
        self.batch.append((told.proposal.choices, float(told.reward), log_p))
        if len(self.batch) >= self.batch_size:
            batch, self.batch = self.batch, []
            with one_thread():
                self.update(batch)
            self.updates += 1
            self._packed = None

    def _log_prob(self, choices: tuple[int, ...]) -> float:
        import torch

        with torch.no_grad():
            return float(self.policy.log_prob([choices])[0][0])

    def advance_baseline(self, reward: float) -> float:
        """Fold one reward into the moving average; return the new baseline."""
        b = (
            reward
            if self.baseline is None
            else self.decay * self.baseline + (1 - self.decay) * reward
        )
        self.baseline = b
        return b

    def step(self, loss: torch.Tensor) -> None:
        """One Adam step on ``loss``."""
        self.optimizer.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        self.optimizer.step()

    def update(self, batch: Batch) -> None:
        """Learn from a full batch (the subclass's algorithm)."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """Counters, baseline, pending log-probabilities, the batch, and the weights as bytes."""
        if self._packed is None:
            tensors = dict(self.policy.named_tensors())
            tensors.update(save_adam(self.optimizer, self.params))
            self._packed = pack(tensors)
        return {
            "asked": self.asked,
            "updates": self.updates,
            "baseline": self.baseline,
            "pending": dict(self.pending),
            "batch": [[list(c), r, p] for c, r, p in self.batch],
            "weights": self._packed,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a state written by ``state_dict``."""
        import torch

        if "weights" not in state:
            raise NasgenError(
                "E842",
                f"{self.name}: the journal's strategy state was written by an older nasgen "
                "(per-decision logits as JSON); start the search again",
            )
        self.asked = int(state["asked"])
        self.updates = int(state["updates"])
        self.baseline = None if state["baseline"] is None else float(state["baseline"])
        self.pending = {str(k): float(v) for k, v in state["pending"].items()}
        self.batch = [(tuple(int(x) for x in c), float(r), float(p)) for c, r, p in state["batch"]]
        data = state["weights"]
        tensors = unpack(bytes(data))
        with torch.no_grad():
            for name, p in self.policy.named_tensors().items():
                p.copy_(tensors[name])
        load_adam(self.optimizer, self.params, tensors)
        self._packed = bytes(data)
