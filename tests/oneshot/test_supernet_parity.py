"""nasgen's DARTS supernet computes the same function as the search network written by hand from
the paper (bench/reference_darts_search.py) given the same weights and alphas: the mixed ops,
their order, the BN after pools, the strides and the input projections are the published ones."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from reference_darts_search import ReferenceDartsSearch  # noqa: E402

from nasgen.oneshot import SearchNetwork, SupernetSpec  # noqa: E402
from nasgen.space import load_space  # noqa: E402


def _copy(src: torch.nn.Module, dst: torch.nn.Module) -> int:
    """Copy parameters and buffers in registration order, checking every shape; the count."""
    pairs = [
        *zip(src.parameters(), dst.parameters(), strict=True),
        *zip(src.buffers(), dst.buffers(), strict=True),
    ]
    with torch.no_grad():
        for a, b in pairs:
            assert a.shape == b.shape
            b.copy_(a)
    return len(pairs)


@pytest.mark.parity
@pytest.mark.parametrize("layers", [3, 5])
def test_the_supernet_equals_the_hand_written_search_network(layers: int) -> None:
    torch.manual_seed(0)
    net = SearchNetwork(load_space("darts"), SupernetSpec(C=4, layers=layers))
    ref = ReferenceDartsSearch(C=4, layers=layers)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():  # alphas far from uniform, BN statistics far from the identity
        for a in net.arch_parameters():
            a.copy_(torch.randn(a.shape, generator=g))
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(0.1 * torch.randn(m.num_features, generator=g))
                m.running_var.copy_(0.5 + torch.rand(m.num_features, generator=g))
    assert _copy(net, ref) > 100
    x = torch.randn(3, 3, 16, 16, generator=g)
    for train in (False, True):
        net.train(train)
        ref.train(train)
        with torch.no_grad():
            torch.testing.assert_close(net(x), ref(x), rtol=1e-4, atol=1e-5)
