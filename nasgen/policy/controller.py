"""Controllers: policies over a space's choice vectors that sample and score decisions.

Pipeline stage: policy (below search and one-shot). Imports torch (when constructed).

Two forms, both float64 (their state round-trips bit for bit, so a resumed search learns
exactly as an uninterrupted one):

- ``LogitsPolicy``: one independent softmax per decision, zeros at the start (NAS-Bench-201's
  REINFORCE baseline, Dong & Yang 2020, "per-edge logits").
- ``LSTMPolicy``: NASNet's controller (Zoph & Le 2017; Zoph et al. 2018, App. A): a recurrent
  network that makes the decisions one after another, in the space's order (for NASNet's
  space: the 5 predictions of each block, B blocks, the normal cell then the reduction cell;
  for other spaces, the decisions their encoding defines). Its input at step i is an
  embedding of the option chosen at step i - 1 (a learned start vector at step 0), and a
  linear head per decision turns its output into that decision's logits. Every weight is
  initialised U(-0.1, 0.1), as NASNet's paper says. ENAS (Pham et al. 2018, released code)
  bounds each head's logits as ``c * tanh(logits)`` (``squash``: ``c`` per decision, 1.10 for
  the wiring and 1.10 / 2.5 for the ops in its micro search; 0 leaves a head as it is).

``sample`` draws a vector with a given generator and returns its log-probability;
``log_prob`` scores a batch of vectors (teacher forcing) with gradients, for an update.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from nasgen.errors import NasgenError

if TYPE_CHECKING:
    import torch

__all__ = ["CONTROLLERS", "LSTMPolicy", "LogitsPolicy", "Policy", "make_policy"]

CONTROLLERS = ("logits", "lstm")


class Policy(Protocol):
    """A distribution over choice vectors with trainable float64 parameters."""

    def parameters(self) -> list[torch.Tensor]:
        """The trainable tensors, in a fixed order."""
        ...

    def named_tensors(self) -> dict[str, torch.Tensor]:
        """Every parameter by a stable name (what ``pack`` stores)."""
        ...

    def sample(self, generator: torch.Generator) -> tuple[tuple[int, ...], float]:
        """A vector drawn from the policy, and its log-probability."""
        ...

    def log_prob(self, batch: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probabilities and entropies (summed over decisions) of a batch, with grads."""
        ...


