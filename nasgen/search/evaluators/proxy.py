"""``proxy:NAME[,NAME...]``: zero-cost proxies of an untrained network as an evaluator.

Pipeline stage: search (.cell text -> IR cost / untrained ``nn.Module`` -> **metrics**).
Imports ``nasgen.api``, ``nasgen.errors`` and ``nasgen.search.base``; the proxies that need a
network import ``nasgen.search.evaluators.proxies`` (torch) lazily, so ``proxy:params,macs``
never loads torch.

NOTE: [Log space] ``synflow`` is reported as the natural log of the synflow score (it reaches
1e61 on NB-201 networks) and ``naswot`` is by definition ``log|det K|``: both are in
``LOG_SPACE_PROXIES`` and in ``ProxyEvaluator.log_space``. Ranks, and so rank correlations and
every comparison a search makes, are the same as for the raw scores. The other proxies are raw
values (``jacob_cov`` is already a sum of logs and is usually a large negative number).

NOTE: [Undefined values] A proxy undefined for a network is reported, not turned into an
error: ``jacob_cov`` is NaN when the network's output ignores its input (every NB-201 cell
whose output node is reached only through ``none``), ``naswot`` -inf when two samples share
every ReLU code, ``synflow`` -inf when its score is 0. An architecture that does not compile
or build is ``Evaluation(error=...)``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from nasgen.api import Analysis, CompileOptions, analyze, build, check_seed
from nasgen.errors import NasgenError, did_you_mean
from nasgen.search.base import Evaluation

__all__ = [
    "LOG_SPACE_PROXIES",
    "PROXIES",
    "ProxyDef",
    "ProxyEvaluator",
    "check_proxy_names",
    "data_seed",
]


@dataclass(frozen=True, slots=True)
class ProxyDef:
    """One proxy: its name, what it computes, where it is from, and how it is reported."""

    name: str
    summary: str
    reference: str
    log_space: bool = False
    static: bool = False
    """Read from the static cost model: nothing is built and torch is not imported."""


_ZC = "Abdelfattah et al., Zero-Cost Proxies for Lightweight NAS, ICLR 2021"
PROXIES: Mapping[str, ProxyDef] = MappingProxyType(
    {
        p.name: p
        for p in (
            ProxyDef(
                "synflow",
                "ln of sum |W * dR/dW|, R = sum of outputs; |params|, no BN, float64, input ones",
                "Tanaka et al., Pruning neural networks without any data by iteratively "
                f"conserving synaptic flow, NeurIPS 2020; {_ZC}",
                log_space=True,
            ),
            ProxyDef(
                "naswot",
                "log|det K|, K = sum over ReLUs of c c^T + (1-c)(1-c)^T, c the binary codes",
                "Mellor et al., Neural Architecture Search without Training, ICML 2021",
                log_space=True,
            ),
            ProxyDef(
                "snip",
                "sum |W * dL/dW|, L the cross-entropy of the minibatch",
                f"Lee et al., SNIP: Single-shot Network Pruning, ICLR 2019; {_ZC}",
            ),
            ProxyDef("grad_norm", "sum over layers of ||dL/dW||_2", _ZC),
            ProxyDef(
                "jacob_cov",
                "-sum(log(l + 1e-5) + 1/(l + 1e-5)), l the eigenvalues of the correlation "
                "of the per-sample input Jacobians",
                "Mellor et al., Neural Architecture Search without Training, arXiv:2006.04647 "
                f"v1, 2020; {_ZC}",
            ),
            ProxyDef(
                "params", "parameters (auxiliary head excluded)", "static cost model", static=True
            ),
            ProxyDef(
                "macs",
                "multiply-accumulates of one forward pass (auxiliary head excluded)",
                "static cost model",
                static=True,
            ),
        )
    }
)
"""Every proxy ``proxy:NAME`` accepts, by name."""

LOG_SPACE_PROXIES = frozenset(name for name, p in PROXIES.items() if p.log_space)
"""The proxies reported as natural logs (see NOTE: [Log space])."""

_DATA_SALT = 0x9E3779B97F4A7C15


def data_seed(seed: int) -> int:
    """The seed of the synthetic minibatch of trial seed ``seed`` (the weights use ``seed``).

    A different stream from the weights' so the images are not drawn from the same numbers.
    """
    return seed ^ _DATA_SALT


def check_proxy_names(names: Sequence[str]) -> tuple[str, ...]:
    """``names`` stripped and checked: known, not repeated, at least one (else E820)."""
    if isinstance(names, str):
        names = names.split(",")
    out = tuple(n.strip() for n in names)
    known = ", ".join(PROXIES)
    if not out or out == ("",):
        raise NasgenError("E820", "no proxy named", hint=f"proxies: {known}")
    for name in out:
        if name not in PROXIES:
            hint = did_you_mean(name, PROXIES) or f"proxies: {known}"
            raise NasgenError("E820", f"unknown proxy {name!r}", hint=hint)
    repeated = sorted({n for n in out if out.count(n) > 1})
    if repeated:
        raise NasgenError("E820", f"proxy {repeated[0]!r} named twice")
    return out


class ProxyEvaluator:
    """Zero-cost proxies of the untrained network on one seeded synthetic minibatch.

    Attributes:
        name: ``proxy:`` and the proxy names joined by commas (``proxy:synflow,naswot``).
        metrics: the proxy names, in the order given; each is a metric of that name.
        log_space: the metrics reported as natural logs (``synflow``, ``naswot``).
        batch_size: images in the minibatch.
        options: the skeleton the text is compiled with (``nasgen.api.options_for``).

    """

    def __init__(
        self,
        proxies: Sequence[str],
        batch_size: int = 64,
        options: CompileOptions | None = None,
    ) -> None:
        """Check the names (E820) and the batch size (an int of at least 2, E820)."""
        self.metrics: tuple[str, ...] = check_proxy_names(proxies)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 2:
            raise NasgenError(
                "E820",
                f"batch size must be an integer of at least 2, not {batch_size!r}",
                hint="jacob_cov correlates samples; the reference code uses 64",
            )
        self.name = "proxy:" + ",".join(self.metrics)
        self.log_space = frozenset(m for m in self.metrics if m in LOG_SPACE_PROXIES)
        self.batch_size = batch_size
        self.options = options

    def evaluate(self, text: str, seed: int) -> Evaluation:
        """The proxies of ``text`` with weights from ``seed`` and a minibatch from it."""
        return self.evaluate_timed(text, seed)[0]

    def evaluate_timed(self, text: str, seed: int) -> tuple[Evaluation, dict[str, float]]:
        """``evaluate`` and the seconds it spent: ``compile``, ``build`` and each proxy."""
        checked = check_seed(seed)
        assert checked is not None
        times: dict[str, float] = {}
        start = time.perf_counter()
        try:
            result = analyze(text, self.options)
        except NasgenError as err:
            return Evaluation(error=str(err)), times
        times["compile"] = time.perf_counter() - start
        values: dict[str, float] = {
            "params": float(result.cost.params),
            "macs": float(result.cost.macs),
        }
        dynamic = [m for m in self.metrics if not PROXIES[m].static]
        if dynamic:
            error = self._run_network(result, checked, dynamic, values, times)
            if error is not None:
                return Evaluation(error=error), times
        return Evaluation({m: values[m] for m in self.metrics}), times

    def _run_network(
        self,
        result: Analysis,
        seed: int,
        names: Sequence[str],
        values: dict[str, float],
        times: dict[str, float],
    ) -> str | None:
        """Build the network, make the minibatch, compute ``names`` into ``values``."""
        import torch

        from nasgen.search.evaluators.proxies import PROXY_FUNCTIONS, synthetic_batch

        start = time.perf_counter()
        try:
            model = build(result, seed)
        except NasgenError as err:
            return str(err)
        times["build"] = time.perf_counter() - start
        net = result.arch.network
        inputs, targets = synthetic_batch(
            net.input_channels, net.input_size, net.classes, self.batch_size, data_seed(seed)
        )
        for name in names:
            start = time.perf_counter()
            # Any randomness a layer draws comes from the seed; the caller's RNG is untouched.
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                values[name] = PROXY_FUNCTIONS[name](model, inputs, targets)
            times[name] = time.perf_counter() - start
        return None
