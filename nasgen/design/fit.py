"""The fit of the RegNet rule to a network: per-block widths -> (d, w0, wa, wm) and e_fit.

Pipeline stage: front end (stage list -> design-space parameters). Imports ``nasgen.errors``
and ``nasgen.design.regnet`` only.

Radosavovic, Kosaraju, Girshick, He, Dollar, "Designing Network Design Spaces", CVPR 2020,
section 3.3: "given a network, we set d to its depth and perform a grid search over w0, wa and
wm to minimize the mean log-ratio (denoted by e_fit) of predicted to observed per-block
widths". pycls ships no code for it (docs/design/regnet_pycls.md section 6.1); here e_fit is
the mean over blocks of ``|ln(predicted_j / observed_j)|``, the predicted widths being steps
1-3 of the rule (``generate_regnet``, before the group-width compatibility).

The search (``FitGrid``; its wm range is the paper's initial RegNet space, 1.5 <= wm <= 3):

* **wa is solved exactly** for each (w0, wm). With x = wa / w0, block j has exponent
  ``round(ln(1 + x j) / ln wm)``: it moves from exponent k - 1 to k at the breakpoint
  ``x = (wm ** (k - 1/2) - 1) / j``. Between breakpoints the predicted widths are constant,
  so one sweep over the sorted breakpoints (the cost changes by one block's term at each)
  gives the least cost over every wa >= 0. It stops once block 1 reaches the first level at
  least as wide as the widest observed block: past that every block only gets wider than
  any observed width. The wa returned is the shortest decimal inside the best interval.
* **wm** runs over ``wm_min .. wm_max`` in steps of ``wm_step`` (31 values) at every w0
  tried. At the first block's width and at the best w0 it also takes one value in every
  cell that the observed widths cut the wm line into: width W and exponent k give the
  interval of wm over which ``8 * round(w0 * wm ** k / 8)`` is W (its multiple of 8). The
  cells inside an interval of the widest width are all kept, so an exact fit, if there is
  one at that w0, is found; the other cells are thinned to ``max_cells``.
* **w0** runs over multiples of 8. The first block's width o_0 comes first (the rule's block
  0 is w0 itself); a fit with e_fit 0 there ends the search. Otherwise: a coarse set,
  ``8 * round(2 ** (i / w0_per_octave))`` from 8 to the widest width; for each of the
  ``refine`` best of it, ``4 * w0_per_octave`` to an octave between its coarse neighbours
  and then every multiple of 8 between the neighbours of the best of those.
* **Polish**: from the best (w0, wm), w0 +- 8 with wm within 2 ``wm_step`` in steps of
  ``wm_step / 10``, while that improves; then wm within ``wm_step`` in ``wm_fine_step``; and
  the shortest decimal of wm that fits as well is kept.
* **Pruning**: a sweep is skipped when a lower bound on its cost (every observed width at
  its nearest level, whatever wa) cannot beat the ``refine``-th best w0 so far.

The rule's own networks are fitted exactly when their wm is in range (e_fit 0: the 24 zoo
models and some 260 sampled ones in tests/design/test_fit.py), in about 2 ms each. Other
stage networks of d <= 40 blocks take 10-120 ms, and the worst seen, 40 shuffled distinct
widths, under 0.3 s.
"""

from __future__ import annotations

import math
import operator
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate, pairwise

from nasgen.design.regnet import QUANTUM, RegNetParams, generate_regnet
from nasgen.errors import NasgenError

__all__ = [
    "Fit",
    "FitGrid",
    "block_widths",
    "e_fit",
    "fit_block_widths",
    "fit_regnet",
    "predicted_widths",
]

_TIE = 1e-12  # a cost must beat the best by this much to replace it (earlier candidates win)


