"""What one-shot methods share (BN statistics frozen while scoring, checkpoints of modules and
optimizers, the schedules and step counts) and DARTS as a method: the derived vector is the
DARTS rule's genotype, ``none`` never wins an edge, and an epoch resumes exactly."""

from __future__ import annotations

import itertools
import math

import pytest
from oneshot_helpers import digit_halves, one_thread  # noqa: F401  (fixtures)

torch = pytest.importorskip("torch")

from nasgen.dsl.foreign import import_darts  # noqa: E402
from nasgen.errors import NasgenError  # noqa: E402
from nasgen.oneshot.darts_search import DartsSearch, DartsSearchConfig  # noqa: E402
from nasgen.oneshot.method import (  # noqa: E402
    Checkpoint,
    EpochData,
    cosine,
    cycle,
    frozen_bn_stats,
    steps_of,
)
from nasgen.oneshot.mixed import gdas_tau  # noqa: E402
from nasgen.oneshot.supernet import SearchNetwork, SupernetSpec, edges_of  # noqa: E402
from nasgen.space import load_space  # noqa: E402
from nasgen.training.data import DataSet, split_data  # noqa: E402


@pytest.fixture(scope="module")
def digits(digit_halves: tuple[DataSet, DataSet]) -> EpochData:  # noqa: F811
    return EpochData(*digit_halves, 16, 3, torch.device("cpu"))


# --- frozen BN statistics ------------------------------------------------------------------


def _bn_net() -> torch.nn.Module:
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(2, 3, 3, padding=1),
        torch.nn.BatchNorm2d(3),
        torch.nn.ReLU(),
        torch.nn.Conv2d(3, 3, 1),
        torch.nn.BatchNorm2d(3, momentum=None),  # cumulative average
        torch.nn.Flatten(),
        torch.nn.Linear(3 * 4 * 4, 2),
        torch.nn.BatchNorm1d(2),
    )
    net.train()
    for _ in range(3):  # running statistics away from their initial values
        net(torch.randn(6, 2, 4, 4) * 3 + 1)
    return net


def _stats(net: torch.nn.Module) -> list[torch.Tensor]:
    return [b.detach().clone() for n, b in net.named_buffers()]


@pytest.mark.parametrize("training", [True, False])
def test_frozen_bn_stats_uses_batch_statistics_and_keeps_the_running_ones(training: bool) -> None:
    net = _bn_net()
    net.train(training)
    before = _stats(net)
    momenta = [m.momentum for m in net.modules() if hasattr(m, "momentum")]
    x = torch.randn(5, 2, 4, 4) * 2 - 1
    with frozen_bn_stats(net):
        assert net.training and all(m.training for m in net.modules())
        out = net(x)
        out2 = net(x + 1.0)  # a second batch: still nothing accumulates
    after = _stats(net)
    assert len(before) == 9  # mean, var, num_batches_tracked of 3 BNs
    for b, a in zip(before, after, strict=True):
        assert torch.equal(a, b)
    assert net.training is training and all(m.training is training for m in net.modules())
    assert [m.momentum for m in net.modules() if hasattr(m, "momentum")] == momenta
    # train mode: the output's last BN normalises with the batch's statistics
    assert torch.allclose(out.mean(0), torch.zeros(2), atol=1e-5)
    assert torch.allclose(out.var(0, unbiased=False), torch.ones(2), atol=1e-3)
    assert not torch.allclose(out, out2)
    net.eval()
    with torch.no_grad():
        eval_out = net(x)
    assert not torch.allclose(eval_out, out, atol=1e-3)  # running statistics differ


def test_frozen_bn_stats_restores_after_an_error() -> None:
    net = _bn_net()
    net.eval()
    before = _stats(net)
    with pytest.raises(RuntimeError), frozen_bn_stats(net):
        net(torch.randn(5, 2, 4, 4))
        raise RuntimeError("boom")
    assert not net.training
    assert all(torch.equal(a, b) for a, b in zip(_stats(net), before, strict=True))
    bn = net[1]
    assert bn.momentum == 0.1 and net[4].momentum is None


def test_the_unfrozen_model_does_update_its_statistics() -> None:
    net = _bn_net()
    before = _stats(net)
    net(torch.randn(5, 2, 4, 4))
    assert any(not torch.equal(a, b) for a, b in zip(_stats(net), before, strict=True))


# --- checkpoints ---------------------------------------------------------------------------


