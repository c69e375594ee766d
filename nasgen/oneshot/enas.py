"""ENAS as a one-shot method: shared weights, an LSTM controller, derivation by sampling.

Pipeline stage: one-shot. Imports torch, ``nasgen.policy``, ``nasgen.training`` (seeds) and
the rest of ``nasgen.oneshot``.

Pham, Guan, Zoph, Le, Dean, "Efficient Neural Architecture Search via Parameter Sharing",
ICML 2018, section 2, and the defaults of its released code (``cifar10_micro_search.sh``,
``micro_controller.py``, ``micro_child.py``, ``utils.get_train_ops``), SEARCH.md section 3.
An epoch has two phases:

1. **Shared weights**: one pass over the weights' split; each batch trains the architecture
   the controller samples for it (SGD with Nesterov momentum 0.9, weight decay 1e-4, gradient
   norm clipped at 5; the learning rate follows cosine annealing with warm restarts from 0.05
   to 0.0005, T0 = 10 epochs, Tmul = 2).
2. **Controller**: ``controller_steps`` (30) Adam steps (lr 0.0035, beta1 0, eps 1e-3), each
   on ``aggregate`` (10) samples; a sample's reward is its accuracy on the next batch of the
   architecture's split (BN on the batch's statistics, as the code scores in training mode)
   plus ``entropy`` (1e-4) times the sample's entropy; the baseline is updated before the loss,
   ``b <- b - (1 - 0.99) (b - r)``, from 0; the loss is ``-log p * (r - b)``, plus, with
   ``skip_weight`` (the macro search's 0.8; 0 by default, as in the micro search), that weight
   times ``KL(p_skip || skip_target)`` averaged over the sample's skip decisions (target 0.4).

The controller is ``nasgen.policy.LSTMPolicy`` over the space's own decisions (64 units, one
layer), each head's logits bounded as ``1.10 * tanh`` (ops: ``1.10 / 2.5``). It differs from
the code's controller in one way: inputs are chosen by a head per decision, as NASNet's
controller does, not by the code's attention over earlier anchors.

Derivation (after each epoch): ``derive`` (100) samples scored on one fixed batch of the
architecture's split; the best (the first of equal ones) is the epoch's architecture. The
code prints 10 such samples and leaves the pick to its user; this makes the pick.
``valid_acc`` is the derived architecture's accuracy on the architecture's split with the
shared weights (a weight-sharing number, not a stand-alone accuracy).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import astuple, dataclass
from typing import Any

import torch
from torch import nn

from nasgen.dsl.options import CompileOptions
from nasgen.errors import NasgenError
from nasgen.oneshot.chain import ChainSearchNetwork, is_chain
from nasgen.oneshot.darts_search import fixed_order, score
from nasgen.oneshot.method import (
    ArchMap,
    Checkpoint,
    EpochData,
    EpochResult,
    OnBatch,
    cycle,
    frozen_bn_stats,
    steps_of,
)
from nasgen.oneshot.supernet import SearchNetwork, seeded_supernet
from nasgen.policy.controller import LSTMPolicy
from nasgen.space import Decision, SearchSpace
from nasgen.training.data import batches
from nasgen.training.trainer import derived_seed

__all__ = ["EnasConfig", "EnasSearch", "restart_cosine"]


@dataclass(frozen=True, slots=True)
class EnasConfig:
    """An ENAS search's settings (the released code's micro-search defaults)."""

    C: int = 20
    layers: int = 8  # 6 normal layers and 2 reductions (the code's child_num_layers = 6)
    lr: float = 0.05
    lr_min: float = 0.0005
    restart: int = 10  # T0
    restart_mul: int = 2  # Tmul
    weight_decay: float = 1e-4
    grad_clip: float = 5.0
    controller_lr: float = 0.0035
    hidden: int = 64
    tanh: float = 1.10
    op_tanh_reduce: float = 2.5
    entropy: float = 1e-4
    baseline_decay: float = 0.99
    aggregate: int = 10
    controller_steps: int = 30
    derive: int = 100
    skip_weight: float = 0.0  # the macro search's skip penalty weight (ENAS macro: 0.8)
    skip_target: float = 0.4  # the skip probability it pulls towards (ENAS macro: 0.4)

    def __post_init__(self) -> None:
        """Refuse settings no ENAS search has (E856)."""
        floats = [v for v in astuple(self) if isinstance(v, float)]
        if not all(math.isfinite(v) for v in floats):
            raise NasgenError("E856", "enas: every setting must be finite")
        counts = (self.C, self.hidden, self.aggregate, self.controller_steps, self.derive)
        if min(counts) < 1 or self.layers < 3 or self.restart < 1 or self.restart_mul < 1:
            raise NasgenError(
                "E856",
                "enas: C, hidden, aggregate, controller_steps, derive >= 1 and layers >= 3",
            )
        rates = (self.lr, self.controller_lr, self.tanh, self.op_tanh_reduce)
        if min(rates) <= 0 or not 0 <= self.lr_min <= self.lr or self.entropy < 0:
            raise NasgenError("E856", "enas: rates and tanh > 0, 0 <= lr_min <= lr, entropy >= 0")
        if not 0 <= self.baseline_decay < 1 or self.weight_decay < 0 or self.grad_clip <= 0:
            raise NasgenError("E856", "enas: 0 <= baseline_decay < 1, weight_decay >= 0")
        if self.skip_weight < 0 or not 0 < self.skip_target < 1:
            raise NasgenError("E856", "enas: skip_weight >= 0 and 0 < skip_target < 1")


def _shared_network(
    space: SearchSpace,
    config: EnasConfig,
    shape: tuple[int, int, int],
    seed: int,
    device: torch.device,
) -> SearchNetwork | ChainSearchNetwork:
    """The shared network: cells of two inputs (``SearchNetwork``) or a chain's layers."""
    if not is_chain(space):
        return seeded_supernet(space, (config.C, config.layers), shape, seed, device, "enas")
    channels, side, classes = shape
    settings = (("input_channels", channels), ("input_size", side), ("classes", classes))
    with torch.random.fork_rng(devices=[]):  # built on the CPU: only its generator is used
        torch.default_generator.manual_seed(seed)
        net = ChainSearchNetwork(space, CompileOptions(num_filters=config.C, settings=settings))
    return net.to(device)


