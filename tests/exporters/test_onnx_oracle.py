"""The direct exporter against the second path, torch.onnx.export of the same module."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import nasgen
from nasgen.api import to_onnx
from nasgen.backends.torch.onnx_oracle import torch_onnx_export

torch = pytest.importorskip("torch")


def _run(data: bytes | str, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("name", "settings"),
    [
        ("darts_v2", {"N": 1, "F": 8}),
        ("nasnet_a", {"N": 1, "F": 8, "input_size": 96}),  # TF SAME padding, stem cells
        ("amoebanet_a", {"N": 1, "F": 8}),  # bottlenecked convs
        ("nb201_example", {"N": 1}),
    ],
)
def test_both_paths_agree_in_onnxruntime(
    tmp_path: Path, name: str, settings: dict[str, int], randomise_bn: object
) -> None:
    model = nasgen.compile(name, seed=0, **settings)
    randomise_bn(model, seed=2)  # type: ignore[operator]
    model.eval()
    size = model.nasgen_options["input_size"]
    oracle = torch_onnx_export(model, tmp_path / "torch.onnx", input_shape=(3, size, size))
    direct, _ = to_onnx(model)
    x = np.random.default_rng(1).standard_normal((3, 3, size, size)).astype(np.float32)
    a, b = _run(direct.SerializeToString(), x), _run(str(oracle), x)
    assert np.abs(a - b).max() < 1e-4
    # the direct graph is no larger than the traced one
    assert len(direct.graph.node) <= len(onnx.load(oracle).graph.node)
