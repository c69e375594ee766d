"""EDFs of design spaces: seeded samples in a complexity regime, their EDFs, and the KS test.

Pipeline stage: search (sampling and statistics over a space). Imports ``nasgen.errors``,
``nasgen.space``, ``nasgen.api``, ``nasgen.review`` and ``nasgen.search.strategies``; matplotlib
only through ``nasgen.plotting``.

Radosavovic et al. 2020 (section 2) compare design spaces by the empirical distribution
function of a measure over n models sampled from each: F(e) = the fraction of models with a
value below e. The paper samples n = 500 models per space in a complexity regime (360-400M
flops for "400MF") by rejection, and trains them; the complexity EDFs (params, MACs,
activations) need no training.

The draws are exactly those of ``nasgen search SPACE --strategy random --min-macs LO
--max-macs HI`` with the same seed (``RandomSearch``'s k-th vector; a repeat of an earlier
network by nasgen hash and anything outside the regime are skipped), so an error-EDF run
evaluates the very models the complexity EDFs describe.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from nasgen.api import CompileOptions, cost_module
from nasgen.errors import NasgenError
from nasgen.review.fingerprint import architecture_hash
from nasgen.search.config import Constraints
from nasgen.search.prefilter import StagePrefilter
from nasgen.search.strategies.random_search import RandomSearch
from nasgen.space import SearchSpace

__all__ = [
    "MEASURES",
    "Model",
    "Regime",
    "SpaceSample",
    "edf",
    "ks_test",
    "parse_regime",
    "sample_space",
]

MEASURES = ("params", "macs", "acts")
FIRST_HIT = 200_000
"""Draws without a single model in the regime before sampling gives up."""
DRAWS_PER_MODEL = 10_000
"""Draws per model asked for before sampling gives up (AnyNetX_A in 400MF takes some 1,200)."""
_UNITS = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9}


@dataclass(frozen=True, slots=True)
class Regime:
    """A MAC range [low, high] (either end open), and how the user wrote it."""

    low: int | None
    high: int | None
    label: str

    def constraints(self) -> Constraints:
        """The search loop's bounds for this regime."""
        return Constraints(min_macs=self.low, max_macs=self.high)


def _amount(text: str, whole: str) -> int:
    match = re.fullmatch(r"([0-9]*\.?[0-9]+)\s*([KMG]?)(?:F|MACS?)?", text.strip().upper())
    if match is None:
        raise NasgenError(
            "E871",
            f"--regime {whole}: {text!r} is not an amount of MACs",
            hint="e.g. 400MF (360M to 400M, the paper's regime), 360M-400M, 1.6GF, none",
        )
    return round(float(match.group(1)) * _UNITS[match.group(2)])


def parse_regime(text: str) -> Regime:
    """``400MF`` (the paper's 0.9x to 1x: 360M-400M), ``360M-400M``, ``-400M`` or ``none``."""
    if text.strip().lower() in ("none", ""):
        return Regime(None, None, "none")
    if "-" in text:
        lo, _, hi = text.partition("-")
        low = _amount(lo, text) if lo.strip() else None
        high = _amount(hi, text) if hi.strip() else None
    else:
        high = _amount(text, text)
        low = round(high * 0.9)
    if low is not None and high is not None and low > high:
        raise NasgenError("E871", f"--regime {text}: the low end is above the high end")
    return Regime(low, high, text)


@dataclass(frozen=True, slots=True)
class Model:
    """One sampled network: its draw, vector, text, hash and static complexity."""

    draw: int
    choices: tuple[int, ...]
    text: str
    arch_hash: str
    params: int
    macs: int
    acts: int

    def measure(self, name: str) -> int:
        """``params``, ``macs`` or ``acts``."""
        return int(getattr(self, name))


@dataclass(frozen=True, slots=True)
class SpaceSample:
    """The models of one space in the regime, and what it took to find them."""

    name: str
    models: tuple[Model, ...]
    drawn: int
    outside: int  # outside the regime, or no network of the space (E333)
    repeats: int