def restart_cosine(epoch: int, high: float, low: float, t0: int, mul: int) -> float:
    """Cosine annealing with warm restarts (SGDR, Loshchilov & Hutter 2017) by epoch."""
    start, period = 0, max(t0, 1)
    while epoch >= start + period:
        start, period = start + period, period * max(mul, 1)
    return low + 0.5 * (high - low) * (1 + math.cos(math.pi * (epoch - start) / period))


class EnasSearch:
    """Shared weights over a space and a controller that samples from it, an epoch at a time."""

    metrics = (
        "valid_acc",
        "valid_loss",
        "train_acc",
        "train_loss",
        "reward",
        "entropy",
        "baseline",
        "derive_acc",
        "lr",
    )

    def __init__(
        self,
        space: SearchSpace,
        config: EnasConfig,
        seed: int,
        shape: tuple[int, int, int],
        device: torch.device,
    ) -> None:
        """The shared network for inputs of ``shape`` (channels, size, classes) and a controller."""
        self.net = _shared_network(space, config, shape, seed, device)
        self.space, self.config, self.seed = space, config, seed
        self.decisions = space.decisions()
        squash = [
            config.tanh / (config.op_tanh_reduce if _is_op(d) else 1.0) for d in self.decisions
        ]
        sizes = [d.size for d in self.decisions]
        self.skips = [i for i, d in enumerate(self.decisions) if _is_skip(d)]
        self.policy = LSTMPolicy(sizes, config.hidden, 1, seed, squash=squash)
        self.weights = list(self.net.parameters())
        self.w_optimizer = torch.optim.SGD(
            self.weights,
            config.lr,
            momentum=0.9,
            nesterov=True,
            weight_decay=config.weight_decay,
        )
        self.c_optimizer = torch.optim.Adam(
            self.policy.parameters(), lr=config.controller_lr, betas=(0.0, 0.999), eps=1e-3
        )
        self.baseline = 0.0
        self.checkpoint = Checkpoint(
            {"net": self.net},
            {
                "sgd": (self.w_optimizer, self.weights),
                "adam": (self.c_optimizer, self.policy.parameters()),
            },
            {"controller": self.policy.named_tensors()},
        )

    def _gen(self, purpose: str, epoch: int) -> torch.Generator:
        return torch.Generator().manual_seed(derived_seed(self.seed, "enas", purpose, epoch))

    def _accuracy(self, choices: tuple[int, ...], x: torch.Tensor, y: torch.Tensor) -> float:
        with torch.no_grad(), frozen_bn_stats(self.net):
            logits = self.net(x, arch=self.net.sampled(choices))
        return float((logits.argmax(1) == y).float().mean())

    def run_epoch(
        self, epoch: int, epochs: int, data: EpochData, on_batch: OnBatch | None
    ) -> EpochResult:
        """Train the shared weights, then the controller, then derive."""
        cfg = self.config
        lr = restart_cosine(epoch, cfg.lr, cfg.lr_min, cfg.restart, cfg.restart_mul)
        for group in self.w_optimizer.param_groups:
            group["lr"] = lr
        sampler = self._gen("sample", epoch)
        train = cycle(data.train, data.batch, self._gen("train", epoch), data.device)
        steps = steps_of(data.train, data.batch, data.max_batches)
        self.net.train()
        total_loss, correct, seen = 0.0, 0, 0
        for s in range(steps):
            x, y = next(train)
            loss, right = self.weights_step(x, y, sampler)
            total_loss += loss * len(y)
            correct += right
            seen += len(y)
            if on_batch is not None:
                on_batch("shared weights", s + 1, steps)
        rewards, entropies = self._train_controller(epoch, data, on_batch)
        choices, derive_acc, arch = self._derive(epoch, data)
        arch_net = self.net.sampled(choices)

        def forward(x: torch.Tensor) -> torch.Tensor:
            with frozen_bn_stats(self.net):
                out: torch.Tensor = self.net(x, arch=arch_net)
            return out

        steps = steps_of(data.valid, data.batch, data.max_batches)
        valid_loss, valid_acc = score(forward, data, steps, self.seed)
        metrics = {
            "valid_acc": valid_acc,
            "valid_loss": valid_loss,
            "train_acc": correct / max(seen, 1),
            "train_loss": total_loss / max(seen, 1),
            "reward": sum(rewards) / max(len(rewards), 1),
            "entropy": sum(entropies) / max(len(entropies), 1),
            "baseline": self.baseline,
            "derive_acc": derive_acc,
            "lr": lr,
        }
        return EpochResult(choices, metrics, arch)

    def _train_controller(
        self, epoch: int, data: EpochData, on_batch: OnBatch | None
    ) -> tuple[list[float], list[float]]:
        cfg = self.config
        sampler = self._gen("controller", epoch)
        valid = cycle(data.valid, data.batch, self._gen("valid", epoch), data.device)
        rewards: list[float] = []
        entropies: list[float] = []
        for step in range(cfg.controller_steps):
            got = self.controller_step(valid, sampler)
            rewards += got[0]
            entropies += got[1]
            if on_batch is not None:
                on_batch("controller", step + 1, cfg.controller_steps)
        return rewards, entropies

    def weights_step(
        self, x: torch.Tensor, y: torch.Tensor, sampler: torch.Generator
    ) -> tuple[float, int]:
        """One shared-weight step on the architecture the controller samples: (loss, right)."""
        choices, _ = self.policy.sample(sampler)
        self.net.train()
        self.w_optimizer.zero_grad(set_to_none=True)
        logits = self.net(x, arch=self.net.sampled(choices))
        loss = nn.functional.cross_entropy(logits, y)
        loss.backward()  # type: ignore[no-untyped-call]
        nn.utils.clip_grad_norm_(self.weights, self.config.grad_clip)
        self.w_optimizer.step()
        return float(loss.detach()), int((logits.detach().argmax(1) == y).sum())

    def controller_step(
        self, valid: Iterator[tuple[torch.Tensor, torch.Tensor]], sampler: torch.Generator
    ) -> tuple[list[float], list[float]]:
        """One controller step on ``aggregate`` samples, each rewarded on the next batch."""
        cfg = self.config
        rewards, entropies = [], []
        self.c_optimizer.zero_grad(set_to_none=True)
        for _ in range(cfg.aggregate):
            choices, _ = self.policy.sample(sampler)
            x, y = next(valid)
            log_p, entropy = self.policy.log_prob([choices])
            bonus = float(entropy[0].detach())
            reward = self._accuracy(choices, x, y) + cfg.entropy * bonus
            self.baseline -= (1 - cfg.baseline_decay) * (self.baseline - reward)
            loss = -(log_p[0] * (reward - self.baseline)) / cfg.aggregate
            if cfg.skip_weight > 0 and self.skips:
                loss = loss + cfg.skip_weight * self._skip_penalty(choices) / cfg.aggregate
            loss.backward()  # type: ignore[no-untyped-call]
            rewards.append(reward)
            entropies.append(bonus)
        self.c_optimizer.step()
        return rewards, entropies

    def _skip_penalty(self, choices: tuple[int, ...]) -> torch.Tensor:
        """ENAS macro's ``KL(p_skip || target)``, averaged over the skip decisions of a sample."""
        logs = self.policy.decision_logs([choices])
        t = self.config.skip_target
        target = torch.tensor([1 - t, t], dtype=torch.float64)
        kl = [(logs[i][0].exp() * (logs[i][0] - target.log())).sum() for i in self.skips]
        return torch.stack(kl).mean()

    def _derive(
        self, epoch: int, data: EpochData
    ) -> tuple[tuple[int, ...], float, dict[str, ArchMap]]:
        cfg = self.config
        x, y = next(batches(data.valid, data.batch, generator=fixed_order(self.seed), augment=None))
        x, y = x.to(data.device), y.to(data.device)
        sampler = self._gen("derive", epoch)
        best: tuple[int, ...] | None = None
        best_acc = -1.0
        counts = [[0] * d.size for d in self.decisions]
        for _ in range(cfg.derive):
            choices, _ = self.policy.sample(sampler)
            for i, c in enumerate(choices):
                counts[i][c] += 1
            acc = self._accuracy(choices, x, y)
            if acc > best_acc:
                best, best_acc = choices, acc
        assert best is not None
        arch: dict[str, ArchMap] = {}
        for spec in self.space.cells:
            index = [i for i, d in enumerate(self.decisions) if d.name.startswith(f"{spec.name}.")]
            arch[spec.name] = ArchMap(
                [self.decisions[i].name[len(spec.name) + 1 :] for i in index],
                [_options(self.decisions[i]) for i in index],
                [[n / cfg.derive for n in counts[i]] for i in index],
            )
        return best, best_acc, arch

    def state_dict(self) -> dict[str, Any]:
        """The baseline and the checkpoint (shared weights, controller, both optimizers)."""
        return {"baseline": self.baseline, "checkpoint": self.checkpoint.pack()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore ``state_dict``'s output."""
        self.baseline = float(state["baseline"])
        self.checkpoint.load(state["checkpoint"])


def _is_skip(decision: Decision) -> bool:
    """A skip-connection decision of a chain (no or yes)."""
    return decision.name.rsplit(".", 1)[-1].startswith("skip")


def _is_op(decision: Decision) -> bool:
    """An op (or combine) decision, bounded less than a wiring one."""
    return not decision.name.rsplit(".", 1)[-1].startswith(("input", "skip"))


def _options(decision: Decision) -> list[str]:
    return list(decision.labels) if decision.labels else [str(k) for k in range(decision.size)]
