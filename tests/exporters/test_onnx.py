"""ONNX exporter: parity with the PyTorch backend under onnxruntime, structure, provenance,
determinism, metadata, checked atomic saving and errors."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import light_bundled

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from conftest import one_op_genotype, randomise_bn  # noqa: E402  (tests/conftest.py: one helper for all)

import nasgen  # noqa: E402
from nasgen.api import Analysis, analyze, build, optimized, options_for  # noqa: E402
from nasgen.dsl.generate import DARTS_OPS, GenotypeSpace, random_genotype  # noqa: E402
from nasgen.dsl.printer import print_module  # noqa: E402
from nasgen.errors import BackendError  # noqa: E402
from nasgen.exporters.onnx import (  # noqa: E402
    ONNX_LOWERINGS,
    TRAINING_ONLY_OPS,
    arch_hash,
    export_onnx,
    onnx_lowering,
    save_onnx,
    weights_from_state_dict,
)
from nasgen.ops import OPS, PRESETS  # noqa: E402

ATOL = 1e-4
REPO = Path(__file__).resolve().parents[2]

# The smallest skeleton each bundled file compiles on is N=1, F=8 at 32x32; a file whose aux
# head's 5x5 pool does not fit the small map gets its CIFAR variant or no aux head.
BUNDLED = light_bundled()
SMALL: dict[str, dict[str, object]] = {"nasnet_a": {"variant": "cifar"}}
WIDE_OPS = (
    *DARTS_OPS,
    "none",
    "zero",
    "identity",
    "conv_1x1",
    "conv_3x3",
    "conv_1x3_3x1",
    "conv_1x7_7x1",
    "dilated_conv_3x3",
    "avg_pool_5x5",
    "max_pool_5x5",
    "max_pool_7x7",
    "sep_conv_7x7",
)


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    """Tiny networks: one thread each for torch and onnxruntime is fastest and, on a loaded
    machine, avoids spinning OpenMP workers."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _net(result: Analysis, seed: int = 0) -> tuple[torch.nn.Module, dict[str, np.ndarray]]:
    model = build(result, seed=seed).eval()
    randomise_bn(model, seed + 1)
    return model, weights_from_state_dict(model.state_dict())


def _export(result: Analysis, weights: Mapping[str, np.ndarray], **kwargs: Any) -> onnx.ModelProto:
    return export_onnx(
        result.graph,
        weights,
        source_text=print_module(result.module),
        options=result.arch.network.as_dict(),
        **kwargs,
    )


def _session(model: onnx.ModelProto) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def _assert_parity(result: Analysis, batches: tuple[int, ...] = (1, 4), seed: int = 0) -> None:
    """The graph as written and as `nasgen export` optimises it both match torch (atol only)."""
    model, weights = _net(result, seed)
    fast, _ = optimized(result, 1, "inference", skip=frozenset({"bn_fold"}))
    sessions = [_session(_export(result, weights)), _session(_export(fast, weights))]
    c, h, w = result.graph.node("input").shape
    g = torch.Generator().manual_seed(seed)
    for batch in batches:
        x = torch.randn(batch, c, h, w, generator=g)
        with torch.no_grad():
            expected = model(x).numpy()
        for session in sessions:
            (got,) = session.run(None, {"input": x.numpy()})
            assert got.shape == expected.shape
            np.testing.assert_allclose(got, expected, rtol=0, atol=ATOL)
    assert float(np.abs(expected).max()) > 1e-2  # the comparison is not between two zeros


def _bundled(name: str, **extra: object) -> Analysis:
    settings = {"input_size": 32, **SMALL.get(name, {}), **extra}
    if name.startswith("regnet"):  # a stage network has no N or F: its own widths at 32 px
        return analyze(name, options_for(**settings))
    try:
        return analyze(name, options_for(N=1, F=8, **settings))
    except nasgen.errors.NasgenError as err:
        if err.code != "E308" or "aux_head" in settings:
            raise
        return analyze(name, options_for(N=1, F=8, aux_head="none", **settings))


