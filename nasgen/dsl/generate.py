"""Random valid genotypes for any op set: property tests now, search strategies later.

Pipeline stage: front end (produces ASTs). Imports ``nasgen.dsl.ast`` and ``nasgen.ops``.

Every generated module parses back from its printed text, resolves, and lowers without error
on the small skeleton it carries: inputs are drawn from earlier states only, every loose end is
concatenated, and under ``output_adapt = none`` the explicit output lists blocks only.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from nasgen.dsl.ast import (
    Block,
    CellDef,
    ConventionDef,
    Ident,
    Module,
    NetworkDef,
    OpCall,
    Output,
    Setting,
    StateRef,
)
from nasgen.ops import OPS, PRESETS

__all__ = ["DARTS_OPS", "NB201_OPS", "GenotypeSpace", "random_genotype"]

DARTS_OPS = (
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
)
NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


@dataclass(frozen=True, slots=True)
class GenotypeSpace:
    """What to draw from: op spellings, conventions, block counts, combines, skeleton size."""

    ops: Sequence[str] = DARTS_OPS
    conventions: Sequence[str] = ("darts", "tf_slim", "tf_amoeba", "enas")
    blocks: tuple[int, int] = (1, 5)
    operands: tuple[int, int] = (1, 3)
    concat_combine: bool = True
    n_cells: int = 1
    num_filters: int = 8
    input_size: int = 32
    darts_form: bool = False
    """Blocks ``add(op(x), op(y))`` and an explicit concat: what a DARTS ``Genotype`` holds."""


def _ref(name: str) -> StateRef:
    return StateRef(name)


def _cell(
    rng: random.Random, name: str, space: GenotypeSpace, inputs: list[str], adapt: bool
) -> CellDef:
    states = list(inputs)
    blocks = []
    read: set[str] = set()
    for i in range(rng.randint(*space.blocks)):
        count = 2 if space.darts_form else rng.randint(*space.operands)
        ops = []
        for _ in range(count):
            src = rng.choice(states)
            read.add(src)
            ops.append(OpCall(rng.choice(list(space.ops)), _ref(src)))
        concat = space.concat_combine and not space.darts_form and count > 1
        combine = "concat" if concat and rng.random() < 0.2 else "add"
        single = count == 1 and rng.random() < 0.3
        blocks.append(Block(f"b{i + 1}", None if single else combine, tuple(ops)))
        states.append(f"b{i + 1}")
    loose = [b.name for b in blocks if b.name not in read]
    if not space.darts_form and rng.random() < 0.5:
        return CellDef(name, tuple(map(_ref, inputs)), tuple(blocks), None)
    extra_pool = [s for s in states if s not in loose and (adapt or s not in inputs)]
    extra = rng.sample(extra_pool, k=min(len(extra_pool), rng.randint(0, 2)))
    members = sorted(set(loose) | set(extra), key=states.index)
    return CellDef(
        name, tuple(map(_ref, inputs)), tuple(blocks), Output("concat", tuple(map(_ref, members)))
    )


def _network(space: GenotypeSpace, *extra: tuple[str, str | int]) -> NetworkDef:
    pairs: list[tuple[str, str | int]] = [
        ("N", space.n_cells),
        ("F", space.num_filters),
        ("classes", 10),
        ("input_size", space.input_size),
        *extra,
    ]
    return NetworkDef(tuple(Setting(k, Ident(v) if isinstance(v, str) else v) for k, v in pairs))


def _nb201_cell(rng: random.Random, space: GenotypeSpace) -> CellDef:
    states = ["x"]
    blocks = []
    for i in range(3):
        ops = tuple(OpCall(rng.choice(list(space.ops)), _ref(s)) for s in states)
        blocks.append(Block(f"n{i + 1}", "add", ops))
        states.append(f"n{i + 1}")
    return CellDef("normal", (_ref("x"),), tuple(blocks), Output(None, (_ref("n3"),)))


def random_genotype(
    seed: int, space: GenotypeSpace | None = None, *, nb201: bool = False
) -> Module:
    """A random valid genotype (two-cell NASNet/DARTS style, or an NB-201 cell)."""
    rng = random.Random(seed)
    space = space or (GenotypeSpace(ops=NB201_OPS) if nb201 else GenotypeSpace())
    if nb201:
        net = _network(space, ("reduction_mode", "resnet_block"), ("head", "bn_relu_gap"))
        conv = ConventionDef("nb201")
        return Module(1, f"nb201_{seed}", None, conv, (_nb201_cell(rng, space),), net)
    convention = rng.choice(list(space.conventions))
    adapt = PRESETS[convention].output_adapt != "none"
    cells = tuple(
        _cell(rng, name, space, ["h_prev", "h"], adapt) for name in ("normal", "reduction")
    )
    net = _network(space, ("stem_multiplier", 3))
    assert all(OPS.lookup(op) is not None for op in space.ops)
    return Module(1, f"random_{seed}", None, ConventionDef(convention), cells, net)
