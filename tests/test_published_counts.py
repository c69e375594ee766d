"""Counts beyond the published-figure registry (``genotypes/published.toml``, tests/test_verify.py).

The registry holds every printed figure; these are the code-derived counts it does not list
(the released code's rules, docs/conventions.md):
the 1000-class NASNet-A counts that Keras and the paper tables use
(the TF-slim 1001-class counts less one FC column and bias), the auxiliary heads of DARTS_V2,
DARTS_V1 at its ImageNet setting, and the DARTS transcription of NASNet-A at C = 36. The ENAS
counts are the exception: they are only printed rounded (3.89M, +~0.5M aux), so nasgen's exact
counts are pinned here.
"""

from __future__ import annotations

import pytest

from nasgen.api import CompileOptions, analyze
from nasgen.dsl.ast import Ident

CASES = [
    # (source, options, params, aux params or None)
    ("nasnet_a.cell", CompileOptions(n_cells=4, num_filters=44), 5_289_978, None),
    ("nasnet_a.cell", CompileOptions(variant="large"), 88_753_150, None),
    ("darts_v2.cell", CompileOptions(n_cells=6, num_filters=36), 3_349_342, 476_426),
    ("darts_v2.cell", CompileOptions(variant="imagenet"), 4_718_752, 1_260_776),
    ("darts_v1.cell", CompileOptions(variant="imagenet"), 4_510_432, None),
    ("nasnet_a_darts.cell", CompileOptions(), 3_830_950, None),
    # Only 3.89M (+~0.5M aux) is printed; these are nasgen's counts, pinned.
    ("enas_micro.cell", CompileOptions(), 3_894_372, 494_848),
]


@pytest.mark.parametrize(("source", "options", "params", "aux"), CASES)
def test_published_parameter_counts(
    source: str, options: CompileOptions, params: int, aux: int | None
) -> None:
    report = analyze(source, options).cost
    assert report.params == params
    if aux is not None:
        assert report.aux_params == aux


def test_nasnet_large_by_explicit_settings_matches_variant() -> None:
    explicit = CompileOptions(
        n_cells=6,
        num_filters=168,
        settings=(
            ("stem_multiplier", 3),
            ("input_size", 331),
            ("skip_reduction_layer_input", Ident("true")),
        ),
    )
    assert analyze("nasnet_a", explicit).cost.params == 88_753_150


def test_skip_reduction_layer_input_changes_the_graph_not_the_count_at_equal_widths() -> None:
    base = analyze("nasnet_a", CompileOptions(variant="large"))
    flipped = analyze(
        "nasnet_a",
        CompileOptions(
            variant="large",
            settings=(("skip_reduction_layer_input", Ident("false")),),
        ),
    )
    # The cell after a reduction reads a different h_prev (an earlier cell's output).
    assert base.graph.render() != flipped.graph.render()


def test_darts_stage_layout_is_3n_plus_2_cells() -> None:
    graph = analyze("darts_v2").graph
    cells = {n.cell for n in graph.nodes() if n.cell and n.cell.startswith("cells.")}
    assert len(cells) == 20  # DARTS `layers = 20` = 3 x 6 normal + 2 reductions
    reductions = {n.cell for n in graph.nodes() if n.stage.startswith("reduce")}
    assert reductions == {"cells.6", "cells.13"}  # layers // 3 and 2 * layers // 3