class LogitsPolicy:
    """Independent softmaxes, one per decision."""

    def __init__(self, sizes: Sequence[int]) -> None:
        """Uniform logits (zeros) for decisions of these sizes."""
        import torch

        self.logits = [torch.zeros(s, dtype=torch.float64, requires_grad=True) for s in sizes]

    def parameters(self) -> list[torch.Tensor]:
        """The logits, one tensor per decision."""
        return list(self.logits)

    def named_tensors(self) -> dict[str, torch.Tensor]:
        """``logits.{i}``."""
        return {f"logits.{i:04d}": x for i, x in enumerate(self.logits)}

    def sample(self, generator: torch.Generator) -> tuple[tuple[int, ...], float]:
        """One multinomial draw per decision."""
        import torch

        with torch.no_grad():
            choices, total = [], 0.0
            for x in self.logits:
                probs = torch.softmax(x, 0)
                c = int(torch.multinomial(probs, 1, generator=generator))
                choices.append(c)
                total += float(torch.log_softmax(x, 0)[c])
        return tuple(choices), total

    def log_prob(self, batch: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Sum of each decision's log-softmax at the chosen option, and the entropies."""
        import torch

        index = torch.tensor([list(v) for v in batch], dtype=torch.long)
        log_p = torch.zeros(len(batch), dtype=torch.float64)
        entropy = torch.zeros(len(batch), dtype=torch.float64)
        for i, x in enumerate(self.logits):
            logs = torch.log_softmax(x, 0)
            log_p = log_p + logs[index[:, i]]
            entropy = entropy - (logs.exp() * logs).sum()
        return log_p, entropy


class LSTMPolicy:
    """NASNet's recurrent controller over the space's decisions (see the module notes)."""

    def __init__(
        self,
        sizes: Sequence[int],
        hidden: int,
        layers: int,
        seed: int,
        squash: Sequence[float] | None = None,
    ) -> None:
        """A controller with ``layers`` LSTM layers of ``hidden`` units, seeded."""
        import torch

        self.sizes = tuple(sizes)
        self.squash = tuple(squash) if squash is not None else (0.0,) * len(self.sizes)
        if len(self.squash) != len(self.sizes):
            raise ValueError("squash needs one constant per decision")
        gen = torch.Generator().manual_seed(seed)
        with torch.random.fork_rng(devices=[]):  # torch's own init is overwritten below
            self.lstm = torch.nn.LSTM(hidden, hidden, layers, batch_first=True).double()
            self.heads = torch.nn.ModuleList(
                torch.nn.Linear(hidden, s).double() for s in self.sizes
            )
            self.embeds = torch.nn.ModuleList(
                torch.nn.Embedding(s, hidden).double() for s in self.sizes[:-1]
            )
            self.start = torch.nn.Parameter(torch.zeros(1, 1, hidden, dtype=torch.float64))
        with torch.no_grad():
            for p in self.parameters():
                p.uniform_(-0.1, 0.1, generator=gen)

    def parameters(self) -> list[torch.Tensor]:
        """LSTM, heads, embeddings and the start vector, in that order."""
        return [
            *self.lstm.parameters(),
            *self.heads.parameters(),
            *self.embeds.parameters(),
            self.start,
        ]

    def named_tensors(self) -> dict[str, torch.Tensor]:
        """Parameters under their module names."""
        named: dict[str, torch.Tensor] = {f"lstm.{k}": v for k, v in self.lstm.named_parameters()}
        named.update({f"heads.{k}": v for k, v in self.heads.named_parameters()})
        named.update({f"embeds.{k}": v for k, v in self.embeds.named_parameters()})
        named["start"] = self.start
        return named

    def _bounded(self, i: int, logits: torch.Tensor) -> torch.Tensor:
        """Head ``i``'s logits, as ENAS bounds them (``c * tanh``) when ``squash[i]`` is set."""
        import torch

        c = self.squash[i]
        return c * torch.tanh(logits) if c > 0 else logits

    def sample(self, generator: torch.Generator) -> tuple[tuple[int, ...], float]:
        """Decisions one after another, each fed to the next step."""
        import torch

        with torch.no_grad():
            x, state = self.start, None
            choices, total = [], 0.0
            for i, head in enumerate(self.heads):
                out, state = self.lstm(x, state)
                logs = torch.log_softmax(self._bounded(i, head(out[0, -1])), 0)
                c = int(torch.multinomial(logs.exp(), 1, generator=generator))
                choices.append(c)
                total += float(logs[c])
                if i < len(self.embeds):
                    x = self.embeds[i](torch.tensor([[c]]))
        return tuple(choices), total

    def decision_logs(self, batch: Sequence[Sequence[int]]) -> list[torch.Tensor]:
        """Each decision's log-softmax (batch x options) given the choices before it, with grads."""
        import torch

        index = torch.tensor([list(v) for v in batch], dtype=torch.long)
        n = len(batch)
        steps = [self.start.expand(n, 1, -1)]
        steps += [emb(index[:, i : i + 1]) for i, emb in enumerate(self.embeds)]
        out, _ = self.lstm(torch.cat(steps, 1))
        return [
            torch.log_softmax(self._bounded(i, head(out[:, i])), -1)
            for i, head in enumerate(self.heads)
        ]

    def log_prob(self, batch: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """The whole sequence at once (teacher forcing): log-probabilities and entropies."""
        import torch

        index = torch.tensor([list(v) for v in batch], dtype=torch.long)
        n = len(batch)
        log_p = torch.zeros(n, dtype=torch.float64)
        entropy = torch.zeros(n, dtype=torch.float64)
        for i, logs in enumerate(self.decision_logs(batch)):
            log_p = log_p + logs.gather(1, index[:, i : i + 1]).squeeze(1)
            entropy = entropy - (logs.exp() * logs).sum(-1)
        return log_p, entropy


def make_policy(
    controller: str, sizes: Sequence[int], hidden: int, layers: int, seed: int, who: str
) -> Policy:
    """The ``controller`` policy over decisions of these sizes; E856 for a bad setting."""
    if controller not in CONTROLLERS:
        raise NasgenError(
            "E856",
            f"{who}: unknown controller={controller}",
            hint="controller=logits (per-decision softmax) or controller=lstm (NASNet's)",
        )
    if controller == "logits":
        return LogitsPolicy(sizes)
    if not 1 <= hidden <= 4096 or not 1 <= layers <= 8:
        raise NasgenError("E856", f"{who}: hidden must be 1..4096 and layers 1..8")
    return LSTMPolicy(sizes, hidden, layers, seed)
