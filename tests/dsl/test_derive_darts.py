"""``nasgen derive darts``: the DARTS code's derivation rule on hand-built architecture weights."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from nasgen.api import analyze
from nasgen.cli import main
from nasgen.dsl.foreign import export_darts, import_darts
from nasgen.dsl.foreign_alphas import darts_genotype, derive_darts
from nasgen.dsl.printer import print_module
from nasgen.errors import NasgenError

PRIMITIVES = [
    "none", "max_pool_3x3", "avg_pool_3x3", "skip_connect",
    "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5",
]  # fmt: skip


def _row(**weights: float) -> list[float]:
    return [weights.get(p, 0.0) for p in PRIMITIVES]


def _uniform() -> list[list[float]]:
    return [_row() for _ in range(14)]


def test_all_equal_weights_keep_the_first_edges_and_the_first_op() -> None:
    """Ties: the stable sort keeps each node's two earliest inputs; the first non-none op wins."""
    text = darts_genotype(_uniform(), _uniform(), PRIMITIVES)
    pairs = [("max_pool_3x3", 0), ("max_pool_3x3", 1)] * 4
    assert text == (
        f"Genotype(normal={pairs!r}, normal_concat=[2, 3, 4, 5], "
        f"reduce={pairs!r}, reduce_concat=[2, 3, 4, 5])"
    )


def test_none_never_wins_and_never_ranks_an_edge() -> None:
    normal = _uniform()
    # node 1 reads edges 2, 3, 4 (inputs 0, 1 and node 0): input 0's none is huge, its
    # sep_conv_3x3 a little above the rest; input 2 (node 0) has the strongest real op
    normal[2] = _row(none=50.0, sep_conv_3x3=0.5)
    normal[3] = _row(none=0.0, skip_connect=0.2)
    normal[4] = _row(dil_conv_5x5=3.0, sep_conv_5x5=2.0)
    text = darts_genotype(normal, _uniform(), PRIMITIVES)
    # input 0's none takes almost all of its row's mass, so its sep_conv_3x3 weight is about
    # e^0.5 / e^50: the weakest of node 1's three edges; node 0 (edge 4) is the strongest
    node0 = "('max_pool_3x3', 0), ('max_pool_3x3', 1)"
    assert f"normal=[{node0}, ('dil_conv_5x5', 2), ('skip_connect', 1), " in text


def test_the_two_edges_come_strongest_first() -> None:
    normal = _uniform()
    normal[0] = _row(sep_conv_3x3=1.0)
    normal[1] = _row(sep_conv_5x5=2.0)
    gene_text = darts_genotype(normal, _uniform(), PRIMITIVES)
    assert gene_text.startswith("Genotype(normal=[('sep_conv_5x5', 1), ('sep_conv_3x3', 0),")


def _alphas(tmp_path: Path, **fields: object) -> Path:
    data = {"normal": _uniform(), "reduce": _uniform(), "primitives": PRIMITIVES}
    data.update(fields)
    path = tmp_path / "alphas.json"
    path.write_text(json.dumps(data))
    return path


def test_the_derived_cell_compiles_and_exports_as_the_same_genotype(tmp_path: Path) -> None:
    normal = _uniform()
    normal[5] = _row(sep_conv_3x3=4.0)  # node 2 reads input 0 with sep_conv_3x3
    genotype, module = derive_darts(_alphas(tmp_path, normal=normal).read_text())
    assert "('sep_conv_3x3', 0)" in genotype
    again = import_darts(export_darts(module))
    assert again.cells == module.cells
    assert analyze(print_module(module)).cost.params > 0  # DARTS's CIFAR evaluation network


def test_the_cli_writes_cell_and_darts_text(tmp_path: Path) -> None:
    path = _alphas(tmp_path)
    out = tmp_path / "derived.cell"
    result = CliRunner().invoke(main, ["derive", "darts", str(path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "cell normal(h_prev, h)" in out.read_text()
    result = CliRunner().invoke(main, ["derive", "darts", str(path), "--format", "darts"])
    assert result.exit_code == 0 and result.output.startswith("Genotype(normal=[")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"normal": [[1.0] * 8] * 13}, "13 rows"),
        ({"normal": [[1.0] * 7] * 14}, "7 numbers; there are 8 primitives"),
        ({"normal": [["x"] * 8] * 14}, "holds numbers, not a string"),
        ({"reduce": [[1.0] * 8] * 20}, "reduce has 20 rows but normal 14"),
        ({"primitives": ["none"] * 8}, "distinct"),
        (
            {
                "primitives": [*PRIMITIVES[:-1], "sep_conv_9x9"],
                "normal": [[0.0] * 7 + [5.0]] * 14,
            },
            "does not import",
        ),
    ],
)
def test_bad_weights_are_located_errors(
    tmp_path: Path, fields: dict[str, object], message: str
) -> None:
    path = _alphas(tmp_path, **fields)
    with pytest.raises(NasgenError) as err:
        derive_darts(path.read_text())
    assert err.value.code == "E125" and message in err.value.message
    result = CliRunner().invoke(main, ["derive", "darts", str(path)])
    assert result.exit_code == 1 and "E125" in result.output and "Traceback" not in result.output
