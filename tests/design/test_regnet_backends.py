"""RegNetX/Y-200MF through the backends: the torch module has the static count of weights, and
its ONNX export agrees with it under onnxruntime."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch

from nasgen import api
from nasgen.dsl.options import CompileOptions
from nasgen.dsl.printer import print_module
from nasgen.exporters.onnx import export_onnx, weights_from_state_dict


@pytest.mark.parametrize("name", ["regnetx_200mf", "regnety_200mf"])
def test_the_torch_module_has_the_static_count(name: str) -> None:
    result = api.analyze(name)
    model = api.build(result, 0)
    assert sum(p.numel() for p in model.parameters()) == result.cost.params


@pytest.mark.parity
@pytest.mark.parametrize("name", ["regnetx_200mf", "regnety_200mf"])
def test_onnx_export_agrees_with_torch(name: str) -> None:
    torch.set_num_threads(1)
    result = api.analyze(name, CompileOptions(settings=(("input_size", 64),)))
    model = api.build(result, 3).eval()
    with torch.no_grad():  # BN statistics away from the identity, so BN is really exported
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    weights = weights_from_state_dict(model.state_dict())
    proto = export_onnx(
        result.graph, weights, source_text=print_module(result.module),
        options=result.arch.network.as_dict(),
    )  # fmt: skip
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = model(x).numpy()
    (got,) = session.run(None, {"input": x.numpy()})
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)
    assert float(np.abs(expected).max()) > 1e-2
    ops = {n.op_type for n in proto.graph.node}
    assert "Conv" in ops and (("Sigmoid" in ops) == name.startswith("regnety"))
    groups = {
        a.i
        for n in proto.graph.node
        if n.op_type == "Conv"
        for a in n.attribute
        if a.name == "group"
    }
    assert max(groups) > 1  # the 3x3 convs are grouped
