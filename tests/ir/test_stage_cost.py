"""The stage coster (per-block sums for EDF sampling) agrees with the full cost on samples of
every design space, in and out of any regime."""

from __future__ import annotations

import random

import pytest

from nasgen.api import CompileOptions, cost_module
from nasgen.errors import NasgenError
from nasgen.ir.stage_cost import StageCoster
from nasgen.space import load_space

DESIGN = ["anynetx_a", "anynetx_b", "anynetx_c", "anynetx_d", "anynetx_e", "regnetx"]


@pytest.mark.property
@pytest.mark.parametrize("name", DESIGN)
def test_the_stage_coster_agrees_with_the_full_cost(name: str) -> None:
    space = load_space(name)
    design = space.design
    assert design is not None
    rng = random.Random(7)
    arch, _ = cost_module(space.decode(space.sample(rng)), CompileOptions())
    coster = StageCoster(arch)
    agreed = 0
    for _ in range(60):
        vector = tuple(rng.randrange(d.size) for d in space.decisions())
        try:
            stages = design.stages(vector)
        except NasgenError:
            continue  # a RegNet vector of another stage count
        _, full = cost_module(space.decode(vector), CompileOptions())
        assert coster.cost(stages) == (full.params, full.macs, full.acts)
        partial = coster.cost(stages, max_macs=full.macs // 2)
        assert partial is not None and full.macs // 2 < partial[1] <= full.macs
        agreed += 1
    assert agreed >= 10


def test_a_small_skeleton_is_costed_the_same() -> None:
    space = load_space("anynetx_e")
    options = CompileOptions(settings=(("input_size", 32), ("classes", 10)))
    rng = random.Random(1)
    arch, _ = cost_module(space.decode(space.sample(rng)), options)
    coster = StageCoster(arch)
    for _ in range(20):
        vector = space.sample(rng)
        assert space.design is not None
        _, full = cost_module(space.decode(vector), options)
        assert coster.cost(space.design.stages(vector)) == (full.params, full.macs, full.acts)
