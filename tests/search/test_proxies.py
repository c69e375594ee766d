"""Zero-cost proxies: each against a hand computation on a tiny network, and the evaluator."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from nasgen.api import analyze, options_for  # noqa: E402
from nasgen.errors import NasgenError  # noqa: E402
from nasgen.search.evaluators.proxies import (  # noqa: E402
    grad_norm,
    jacob_cov,
    log_synflow,
    naswot,
    relu_kernel,
    snip,
)
from nasgen.search.evaluators.proxy import PROXIES, ProxyEvaluator  # noqa: E402

W1 = np.array([[1.0, -2.0], [3.0, 0.5]])
W2 = np.array([[2.0, -1.0], [0.5, 1.0]])
X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.3, -2.0], [2.0, 1.0]])
Y = np.array([0, 1, 1, 0])
SMALL = options_for(N=1, F=4)


def _mlp(w1: np.ndarray, w2: np.ndarray, *, bn: bool = False) -> nn.Module:
    first = nn.Linear(w1.shape[1], w1.shape[0], bias=False)
    last = nn.Linear(w2.shape[1], w2.shape[0], bias=False)
    with torch.no_grad():
        first.weight.copy_(torch.tensor(w1))
        last.weight.copy_(torch.tensor(w2))
    middle = [nn.BatchNorm1d(w1.shape[0])] if bn else []
    return nn.Sequential(first, *middle, nn.ReLU(), last)


def _inputs(x: np.ndarray = X, y: np.ndarray = Y) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y)


def _hand_gradients() -> tuple[np.ndarray, np.ndarray]:
    """dL/dW1, dL/dW2 of the mean cross-entropy, by the chain rule written out."""
    z = X @ W1.T
    h = np.maximum(z, 0.0)
    y = h @ W2.T
    p = np.exp(y - y.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    dy = (p - np.eye(2)[Y]) / len(X)
    dw2 = dy.T @ h
    dz = (dy @ W2) * (z > 0)
    return dz.T @ X, dw2


def test_snip_matches_the_hand_computation() -> None:
    dw1, dw2 = _hand_gradients()
    expected = np.abs(W1 * dw1).sum() + np.abs(W2 * dw2).sum()
    assert snip(_mlp(W1, W2), *_inputs()) == pytest.approx(expected, rel=1e-5)


def test_grad_norm_matches_the_hand_computation() -> None:
    dw1, dw2 = _hand_gradients()
    expected = math.sqrt((dw1**2).sum()) + math.sqrt((dw2**2).sum())
    assert grad_norm(_mlp(W1, W2), *_inputs()) == pytest.approx(expected, rel=1e-5)


def test_synflow_is_the_log_of_the_hand_computation_and_ignores_batchnorm() -> None:
    # |W1| @ ones = (3, 3.5); |W2| @ that = (9.5, 5); R = 14.5. R is linear in each of the two
    # layers' weights, so each layer's sum of W * dR/dW is R: the score is 2R = 29.
    expected = math.log(29.0)
    assert log_synflow(_mlp(W1, W2), *_inputs()) == pytest.approx(expected, rel=1e-12)
    # BatchNorm is bypassed (in training mode it would also refuse a batch of one).
    assert log_synflow(_mlp(W1, W2, bn=True), *_inputs()) == pytest.approx(expected, rel=1e-12)
    # The input is all ones: the values of the batch do not matter.
    assert log_synflow(_mlp(W1, W2), *_inputs(X * 7.0)) == pytest.approx(expected, rel=1e-12)


def test_jacob_cov_matches_the_hand_computation() -> None:
    rng = np.random.default_rng(3)
    w1, w2 = rng.normal(size=(4, 3)), rng.normal(size=(2, 4))
    x = rng.normal(size=(5, 3))
    # d(sum of all logits)/dx_i = W1^T diag(z_i > 0) W2^T 1 for each sample i.
    active = (x @ w1.T) > 0
    jac = np.stack([w1.T @ (a * (w2.T @ np.ones(2))) for a in active])
    centred = jac - jac.mean(axis=1, keepdims=True)
    unit = centred / np.sqrt((centred**2).sum(axis=1, keepdims=True))
    eig = np.linalg.eigvalsh(unit @ unit.T) + 1e-5
    expected = -np.sum(np.log(eig) + 1.0 / eig)
    got = jacob_cov(_mlp(w1, w2), *_inputs(x, np.zeros(5, dtype=np.int64)))
    assert got == pytest.approx(expected, rel=1e-4)


class _FunctionalRelu(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(2, 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.relu(self.fc(x)).sum(dim=1, keepdim=True)


def test_naswot_matches_the_hand_computation_for_every_way_of_applying_relu() -> None:
    # W1 = I: the codes of the three samples are (1, 0), (0, 1), (1, 1); K counts agreements:
    # K = [[2, 0, 1], [0, 2, 1], [1, 1, 2]], det K = 2 * 3 - 0 + 1 * (0 - 2) = 4.
    x, y = _inputs(np.array([[1.0, -1.0], [-1.0, 1.0], [1.0, 1.0]]), np.zeros(3, np.int64))
    expected = math.log(4.0)
    eye = np.eye(2)
    assert naswot(_mlp(eye, W2), x, y) == pytest.approx(expected, rel=1e-12)
    inplace = nn.Sequential(nn.Linear(2, 2, bias=False), nn.ReLU(inplace=True))
    functional = _FunctionalRelu()
    for net in (inplace, functional):
        with torch.no_grad():
            net.get_submodule("0" if net is inplace else "fc").weight.copy_(torch.eye(2))
        assert naswot(net, x, y) == pytest.approx(expected, rel=1e-12)
    kernel, calls = relu_kernel(_mlp(eye, W2), x)
    assert calls == 1
    assert kernel.tolist() == [[2.0, 0.0, 1.0], [0.0, 2.0, 1.0], [1.0, 1.0, 2.0]]


def test_proxies_leave_the_model_untouched() -> None:
    model = _mlp(W1, W2, bn=True)
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x, y = _inputs()
    for proxy in (snip, grad_norm, log_synflow, jacob_cov, naswot):
        proxy(model, x, y)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(p.grad is None for p in model.parameters())
    assert model.training


def test_relu_kernel_sees_the_functional_relus_of_a_nasgen_network() -> None:
    from nasgen.api import build

    model = build(analyze("nb201_example", SMALL), 0)
    x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    kernel, calls = relu_kernel(model, x)
    assert calls >= 4  # every nor_conv and the BN-ReLU head apply F.relu
    diagonal = torch.diagonal(kernel)
    assert bool((diagonal == diagonal[0]).all()) and float(diagonal[0]) > 1000
    assert float(kernel.max()) == float(diagonal[0])


def test_evaluator_on_a_bundled_genotype_gives_finite_values_and_the_static_cost() -> None:
    evaluator = ProxyEvaluator(list(PROXIES), batch_size=16, options=SMALL)
    assert evaluator.name == "proxy:" + ",".join(PROXIES)
    assert evaluator.log_space == {"synflow", "naswot"}
    result = evaluator.evaluate("nb201_example", 0)
    assert result.error is None
    assert list(result.metrics) == list(PROXIES)
    assert all(math.isfinite(v) for v in result.metrics.values()), result.metrics
    cost = analyze("nb201_example", SMALL).cost
    assert result.metrics["params"] == cost.params
    assert result.metrics["macs"] == cost.macs


def test_same_text_and_seed_give_the_same_metrics() -> None:
    evaluator = ProxyEvaluator(["snip", "naswot", "jacob_cov", "synflow"], 8, SMALL)
    first = evaluator.evaluate("nb201_example", 7)
    assert evaluator.evaluate("nb201_example", 7) == first
    other = evaluator.evaluate("nb201_example", 8)
    assert other.metrics["snip"] != first.metrics["snip"]


def test_unknown_proxy_is_e820_with_a_hint() -> None:
    with pytest.raises(NasgenError) as info:
        ProxyEvaluator(["synflow", "grad_nrom"])
    assert info.value.code == "E820"
    assert info.value.hint == "did you mean 'grad_norm'?"
    with pytest.raises(NasgenError) as info:
        ProxyEvaluator(["zzz"])
    assert info.value.code == "E820"
    assert info.value.hint is not None and "synflow" in info.value.hint


@pytest.mark.parametrize(
    ("names", "batch_size"), [([], 64), (["snip", "snip"], 64), (["snip"], 1), (["snip"], True)]
)
def test_bad_configuration_is_e820(names: list[str], batch_size: int) -> None:
    with pytest.raises(NasgenError) as info:
        ProxyEvaluator(names, batch_size)
    assert info.value.code == "E820"


def test_an_architecture_that_does_not_compile_is_an_error_result() -> None:
    result = ProxyEvaluator(["params"]).evaluate("nasgen 1\ncell normal(x) {\n", 0)
    assert result.error is not None and "error[E1" in result.error
    assert result.metrics == {}


def test_the_registry_makes_the_proxy_evaluator() -> None:
    from nasgen.search.evaluators import make_evaluator

    evaluator = make_evaluator("proxy:params,synflow", SMALL)
    assert isinstance(evaluator, ProxyEvaluator)
    assert evaluator.metrics == ("params", "synflow")


_STATIC_ONLY = """
import importlib.abc, json, sys

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "torch":
            raise ImportError(f"{name} is blocked in this test")
        return None

