"""One DARTS search step: the architecture step on a validation batch, then the weight step.

Pipeline stage: one-shot. Imports torch and ``nasgen.oneshot.supernet``.

Liu, Simonyan, Yang, "DARTS", ICLR 2019, Algorithm 1 and equations 6-8; the defaults and the
order of the DARTS code (``cnn/train_search.py``, ``cnn/architect.py``): the alphas step first
(Adam, lr 3e-4, betas (0.5, 0.999), weight decay 1e-3), on the loss of a validation batch,
then the weights step (SGD, lr 0.025 with momentum 0.9 and weight decay 3e-4, gradient norm
clipped at 5) on a training batch.

First order: the alphas' gradient is that of the validation loss at the current weights.
Second order: at the weights one virtual SGD step ahead, ``w' = w - xi * (m + dL_train/dw +
wd * w)`` (``m`` the momentum buffer times the momentum, ``xi`` the weights' current lr), the
gradient is ``dL_val(w', a)/da - xi * H v`` with ``v = dL_val(w', a)/dw'`` and the
Hessian-vector product by central differences, ``(dL_train(w + r v, a)/da - dL_train(w - r
v, a)/da) / 2r``, ``r = 0.01 / ||v||``. The virtual steps run through
``torch.func.functional_call`` on copies of the BN statistics, so only the real steps move
the network's running statistics (the DARTS code runs them on a separate copy of the model).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.func import functional_call

from nasgen.oneshot.supernet import SearchNetwork

__all__ = ["DartsConfig", "DartsStep"]

Batch = tuple[Tensor, Tensor]


@dataclass(frozen=True, slots=True)
class DartsConfig:
    """The DARTS code's defaults."""

    order: int = 1
    lr: float = 0.025
    momentum: float = 0.9
    weight_decay: float = 3e-4
    grad_clip: float = 5.0
    arch_lr: float = 3e-4
    arch_betas: tuple[float, float] = (0.5, 0.999)
    arch_weight_decay: float = 1e-3
    hvp_scale: float = 0.01  # r = hvp_scale / ||v|| (the DARTS code's 1e-2)
    tau: float | None = None  # GDAS: sample one op per edge at this temperature (first order)
    seed: int = 0  # GDAS's draws: one generator per step, seeded by (seed, step)


class DartsStep:
    """The two optimisers of a DARTS search over one supernet."""

    def __init__(self, net: SearchNetwork, config: DartsConfig = DartsConfig()) -> None:
        """SGD on the weights, Adam on the alphas."""
        if config.order not in (1, 2) or (config.tau is not None and config.order != 1):
            raise ValueError(f"order must be 1 or 2 (1 with tau), not {config.order}")
        self.steps = 0
        self.net, self.config = net, config
        alphas = {id(a) for a in net.arch_parameters()}
        self.names = [n for n, p in net.named_parameters() if id(p) not in alphas]
        self.alpha_names = [n for n, p in net.named_parameters() if id(p) in alphas]
        self.weights = [p for p in net.parameters() if id(p) not in alphas]
        self.w_optimizer = torch.optim.SGD(
            self.weights, config.lr, momentum=config.momentum, weight_decay=config.weight_decay
        )
        self.a_optimizer = torch.optim.Adam(
            net.arch_parameters(),
            lr=config.arch_lr,
            betas=config.arch_betas,
            weight_decay=config.arch_weight_decay,
        )

    def _forward(self, x: Tensor, phase: int) -> Tensor:
        """The supernet on ``x``: relaxed (DARTS), or one sampled op per edge (GDAS)."""
        if self.config.tau is None:
            out: Tensor = self.net(x)
            return out
        gen = torch.Generator().manual_seed(self.config.seed * 1_000_003 + 2 * self.steps + phase)
        sampled: Tensor = self.net(x, tau=self.config.tau, generator=gen)
        return sampled

    def _loss_at(self, weights: Sequence[Tensor], alphas: Sequence[Tensor], batch: Batch) -> Tensor:
        """The loss with these weights and alphas, BN statistics on copies."""
        values = dict(zip(self.names, weights, strict=True))
        values.update(zip(self.alpha_names, alphas, strict=True))
        values.update({n: b.clone() for n, b in self.net.named_buffers()})
        logits = functional_call(self.net, values, (batch[0],))
        return nn.functional.cross_entropy(logits, batch[1])

    def _arch_grads(self, train: Batch, valid: Batch) -> tuple[list[Tensor], float]:
        """The alphas' gradient and the validation loss it came from."""
        alphas = self.net.arch_parameters()
        if self.config.order == 1:
            loss = nn.functional.cross_entropy(self._forward(valid[0], 0), valid[1])
            return list(torch.autograd.grad(loss, alphas)), float(loss.detach())
        xi = self.w_optimizer.param_groups[0]["lr"]
        w = [p.detach() for p in self.weights]
        d_train = torch.autograd.grad(self._loss_at(self.weights, alphas, train), self.weights)
        unrolled = []
        for p, g, orig in zip(w, d_train, self.weights, strict=True):
            buf = self.w_optimizer.state.get(orig, {}).get("momentum_buffer")
            moment = self.config.momentum * buf if buf is not None else torch.zeros_like(p)
            step = moment + g + self.config.weight_decay * p
            unrolled.append((p - xi * step).requires_grad_(True))
        a = [x.detach().requires_grad_(True) for x in alphas]
        val = self._loss_at(unrolled, a, valid)
        grads = torch.autograd.grad(val, a + unrolled)
        d_alpha, v = list(grads[: len(a)]), grads[len(a) :]
        r = self.config.hvp_scale / torch.cat([x.flatten() for x in v]).norm()
        plus = [p + r * x for p, x in zip(w, v, strict=True)]
        minus = [p - r * x for p, x in zip(w, v, strict=True)]
        g_plus = torch.autograd.grad(self._loss_at(plus, a, train), a)
        g_minus = torch.autograd.grad(self._loss_at(minus, a, train), a)
        hessian = [(gp - gm) / (2 * r) for gp, gm in zip(g_plus, g_minus, strict=True)]
        return [d - xi * h for d, h in zip(d_alpha, hessian, strict=True)], float(val.detach())

    def step(self, train: Batch, valid: Batch) -> tuple[float, float]:
        """The alphas step on ``valid``, then the weights step on ``train``; the two losses.

        The validation loss is the one the alphas' gradient was taken of (second order: at
        the virtual weights).
        """
        self.net.train()
        grads, valid_loss = self._arch_grads(train, valid)
        self.a_optimizer.zero_grad()
        for alpha, g in zip(self.net.arch_parameters(), grads, strict=True):
            alpha.grad = g.detach()
        self.a_optimizer.step()
        self.w_optimizer.zero_grad()
        loss = nn.functional.cross_entropy(self._forward(train[0], 1), train[1])
        loss.backward()  # type: ignore[no-untyped-call]
        nn.utils.clip_grad_norm_(self.weights, self.config.grad_clip)
        for alpha in self.net.arch_parameters():
            alpha.grad = None  # the weights' loss does not move the alphas
        self.w_optimizer.step()
        self.steps += 1
        return float(loss.detach()), valid_loss
