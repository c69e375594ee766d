"""ENAS on the shared supernet: sampled paths agree with the space's decoding, only the chosen
candidates train, loose-ends cells gather to C channels, the bounded LSTM controller, the
SGDR schedule, and an ENAS search that resumes exactly from its state."""

from __future__ import annotations

import itertools
import math
import random

import pytest
from oneshot_helpers import digit_halves, one_thread  # noqa: F401  (fixtures)

torch = pytest.importorskip("torch")

from nasgen.errors import NasgenError  # noqa: E402
from nasgen.oneshot.enas import EnasConfig, EnasSearch, restart_cosine  # noqa: E402
from nasgen.oneshot.method import EpochData  # noqa: E402
from nasgen.oneshot.supernet import SearchNetwork, SupernetSpec  # noqa: E402
from nasgen.policy.controller import LSTMPolicy  # noqa: E402
from nasgen.space import load_space  # noqa: E402
from nasgen.training.data import DataSet  # noqa: E402

SPACES = ("enas_micro", "darts")


def _net(name: str, seed: int = 0) -> SearchNetwork:
    torch.manual_seed(seed)
    spec = SupernetSpec(C=4, layers=3, input_channels=1)
    return SearchNetwork(load_space(name), spec, 8, mode="enas")


@pytest.fixture(scope="module")
def digits(digit_halves: tuple[DataSet, DataSet]) -> EpochData:  # noqa: F811
    return EpochData(*digit_halves, 16, 2, torch.device("cpu"))


def _small_config() -> EnasConfig:
    return EnasConfig(C=4, layers=3, controller_steps=2, aggregate=3, derive=5, hidden=16)


# --- the supernet in ENAS mode ------------------------------------------------------------


@pytest.mark.parametrize("name", SPACES)
def test_sampled_paths_agree_with_the_decoded_cells(name: str) -> None:
    space = load_space(name)
    net = _net(name)
    for k in range(6):
        choices = space.sample(random.Random(k))
        arch = net.sampled(choices)
        module = space.decode(choices)
        for spec, paths in zip(space.cells, (arch.normal, arch.reduce), strict=True):
            cell = module.cell(spec.name)
            assert cell is not None and len(paths) == len(cell.blocks) == spec.blocks
            states = [*spec.inputs, *(b.name for b in cell.blocks)]
            for i, (block, path) in enumerate(zip(cell.blocks, paths, strict=True)):
                assert len(path) == len(block.ops) == 2
                for (j, op), call in zip(path, block.ops, strict=True):
                    assert states[j] == call.input.name
                    assert net.primitives[op] == call.op
                    assert j < 2 + i  # an earlier state only


@pytest.mark.parametrize("name", SPACES)
def test_the_edges_of_a_node_branch_and_input_are_distinct_and_in_order(name: str) -> None:
    net = _net(name)
    cell = net.cells[0]
    found = [cell.edge(i, b, j) for i in range(net.nodes) for b in range(2) for j in range(2 + i)]
    assert [id(e) for e in found] == [id(e) for e in cell.edges]
    assert len({id(e) for e in found}) == len(found) == 2 * sum(2 + i for i in range(net.nodes))


@pytest.mark.parametrize(("name", "loose"), [("enas_micro", True), ("darts", False)])
def test_forward_shapes_and_the_cells_widths(name: str, loose: bool) -> None:
    net = _net(name)
    space = load_space(name)
    assert net.arch_parameters() == [] and not hasattr(net, "alphas_normal")
    assert sum(1 for _ in net.weights()) == sum(1 for _ in net.parameters())
    widths = [4, 8, 16]  # C, then doubled at the reductions at cells 1 and 2
    assert net.reductions == [False, True, True]
    for cell, c in zip(net.cells, widths, strict=True):
        assert cell.out_channels == (c if loose else net.nodes * c)
        assert (cell.gather is not None) is loose
    for k in range(3):
        arch = net.sampled(space.sample(random.Random(10 + k)))
        x = torch.randn(3, 1, 8, 8)
        outs: list[tuple[int, ...]] = []

        def record(m: object, i: object, o: torch.Tensor, outs: list = outs) -> None:
            outs.append(tuple(o.shape))

        hooks = [c.register_forward_hook(record) for c in net.cells]
        logits = net(x, arch=arch)
        for h in hooks:
            h.remove()
        assert tuple(logits.shape) == (3, 10)
        sizes = [8, 4, 2]
        assert outs == [
            (3, cell.out_channels, s, s) for cell, s in zip(net.cells, sizes, strict=True)
        ]