@dataclass(frozen=True, slots=True)
class FitGrid:
    """The grid of ``fit_regnet`` (see the module docstring); wa needs none, it is exact."""

    wm_min: float = 1.5  # the range of wm (the paper's initial RegNet space)
    wm_max: float = 3.0
    wm_step: float = 0.05  # the coarse wm grid, at every w0 tried
    wm_fine_step: float = 0.001  # the last pass, within wm_step of the best wm
    w0_per_octave: int = 4  # the coarse w0 set; its refinement has 4 times as many
    max_cells: int = 64  # the wm cells kept beyond those an exact fit can lie in
    refine: int = 3  # how many of the best coarse w0s are refined


DEFAULT_GRID = FitGrid()


@dataclass(frozen=True, slots=True)
class Fit:
    """The fitted linear parametrisation of a network of ``depth`` blocks, and its e_fit.

    ``e_fit`` is that of the widths ``widths()`` predicts, against the observed ones.
    """

    depth: int
    w0: int
    wa: float
    wm: float
    e_fit: float

    def params(self, group_width: int, bottleneck: float = 1.0) -> RegNetParams:
        """The RegNet parameters of the fit, with the given group width and bottleneck ratio."""
        return RegNetParams(self.depth, self.w0, self.wa, self.wm, group_width, bottleneck)

    def widths(self) -> tuple[int, ...]:
        """The per-block widths the fitted parameters predict."""
        return predicted_widths(self.w0, self.wa, self.wm, self.depth)


def _fail(message: str) -> NasgenError:
    return NasgenError("E331", f"regnet fit: {message}")


def _positive_ints(values: Sequence[int], what: str) -> list[int]:
    if isinstance(values, (str, bytes)):
        raise _fail(f"{what} must be a sequence of integers, not a string")
    out = []
    for i, v in enumerate(values):
        try:
            n = operator.index(v)
        except TypeError:
            raise _fail(f"{what}[{i}] is {v!r}, not an integer") from None
        if isinstance(v, bool) or n <= 0:
            raise _fail(f"{what}[{i}] is {v!r}; it must be a positive integer")
        out.append(n)
    if not out:
        raise _fail(f"{what} is empty; a network has at least one block")
    return out


def block_widths(depths: Sequence[int], widths: Sequence[int]) -> tuple[int, ...]:
    """The per-block widths of a stage network: stage i's width repeated depths[i] times."""
    ds = _positive_ints(depths, "depths")
    ws = _positive_ints(widths, "widths")
    if len(ds) != len(ws):
        raise _fail(f"{len(ds)} stage depths but {len(ws)} stage widths")
    return tuple(w for w, d in zip(ws, ds, strict=True) for _ in range(d))


def predicted_widths(w0: int, wa: float, wm: float, d: int) -> tuple[int, ...]:
    """The rule's quantised per-block widths (steps 1-3), before the group compatibility.

    Invalid parameters raise the rule's own ``NasgenError`` E330.
    """
    widths, depths, _ = generate_regnet(RegNetParams(d, w0, wa, wm, group_width=1))
    return tuple(w for w, n in zip(widths, depths, strict=True) for _ in range(n))


def e_fit(observed: Sequence[int], predicted: Sequence[int]) -> float:
    """The mean over blocks of ``|ln(predicted_j / observed_j)|``."""
    obs = _positive_ints(observed, "observed widths")
    pred = _positive_ints(predicted, "predicted widths")
    if len(obs) != len(pred):
        raise _fail(f"{len(obs)} observed widths but {len(pred)} predicted ones")
    return sum(abs(math.log(p / o)) for o, p in zip(obs, pred, strict=True)) / len(obs)


def _level(w0: int, wm: float, k: int) -> int:
    return QUANTUM * round(w0 * wm**k / QUANTUM)  # regnet.py's step 3, half to even


