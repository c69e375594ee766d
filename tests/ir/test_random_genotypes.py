"""Properties over random valid genotypes (``nasgen.dsl.generate``), both cell styles."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nasgen.api import analyze, build
from nasgen.dsl import parse_text
from nasgen.dsl.generate import GenotypeSpace, random_genotype
from nasgen.dsl.printer import print_module

seeds = st.integers(min_value=0, max_value=2**32 - 1)
styles = st.booleans()


@pytest.mark.property
@settings(max_examples=150, deadline=None)
@given(seed=seeds, nb201=styles)
def test_generated_genotypes_round_trip_and_analyze(seed: int, nb201: bool) -> None:
    module = random_genotype(seed, nb201=nb201)
    text = print_module(module)
    assert parse_text(text) == module
    first, second = analyze(text), analyze(text)
    assert first.graph.render() == second.graph.render()  # deterministic ids and order
    assert first.cost.params > 0 and first.cost.macs > 0
    assert all(min(n.shape) >= 1 for n in first.graph.nodes())
    assert first.cost.params == sum(s.params for s in first.cost.stages if s.stage != "aux")


@pytest.mark.property
@settings(max_examples=60, deadline=None)
@given(seed=seeds)
def test_more_filters_never_fewer_parameters(seed: int) -> None:
    small = print_module(random_genotype(seed, GenotypeSpace(num_filters=8)))
    large = print_module(random_genotype(seed, GenotypeSpace(num_filters=16)))
    assert analyze(large).cost.params >= analyze(small).cost.params


@pytest.mark.property
@settings(max_examples=40, deadline=None)
@given(seed=seeds, nb201=styles)
def test_static_count_equals_torch_module_count(seed: int, nb201: bool) -> None:
    torch = pytest.importorskip("torch")
    result = analyze(print_module(random_genotype(seed, nb201=nb201)))
    with torch.device("meta"):
        model = build(result)
    assert sum(p.numel() for p in model.parameters()) == result.cost.params + result.cost.aux_params


@pytest.mark.property
@settings(max_examples=15, deadline=None)
@given(seed=seeds, nb201=styles)
def test_random_modules_run_forward_and_backward(seed: int, nb201: bool) -> None:
    torch = pytest.importorskip("torch")
    model = build(analyze(print_module(random_genotype(seed, nb201=nb201))), seed=0)
    x = torch.randn(2, 3, 32, 32)
    out = model.train()(x)
    logits = out[0] if isinstance(out, tuple) else out
    logits.sum().backward()
    assert logits.shape == (2, 10)
    with torch.no_grad():
        assert torch.isfinite(model.eval()(x)).all()