def _has_grad(module: torch.nn.Module) -> bool | None:
    """True if every parameter has a gradient, False if none has, None with no parameters."""
    params = list(module.parameters())
    if not params:
        return None
    got = [p.grad is not None for p in params]
    assert all(got) or not any(got), "a candidate is half trained"
    return got[0]


@pytest.mark.parametrize("name", SPACES)
def test_the_gradient_reaches_only_the_chosen_candidates(name: str) -> None:
    space = load_space(name)
    net = _net(name)
    checked_on = checked_off = 0
    for k in range(4):
        net.zero_grad(set_to_none=True)
        choices = space.sample(random.Random(100 + k))
        arch = net.sampled(choices)
        module = space.decode(choices)
        net.train()
        loss = torch.nn.functional.cross_entropy(
            net(torch.randn(4, 1, 8, 8), arch=arch), torch.tensor([0, 1, 2, 3])
        )
        loss.backward()
        for index, (cell, reduction) in enumerate(zip(net.cells, net.reductions, strict=True)):
            paths = arch.reduce if reduction else arch.normal
            last = index == len(net.cells) - 1  # every state of the last cell reaches the logits
            for i in range(net.nodes):
                for b in range(2):
                    for j in range(2 + i):
                        for op, candidate in enumerate(cell.edge(i, b, j).ops):
                            got = _has_grad(candidate)
                            if got is None:
                                continue
                            if paths[i][b] == (j, op):
                                if last:
                                    assert got, (k, i, b, j, op)
                                    checked_on += 1
                            else:
                                assert not got, (index, k, i, b, j, op)
                                checked_off += 1
            if cell.gather is not None and last:
                spec = space.cells[-1 if reduction else 0]
                cell_def = module.cell(spec.name)
                assert cell_def is not None
                read = {c.input.name for blk in cell_def.blocks for c in blk.ops}
                loose = [blk.name not in read for blk in cell_def.blocks]
                assert any(loose)
                for conv, is_loose in zip(cell.gather, loose, strict=True):
                    assert (conv.weight.grad is not None) is is_loose
    assert checked_on > 0 and checked_off > 0


def test_both_modes_refuse_nb201() -> None:
    for mode in ("darts", "enas"):
        with pytest.raises(NasgenError) as err:
            SearchNetwork(load_space("nb201"), SupernetSpec(C=4, layers=3), 8, mode=mode)
        assert err.value.code == "E868"
    with pytest.raises(NasgenError) as err:  # DARTS cannot concatenate loose ends
        SearchNetwork(load_space("enas_micro"), SupernetSpec(C=4, layers=3), 8, mode="darts")
    assert err.value.code == "E868"
    with pytest.raises(ValueError):
        SearchNetwork(load_space("darts"), SupernetSpec(C=4, layers=3), 8, mode="gdas")


# --- the schedule --------------------------------------------------------------------------


