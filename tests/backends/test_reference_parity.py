"""nasgen's DARTS_V2 computes the same function as an independent hand-written DARTS network
(bench/reference_darts.py) given the same weights (bench/reference_darts_copy.py): the
strongest check that the conventions (preprocessing, FactorizedReduce, strides, concat, aux
placement) are the published ones."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from reference_darts import ReferenceDartsCifar, count_parameters  # noqa: E402
from reference_darts_copy import copy_from_nasgen, randomise  # noqa: E402

import nasgen  # noqa: E402


def test_reference_has_the_published_size() -> None:
    with torch.device("meta"):
        assert count_parameters(ReferenceDartsCifar()) == 3_349_342


@pytest.mark.parity
def test_nasgen_darts_v2_equals_the_hand_written_network() -> None:
    model = nasgen.compile("darts_v2", N=1, F=8, seed=0)
    ref = ReferenceDartsCifar(c=8, layers=5)
    randomise(model, 1)
    copy_from_nasgen(model, ref)
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
