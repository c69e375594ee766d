"""The RegNet rule: (d, w0, wa, wm, b, g) -> stages of depth, width, stride and group width.

Pipeline stage: front end (design space -> stage list). Imports ``nasgen.errors`` only.

Radosavovic, Kosaraju, Girshick, He, Dollar, "Designing Network Design Spaces", CVPR 2020,
section 3.3, and its released code (facebookresearch/pycls ``pycls/models/regnet.py``
``generate_regnet``, ``pycls/models/blocks.py`` ``adjust_block_compatibility``; the rules are
written out in docs/design/regnet_pycls.md):

1. per-block widths u_j = w0 + wa * j, j = 0 .. d - 1;
2. s_j = log(u_j / w0) / log(wm), rounded to the nearest integer (half to even);
3. w_j = q * round(w0 * wm ** round(s_j) / q), q = 8 (half to even);
4. stages are the runs of equal w_j (their widths and counts);
5. per stage, with bottleneck ratio b and group width g: the bottleneck width
   v = int(max(1, w * b)), the group width g' = min(g, v), m = lcm(g', b) for b > 1 (g'
   otherwise), v' = max(m, round(v / m) * m) (half to even), and the stage width int(v' / b).

Both roundings are half to even, as numpy's and Python's ``round`` are; the published widths
depend on it (RegNetX-1.6GF's 180 -> 176 -> 168, RegNetX-400MF's 392 -> 384).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from nasgen.errors import NasgenError

__all__ = ["ZOO", "RegNetParams", "Stage", "compatible", "generate_regnet", "regnet_stages"]

QUANTUM = 8


@dataclass(frozen=True, slots=True)
class Stage:
    """One stage: ``depth`` blocks of ``width`` channels; the first strides."""

    depth: int
    width: int
    stride: int = 2
    bottleneck: float = 1.0
    group_width: int = 1


@dataclass(frozen=True, slots=True)
class RegNetParams:
    """A RegNet's parameters (pycls ``REGNET``: DEPTH, W0, WA, WM, GROUP_W, BOT_MUL, SE_ON)."""

    depth: int
    w0: int
    wa: float
    wm: float
    group_width: int
    bottleneck: float = 1.0
    se: bool = False
    stride: int = 2

    def stages(self) -> tuple[Stage, ...]:
        """The stages the RegNet rule makes of these parameters."""
        return regnet_stages(self)


def _check(p: RegNetParams) -> None:
    problems = [
        (p.depth < 1, f"depth {p.depth} must be at least 1"),
        (p.depth > 1024, f"depth {p.depth} is over 1024 blocks"),
        (p.w0 <= 0 or p.w0 % QUANTUM != 0, f"w0 {p.w0} must be a positive multiple of 8"),
        (not (math.isfinite(p.wa) and p.wa >= 0), f"wa {p.wa} must be a number >= 0"),
        (not (math.isfinite(p.wm) and p.wm > 1), f"wm {p.wm} must be a number > 1"),
        (p.group_width < 1, f"group width {p.group_width} must be at least 1"),
        (
            not (p.bottleneck > 0 and (p.bottleneck < 1 or p.bottleneck % 1 == 0)),
            f"bottleneck ratio {p.bottleneck} must be below 1 or a whole number",
        ),
        (p.stride < 1, f"stride {p.stride} must be at least 1"),
    ]
    for bad, message in problems:
        if bad:
            raise NasgenError("E330", f"regnet: {message}")


def generate_regnet(p: RegNetParams) -> tuple[list[int], list[int], int]:
    """Steps 1-4: the stage widths, the stage depths, and the number of exponents spanned.

    The last value is ``max(round(s_j)) + 1``; a space's sampler rejects parameters whose
    stages it does not equal (two exponents merged into one width, or one skipped).
    """
    _check(p)
    widths: list[int] = []
    exponents = []
    for j in range(p.depth):
        u = p.w0 + p.wa * j
        k = round(math.log(u / p.w0) / math.log(p.wm))
        exponents.append(k)
        widths.append(QUANTUM * round(p.w0 * p.wm**k / QUANTUM))
    stage_widths = sorted(set(widths))  # u_j grows, so the runs of equal widths, in order
    depths = [widths.count(w) for w in stage_widths]
    return stage_widths, depths, max(exponents) + 1


def compatible(width: int, bottleneck: float, group_width: int) -> tuple[int, int]:
    """Step 5: (stage width, group width) such that groups divide the bottleneck width."""
    v = int(max(1, width * bottleneck))
    g = int(min(group_width, v))
    m = math.lcm(g, int(bottleneck)) if bottleneck > 1 else g
    v = max(m, int(round(v / m) * m))
    return int(v / bottleneck), g


def regnet_stages(p: RegNetParams) -> tuple[Stage, ...]:
    """The stages of a RegNet: ``generate_regnet`` then the group-width compatibility."""
    widths, depths, _ = generate_regnet(p)
    stages = []
    for w, d in zip(widths, depths, strict=True):
        width, g = compatible(w, p.bottleneck, p.group_width)
        stages.append(Stage(d, width, p.stride, p.bottleneck, g))
    return tuple(stages)


def _zoo() -> dict[str, RegNetParams]:
    # pycls configs/dds_baselines/regnet{x,y}/RegNet{X,Y}-*_dds_8gpu.yaml (DEPTH, W0, WA, WM,
    # GROUP_W; Y sets SE_ON); BOT_MUL 1.0, SE_R 0.25, STEM_W 32 are the defaults.
    table = {
        "200mf": ((13, 24, 36.44, 2.49, 8), (13, 24, 36.44, 2.49, 8)),
        "400mf": ((22, 24, 24.48, 2.54, 16), (16, 48, 27.89, 2.09, 8)),
        "600mf": ((16, 48, 36.97, 2.24, 24), (15, 48, 32.54, 2.32, 16)),
        "800mf": ((16, 56, 35.73, 2.28, 16), (14, 56, 38.84, 2.4, 16)),
        "1_6gf": ((18, 80, 34.01, 2.25, 24), (27, 48, 20.71, 2.65, 24)),
        "3_2gf": ((25, 88, 26.31, 2.25, 48), (21, 80, 42.63, 2.66, 24)),
        "4_0gf": ((23, 96, 38.65, 2.43, 40), (22, 96, 31.41, 2.24, 64)),
        "6_4gf": ((17, 184, 60.83, 2.07, 56), (25, 112, 33.22, 2.27, 72)),
        "8_0gf": ((23, 80, 49.56, 2.88, 120), (17, 192, 76.82, 2.19, 56)),
        "12gf": ((19, 168, 73.36, 2.37, 112), (19, 168, 73.36, 2.37, 112)),
        "16gf": ((22, 216, 55.59, 2.1, 128), (18, 200, 106.23, 2.48, 112)),
        "32gf": ((23, 320, 69.86, 2.0, 168), (20, 232, 115.89, 2.53, 232)),
    }
    zoo = {}
    for size, (x, y) in table.items():
        zoo[f"regnetx_{size}"] = RegNetParams(*x)
        zoo[f"regnety_{size}"] = RegNetParams(*y, se=True)
    return zoo


ZOO: dict[str, RegNetParams] = _zoo()
"""The 24 models of pycls's MODEL_ZOO.md by name (``regnetx_200mf`` ... ``regnety_32gf``)."""