def test_restart_cosine_restarts_at_10_and_30() -> None:
    high, low = 0.05, 0.0005
    lr = [restart_cosine(e, high, low, 10, 2) for e in range(71)]
    assert lr[0] == lr[10] == lr[30] == lr[70] == pytest.approx(high, abs=1e-15)
    period1 = low + 0.5 * (high - low) * (1 + math.cos(math.pi * 9 / 10))
    period2 = low + 0.5 * (high - low) * (1 + math.cos(math.pi * 19 / 20))
    assert lr[9] == pytest.approx(period1, rel=1e-12)
    assert lr[29] == pytest.approx(period2, rel=1e-12)
    assert lr[20] == pytest.approx((high + low) / 2, rel=1e-12)  # the middle of the 2nd period
    for start, end in ((0, 10), (10, 30), (30, 70)):
        seg = lr[start:end]
        assert all(a > b for a, b in itertools.pairwise(seg))  # falling in a period
        assert low < min(seg) and max(seg) <= high
    assert lr[9] < lr[10] and lr[29] < lr[30]


# --- the bounded LSTM controller -----------------------------------------------------------


def test_lstm_sample_log_prob_equals_teacher_forcing() -> None:
    sizes = [2, 2, 5, 5, 3, 3, 5, 5, 6]
    squash = [1.1, 1.1, 0.44, 0.44, 1.1, 1.1, 0.44, 0.44, 0.0]
    policy = LSTMPolicy(sizes, 16, 1, 3, squash=squash)
    gen = torch.Generator().manual_seed(0)
    samples = [policy.sample(gen) for _ in range(12)]
    log_p, entropy = policy.log_prob([c for c, _ in samples])
    for (choices, lp), forced in zip(samples, log_p.tolist(), strict=True):
        assert len(choices) == len(sizes) and all(
            0 <= c < s for c, s in zip(choices, sizes, strict=True)
        )
        assert lp == pytest.approx(forced, abs=1e-10)
    assert (entropy > 0).all() and (entropy <= sum(math.log(s) for s in sizes) + 1e-9).all()
    assert len({c for c, _ in samples}) > 1
    log_p.sum().backward()
    assert all(p.grad is not None for p in policy.parameters())
    with pytest.raises(ValueError):
        LSTMPolicy(sizes, 16, 1, 3, squash=squash[:-1])


def _last_decision_log_probs(policy: LSTMPolicy, prefix: list[int], size: int) -> list[float]:
    """Log-probabilities of each option of the last decision after ``prefix`` (teacher forced).

    Each total is the prefix's part (the same for every option) plus the last decision's
    log-softmax, whose exponentials sum to one: the log-sum-exp of the totals is the prefix's.
    """
    with torch.no_grad():
        log_p, _ = policy.log_prob([[*prefix, k] for k in range(size)])
    return (log_p - torch.logsumexp(log_p, 0)).tolist()


@pytest.mark.parametrize("c", [1.1, 0.44])
def test_squashed_logits_keep_probabilities_inside_the_tanh_bound(c: float) -> None:
    sizes = [3, 4, 5]
    bounded = LSTMPolicy(sizes, 8, 1, 0, squash=[0.0, 0.0, c])
    free = LSTMPolicy(sizes, 8, 1, 0, squash=[0.0, 0.0, 0.0])
    for policy in (bounded, free):
        with torch.no_grad():
            g = torch.Generator().manual_seed(5)
            for p in policy.parameters():
                p.copy_(100.0 * (2 * torch.rand(p.shape, generator=g, dtype=p.dtype) - 1))
    worst = 0.0
    for prefix in ([0, 0], [1, 2], [2, 3]):
        logs = _last_decision_log_probs(bounded, prefix, 5)
        spread = max(logs) - min(logs)
        assert spread <= 2 * c + 1e-9  # max p / min p <= exp(2c)
        worst = max(worst, spread)
        free_logs = _last_decision_log_probs(free, prefix, 5)
        assert max(free_logs) - min(free_logs) > 10 * c  # the same weights unbounded
    assert worst > 1.5 * c  # saturated weights reach (nearly) the bound
    gen = torch.Generator().manual_seed(1)
    lasts = {bounded.sample(gen)[0][-1] for _ in range(200)}
    assert len(lasts) == 5  # every option keeps a probability of at least exp(-2c) / 5