def _ops(proto: onnx.ModelProto) -> list[str]:
    return [n.op_type for n in proto.graph.node]


# ------------------------------------------------------------------------------- registry


def test_every_inference_ir_op_has_an_onnx_lowering() -> None:
    ir_ops = {op.name for op in OPS if op.in_ir}
    assert set(ONNX_LOWERINGS) == ir_ops - TRAINING_ONLY_OPS
    assert ir_ops >= TRAINING_ONLY_OPS


def test_a_lowering_for_an_unknown_or_taken_op_raises_at_registration() -> None:
    with pytest.raises(BackendError) as err:
        onnx_lowering("sep_conv_9x9")(ONNX_LOWERINGS["add"])
    assert err.value.code == "E510"
    with pytest.raises(BackendError) as err:
        onnx_lowering("add")(ONNX_LOWERINGS["add"])
    assert err.value.code == "E510"


def test_the_exporter_never_imports_torch() -> None:
    code = "import sys, nasgen.exporters.onnx; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_every_exporter_module_declares_its_public_names() -> None:
    import importlib
    import pkgutil

    import nasgen.exporters.onnx as package

    for info in pkgutil.walk_packages(package.__path__, "nasgen.exporters.onnx."):
        module = importlib.import_module(info.name)
        assert hasattr(module, "__all__"), info.name
        assert all(hasattr(module, name) for name in module.__all__), info.name
    assert all(hasattr(package, name) for name in package.__all__)


# ------------------------------------------------------------------------------- parity


@pytest.mark.parity
@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_genotype_matches_torch(name: str) -> None:
    _assert_parity(_bundled(name))


@pytest.mark.parity
@pytest.mark.parametrize("name", ["nasnet_a", "amoebanet_a", "darts_v2", "pnasnet_5"])
def test_odd_map_sizes_match_torch(name: str) -> None:
    # 30 -> 15 -> 8: TF SAME pads asymmetrically and FactorizedReduce pads its shifted path.
    _assert_parity(_bundled(name, input_size=30, aux_head="none"), batches=(2,))


@pytest.mark.parity
@pytest.mark.parametrize("convention", sorted(PRESETS))
@pytest.mark.parametrize("spelled", OPS.spellings())
def test_every_op_matches_torch(convention: str, spelled: str) -> None:
    text = one_op_genotype(convention, spelled, input_size=17)
    try:
        result = analyze(text)
    except nasgen.errors.NasgenError as err:  # an op that needs a parameter
        assert err.code == "E207", str(err)
        return
    _assert_parity(result, batches=(2,))


@pytest.mark.parity
@pytest.mark.property
@pytest.mark.parametrize("seed", range(200))
def test_random_genotype_matches_torch(seed: int) -> None:
    nb201 = seed % 4 == 3
    ops = WIDE_OPS if seed % 2 else DARTS_OPS
    space = GenotypeSpace(ops=ops, input_size=(16, 13)[seed % 3 == 0])
    if nb201:
        space = GenotypeSpace(
            ops=("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"),
            input_size=16,
        )
    result = analyze(print_module(random_genotype(seed, space, nb201=nb201)))
    _assert_parity(result, seed=seed)


@pytest.mark.parity
@pytest.mark.parametrize("opset", [17, 18, 19, 20, 21])
def test_every_supported_opset_runs(opset: int) -> None:
    result = _bundled("nb201_example")
    model, weights = _net(result)
    proto = _export(result, weights, opset=opset)
    assert proto.opset_import[0].version == opset
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = model(x).numpy()
    (got,) = _session(proto).run(None, {"input": x.numpy()})
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=ATOL)


# ---------------------------------------------------------------------------- zero values

ZERO_TEXT = """nasgen 1
convention darts
cell normal(h_prev, h) {
  b1 = none(h)
  b2 = add(none(h_prev), sep_conv_3x3(h))
  b3 = add(sep_conv_3x3(b1), skip_connect(b2))
  output concat(b1, b2, b3)
}
cell reduction(h_prev, h) {
  b1 = add(max_pool_3x3(h_prev), none(h))
  b2 = add(none(b1), none(h))
  b3 = concat(skip_connect(b2), skip_connect(b1))
}
network { N = 1  F = 8  stem_multiplier = 3  classes = 10  input_size = 16 }
"""


