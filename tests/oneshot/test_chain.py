"""ENAS's shared network over the chain space: a sampled chain is its evaluation network."""

from __future__ import annotations

import random

import pytest
import torch
from oneshot_helpers import digit_halves, one_thread  # noqa: F401  (fixtures)

from nasgen import api
from nasgen.dsl.options import CompileOptions
from nasgen.dsl.printer import print_module
from nasgen.errors import NasgenError
from nasgen.oneshot.chain import ChainSearchNetwork
from nasgen.space import load_space

SETTINGS = (("input_channels", 1), ("input_size", 8), ("classes", 10))


def _net(f: int = 8) -> ChainSearchNetwork:
    torch.manual_seed(0)
    return ChainSearchNetwork(
        load_space("enas_chain"), CompileOptions(num_filters=f, settings=SETTINGS)
    )


def _used(net: ChainSearchNetwork, choices: tuple[int, ...]) -> int:
    """Weights a sampled chain runs: the skeleton's and the chosen op of each layer's."""
    arch = net.sampled(choices)
    total = sum(p.numel() for p in net.skeleton.parameters())
    for chain in net.chains:
        for candidates, (op, _) in zip(chain.layers, arch.layers, strict=True):
            total += sum(p.numel() for p in candidates[op].parameters())
    return total


@pytest.mark.parametrize("seed", range(6))
def test_a_sampled_chain_has_its_evaluation_networks_weights(seed: int) -> None:
    space = load_space("enas_chain")
    choices = space.sample(random.Random(seed))
    net = _net()
    compiled = api.analyze(
        print_module(space.decode(choices)), CompileOptions(num_filters=8, settings=SETTINGS)
    )
    assert _used(net, choices) == compiled.cost.params


@pytest.mark.parametrize("seed", range(6))
def test_sampled_layers_agree_with_the_decoded_cell(seed: int) -> None:
    space = load_space("enas_chain")
    choices = space.sample(random.Random(seed))
    cell = space.decode(choices).cells[0]
    arch = _net().sampled(choices)
    names = ["x", *(b.name for b in cell.blocks)]
    for (op, skips), block in zip(arch.layers, cell.blocks, strict=True):
        assert space.cells[0].ops[op] == block.ops[0].op
        assert [names[j] for j in skips] == [c.input.name for c in block.ops[1:]]
        assert block.ops[0].input.name == names[names.index(block.name) - 1]


def test_only_the_sampled_ops_train_and_the_output_is_logits() -> None:
    space = load_space("enas_chain")
    net = _net()
    choices = space.sample(random.Random(3))
    arch = net.sampled(choices)
    net(torch.randn(4, 1, 8, 8), arch=arch).sum().backward()
    for chain in net.chains:
        for candidates, (op, _) in zip(chain.layers, arch.layers, strict=True):
            for k, candidate in enumerate(candidates):
                grads = [p.grad is not None for p in candidate.parameters()]
                assert all(grads) if k == op else not any(grads)
    assert net.arch_parameters() == []
    with pytest.raises(ValueError):
        net(torch.randn(1, 1, 8, 8))


def test_cell_spaces_are_not_chains() -> None:
    with pytest.raises(NasgenError) as err:
        ChainSearchNetwork(load_space("darts"), CompileOptions())
    assert err.value.code == "E868"


def test_the_skip_penalty_pulls_the_skip_probability_to_its_target(
    digit_halves: tuple[object, object],  # noqa: F811  (the fixture)
) -> None:
    from nasgen.oneshot.enas import EnasConfig, EnasSearch
    from nasgen.oneshot.method import cycle

    space = load_space("enas_chain")
    valid = digit_halves[1]

    def skip_prob(search: EnasSearch) -> float:
        logs = search.policy.decision_logs([space.sample(random.Random(0))])
        return sum(float(logs[i][0, 1].detach().exp()) for i in search.skips) / len(search.skips)

    probs = {}
    for weight in (0.0, 50.0):
        config = EnasConfig(C=4, aggregate=2, hidden=16, skip_weight=weight, skip_target=0.1)
        search = EnasSearch(space, config, 0, (1, 8, 10), torch.device("cpu"))
        start = skip_prob(search)
        batches = cycle(valid, 16, torch.Generator().manual_seed(0), torch.device("cpu"))
        sampler = torch.Generator().manual_seed(1)
        for _ in range(8):
            search.controller_step(batches, sampler)
        probs[weight] = (start, skip_prob(search))
    assert len(EnasSearch(space, EnasConfig(C=4), 0, (1, 8, 10), torch.device("cpu")).skips) == 15
    (start0, end0), (start50, end50) = probs[0.0], probs[50.0]
    assert start0 == start50  # the same controller at the start
    assert end50 < start50 - 0.05 and end50 < end0 - 0.05  # pulled down towards 0.1
