"""The op registry: one definition per op, every searchable op expands to IR ops under every
convention, aliases resolve, duplicates are refused."""

from __future__ import annotations

import pytest

from nasgen.ops import OPS, PRESETS, Attrs, ExpandContext, OpDef, OpRegistry, ShapeError
from nasgen.ops.geometry import out_size


def _identity_shape(attrs: Attrs, ins: tuple[tuple[int, int, int], ...]) -> tuple[int, int, int]:
    return ins[0]


def test_registering_a_name_twice_raises() -> None:
    reg = OpRegistry()
    reg.add(OpDef(name="a", doc="", infer_shape=_identity_shape, aliases={"a_alias": {}}))
    with pytest.raises(ValueError, match="twice"):
        reg.add(OpDef(name="a", doc="", infer_shape=_identity_shape))
    with pytest.raises(ValueError, match="twice"):
        reg.add(OpDef(name="b", doc="", infer_shape=_identity_shape, aliases={"a_alias": {}}))


def test_private_registry_is_independent_of_the_default() -> None:
    reg = OpRegistry()
    assert reg.lookup("sep_conv_3x3") is None
    assert OPS.lookup("sep_conv_3x3") is not None


def test_every_alias_resolves_to_a_searchable_op() -> None:
    for spelled in OPS.spellings():
        found = OPS.lookup(spelled)
        assert found is not None, spelled
        assert found[0].searchable


def _default_params(op: OpDef, fixed: dict[str, object]) -> Attrs:
    values = dict(fixed)
    for name, p in op.params.items():
        if name not in values:
            values[name] = p.default if p.default is not None else p.choices[0]  # type: ignore[index]
    return Attrs.of(values)  # type: ignore[arg-type]


@pytest.mark.parametrize("convention", sorted(PRESETS))
@pytest.mark.parametrize("spelled", OPS.spellings())
@pytest.mark.parametrize(("c_in", "stride"), [(16, 1), (16, 2), (24, 1), (24, 2)])
def test_expansion_is_a_chain_of_ir_ops_with_the_cell_width(
    convention: str, spelled: str, c_in: int, stride: int
) -> None:
    op, fixed = OPS.lookup(spelled)  # type: ignore[misc]
    ctx = ExpandContext(c_in=c_in, c_out=16, stride=stride, convention=PRESETS[convention])
    steps = op.expand(_default_params(op, dict(fixed)), ctx)  # type: ignore[misc]
    assert steps, spelled
    shape = (c_in, 32, 32)
    for step in steps:
        ir_op = OPS[step.op]
        assert ir_op.in_ir, f"{spelled} expands to {step.op}, which has no shape rule"
        new = ir_op.shape(step.attrs, (shape,))
        cost = ir_op.cost(step.attrs, (shape,), new)
        assert cost.params >= 0 and cost.macs >= 0
        shape = new
    assert shape == (16, out_size(32, 1, stride, "same"), out_size(32, 1, stride, "same"))


def test_none_follows_the_convention() -> None:
    none = OPS["none"]
    assert none.expand is not None
    ctx_tf = ExpandContext(16, 16, 1, PRESETS["tf_slim"])
    ctx_darts = ExpandContext(16, 16, 1, PRESETS["darts"])
    assert [s.op for s in none.expand(Attrs(), ctx_tf)] == ["identity"]
    assert [s.op for s in none.expand(Attrs(), ctx_darts)] == ["zero"]


def test_strided_identity_differs_between_tf_and_darts_but_costs_the_same() -> None:
    ident = OPS["identity"]
    assert ident.expand is not None
    tf = ident.expand(Attrs(), ExpandContext(32, 32, 2, PRESETS["tf_slim"]))
    darts = ident.expand(Attrs(), ExpandContext(32, 32, 2, PRESETS["darts"]))
    assert [s.op for s in tf] == ["conv_bn"] and [s.op for s in darts] == ["factorized_reduce"]
    shape = (32, 8, 8)
    costs = []
    for (step,) in (tf, darts):
        out = OPS[step.op].shape(step.attrs, (shape,))
        costs.append(OPS[step.op].cost(step.attrs, (shape,), out).params)
    # stride-2 identity: TF ReLU-1x1-BN vs DARTS FactorizedReduce, the same count
    assert costs[0] == costs[1] == 32 * 32 + 2 * 32


def test_sep_conv_count_matches_the_hand_count() -> None:
    # DARTS SepConv(C, C, 3): 2 x (dw 9C + pw C^2 + BN 2C).
    c = 36
    attrs = Attrs.of(k=3, stride=1, c_out=c, dilation=1, repeats=2)
    shape = (c, 32, 32)
    cost = OPS["sep_conv"].cost(attrs, (shape,), OPS["sep_conv"].shape(attrs, (shape,)))
    assert cost.params == 2 * (9 * c + c * c + 2 * c)
    assert cost.macs == 2 * (9 * c + c * c) * 32 * 32


def test_add_of_mismatched_shapes_raises_shape_error() -> None:
    with pytest.raises(ShapeError) as err:
        OPS["add"].shape(Attrs(), ((16, 8, 8), (16, 4, 4)))
    assert err.value.code == "E301"


def _cost(op: str, attrs: Attrs, *in_shapes: tuple[int, int, int]) -> tuple[int, int, int]:
    out = OPS[op].shape(attrs, in_shapes)
    cost = OPS[op].cost(attrs, in_shapes, out)
    return cost.params, cost.macs, cost.acts


def test_activations_count_the_outputs_of_every_conv_pool_and_linear_by_hand() -> None:
    # pycls blocks.py *_cx (docs/design/regnet_pycls.md section 4): acts += C x H x W of every
    # conv, max pool and linear output; BN, ReLU, adds and global pooling count nothing.
    # sep_conv 16 -> 32, stride 2, twice: dw 16 + pw 32, then dw 32 + pw 32, all at 16 x 16.
    sep = Attrs.of(k=3, stride=2, c_out=32, dilation=1, repeats=2)
    assert _cost("sep_conv", sep, (16, 32, 32))[2] == (16 + 32 + 32 + 32) * 16 * 16
    # a pool has no weights and no MACs; its output is 16 x 16 x 16 at stride 2
    assert _cost("max_pool", Attrs.of(k=3, stride=2), (16, 32, 32)) == (0, 0, 16 * 16 * 16)
    assert _cost("avg_pool", Attrs.of(k=3, stride=1), (16, 32, 32)) == (0, 0, 16 * 32 * 32)
    assert _cost("linear", Attrs.of(c_out=10), (512, 1, 1)) == (512 * 10 + 10, 512 * 10, 10)
    # SE: its two 1x1 convs output c_se and c elements (on the pooled 1 x 1 map)
    assert _cost("se", Attrs.of(c_se=16), (64, 7, 7))[2] == 16 + 64
    # factorized_reduce: two 1x1 convs to 16 and 16 channels at 8 x 8
    assert _cost("factorized_reduce", Attrs.of(stride=2, c_out=32), (16, 16, 16))[2] == 32 * 64
    conv = Attrs.of(k=3, stride=1, c_out=24, groups=3)
    assert _cost("conv_bn", conv, (24, 14, 14))[2] == 24 * 14 * 14
    for op in ("global_avg_pool", "batch_norm", "relu", "identity"):
        assert _cost(op, Attrs(), (16, 8, 8))[2] == 0, op
    assert _cost("add", Attrs(), (16, 8, 8), (16, 8, 8))[2] == 0
    assert _cost("concat", Attrs(), (16, 8, 8), (16, 8, 8))[2] == 0