def _model(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(4, 6), torch.nn.BatchNorm1d(6), torch.nn.ReLU(), torch.nn.Linear(6, 3)
    )


class _Run:
    """A model, SGD with momentum on its weights, Adam on a loose tensor and the last layer."""

    def __init__(self, seed: int) -> None:
        self.model = _model(seed)
        self.loose = torch.zeros(3, dtype=torch.float64, requires_grad=True)
        first = [*self.model[0].parameters(), *self.model[1].parameters()]
        last = list(self.model[3].parameters())
        self.sgd = torch.optim.SGD(first, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)
        self.adam_params = [*last, self.loose]
        self.adam = torch.optim.Adam(self.adam_params, lr=0.01, betas=(0.5, 0.99))
        self.sgd_params = first
        self.checkpoint = Checkpoint(
            {"model": self.model},
            {"sgd": (self.sgd, self.sgd_params), "adam": (self.adam, self.adam_params)},
            {"extra": {"loose": self.loose}},
        )

    def step(self, k: int) -> float:
        g = torch.Generator().manual_seed(k)
        x = torch.randn(8, 4, generator=g)
        y = torch.randint(0, 3, (8,), generator=g)
        self.sgd.zero_grad()
        self.adam.zero_grad()
        loss = torch.nn.functional.cross_entropy(self.model(x) + self.loose.float(), y)
        loss.backward()
        self.sgd.step()
        self.adam.step()
        return float(loss.detach())


def test_a_checkpoint_round_trip_resumes_the_optimizers_exactly() -> None:
    a = _Run(0)
    for k in range(3):
        a.step(k)
    data = a.checkpoint.pack()
    assert isinstance(data, bytes)
    a_losses = [a.step(k) for k in range(3, 6)]

    b = _Run(1)  # other weights, no optimizer state at all
    b.checkpoint.load(data)
    for p in b.sgd_params:
        assert "momentum_buffer" in b.sgd.state[p]
    for p in b.adam_params:
        assert {"step", "exp_avg", "exp_avg_sq"} <= set(b.adam.state[p])
        assert float(b.adam.state[p]["step"]) == 3.0
    b_losses = [b.step(k) for k in range(3, 6)]
    assert b_losses == a_losses
    for (n, x), y in zip(a.model.state_dict().items(), b.model.state_dict().values(), strict=True):
        assert torch.equal(x, y), n
    assert torch.equal(a.loose, b.loose) and a.loose.dtype == torch.float64

    c = _Run(1)  # the same weights without the optimizer states: not the same steps
    c_only = Checkpoint({"model": c.model}, {}, {"extra": {"loose": c.loose}})
    c_only.load(data)
    assert [c.step(k) for k in range(3, 6)] != a_losses


def test_loading_a_checkpoint_drops_state_the_checkpoint_lacks() -> None:
    fresh = _Run(0)
    data = fresh.checkpoint.pack()  # no optimizer state yet
    used = _Run(0)
    used.step(0)
    used.checkpoint.load(data)
    assert all(p not in used.sgd.state or not used.sgd.state[p] for p in used.sgd_params)
    assert all(p not in used.adam.state or not used.adam.state[p] for p in used.adam_params)
    assert used.step(1) == fresh.step(1)


# --- schedules and step counts -------------------------------------------------------------