# --- the search ----------------------------------------------------------------------------


def _search(seed: int = 0) -> EnasSearch:
    return EnasSearch(
        load_space("enas_micro"), _small_config(), seed, (1, 8, 10), torch.device("cpu")
    )


def test_an_enas_epoch_resumes_exactly_and_trains_the_controller(digits: EpochData) -> None:
    space = load_space("enas_micro")
    a = _search()
    controller0 = [p.detach().clone() for p in a.policy.parameters()]
    weights0 = [p.detach().clone() for p in a.net.parameters()]
    phases: list[str] = []
    first = a.run_epoch(0, 3, digits, lambda phase, s, n: phases.append(phase))
    assert {"shared weights", "controller"} <= set(phases)
    assert set(first.metrics) == set(EnasSearch.metrics)
    assert all(math.isfinite(v) for v in first.metrics.values())
    assert first.metrics["lr"] == 0.05
    assert first.metrics["baseline"] != 0.0
    space.decode(first.choices)  # the derived vector is an architecture of the space
    assert len(first.choices) == len(space.decisions())
    assert set(first.arch) == {"normal", "reduction"}
    for amap in first.arch.values():
        assert all(abs(sum(row) - 1.0) < 1e-12 for row in amap.values)
        assert [len(r) for r in amap.values] == [len(c) for c in amap.columns]
    assert any(
        not torch.equal(p, q) for p, q in zip(a.policy.parameters(), controller0, strict=True)
    )
    assert any(not torch.equal(p, q) for p, q in zip(a.net.parameters(), weights0, strict=True))

    state = a.state_dict()
    assert isinstance(state["checkpoint"], bytes)
    second = a.run_epoch(1, 3, digits, None)

    b = _search()
    b.load_state_dict(state)
    resumed = b.run_epoch(1, 3, digits, None)
    assert resumed.choices == second.choices
    assert resumed.metrics == second.metrics
    assert [m.values for m in resumed.arch.values()] == [m.values for m in second.arch.values()]
    for p, q in zip(a.policy.parameters(), b.policy.parameters(), strict=True):
        assert torch.equal(p, q)
    for (n, p), q in zip(a.net.state_dict().items(), b.net.state_dict().values(), strict=True):
        assert torch.equal(p, q), n

    fresh = _search()  # without the state, the same epoch gives other numbers
    other = fresh.run_epoch(1, 3, digits, None)
    assert other.metrics != second.metrics


def test_enas_derives_on_the_darts_space_too(digits: EpochData) -> None:
    space = load_space("darts")
    search = EnasSearch(space, _small_config(), 1, (1, 8, 10), torch.device("cpu"))
    result = search.run_epoch(0, 1, digits, None)
    module = space.decode(result.choices)
    assert space.encode(module) == result.choices
    assert 0.0 <= result.metrics["derive_acc"] <= 1.0
    assert set(result.arch["normal"].rows) == {
        d.name.removeprefix("normal.") for d in space.decisions() if d.name.startswith("normal.")
    }


def test_the_ops_are_bounded_less_than_the_wiring_whatever_the_block_names() -> None:
    """1.10 * tanh for the inputs, 1.10 / 2.5 for the ops (ENAS micro), told apart by the
    decision's own kind, not by a block name that happens to start with ``op``."""
    from nasgen.space import load_space_source

    text = load_space_source("enas_micro").text
    renamed = text.replace("  blocks = 5\n", "  blocks = 5\n  prefix = op\n")
    assert renamed != text
    for space in (load_space("enas_micro"), load_space(renamed), load_space("darts")):
        search = EnasSearch(space, _small_config(), 0, (1, 8, 10), torch.device("cpu"))
        for d, c in zip(space.decisions(), search.policy.squash, strict=True):
            kind = d.name.rsplit(".", 1)[-1]
            expected = 1.10 / 2.5 if kind.startswith("op") else 1.10
            assert c == pytest.approx(expected), d.name
