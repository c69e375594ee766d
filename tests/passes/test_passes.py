"""IR passes: the proof obligations of every pass, on every bundled genotype and random ones.

Each optimisation is idempotent, never increases params or MACs, keeps the shape of every node
it keeps, and keeps the outputs (optimised vs unoptimised module, same weights, eval mode,
1e-5). The training form also keeps every parameter name and count, and training-mode outputs
with drop path under the same seed.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import light_bundled

from nasgen.api import Analysis, analyze, build, inference_module, optimized, options_for
from nasgen.dsl.generate import random_genotype
from nasgen.dsl.printer import print_module
from nasgen.errors import PassError
from nasgen.ir import node_cost
from nasgen.passes import PASSES, count_ops, optimize

torch = pytest.importorskip("torch")

BUNDLED = light_bundled()
SMALL = {"N": 1, "F": 8}


def _small(name: str) -> Analysis:
    settings: dict[str, object] = dict(SMALL)
    if name.startswith("regnet"):  # a stage network reads no N or F: 32 px instead
        settings = {"input_size": 32}
    if name in ("nasnet_a", "pnasnet_5", "amoebanet_a"):
        settings["input_size"] = 96
    return analyze(name, options_for(**settings))  # type: ignore[arg-type]


def _sources() -> list[tuple[str, Callable[[], Analysis]]]:
    cases: list[tuple[str, Callable[[], Analysis]]] = [
        (n, lambda n=n: _small(n))
        for n in BUNDLED  # type: ignore[misc]
    ]
    for seed in range(30):
        nb201 = seed % 3 == 0
        cases.append(
            (
                f"random{seed}",
                lambda s=seed, b=nb201: analyze(print_module(random_genotype(s, nb201=b))),  # type: ignore[misc]
            )
        )
    return cases


CASES = _sources()
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("form", ["train", "inference"])
@pytest.mark.parametrize(("name", "make"), CASES, ids=IDS)
def test_passes_are_idempotent_monotone_and_shape_preserving(
    name: str, make: Callable[[], Analysis], form: str
) -> None:
    result = make()
    once = optimize(result.graph, 1, form, check=True)
    twice = optimize(once.graph, 1, form, check=True)
    assert twice.records == ()  # a fixed point: nothing left to change
    assert twice.graph.render() == once.graph.render()
    assert once.cost.params <= result.cost.params
    assert once.cost.macs <= result.cost.macs
    assert count_ops(once.graph) <= count_ops(result.graph)
    for node in once.graph.nodes():
        source = node.inputs[0] if node.op == "relu" else node.id  # a shared ReLU: its state's
        assert node.shape == result.graph.node(source).shape, node.id
    assert once.graph.node(once.graph.output).shape == result.graph.node(result.graph.output).shape
    if form == "train":
        assert (once.cost.params, once.cost.aux_params) == (
            result.cost.params,
            result.cost.aux_params,
        )
    # the input graph is never modified
    assert result.graph.render() == make().graph.render()


@pytest.mark.parametrize(("name", "make"), CASES, ids=IDS)
def test_optimised_modules_compute_the_same_outputs(
    name: str, make: Callable[[], Analysis], randomise_bn: Callable[..., None]
) -> None:
    result = make()
    model = build(result, seed=0)
    randomise_bn(model, seed=1)
    model.eval()
    size = result.arch.network.input_size
    x = torch.randn(2, result.arch.network.input_channels, size, size, generator=None)
    fast = inference_module(model)
    train_form, _ = optimized(result, 1, "train")
    same_names = build(train_form, seed=0)
    # training-form passes keep every parameter name (and so every count)
    assert set(same_names.state_dict()) == set(model.state_dict())
    same_names.load_state_dict(model.state_dict())
    same_names.eval()
    with torch.no_grad():
        reference = model(x)
        assert torch.allclose(fast(x), reference, atol=1e-5, rtol=0)
        assert torch.allclose(same_names(x), reference, atol=1e-5, rtol=0)
    assert fast.count_parameters() <= model.count_parameters()


def test_training_form_keeps_training_outputs_with_drop_path() -> None:
    result = _small("nasnet_a")
    result = analyze(
        "nasnet_a", options_for(N=1, F=8, input_size=64, drop_path=0.5, aux_head="none")
    )
    model = build(result, seed=0)
    opt = build(optimized(result, 1, "train")[0], seed=0)
    opt.load_state_dict(model.state_dict())
    for m in (model, opt):
        m.train()
        m.set_progress(1.0)
    x = torch.randn(4, 3, 64, 64)
    torch.manual_seed(7)
    a = model(x)
    torch.manual_seed(7)
    b = opt(x)
    # the merged pool is read twice by one add and dropped per operand, as the two pools were
    assert torch.allclose(a, b, atol=1e-6, rtol=0)


def test_nasnet_explain_reports_the_merged_pooling_of_every_normal_cell() -> None:
    result = analyze("nasnet_a", options_for(N=4, F=44))
    _, opt = optimized(result, 1, "train")
    merged = {c.cell for c in opt.changes() if c.kind == "merged" and c.op == "avg_pool"}
    normal = {n.cell for n in result.graph.nodes() if n.stage.startswith("stage")}
    assert merged == normal and len(normal) == 12
    text = opt.explain()
    assert "cse: 16 merged" in text
    assert "cells.0.b4: merged avg_pool cells.0.b4.right into cells.0.b4.left" in text
    assert count_ops(opt.graph) < count_ops(result.graph)


def test_inference_form_drops_the_aux_head_and_folds_batchnorm() -> None:
    result = analyze("darts_v2", options_for(N=1, F=8))
    fast, opt = optimized(result, 1, "inference")
    assert fast.graph.aux_output is None and "aux" not in fast.graph
    folded = [c for c in opt.changes() if c.kind == "folded" and "BN" in c.detail]
    assert folded
    # each folded BN channel keeps one bias instead of a scale and a shift
    assert fast.cost.params < result.cost.params
    # folding changes params only: the node's MACs and activations stay the op's
    folded_nodes = [n for n in fast.graph.nodes() if n.attrs.get_bool("fold_bn")]
    assert folded_nodes
    for node in folded_nodes:
        raw = node.op_def.cost(node.attrs, node.in_shapes, node.shape)
        cost = node_cost(node)
        assert (cost.macs, cost.acts) == (raw.macs, raw.acts) and cost.acts > 0, node.id


def test_zero_ops_leave_adds_and_keep_concat_channels() -> None:
    text = (
        "nasgen 1\nconvention darts\n"
        "cell normal(h_prev, h) {\n  b1 = add(none(h_prev), sep_conv_3x3(h))\n"
        "  b2 = add(none(h), none(h_prev))\n  output concat(b1, b2)\n}\n"
        "cell reduction(h_prev, h) {\n  b1 = add(max_pool_3x3(h_prev), none(h))\n"
        "  output concat(b1)\n}\n"
        "network {\n  N = 1\n  F = 8\n  classes = 10\n  input_size = 32\n}\n"
    )
    result = analyze(text)
    _, opt = optimized(result, 1, "train")
    zeros = [c for c in opt.changes() if c.op == "zero"]
    assert zeros  # b1's zero operand went
    g = optimize(result.graph, 1, "train").graph
    # b2 = zero + zero stays a node of the right shape (its channels are concatenated)
    assert any(n.op == "zero" for n in g.nodes())


def test_level_0_changes_nothing_and_bad_levels_are_errors() -> None:
    result = _small("darts_v2")
    assert optimize(result.graph, 0).graph.render() == result.graph.render()
    with pytest.raises(PassError, match="level"):
        optimize(result.graph, 3)
    with pytest.raises(PassError, match="form"):
        optimize(result.graph, 1, "fast")


def test_every_pass_documents_its_rules() -> None:
    for p in PASSES:
        assert "Rules:" in p.doc, p.name
