"""Golden files for the bundled genotypes on small skeletons: AST, IR and cost.

``pytest --update-golden`` rewrites them; reviewers read the diff.
"""

from __future__ import annotations

import json
import pprint
from pathlib import Path

import pytest

from nasgen.api import CompileOptions, analyze
from nasgen.ir import node_cost

GOLDEN = Path(__file__).resolve().parent.parent / "golden"

CASES = {
    "nasnet_a_small": ("nasnet_a", CompileOptions(n_cells=1, num_filters=8)),
    "nasnet_a_cifar_small": ("nasnet_a", CompileOptions(n_cells=1, num_filters=8, variant="cifar")),
    "darts_v2_small": ("darts_v2", CompileOptions(n_cells=1, num_filters=8)),
    "darts_v2_imagenet_small": (
        "darts_v2",
        CompileOptions(n_cells=1, num_filters=8, variant="imagenet"),
    ),
}


def _texts(name: str) -> dict[str, str]:
    source, options = CASES[name]
    result = analyze(source, options)
    per_node = {n.id: node_cost(n).params for n in result.graph.nodes() if node_cost(n).params}
    cost = {
        "params": result.cost.params,
        "macs": result.cost.macs,
        "aux_params": result.cost.aux_params,
        "stages": [[s.stage, s.params, s.macs] for s in result.cost.stages],
        "node_params": per_node,
    }
    return {
        "ast.txt": pprint.pformat(result.module, width=100) + "\n",
        "ir.txt": result.graph.render(),
        "cost.json": json.dumps(cost, indent=1) + "\n",
    }


@pytest.mark.golden
@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name: str, request: pytest.FixtureRequest) -> None:
    update = request.config.getoption("--update-golden")
    for suffix, text in _texts(name).items():
        path = GOLDEN / f"{name}.{suffix}"
        if update:
            path.write_text(text, encoding="utf-8")
        assert path.exists(), f"missing golden {path.name}; run pytest --update-golden"
        assert text == path.read_text(encoding="utf-8"), f"{path.name} differs"


def test_compiling_twice_gives_identical_ir() -> None:
    assert _texts("nasnet_a_small") == _texts("nasnet_a_small")