sys.meta_path.insert(0, Block())
from nasgen.api import options_for
from nasgen.search.evaluators.proxy import ProxyEvaluator
result = ProxyEvaluator(["params", "macs"], options=options_for(N=1, F=4)).evaluate(
    "nb201_example", 0)
loaded = sorted(m for m in sys.modules if m.split(".")[0] == "torch")
print(json.dumps({"metrics": dict(result.metrics), "loaded": loaded}))
"""


def test_static_proxies_never_import_torch() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _STATIC_ONLY], capture_output=True, text=True, check=True
    )
    data = json.loads(out.stdout.strip().splitlines()[-1])
    cost = analyze("nb201_example", SMALL).cost
    assert data == {"metrics": {"params": cost.params, "macs": cost.macs}, "loaded": []}


def test_a_cell_whose_output_ignores_its_input_gets_undefined_values_not_an_error() -> None:
    from nasgen.dsl.foreign import import_nb201
    from nasgen.dsl.printer import print_module

    text = print_module(import_nb201("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"))
    result = ProxyEvaluator(["jacob_cov", "naswot", "snip"], 8, SMALL).evaluate(text, 0)
    assert result.error is None
    assert math.isnan(result.metrics["jacob_cov"])
    assert result.metrics["naswot"] == -math.inf  # every sample has the same ReLU codes
    assert math.isfinite(result.metrics["snip"])
