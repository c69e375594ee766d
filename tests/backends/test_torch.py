"""PyTorch backend: exact sizes, forward shapes, training, drop path, aux head, determinism,
checkpoints, and one lowering per IR op."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import light_bundled

torch = pytest.importorskip("torch")

from conftest import one_op_genotype  # noqa: E402

import nasgen  # noqa: E402
from nasgen.api import CompileOptions, analyze, build, options_for  # noqa: E402
from nasgen.backends.torch import TORCH_LOWERINGS, torch_lowering  # noqa: E402
from nasgen.errors import BackendError, NasgenError  # noqa: E402
from nasgen.ops import OPS  # noqa: E402


def _count(module: torch.nn.Module, *, aux: bool) -> int:
    return sum(p.numel() for n, p in module.named_parameters() if aux or not n.startswith("aux."))


def test_every_ir_op_has_a_torch_lowering() -> None:
    ir_ops = {op.name for op in OPS if op.in_ir}
    assert ir_ops == set(TORCH_LOWERINGS)


def test_a_lowering_for_an_unknown_op_raises_at_registration() -> None:
    with pytest.raises(BackendError):
        torch_lowering("sep_conv_9x9")(lambda node, conv: torch.nn.Identity())


@pytest.mark.parametrize(
    ("source", "options", "params", "aux"),
    [
        ("nasnet_a.cell", {"N": 4, "F": 44}, 5_289_978, 2_411_240),
        ("darts_v2.cell", {"N": 6, "F": 36}, 3_349_342, 476_426),
        ("darts_v2.cell", {"variant": "imagenet"}, 4_718_752, 1_260_776),
    ],
)
def test_module_parameter_count_is_the_published_one(
    source: str, options: dict[str, object], params: int, aux: int
) -> None:
    with torch.device("meta"):
        model = nasgen.compile(source, **options)
    assert _count(model, aux=False) == params
    assert _count(model, aux=True) == params + aux
    assert model.count_parameters() == params
    assert model.count_parameters(aux=True) == params + aux


@pytest.mark.parametrize("name", light_bundled())
def test_every_bundled_genotype_and_variant_builds_to_its_static_count(name: str) -> None:
    module = nasgen.dsl.parse(nasgen.dsl.read_bundled(name))  # type: ignore[arg-type]
    for variant in [None, *(v.name for v in module.variants)]:
        result = analyze(name, CompileOptions(variant=variant))
        with torch.device("meta"):
            model = build(result)
        assert model.count_parameters() == result.cost.params, variant
        assert model.count_parameters(aux=True) == result.cost.params + result.cost.aux_params


def test_nasnet_large_on_the_meta_device() -> None:
    with torch.device("meta"):
        model = nasgen.compile("nasnet_a.cell", variant="large")
    assert _count(model, aux=False) == 88_753_150


@pytest.mark.parametrize("convention", ["tf_slim", "darts", "tf_amoeba"])
@pytest.mark.parametrize("spelled", OPS.spellings())
def test_static_count_equals_module_count_for_every_op(convention: str, spelled: str) -> None:
    text = one_op_genotype(convention, spelled, input_size=32)
    try:
        result = analyze(text)
    except NasgenError as err:  # an op that needs a parameter (sep_conv without k)
        assert err.code == "E207", str(err)
        return
    model = build(result, seed=0)
    assert _count(model, aux=True) == result.cost.params + result.cost.aux_params
    model.eval()
    with torch.no_grad():
        assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_nasnet_mobile_eval_forward_is_1x1000() -> None:
    model = nasgen.compile("nasnet_a.cell", N=4, F=44, seed=0).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 224, 224))
    assert out.shape == (1, 1000)
    assert torch.isfinite(out).all()


def _small(seed: int = 0, **settings: object) -> torch.nn.Module:
    return nasgen.compile("darts_v2", N=1, F=8, seed=seed, **settings)


def test_aux_logits_only_in_training() -> None:
    model = _small()
    x = torch.randn(2, 3, 32, 32)
    logits, aux = model.train()(x)
    assert logits.shape == aux.shape == (2, 10)
    assert model.eval()(x).shape == (2, 10)


def test_training_steps_lower_the_loss_and_reach_every_parameter() -> None:
    torch.manual_seed(0)
    model = _small(drop_path=0.0).train()
    x, y = torch.randn(16, 3, 32, 32), torch.randint(0, 10, (16,))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for step in range(8):
        opt.zero_grad()
        logits, aux = model(x)
        loss = torch.nn.functional.cross_entropy(logits, y)
        loss = loss + model.aux_weight * torch.nn.functional.cross_entropy(aux, y)
        loss.backward()
        if step == 0:
            silent = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.any()]
            assert not silent, silent
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] * 0.8, losses


def test_drop_path_changes_training_forward_but_not_eval() -> None:
    model = _small(drop_path=0.5)
    x = torch.randn(4, 3, 32, 32)
    model.train()
    torch.manual_seed(1)
    base = model(x)[0]
    model.set_progress(1.0)
    torch.manual_seed(1)
    dropped = model(x)[0]
    assert not torch.allclose(base, dropped)
    model.eval()
    with torch.no_grad():
        at_end = model(x)
        model.set_progress(0.0)
        at_start = model(x)
    assert torch.equal(at_end, at_start)


def test_same_seed_same_weights_other_seed_other_weights() -> None:
    a, b, c = _small(seed=3).state_dict(), _small(seed=3).state_dict(), _small(seed=4).state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a if a[k].is_floating_point())


def test_state_dict_names_follow_the_ir_node_ids() -> None:
    model = nasgen.compile("nasnet_a.cell", N=4, F=44)
    keys = set(model.state_dict())
    assert "cells.5.b2.left.depthwise1.weight" in keys
    assert "stem.conv0.conv.weight" in keys
    assert "head.fc.fc.weight" in keys
    assert model.nasgen_options["N"] == 4
    assert "cell normal(h_prev, h)" in model.nasgen_source


def test_checkpoint_round_trip_gives_identical_outputs(tmp_path: Path) -> None:
    model = _small(seed=7).eval()
    path = nasgen.save(model, tmp_path / "m.safetensors")
    assert path.read_bytes()[:8] != b"\x80\x04\x95"  # not a pickle
    again = nasgen.load(path).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(x), again(x))


def test_loading_a_non_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(BackendError) as err:
        nasgen.load(bad)
    assert err.value.code == "E503"
    with pytest.raises(BackendError):
        nasgen.load(tmp_path / "missing.safetensors")


def test_parameter_names_in_the_docs_exist() -> None:
    import re

    docs = (Path(__file__).resolve().parents[2] / "docs" / "torch.md").read_text()
    names = set(re.findall(r"`([a-z_0-9]+(?:\.[a-z_0-9]+)+\.(?:weight|bias|running_mean))`", docs))
    assert len(names) > 10
    keys: set[str] = set()
    with torch.device("meta"):
        for variant in (None, "cifar"):
            keys |= set(nasgen.compile("nasnet_a", variant=variant).state_dict())
        for variant in (None, "imagenet"):
            keys |= set(nasgen.compile("darts_v2", variant=variant).state_dict())
    assert not sorted(names - keys)


@pytest.mark.parametrize("kind", ["avg", "max"])
def test_tf_same_pooling_pads_at_the_bottom_right_and_ignores_padding(kind: str) -> None:
    from nasgen.backends.torch.layers import Pool

    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    out = Pool(kind, 3, 2, tf_same=True)(x)
    # TF SAME, 4 -> 2 with k=3, s=2: one padded row/column, at the end; windows are rows/cols
    # {0,1,2} and {2,3}.
    reduce = torch.mean if kind == "avg" else torch.amax
    expected = torch.tensor(
        [
            [float(reduce(x[0, 0, r0:r1, c0:c1])) for c0, c1 in ((0, 3), (2, 4))]
            for r0, r1 in ((0, 3), (2, 4))
        ]
    )
    torch.testing.assert_close(out[0, 0], expected)


def test_tf_same_conv_pads_at_the_bottom_right() -> None:
    from nasgen.backends.torch.layers import TFSameConv2d

    conv = TFSameConv2d(1, 1, 3, 2, 0, bias=False)
    torch.nn.init.ones_(conv.weight)
    x = torch.ones(1, 1, 4, 4)
    # Windows {0,1,2} x {0,1,2} see 9 ones; the last window sees rows/cols {2,3} + padding.
    torch.testing.assert_close(conv(x)[0, 0], torch.tensor([[9.0, 6.0], [6.0, 4.0]]))


def test_enas_aux_head_is_same_padded_and_the_classifiers_have_no_bias() -> None:
    model = nasgen.compile("enas_micro", N=1, F=8, seed=0)
    report = analyze("enas_micro", options_for(N=1, F=8)).cost
    assert model.head.fc.fc.bias is None
    assert model.aux.fc.bias is None
    assert model.count_parameters(aux=True) == report.params + report.aux_params
    model.train()
    logits, aux = model(torch.randn(2, 3, 32, 32))
    assert logits.shape == aux.shape == (2, 10)