@pytest.mark.parity
@pytest.mark.parametrize("dynamic", [True, False])
def test_zero_operands_vanish_and_needed_zeros_are_materialised(dynamic: bool) -> None:
    result = analyze(ZERO_TEXT)
    model, weights = _net(result)
    proto = _export(result, weights, dynamic_batch=dynamic, batch_size=3)
    ops = _ops(proto)
    assert 0 < ops.count("ConstantOfShape") <= sum(n.op == "zero" for n in result.graph.nodes())
    assert ("Shape" in ops) == dynamic
    x = torch.randn(3, 3, 16, 16)
    with torch.no_grad():
        expected = model(x).numpy()
    (got,) = _session(proto).run(None, {"input": x.numpy()})
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=ATOL)


# ------------------------------------------------------------------------------- structure


def test_batch_norms_after_convs_are_folded() -> None:
    result = _bundled("darts_v2")
    proto = _export(result, _net(result)[1])
    ops = _ops(proto)
    assert "BatchNormalization" not in ops
    assert not {"Identity", "Dropout", "Pad", "Mul"} & set(ops)
    assert ops.count("Conv") == sum(1 for n in proto.graph.node if n.op_type == "Conv")
    # the auxiliary head is training only
    assert not any(n.name.startswith("aux") for n in proto.graph.node)
    assert not any(i.name.startswith("aux.") for i in proto.graph.initializer)


def test_a_batch_norm_without_a_conv_stays_a_node() -> None:
    result = _bundled("nb201_example")
    ops = _ops(_export(result, _net(result)[1]))
    assert ops.count("BatchNormalization") == 1


def test_average_pools_say_count_include_pad() -> None:
    result = _bundled("nasnet_a")
    proto = _export(result, _net(result)[1])
    pools = [n for n in proto.graph.node if n.op_type == "AveragePool"]
    assert pools
    for node in pools:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        assert attrs["count_include_pad"] == 0
        assert len(attrs["pads"]) == 4


def test_tf_same_stride_2_pads_are_asymmetric_on_the_op() -> None:
    result = _bundled("nasnet_a")
    proto = _export(result, _net(result)[1])
    pads = {
        tuple(onnx.helper.get_attribute_value(a))
        for n in proto.graph.node
        for a in n.attribute
        if a.name == "pads" and n.op_type in ("Conv", "MaxPool", "AveragePool")
    }
    assert (0, 0, 1, 1) in pads or (1, 1, 2, 2) in pads


def test_relu_of_a_tensor_is_emitted_once() -> None:
    result = _bundled("darts_v2")
    proto = _export(result, _net(result)[1])
    relu_inputs = [n.input[0] for n in proto.graph.node if n.op_type == "Relu"]
    assert len(relu_inputs) == len(set(relu_inputs))


def test_names_and_doc_strings_come_from_the_ir() -> None:
    result = _bundled("darts_v2")
    proto = _export(result, _net(result)[1])
    names = [n.name for n in proto.graph.node]
    assert len(names) == len(set(names))
    ids = {n.id for n in result.graph.nodes()}
    assert all(n.split("/")[0] in ids or n.split("/")[0] == "input" for n in names)
    assert "cells.0.b1.left/depthwise1" in names
    by_name = {n.name: n for n in proto.graph.node}
    doc = by_name["cells.0.b1.left/depthwise1"].doc_string
    span = result.graph.node("cells.0.b1.left").span
    assert span is not None
    assert doc == f"cell cells.0 block b1 at {span.location()}"
    assert doc.endswith(f"darts_v2.cell:{span.line}:{span.column}")
    assert "cells.0.b1.left.pointwise1.bias" in {i.name for i in proto.graph.initializer}


# ------------------------------------------------------------------ model, metadata, files


