"""nasgen's DARTS_V2 computes the same function as an independent hand-written DARTS network
(bench/reference_darts.py) given the same weights: the strongest check that the conventions
(preprocessing, FactorizedReduce, strides, concat, aux placement) are the published ones."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from bench_torch import _randomise_bn, copy_into_reference  # noqa: E402
from reference_darts import DartsCifar, count  # noqa: E402

import nasgen  # noqa: E402


def test_reference_has_the_published_size() -> None:
    with torch.device("meta"):
        assert count(DartsCifar()) == 3_349_342


@pytest.mark.parity
def test_nasgen_darts_v2_equals_the_hand_written_network() -> None:
    model = nasgen.compile("darts_v2", N=1, F=8, seed=0)
    ref = DartsCifar(c=8, layers=5)
    _randomise_bn(model, 1)
    copy_into_reference(model, ref)
    x = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    model.eval()
    ref.eval()
    with torch.no_grad():
        torch.testing.assert_close(model(x), ref(x), rtol=1e-5, atol=1e-5)
    model.train()
    ref.train()
    ours, aux_ours = model(x)
    theirs, aux_theirs = ref(x)
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(aux_ours, aux_theirs, rtol=1e-4, atol=1e-5)