class _Sweep:
    """The exact best wa for one observed network at any (w0, wm)."""

    __slots__ = ("groups", "lno", "max_o")

    def __init__(self, observed: Sequence[int]) -> None:
        self.lno = [math.log(o) for o in observed]
        self.max_o = max(observed)
        self.groups = [(math.log(w), observed.count(w)) for w in sorted(set(observed))]

    def _floor(self, ln_levels: list[float]) -> float:
        """A lower bound on the cost: every observed width at its nearest level."""
        total = 0.0
        last = len(ln_levels) - 1
        for o, n in self.groups:
            i = bisect_left(ln_levels, o)
            near = ln_levels[i] - o if i <= last else o - ln_levels[last]
            if i:
                near = min(near, o - ln_levels[i - 1])
            total += n * near
        return total

    def best_wa(self, w0: int, wm: float, bound: float) -> tuple[float, float, float]:
        """The least total cost over x = wa / w0 >= 0, and its interval [lo, hi) of x.

        The cost is inf when it cannot be under ``bound``: a lower bound, every observed
        width at its nearest level regardless of wa, already reaches it.
        """
        lno = self.lno
        d = len(lno)
        levels = [w0]
        while levels[-1] < self.max_o:
            levels.append(_level(w0, wm, len(levels)))
        top = len(levels) - 1  # the first level at least as wide as every observed block
        ln_levels = [math.log(w) for w in levels]
        if bound < math.inf and self._floor(ln_levels) >= bound - _TIE:
            return math.inf, 0.0, 0.0
        ln0 = ln_levels[0]
        base = sum(abs(ln0 - o) for o in lno)
        if top == 0 or d == 1:
            return base, 0.0, math.inf  # nothing beats every block at w0
        log_wm = math.log(wm)
        reach = wm ** (top - 0.5) - 1  # block 1 reaches the top level at x = reach
        kmax = [int(0.5 + math.log1p(j * reach) / log_wm + 1e-9) for j in range(d)]
        while len(levels) < max(kmax) + 1:
            levels.append(_level(w0, wm, len(levels)))
            ln_levels.append(math.log(levels[-1]))
        breaks = [wm ** (k - 0.5) - 1 for k in range(max(kmax) + 2)]
        # The sweep is exact up to the first breakpoint it leaves out, some block's.
        x_end = min(breaks[kmax[j] + 1] / j for j in range(1, d))
        xs: list[float] = []  # one ascending run per level: few runs for the sort to merge
        deltas: list[float] = []
        prev = [abs(ln0 - o) for o in lno]
        for k in range(1, len(breaks) - 1):
            b = breaks[k]
            low = max(1, int(b / x_end))  # block j moves up to level k at b / j < x_end
            while low < d and b / low >= x_end:
                low += 1
            if low >= d:
                break  # and so for every higher level
            ln_k = ln_levels[k]
            cur = [abs(ln_k - o) for o in lno]
            blocks = range(d - 1, low - 1, -1)
            xs.extend([b / j for j in blocks])
            deltas.extend([cur[j] - prev[j] for j in blocks])
            prev = cur
        order = sorted(range(len(xs)), key=xs.__getitem__)
        bounds = [xs[i] for i in order]
        bounds.append(x_end)
        sums = list(accumulate((deltas[i] for i in order), initial=base))
        if len(set(bounds)) == len(bounds):  # no breakpoints coincide: each state is an interval
            i = min(range(len(sums)), key=sums.__getitem__)
            return sums[i], (bounds[i - 1] if i else 0.0), bounds[i]
        best, best_lo, best_hi = math.inf, 0.0, 0.0
        lo = 0.0
        for cost, hi in zip(sums, bounds, strict=True):
            if hi > lo and cost < best - _TIE:
                best, best_lo, best_hi = cost, lo, hi
            lo = hi
        return best, best_lo, best_hi


def _pick_wa(w0: int, lo: float, hi: float) -> float:
    """A wa inside [lo, hi) * w0, away from its ends: the shortest decimal there."""
    if lo == 0.0:
        return 0.0
    mid = (lo + hi) / 2 if math.isfinite(hi) else 2 * lo
    wa = w0 * mid
    lo_wa, hi_wa = w0 * lo * (1 + 1e-9), w0 * hi * (1 - 1e-9)
    for decimals in range(7):
        r = round(wa, decimals)
        if lo_wa < r < hi_wa:
            return float(r)
    return wa