def test_export_is_deterministic() -> None:
    result = _bundled("nasnet_a")
    weights = _net(result)[1]
    first = _export(result, weights).SerializeToString()
    again = analyze("nasnet_a", options_for(N=1, F=8, input_size=32, variant="cifar"))
    assert _export(again, dict(sorted(weights.items()))).SerializeToString() == first


def test_metadata_and_interface() -> None:
    result = _bundled("darts_v2")
    proto = _export(result, _net(result)[1])
    meta = {p.key: p.value for p in proto.metadata_props}
    source = print_module(result.module)
    options = result.arch.network.as_dict()
    assert meta["nasgen.source"] == source
    assert json.loads(meta["nasgen.options"]) == options
    assert meta["nasgen.options"] == json.dumps(options, sort_keys=True, separators=(",", ":"))
    assert meta["nasgen.version"] == nasgen.__version__
    assert meta["nasgen.arch_hash"] == arch_hash(source, options)
    assert arch_hash(source, {**options, "classes": 11}) != arch_hash(source, options)
    assert proto.producer_name == "nasgen"
    assert proto.ir_version <= 10
    assert proto.opset_import[0].version == 18
    (inp,) = proto.graph.input
    (out,) = proto.graph.output
    assert inp.name == "input" and out.name == "logits"
    dims = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
    assert dims == ["batch", 3, 32, 32]
    assert [d.dim_param or d.dim_value for d in out.type.tensor_type.shape.dim] == ["batch", 10]


def test_static_batch_is_fixed() -> None:
    result = _bundled("darts_v2")
    model, weights = _net(result)
    proto = _export(result, weights, dynamic_batch=False, batch_size=2)
    for vi in (proto.graph.input[0], proto.graph.output[0]):
        assert vi.type.tensor_type.shape.dim[0].dim_value == 2
        assert not vi.type.tensor_type.shape.dim[0].dim_param
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = model(x).numpy()
    (got,) = _session(proto).run(None, {"input": x.numpy()})
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=ATOL)


def test_save_checks_and_writes_atomically(tmp_path: Path) -> None:
    result = _bundled("pc_darts")
    proto = _export(result, _net(result)[1])
    path = save_onnx(proto, tmp_path / "m.onnx")
    assert path.read_bytes() == proto.SerializeToString()
    onnx.checker.check_model(str(path), full_check=True)
    with pytest.raises(FileExistsError):
        save_onnx(proto, path)
    save_onnx(proto, path, force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]  # no temp file left
    broken = onnx.ModelProto()
    broken.CopyFrom(proto)
    broken.graph.node[0].input[0] = "nowhere"
    with pytest.raises(onnx.checker.ValidationError):
        save_onnx(broken, tmp_path / "broken.onnx")
    assert not (tmp_path / "broken.onnx").exists()


# ---------------------------------------------------------------------------------- errors


def test_missing_or_misshapen_weights_raise_e512() -> None:
    result = _bundled("darts_v2")
    weights = _net(result)[1]
    key = "cells.0.b1.left.pointwise1.weight"
    with pytest.raises(BackendError) as err:
        _export(result, {k: v for k, v in weights.items() if k != key})
    assert err.value.code == "E512" and key in err.value.message
    with pytest.raises(BackendError) as err:
        _export(result, {**weights, key: weights[key][:1]})
    assert err.value.code == "E512"


def test_unsupported_opset_and_batch_raise_e513() -> None:
    result = _bundled("nb201_example")
    weights = _net(result)[1]
    for kwargs in ({"opset": 16}, {"opset": 22}, {"dynamic_batch": False, "batch_size": 0}):
        with pytest.raises(BackendError) as err:
            _export(result, weights, **kwargs)
        assert err.value.code == "E513"


def test_an_op_without_a_lowering_raises_e511(monkeypatch: pytest.MonkeyPatch) -> None:
    result = _bundled("nb201_example")
    weights = _net(result)[1]
    monkeypatch.delitem(ONNX_LOWERINGS, "resnet_block")
    with pytest.raises(BackendError) as err:
        _export(result, weights)
    assert err.value.code == "E511"
    assert err.value.span is not None
