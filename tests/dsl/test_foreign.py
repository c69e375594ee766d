"""Importers and exporters: DARTS Genotype strings and NAS-Bench-201 strings, both ways."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from nasgen.api import analyze, load_source
from nasgen.cli import main
from nasgen.dsl import parse, parse_text
from nasgen.dsl.foreign import (
    export_darts,
    export_nb201,
    import_darts,
    import_nb201,
    import_tfslim,
    split_genotypes,
)
from nasgen.dsl.printer import print_module
from nasgen.errors import NasgenError

DARTS_FAMILY = ["darts_v1", "darts_v2", "pc_darts", "p_darts", "nasnet_a_darts", "amoebanet_darts"]

# quark0/darts cnn/genotypes.py, DARTS_V2, verbatim (with range(2, 6) as there).
DARTS_V2 = (
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
    "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
    "('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
    "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
    "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=range(2, 6))"
)


def test_darts_v2_string_compiles_to_the_released_size() -> None:
    module = import_darts(DARTS_V2)
    assert analyze(print_module(module)).cost.params == 3_349_342


@pytest.mark.parametrize("name", DARTS_FAMILY)
def test_bundled_darts_family_round_trips_through_the_darts_string(name: str) -> None:
    module = parse(load_source(name))
    text = export_darts(module)
    again = import_darts(text)
    assert export_darts(again) == text
    assert analyze(print_module(again)).cost.params == analyze(name).cost.params


def test_a_file_of_many_genotypes_is_split_by_name() -> None:
    text = f"import x\nDARTS_V2 = {DARTS_V2}\nDARTS = DARTS_V2\nX = {DARTS_V2}\n"
    found = split_genotypes(text)
    assert [n for n, _ in found] == ["DARTS_V2", "X"]


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true')",
        "Genotype(normal=[('sep_conv_3x3', __import__('os'))], normal_concat=[2], "
        "reduce=[], reduce_concat=[])",
        "Genotype(normal=[('sep_conv_3x3', 5), ('skip_connect', 0)], normal_concat=[2], "
        "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1)], reduce_concat=[2])",
        "Genotype(normal=[], normal_concat=[2])",
        "Genotype(",
    ],
)
def test_bad_or_hostile_darts_strings_are_refused_never_run(text: str) -> None:
    with pytest.raises(NasgenError):
        import_darts(text)


NB201_OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]


@pytest.mark.property
@settings(max_examples=100, deadline=None)
@given(ops=st.lists(st.sampled_from(NB201_OPS), min_size=6, max_size=6))
def test_nb201_strings_round_trip_and_compile(ops: list[str]) -> None:
    edges = iter(ops)
    text = "+".join("|" + "|".join(f"{next(edges)}~{i}" for i in range(j)) + "|" for j in (1, 2, 3))
    module = import_nb201(text)
    assert export_nb201(module) == text
    assert export_nb201(parse_text(print_module(module))) == text
    assert analyze(print_module(module)).cost.params >= 73_306  # the all-`none` network


def test_nb201_all_none_network_is_the_bare_skeleton() -> None:
    # stem 3x3 (432 + 32) + residual blocks 16->32 (14,464) and 32->64 (57,600) + final BN (128)
    # + classifier 64x10+10 (650): AutoDL TinyNetwork with every edge `none`.
    module = import_nb201("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    assert analyze(print_module(module)).cost.params == 464 + 14_464 + 57_600 + 128 + 650


def test_cli_import_writes_a_checked_file_and_never_overwrites(tmp_path: Path) -> None:
    out = tmp_path / "v2.cell"
    runner = CliRunner()
    result = runner.invoke(main, ["import", "darts", DARTS_V2, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert analyze(str(out)).cost.params == 3_349_342
    again = runner.invoke(main, ["import", "darts", DARTS_V2, "-o", str(out)])
    assert again.exit_code == 1 and "E505" in again.output
    exported = runner.invoke(main, ["export", "darts", str(out)])
    assert exported.exit_code == 0
    assert import_darts(exported.output.strip()) == import_darts(DARTS_V2)


def test_bundled_nb201_cell_exports_its_source_string() -> None:
    expected = (
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|"
        "+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    )
    assert export_nb201(parse(load_source("nb201_example"))) == expected
    assert import_nb201(expected).cells == parse(load_source("nb201_example")).cells


# TF-slim / TF-TPU lists as released (data copied from the sources named in each file).
TFSLIM = Path(__file__).parent.parent / "data" / "tfslim"


@pytest.mark.parametrize(
    ("name", "params"),
    [("nasnet_a", 3_346_538), ("pnasnet_5", 5_065_568), ("amoebanet_a", 2_567_754)],
)
def test_tfslim_lists_import_to_the_bundled_cells_and_published_sizes(
    name: str, params: int
) -> None:
    # NASNet-A CIFAR 6 @ 768 (3.3M), PNASNet-5 mobile (5.1M), AmoebaNet-A N=6 F=32 (2.6M).
    imported = import_tfslim((TFSLIM / f"{name}.json").read_text(encoding="utf-8"))
    bundled = parse(load_source(name))
    assert imported.cells == bundled.cells  # same wiring, concat sets and index swap
    assert imported.convention.preset == bundled.convention.preset
    assert analyze(print_module(imported)).cost.params == params
    on_bundled_skeleton = dataclasses.replace(
        imported, network=bundled.network, variants=bundled.variants
    )
    assert analyze(print_module(on_bundled_skeleton)).cost.params == analyze(name).cost.params


def test_tfslim_python_assignments_as_in_nasnet_utils() -> None:
    text = """
        operations = ['separable_5x5_2', 'separable_3x3_2', 'separable_5x5_2',
                      'separable_3x3_2', 'avg_pool_3x3', 'none', 'avg_pool_3x3',
                      'avg_pool_3x3', 'separable_3x3_2', 'none']
        used_hiddenstates = [1, 0, 0, 0, 0, 0, 0]
        hiddenstate_indices = [0, 1, 1, 1, 0, 1, 1, 1, 0, 0]
        operations = ['separable_5x5_2', 'separable_7x7_2', 'max_pool_3x3',
                      'separable_7x7_2', 'avg_pool_3x3', 'separable_5x5_2', 'none',
                      'avg_pool_3x3', 'separable_3x3_2', 'max_pool_3x3']
        used_hiddenstates = [1, 1, 1, 0, 0, 0, 0]
        hiddenstate_indices = [0, 1, 0, 1, 0, 1, 3, 2, 2, 0]
    """
    assert import_tfslim(text).cells == parse(load_source("nasnet_a")).cells


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{"operations": ["separable_3x3"], "hiddenstate_indices": [0], '
            '"used_hiddenstates": [0, 0]}',
            "expected 2 per block",
        ),
        (
            '{"operations": ["separable_3x3", "none"], "hiddenstate_indices": [0, 1], '
            '"used_hiddenstates": [1, 0, 0]}',
            "unknown TF op 'separable_3x3'",
        ),
        (
            '{"operations": ["none", "none"], "hiddenstate_indices": [0, 2], '
            '"used_hiddenstates": [1, 0, 0]}',
            "index 2 refers to no earlier state",
        ),
        (
            '{"operations": ["none", "none"], "hiddenstate_indices": [0, 1], '
            '"used_hiddenstates": [1, 1, 1]}',
            "nothing to concatenate",
        ),
        ("operations = __import__('os').system('true')", "not a genotype literal"),
        ("import os", "unexpected statement"),
        ("[1, 2]", "must be an object"),
    ],
)
def test_bad_tfslim_input_is_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(NasgenError, match=message):
        import_tfslim(text)


def test_tfslim_unknown_op_suggests_the_tf_spelling() -> None:
    text = (
        '{"operations": ["separable_3x3", "none"], "hiddenstate_indices": [0, 1], '
        '"used_hiddenstates": [1, 0, 0]}'
    )
    with pytest.raises(NasgenError) as info:
        import_tfslim(text)
    assert "separable_3x3_2" in str(info.value)


def test_cli_import_tfslim(tmp_path: Path) -> None:
    out = tmp_path / "amoeba.cell"
    result = CliRunner().invoke(
        main, ["import", "tfslim", str(TFSLIM / "amoebanet_a.json"), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "convention tf_amoeba" in out.read_text(encoding="utf-8")
    bad = CliRunner().invoke(main, ["import", "tfslim", '{"operations": 3}'])
    assert bad.exit_code == 1
    assert "Traceback" not in bad.output