def _steps(lo: float, hi: float, step: float) -> list[float]:
    n = math.floor((hi - lo) / step + 1e-9)
    return [round(lo + i * step, 10) for i in range(n + 1)]


def _geometric(lo: int, hi: int, per_octave: int) -> list[int]:
    """Multiples of 8 from lo to hi, ``per_octave`` of them to an octave (fewer once they meet)."""
    n = math.ceil(math.log2(hi / lo) * per_octave - 1e-9)
    return sorted({QUANTUM * round(lo * 2 ** (i / per_octave) / QUANTUM) for i in range(n + 1)})


def _cells(observed: Sequence[int], w0: int, grid: FitGrid) -> list[float]:
    """One wm in every cell that the exact-match intervals of the observed widths cut.

    The cells inside an interval of the widest width come first and are all kept: an exact
    fit lies in one of them. The others, a heuristic, are thinned to ``max_cells``.
    """
    ends = {grid.wm_min, grid.wm_max}
    windows: list[tuple[float, float]] = []
    widest = max(QUANTUM, QUANTUM * round(max(observed) / QUANTUM))
    for w in sorted(set(observed)):
        target = max(QUANTUM, QUANTUM * round(w / QUANTUM))
        if target <= w0:
            continue
        lo, hi = (target - QUANTUM / 2) / w0, (target + QUANTUM / 2) / w0
        k = 1
        while hi ** (1 / k) > grid.wm_min:
            span = (lo ** (1 / k), hi ** (1 / k))
            ends.update(end for end in span if grid.wm_min < end < grid.wm_max)
            if target == widest:
                windows.append(span)
            k += 1
    points = sorted(ends)
    exact: list[float] = []
    rest: list[float] = []
    for a, b in pairwise(points):
        mid = (a + b) / 2
        (exact if any(lo <= mid <= hi for lo, hi in windows) else rest).append(mid)
    if len(rest) > grid.max_cells:
        stride = len(rest) / grid.max_cells
        rest = [rest[int(i * stride)] for i in range(grid.max_cells)]
    return exact + rest


def _grid_problems(grid: FitGrid) -> Iterator[str]:
    if not grid.wm_min > 1:
        yield f"wm_min {grid.wm_min} must be over 1"
    if not (grid.wm_max >= grid.wm_min and math.isfinite(grid.wm_max)):
        yield f"wm_max {grid.wm_max} must be a finite number >= wm_min {grid.wm_min}"
    if not (grid.wm_step > 0 and grid.wm_fine_step > 0):
        yield f"wm_step {grid.wm_step} and wm_fine_step {grid.wm_fine_step} must be positive"
    elif not (grid.wm_max - grid.wm_min) / grid.wm_step <= 10_000:
        yield f"wm_step {grid.wm_step} makes over 10000 values of wm"
    elif not grid.wm_step / grid.wm_fine_step <= 10_000:
        yield f"wm_fine_step {grid.wm_fine_step} is under wm_step / 10000"
    for name in ("w0_per_octave", "max_cells", "refine"):
        if getattr(grid, name) < 1:
            yield f"{name} {getattr(grid, name)} must be at least 1"


