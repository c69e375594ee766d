"""Shared pytest configuration: the ``--update-golden`` option (see tests/golden)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite the files under tests/golden instead of comparing against them",
    )


def randomise_bn(model: object, seed: int = 0) -> None:
    """Random BN affine parameters and running statistics, so eval-mode BN is not the identity."""
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():  # type: ignore[attr-defined]
            if isinstance(m, torch.nn.BatchNorm2d):
                n = m.num_features
                m.weight.copy_(1.0 + 0.2 * torch.randn(n, generator=g))
                m.bias.copy_(0.1 * torch.randn(n, generator=g))
                m.running_mean.copy_(0.1 * torch.randn(n, generator=g))
                m.running_var.copy_(0.5 + torch.rand(n, generator=g))


@pytest.fixture(name="randomise_bn")
def randomise_bn_fixture() -> object:
    """``randomise_bn(model, seed=0)``: give every BatchNorm random statistics and affine terms."""
    return randomise_bn


def one_op_genotype(convention: str, spelled: str, input_size: int) -> str:
    """A small two-cell file that uses op ``spelled`` everywhere it can, at stride 1 and 2."""
    return (
        f"nasgen 1\nconvention {convention}\n"
        f"cell normal(h_prev, h) {{\n  b1 = add({spelled}(h_prev), {spelled}(h))\n"
        f"  b2 = add({spelled}(b1), skip_connect(h))\n}}\n"
        f"cell reduction(h_prev, h) {{\n  b1 = add({spelled}(h_prev), {spelled}(h))\n"
        f"  b2 = add({spelled}(b1), max_pool_3x3(h))\n}}\n"
        "network { N = 1  F = 8  stem_multiplier = 3  classes = 10"
        f"  input_size = {input_size} }}\n"
    )


@pytest.fixture
def umask_022() -> Iterator[None]:
    """Run the test under umask 022 (new files 0o644), restoring the umask after."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def light_bundled() -> list[str]:
    """The bundled genotypes, with two of the 24 RegNets (RegNetX-200MF and RegNetY-200MF).

    Tests that build and run every bundled network (torch, ONNX, passes) take those two; the
    others (up to 145 M weights) share their code and are covered statically (tests/design).
    """
    from nasgen.dsl import bundled_names

    names = sorted(n.removesuffix(".cell") for n in bundled_names())
    kept = ("regnetx_200mf", "regnety_200mf")
    return [n for n in names if not n.startswith("regnet") or n in kept]