@pytest.mark.parametrize("epochs", [1, 7, 50])
def test_cosine_ends(epochs: int) -> None:
    assert cosine(0, epochs, 0.025, 0.001) == 0.025
    assert cosine(epochs, epochs, 0.025, 0.001) == pytest.approx(0.001, abs=1e-15)
    lr = [cosine(e, epochs, 0.025, 0.001) for e in range(epochs + 1)]
    assert all(a > b for a, b in itertools.pairwise(lr))
    if epochs % 2 == 0:
        assert lr[epochs // 2] == pytest.approx(0.013, rel=1e-12)


def test_steps_of_counts_full_batches_capped(digits: EpochData) -> None:
    n = len(digits.train)
    assert n == 719
    assert steps_of(digits.train, 16, None) == n // 16 == 44
    assert steps_of(digits.train, 16, 3) == 3
    assert steps_of(digits.train, 16, 1000) == 44
    assert steps_of(digits.train, 10_000, None) == 1  # a short set still takes one batch
    assert steps_of(digits.train, 10_000, 5) == 1


def test_cycle_reshuffles_and_never_ends(digits: EpochData) -> None:
    small, _ = split_data(digits.valid, 0.9, 0)  # a tenth of the valid split: 72 images
    g = torch.Generator().manual_seed(0)
    it = cycle(small, 32, g, torch.device("cpu"))
    got = [next(it) for _ in range(6)]  # 2 full batches a pass, 3 passes
    assert all(x.shape == (32, 1, 8, 8) and y.shape == (32,) for x, y in got)
    assert not torch.equal(got[0][1], got[2][1])  # the second pass is reshuffled
    tiny = cycle(split_data(small, 0.9, 1)[0], 32, g, torch.device("cpu"))
    x, _ = next(tiny)
    assert 0 < x.shape[0] < 32  # a set smaller than a batch: one short batch a pass


# --- DARTS as a method ---------------------------------------------------------------------


def _net(seed: int = 0) -> SearchNetwork:
    torch.manual_seed(seed)
    return SearchNetwork(load_space("darts"), SupernetSpec(C=4, layers=3, input_channels=1), 8)


def _genotype_cells(net: SearchNetwork) -> list[list[list[tuple[str, str]]]]:
    module = import_darts(net.genotype())
    return [
        [sorted((c.op, c.input.name) for c in b.ops) for b in cell.blocks] for cell in module.cells
    ]


def _derived_cells(net: SearchNetwork) -> list[list[list[tuple[str, str]]]]:
    module = net.space.decode(net.derived())
    return [
        [sorted((c.op, c.input.name) for c in b.ops) for b in cell.blocks] for cell in module.cells
    ]


def test_derived_is_the_genotype_for_random_alphas() -> None:
    net = _net()
    for k in range(5):
        g = torch.Generator().manual_seed(k)
        with torch.no_grad():
            for a in net.arch_parameters():
                a.copy_(torch.randn(a.shape, generator=g))
        assert _derived_cells(net) == _genotype_cells(net)
        assert net.space.encode(net.space.decode(net.derived())) == net.derived()


def test_an_edge_dominated_by_none_is_skipped() -> None:
    net = _net()
    none, sep3 = net.primitives.index("none"), net.primitives.index("sep_conv_3x3")
    pool = net.primitives.index("max_pool_3x3")
    edges = edges_of(net.nodes)
    with torch.no_grad():
        for a in net.arch_parameters():
            a.zero_()
            for e, (_, j) in enumerate(edges):
                a[e, sep3] = 1.0 + 0.1 * j  # a later input a little stronger
            # node 3 (its inputs 0..4): the strongest edge, 4, is almost all none
            e4 = edges.index((3, 4))
            a[e4, none] = 20.0
            a[e4, sep3] = 5.0
            # node 0 has two edges, both kept; none is edge 0's strongest op, the rule takes
            # its strongest other op (the pool)
            e0 = edges.index((0, 0))
            a[e0, none] = 3.0
            a[e0, pool] = 2.5
    cells = _derived_cells(net)
    normal = load_space("darts").cells[0]
    names = (*normal.inputs, *(normal.block_name(i) for i in range(net.nodes)))
    for cell in cells:
        assert all(op != "none" for block in cell for op, _ in block)
        assert cell[3] == sorted([("sep_conv_3x3", names[3]), ("sep_conv_3x3", names[2])])
        assert ("sep_conv_3x3", names[4]) not in cell[3]
        assert cell[0] == sorted([("max_pool_3x3", names[0]), ("sep_conv_3x3", names[1])])
    assert _derived_cells(net) == _genotype_cells(net)


def _darts(gumbel: bool = False, seed: int = 0) -> DartsSearch:
    config = DartsSearchConfig(C=4, layers=3, gumbel=gumbel, arch_lr=0.01)
    return DartsSearch(load_space("darts"), config, seed, (1, 8, 10), torch.device("cpu"))


@pytest.mark.parametrize("gumbel", [False, True])
def test_a_darts_epoch_resumes_exactly(digits: EpochData, gumbel: bool) -> None:
    space = load_space("darts")
    a = _darts(gumbel)
    alphas0 = [x.detach().clone() for x in a.net.arch_parameters()]
    ticks: list[tuple[str, int, int]] = []
    first = a.run_epoch(0, 3, digits, lambda *t: ticks.append(t))
    assert ticks == [("search", s, 3) for s in (1, 2, 3)]
    assert all(not torch.equal(x, y) for x, y in zip(a.net.arch_parameters(), alphas0, strict=True))
    assert first.choices == a.net.derived()
    space.decode(first.choices)
    assert first.metrics["lr"] == 0.025
    assert all(math.isfinite(v) for v in first.metrics.values())
    for kind, amap in first.arch.items():
        assert kind in ("normal", "reduce")
        assert len(amap.rows) == 14 and all(abs(sum(r) - 1) < 1e-12 for r in amap.values)
    if gumbel:
        assert first.metrics["tau"] == gdas_tau(0, 3) == 10.0
    else:
        assert "tau" not in first.metrics

    state = a.state_dict()
    second = a.run_epoch(1, 3, digits, None)
    b = _darts(gumbel)
    b.load_state_dict(state)
    resumed = b.run_epoch(1, 3, digits, None)
    assert resumed.metrics == second.metrics
    assert resumed.choices == second.choices
    for x, y in zip(a.net.arch_parameters(), b.net.arch_parameters(), strict=True):
        assert torch.equal(x, y)
    assert b.step.steps == a.step.steps == 6
    assert second.metrics["lr"] == pytest.approx(cosine(1, 3, 0.025, 0.001))
    if gumbel:
        assert second.metrics["tau"] == pytest.approx(gdas_tau(1, 3, 10.0, 0.1)) == 5.05

    fresh = _darts(gumbel)
    assert fresh.run_epoch(1, 3, digits, None).metrics != second.metrics


def test_gdas_with_the_second_order_step_is_refused() -> None:
    """GDAS is first order: the settings refuse order 2 with gumbel, before any epoch runs."""
    with pytest.raises(NasgenError) as err:
        DartsSearchConfig(C=4, layers=3, gumbel=True, order=2)
    assert err.value.code == "E856"
    with pytest.raises(NasgenError):
        DartsSearchConfig(order=3)


def test_gdas_tau_follows_the_config(digits: EpochData) -> None:
    config = DartsSearchConfig(C=4, layers=3, gumbel=True, tau_max=4.0, tau_min=0.5)
    search = DartsSearch(load_space("darts"), config, 0, (1, 8, 10), torch.device("cpu"))
    small = EpochData(digits.train, digits.valid, 16, 1, digits.device)
    taus = [search.run_epoch(e, 3, small, None).metrics["tau"] for e in (0, 2)]
    assert taus == [4.0, 0.5]


def _reversed_darts() -> str:
    """The darts space with its reduction cell written first."""
    from nasgen.space import load_space_source

    text = load_space_source("darts").text
    normal = text[text.index("space cell normal") : text.index("space cell reduction")]
    reduction = text[text.index("space cell reduction") : text.index("# Samples compile")]
    return text.replace(normal + reduction, reduction + normal)


def test_cells_are_matched_to_their_alphas_by_role_not_by_position() -> None:
    from nasgen.dsl import parse_text
    from nasgen.space import read_space

    space = read_space(parse_text(_reversed_darts()))
    assert [c.name for c in space.cells] == ["reduction", "normal"]
    torch.manual_seed(0)
    net = SearchNetwork(space, SupernetSpec(C=4, layers=3, input_channels=1), 8)
    with torch.no_grad():
        net.alphas_normal.zero_()
        net.alphas_reduce.zero_()
        net.alphas_normal[:, 4] = 5.0  # normal: sep_conv_3x3 everywhere
        net.alphas_reduce[:, 1] = 5.0  # reduction: max_pool_3x3 everywhere
    module = space.decode(net.derived())
    ops = {c.name: {call.op for b in c.blocks for call in b.ops} for c in module.cells}
    assert ops == {"normal": {"sep_conv_3x3"}, "reduction": {"max_pool_3x3"}}
    arch = net.sampled(net.derived())
    assert {k for path in arch.normal for _, k in path} == {4}
    assert {k for path in arch.reduce for _, k in path} == {1}


def test_darts_needs_a_reduction_cell_of_its_own() -> None:
    from nasgen.dsl import parse_text
    from nasgen.space import load_space_source, read_space

    text = load_space_source("darts").text.replace(
        "  reduction = reduction\n", "  reduction = normal\n"
    )
    with pytest.raises(NasgenError) as err:
        SearchNetwork(read_space(parse_text(text)), SupernetSpec(C=4, layers=3), 8)
    assert err.value.code == "E868"