def fit_block_widths(observed: Sequence[int], *, grid: FitGrid = DEFAULT_GRID) -> Fit:
    """Fit (w0, wa, wm) to a network's per-block widths, d being its number of blocks."""
    problem = next(_grid_problems(grid), None)
    if problem is not None:
        raise _fail(f"grid: {problem}")
    obs = _positive_ints(observed, "observed widths")
    if len(obs) > 1024:
        raise _fail(f"{len(obs)} blocks are over the rule's 1024")
    sweep = _Sweep(obs)
    first = max(QUANTUM, QUANTUM * round(obs[0] / QUANTUM))
    best = (math.inf, first, grid.wm_min, 0.0, math.inf)  # cost, w0, wm, x lo, x hi
    costs: dict[int, float] = {}  # w0 -> its least cost found (inf: never under the bound)

    def consider(w0: int, wms: Iterable[float]) -> None:
        """Sweep wa at (w0, wm) for each wm, pruning against the refine-th best other w0."""
        nonlocal best
        others = sorted(c for w, c in costs.items() if w != w0)
        kth = others[grid.refine - 1] if len(others) >= grid.refine else math.inf
        own = costs.setdefault(w0, math.inf)
        for wm in wms:
            if not grid.wm_min <= wm <= grid.wm_max:
                continue
            cost, lo, hi = sweep.best_wa(w0, wm, min(own, kth))
            if cost < own - _TIE:
                own = costs[w0] = cost
            if cost < best[0] - _TIE:
                best = (cost, w0, wm, lo, hi)

    def scan(w0s: Iterable[int]) -> None:
        for w0 in sorted(set(w0s) - costs.keys()):
            consider(w0, coarse_wm)

    def around(w0: int, among: Iterable[int]) -> tuple[int, int]:
        ordered = sorted({w0, *among})
        at = ordered.index(w0)
        return ordered[max(0, at - 1)], ordered[min(len(ordered) - 1, at + 1)]

    coarse_wm = _steps(grid.wm_min, grid.wm_max, grid.wm_step)
    # The first block's width first, cells and all: the rule's own networks stop there.
    consider(first, coarse_wm + _cells(obs, first, grid))
    if best[0] > _TIE:  # else the fit is exact and nothing beats it
        coarse_w0 = _geometric(QUANTUM, max(QUANTUM, max(obs)), grid.w0_per_octave)
        scan(coarse_w0)
        for seed in sorted(costs, key=lambda w: (costs[w], w))[: grid.refine]:
            lo_w0, hi_w0 = around(seed, coarse_w0)
            scan(_geometric(lo_w0, hi_w0, 4 * grid.w0_per_octave))
            local = [w for w in costs if lo_w0 <= w <= hi_w0]
            centre = min(local, key=lambda w: (costs[w], w))
            lo_w0, hi_w0 = around(centre, local)
            scan(range(lo_w0 + QUANTUM, hi_w0, QUANTUM))
        consider(best[1], _cells(obs, best[1], grid))
        for _ in range(64):  # polish: step w0 by 8 while a nearby wm then fits better
            before, w0, wm = best[0], best[1], best[2]
            near = [round(wm + i * grid.wm_step / 10, 10) for i in range(-20, 21)]
            for side in (w0 - QUANTUM, w0 + QUANTUM):
                if side >= QUANTUM:
                    consider(side, near)
            if best[0] >= before - _TIE:
                break
        w0, wm = best[1], best[2]
        span = int(grid.wm_step / grid.wm_fine_step + 1e-9)
        consider(w0, (round(wm + i * grid.wm_fine_step, 10) for i in range(-span, span + 1)))
    cost, w0, wm, lo, hi = best
    for decimals in range(1, 7):  # the shortest decimal of wm that fits as well
        short = round(wm, decimals)
        if short == wm:
            break
        if grid.wm_min <= short <= grid.wm_max:
            c, s_lo, s_hi = sweep.best_wa(w0, short, math.inf)
            if c <= cost + _TIE:
                wm, lo, hi = short, s_lo, s_hi
                break
    wa = _pick_wa(w0, lo, hi)
    return Fit(len(obs), w0, wa, wm, e_fit(obs, predicted_widths(w0, wa, wm, len(obs))))


def fit_regnet(
    depths: Sequence[int], widths: Sequence[int], *, grid: FitGrid = DEFAULT_GRID
) -> Fit:
    """Fit (w0, wa, wm) to a stage network (stage depths and widths), d = sum(depths)."""
    return fit_block_widths(block_widths(depths, widths), grid=grid)
