"""Explicit stage networks: per-stage lists (depth, width, stride, b, g) checked into ``Stage``s.

Pipeline stage: front end (design space -> stage list). Imports ``nasgen.errors`` and
``nasgen.design.regnet``.

pycls's AnyNet (``pycls/models/anynet.py``) builds a network from the lists DEPTHS, WIDTHS,
STRIDES, BOT_MULS and GROUP_WS; a ``body = stages`` network states the same lists in the
language. The lists are taken literally: a stage whose bottleneck width round(w * b) is not a
multiple of its group width is refused (pycls would build a grouped conv torch refuses), with
the width the RegNet rule's compatibility step would give as the hint.
"""

from __future__ import annotations

from collections.abc import Sequence

from nasgen.design.regnet import Stage, compatible
from nasgen.errors import NasgenError

__all__ = ["BLOCKS", "MAX_STAGES", "stage_list"]

BLOCKS = ("x", "res_basic", "vanilla")
"""pycls's res_bottleneck_block (the X block; Y with SE), res_basic_block and vanilla_block."""
MAX_STAGES = 16


def _error(message: str, hint: str | None = None) -> NasgenError:
    return NasgenError("E332", message, hint=hint)


def stage_list(
    depths: Sequence[int],
    widths: Sequence[int],
    strides: Sequence[int] = (),
    bottlenecks: Sequence[float] = (),
    group_widths: Sequence[int] = (),
    block: str = "x",
) -> tuple[Stage, ...]:
    """The stages the lists state; strides default to 2 and bottlenecks to 1 per stage.

    Raises ``NasgenError`` (E332) for lists of unequal length, no stage or more than 16, an x
    block without group widths, or a group width that does not divide the bottleneck width.
    """
    n = len(depths)
    if not 1 <= n <= MAX_STAGES:
        raise _error(f"a stages network has 1 to {MAX_STAGES} stages, not {n}")
    given = {
        "widths": widths,
        "strides": strides or [2] * n,
        "bottlenecks": bottlenecks or [1.0] * n,
        "group_widths": group_widths or ([] if block == "x" else [1] * n),
    }
    if block == "x" and not group_widths:
        raise _error(
            "x blocks need group_widths, one per stage", "e.g. group_widths = [8, 8, 8, 8]"
        )
    for key, values in given.items():
        if len(values) != n:
            raise _error(f"{len(values)} {key} for {n} stages (depths has {n})")
    stages = []
    for i, (d, w, s, b, g) in enumerate(zip(depths, *given.values(), strict=True), start=1):
        if block == "x":
            w_b = round(w * b)
            if w_b < 1 or w_b % g != 0:
                fixed, fixed_g = compatible(w, b, g)
                raise _error(
                    f"stage {i}: the bottleneck width {w_b} (width {w} x {b:g}) is not a "
                    f"multiple of the group width {g}",
                    f"the RegNet rule's compatibility step gives width {fixed}, group width "
                    f"{fixed_g}",
                )
        stages.append(Stage(int(d), int(w), int(s), float(b), int(g)))
    return tuple(stages)
