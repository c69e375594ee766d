"""1000 generated genotypes across conventions and cell styles (issue 4's property).

For each: the printed text parses back to the same AST; the static count (IR cost model) equals
the PyTorch module's parameter count; a DARTS-form genotype survives DARTS ``Genotype(...)``
export and import with the same cells and count; an NB-201 cell survives its string.
Seeds are fixed (0..999) so a failure names its genotype: ``random_genotype(seed, ...)``.
"""

from __future__ import annotations

import dataclasses

import pytest

from nasgen.api import analyze, build
from nasgen.dsl import parse_text
from nasgen.dsl.ast import Module
from nasgen.dsl.foreign import export_darts, export_nb201, import_darts, import_nb201
from nasgen.dsl.generate import GenotypeSpace, random_genotype
from nasgen.dsl.printer import print_module

torch = pytest.importorskip("torch")

TOTAL, CHUNK = 1000, 100
DARTS_FORM = GenotypeSpace(darts_form=True)


def _genotype(seed: int) -> tuple[str, Module]:
    style = ("nb201", "darts_form", "general", "general")[seed % 4]
    if style == "nb201":
        return style, random_genotype(seed, nb201=True)
    return style, random_genotype(seed, DARTS_FORM if style == "darts_form" else None)


@pytest.mark.property
@pytest.mark.parametrize("start", range(0, TOTAL, CHUNK))
def test_generated_genotypes_count_and_round_trip(start: int) -> None:
    conventions: set[str] = set()
    for seed in range(start, start + CHUNK):
        style, module = _genotype(seed)
        text = print_module(module)
        assert parse_text(text) == module, seed
        result = analyze(text)
        conventions.add(result.arch.convention.name)
        with torch.device("meta"):
            model = build(result)
        total = sum(p.numel() for p in model.parameters())
        assert total == result.cost.params + result.cost.aux_params, seed
        assert model.count_parameters() == result.cost.params, seed
        if style == "darts_form":
            exported = export_darts(module)
            again = import_darts(exported)
            assert export_darts(again) == exported, seed
            assert again.cells == module.cells, seed
            same_skeleton = dataclasses.replace(
                again,
                convention=module.convention,
                network=module.network,
            )
            assert analyze(print_module(same_skeleton)).cost.params == result.cost.params, seed
        elif style == "nb201":
            exported = export_nb201(module)
            again = import_nb201(exported)
            assert export_nb201(again) == exported, seed
            assert again.cells == module.cells, seed
    # every chunk covers the DARTS, TF-slim, TF-TPU and ENAS conventions and NB-201
    assert conventions == {"darts", "tf_slim", "tf_amoeba", "enas", "nb201"}