def sample_space(
    space: SearchSpace,
    n: int,
    regime: Regime,
    seed: int,
    options: CompileOptions | None = None,
    progress: Callable[[int], None] | None = None,
) -> SpaceSample:
    """The first ``n`` distinct networks in ``regime`` among the seeded random draws.

    Gives up (E872) after ``FIRST_HIT`` draws without a model, or ``DRAWS_PER_MODEL`` x n
    draws in all; pycls's sweep draws up to a million.
    """
    from nasgen.dsl.printer import print_module

    options = options or CompileOptions()
    strategy = RandomSearch(tuple(d.size for d in space.decisions()), seed)
    bounds = regime.constraints()
    prefilter = StagePrefilter(space, options, bounds)
    models: list[Model] = []
    seen: set[str] = set()
    drawn = outside = repeats = 0
    while len(models) < n:
        if drawn >= DRAWS_PER_MODEL * n or (not models and drawn >= FIRST_HIT):
            raise NasgenError(
                "E872",
                f"{space.name}: {len(models)} of {n} networks in regime {regime.label} after "
                f"{drawn:,} draws",
                hint="widen --regime, or check it against `nasgen space info` (its MAC range)",
            )
        choices = strategy.ask()
        drawn += 1
        if prefilter.reject(choices) is not None:
            outside += 1
            continue
        try:
            module = space.decode(choices)
            arch, cost = cost_module(module, options)
        except NasgenError:
            outside += 1
            continue
        if bounds.violation(cost.params, cost.macs) is not None:
            outside += 1
            continue
        _agree(prefilter, choices, (cost.params, cost.macs, cost.acts), space.name)
        digest = architecture_hash(arch)
        if digest in seen:
            repeats += 1
            continue
        seen.add(digest)
        text = print_module(module)
        models.append(Model(drawn - 1, choices, text, digest, cost.params, cost.macs, cost.acts))
        if progress is not None:
            progress(1)
    return SpaceSample(space.name, tuple(models), drawn, outside, repeats)


def _agree(
    prefilter: StagePrefilter, choices: tuple[int, ...], full: tuple[int, int, int], name: str
) -> None:
    """The stage coster must give a kept model's full cost (a guard, not a second opinion)."""
    design, coster = prefilter.space.design, prefilter.coster
    if design is None or coster is None:
        return
    fast = coster.cost(design.stages(choices[len(choices) - len(design.decisions) :]))
    if fast is not None and fast != full:
        raise NasgenError(
            "E899", f"{name}: the stage coster says {fast}, the full cost {full}",
            hint="a bug in nasgen; please report it with the space",
        )  # fmt: skip


def edf(values: Sequence[float]) -> tuple[list[float], list[float]]:
    """The EDF as steps: sorted values and the fraction of values at or below each."""
    xs = sorted(values)
    n = len(xs)
    return xs, [(i + 1) / n for i in range(n)]


def ks_test(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """The two-sample Kolmogorov-Smirnov statistic D = max |F_a - F_b| and its p-value.

    The p-value is the asymptotic one, Q(sqrt(m n / (m + n)) D) with Q(t) = 2 sum_k
    (-1)^(k-1) exp(-2 k^2 t^2) (Kolmogorov's series; good for samples of tens and more).
    """
    if not a or not b:
        raise NasgenError("E872", "a KS test needs values on both sides")
    xs, ys = sorted(a), sorted(b)
    i = j = 0
    d = 0.0
    while i < len(xs) and j < len(ys):
        v = min(xs[i], ys[j])
        while i < len(xs) and xs[i] == v:
            i += 1
        while j < len(ys) and ys[j] == v:
            j += 1
        d = max(d, abs(i / len(xs) - j / len(ys)))
    t = math.sqrt(len(xs) * len(ys) / (len(xs) + len(ys))) * d
    if t < 1e-3:
        return d, 1.0
    p = 2 * sum((-1) ** (k - 1) * math.exp(-2 * k * k * t * t) for k in range(1, 101))
    return d, min(1.0, max(0.0, p))
