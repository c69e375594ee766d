"""The DARTS search network compiled from the darts space: the DARTS code's exact size, its
layout, the alphas apart from the weights, and a gradient reaching both."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from nasgen.errors import NasgenError  # noqa: E402
from nasgen.oneshot import SearchNetwork, SupernetSpec  # noqa: E402
from nasgen.oneshot.supernet import edges_of  # noqa: E402
from nasgen.space import load_space  # noqa: E402


def _darts_code_count(C: int, layers: int, classes: int, steps: int = 4) -> int:
    """Weights of the DARTS code's search ``Network`` (cnn/model_search.py), worked out from its
    definition: affine-free BN in the cells (no parameters), the stem's BN affine, a BN after
    each pooling op, skip_connect at stride 2 a FactorizedReduce (two 1x1 convs to C/2)."""

    def mixed(c: int, stride: int) -> int:
        sep = lambda k: 2 * (k * k * c + c * c)  # noqa: E731  (ReLU dw pw BN, twice)
        dil = lambda k: k * k * c + c * c  # noqa: E731
        skip = c * c if stride == 2 else 0
        return sep(3) + sep(5) + dil(3) + dil(5) + skip

    c_curr = 3 * C
    total = 3 * c_curr * 9 + 2 * c_curr  # stem conv + BN(affine)
    c_pp, c_p, c, reduction_prev = c_curr, c_curr, C, False
    for i in range(layers):
        reduction = i in (layers // 3, 2 * layers // 3)
        if reduction:
            c *= 2
        total += c_pp * c + c_p * c  # preprocess0 (ReLUConvBN or FactorizedReduce), preprocess1
        for node in range(steps):
            for j in range(2 + node):
                total += mixed(c, 2 if reduction and j < 2 else 1)
        reduction_prev = reduction
        c_pp, c_p = c_p, steps * c
    del reduction_prev  # only the kind of preprocess0 depends on it, not its size
    return total + c_p * classes + classes


@pytest.fixture(scope="module")
def net() -> SearchNetwork:
    torch.manual_seed(0)
    return SearchNetwork(load_space("darts"))


def test_the_default_supernet_has_the_darts_codes_size(net: SearchNetwork) -> None:
    weights = sum(p.numel() for p in net.weights())
    assert weights == _darts_code_count(16, 8, 10) == 1_930_618  # "param size = 1.930618MB"
    assert [tuple(a.shape) for a in net.arch_parameters()] == [(14, 8), (14, 8)]
    assert net.primitives[0] == "none" and len(net.primitives) == 8


@pytest.mark.parametrize(("C", "layers"), [(8, 5), (4, 3), (12, 11)])
def test_other_sizes_match_the_code_too(C: int, layers: int) -> None:
    net = SearchNetwork(load_space("darts"), SupernetSpec(C=C, layers=layers, classes=7))
    assert sum(p.numel() for p in net.weights()) == _darts_code_count(C, layers, 7)


def test_layout_reductions_and_affine_free_cells(net: SearchNetwork) -> None:
    assert net.reductions == [False, False, True, False, False, True, False, False]
    cell_bns = [m for m in net.cells.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert cell_bns and not any(bn.affine for bn in cell_bns)
    assert net.stem.bn.affine
    assert len(net.cells[0].edges) == len(edges_of(4)) == 14
    pool = net.cells[0].edges[0].ops[net.primitives.index("max_pool_3x3")]
    assert isinstance(pool[1], torch.nn.BatchNorm2d)  # the DARTS code's BN after a pool


def test_a_step_reaches_the_alphas_and_the_weights(net: SearchNetwork) -> None:
    x = torch.randn(2, 3, 16, 16)
    loss = torch.nn.functional.cross_entropy(net(x), torch.tensor([1, 3]))
    loss.backward()
    assert all(a.grad is not None and float(a.grad.abs().sum()) > 0 for a in net.arch_parameters())
    assert float(net.cells[0].preprocess[1].conv.weight.grad.abs().sum()) > 0
    net.zero_grad()


def test_a_space_without_a_shared_op_list_is_refused() -> None:
    with pytest.raises(NasgenError) as err:
        SearchNetwork(load_space("nb201"))
    assert err.value.code == "E868"


def _batches(seed: int) -> tuple[tuple[object, object], tuple[object, object]]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(8, 3, 8, 8, generator=g)
    y = torch.randint(0, 10, (8,), generator=g)
    return (x[:4], y[:4]), (x[4:], y[4:])


@pytest.mark.parametrize("order", [1, 2])
def test_a_darts_step_moves_the_alphas_then_the_weights(order: int) -> None:
    from nasgen.oneshot.darts import DartsConfig, DartsStep

    torch.manual_seed(1)
    net = SearchNetwork(load_space("darts"), SupernetSpec(C=4, layers=3))
    step = DartsStep(net, DartsConfig(order=order, arch_lr=0.01))
    before = [a.detach().clone() for a in net.arch_parameters()]
    w0 = net.classifier.weight.detach().clone()
    losses = [step.step(*_batches(i)) for i in range(3)]
    assert all(torch.isfinite(torch.tensor(pair)).all() for pair in losses)
    assert all(not torch.equal(a, b) for a, b in zip(net.arch_parameters(), before, strict=True))
    assert not torch.equal(net.classifier.weight, w0)


def test_the_bns_that_run_are_the_registered_affine_free_ones(net: SearchNetwork) -> None:
    ran: list[object] = []
    hooks = [
        m.register_forward_hook(lambda mod, i, o: ran.append(mod))
        for m in net.modules()
        if isinstance(m, torch.nn.BatchNorm2d)
    ]
    registered = {id(m) for m in net.modules()}
    with torch.no_grad():
        net(torch.randn(1, 3, 8, 8))
    for h in hooks:
        h.remove()
    bns = [m for m in ran if m is not net.stem.bn]
    assert len(bns) > 100 and all(id(m) in registered and not m.affine for m in bns)  # type: ignore[attr-defined]


def test_the_second_order_gradient_matches_the_exact_unrolled_gradient() -> None:
    """Equation 7 with its finite-difference Hessian-vector product against the exact gradient
    of L_val(w - xi dL_train/dw(w, a), a) by double backpropagation, in float64. With the
    code's r = 0.01 / ||v|| the difference is coarse on so small a network (its curvature is
    large at that scale, its ReLUs and pools switch); with r = 1e-7 / ||v|| it must be exact
    to rounding."""
    from nasgen.oneshot.darts import DartsConfig, DartsStep

    torch.manual_seed(2)
    net = SearchNetwork(load_space("darts"), SupernetSpec(C=4, layers=3, classes=3)).double()
    config = DartsConfig(order=2, lr=0.05, momentum=0.0, weight_decay=0.0, hvp_scale=1e-7)
    step = DartsStep(net, config)
    g = torch.Generator().manual_seed(0)
    train = (torch.randn(8, 3, 8, 8, generator=g, dtype=torch.float64), torch.arange(8) % 3)
    valid = (torch.randn(8, 3, 8, 8, generator=g, dtype=torch.float64), torch.arange(8) // 3)
    net.train()
    approx, _ = step._arch_grads(train, valid)
    a = [x.detach().requires_grad_(True) for x in net.arch_parameters()]
    w = [p.detach().requires_grad_(True) for p in step.weights]
    dw = torch.autograd.grad(step._loss_at(w, a, train), w, create_graph=True)
    exact = torch.autograd.grad(
        step._loss_at([p - 0.05 * d for p, d in zip(w, dw, strict=True)], a, valid), a
    )
    first, _ = DartsStep(net, DartsConfig(order=1))._arch_grads(train, valid)
    for e, ap, f in zip(exact, approx, first, strict=True):
        assert float((e - ap).norm()) < 1e-6 * float(e.norm())
        assert float((e - f).norm()) > 0.1 * float(e.norm())  # the second-order term matters


def test_the_cli_counts_a_supernet_without_allocating_it() -> None:
    import json as json_

    from click.testing import CliRunner

    from nasgen.cli import main

    result = CliRunner().invoke(main, ["space", "supernet", "darts", "--json"])
    assert result.exit_code == 0, result.output
    info = json_.loads(result.output)
    assert (info["weights"], info["arch_parameters"]) == (1_930_618, 224)
    big = CliRunner().invoke(main, ["space", "supernet", "darts", "--C", "2048", "--json"])
    assert big.exit_code == 0 and json_.loads(big.output)["weights"] > 10**10  # meta device
    refused = CliRunner().invoke(main, ["space", "supernet", "nb201"])
    assert refused.exit_code == 1 and "E868" in refused.output


def test_the_genotype_of_fresh_alphas_imports_and_compiles() -> None:
    from nasgen.api import analyze
    from nasgen.dsl.foreign import import_darts
    from nasgen.dsl.printer import print_module

    net = SearchNetwork(load_space("darts"), SupernetSpec(C=4, layers=3))  # alphas are changed
    with torch.no_grad():
        net.alphas_normal.zero_()
        net.alphas_normal[:, net.primitives.index("sep_conv_3x3")] = 1.0
    text = net.genotype()
    assert text.startswith("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1),")
    assert analyze(print_module(import_darts(text))).cost.params > 0


def test_gdas_runs_one_candidate_per_edge_and_reaches_every_alpha() -> None:
    from nasgen.oneshot.mixed import MixedOp, gdas_tau, gumbel_hard

    torch.manual_seed(3)
    net = SearchNetwork(load_space("darts"), SupernetSpec(C=4, layers=3))
    ran = []
    for m in net.modules():
        if isinstance(m, MixedOp):
            for k, op in enumerate(m.ops):
                op.register_forward_hook(lambda mod, i, o, k=k: ran.append(k))
    gen = torch.Generator().manual_seed(0)
    out = net(torch.randn(2, 3, 8, 8), tau=5.0, generator=gen)
    assert len(ran) == sum(len(c.edges) for c in net.cells)  # one candidate per edge
    out.sum().backward()
    assert all(float((a.grad != 0).float().mean()) == 1.0 for a in net.arch_parameters())
    hard, index = gumbel_hard(torch.zeros(14, 8), 1.0, torch.Generator().manual_seed(1))
    assert hard.sum(dim=1).tolist() == [1.0] * 14 and hard.max(dim=1).values.tolist() == [1.0] * 14
    assert [int(hard[i].argmax()) for i in range(14)] == index
    assert (gdas_tau(0, 250), gdas_tau(249, 250)) == (10.0, 0.1)


def test_a_gdas_step_is_seeded_and_moves_the_alphas() -> None:
    from nasgen.oneshot.darts import DartsConfig, DartsStep

    results = []
    for _ in range(2):
        torch.manual_seed(4)
        net = SearchNetwork(load_space("darts"), SupernetSpec(C=4, layers=3))
        step = DartsStep(net, DartsConfig(tau=5.0, seed=9, arch_lr=0.01))
        before = net.alphas_normal.detach().clone()
        losses = [step.step(*_batches(i)) for i in range(2)]
        assert not torch.equal(net.alphas_normal, before)
        results.append((losses, net.alphas_normal.detach().clone()))
    assert results[0][0] == results[1][0] and torch.equal(results[0][1], results[1][1])
    with pytest.raises(ValueError):
        DartsStep(net, DartsConfig(tau=1.0, order=2))
