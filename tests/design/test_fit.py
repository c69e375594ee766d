"""The RegNet fit (Radosavovic et al. 2020, section 3.3) is exact on the rule's own networks."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nasgen.design.fit import (
    Fit,
    FitGrid,
    _Sweep,
    block_widths,
    e_fit,
    fit_block_widths,
    fit_regnet,
    predicted_widths,
)
from nasgen.design.regnet import ZOO, RegNetParams, generate_regnet, regnet_stages
from nasgen.errors import NasgenError

# The largest e_fit of the zoo's published stage widths, which the group-width compatibility
# has moved off the rule (regnety_4_0gf: 96, 216, 480, 1080 became 128, 192, 512, 1088).
PUBLISHED_BOUND = 0.08


def _rule_widths(d: int, w0: int, wa: float, wm: float) -> list[int]:
    """Steps 1-3 of regnet.py's docstring, per block, written out again."""
    out = []
    for j in range(d):
        k = round(math.log((w0 + wa * j) / w0) / math.log(wm))
        out.append(8 * round(w0 * wm**k / 8))
    return out


def _raw(p: RegNetParams) -> tuple[list[int], list[int]]:
    widths, depths, _ = generate_regnet(p)
    return depths, widths


# --- the zoo -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ZOO))
def test_zoo_is_fitted_exactly(name: str) -> None:
    p = ZOO[name]
    depths, widths = _raw(p)
    fit = fit_regnet(depths, widths)
    assert fit.e_fit == 0.0
    assert fit.depth == p.depth == sum(depths)
    assert fit.w0 == p.w0
    # The fitted parameters, put back through the rule, give the same stages, before and
    # after the group-width compatibility.
    back = fit.params(p.group_width)
    assert _raw(back) == (depths, widths)
    assert regnet_stages(back) == regnet_stages(p)
    # Any wa in an interval gives the same widths; the shortest decimal of wm that fits
    # exactly is the config's own two-decimal WM.
    assert fit.wm == p.wm


def test_zoo_published_widths_fit_closely() -> None:
    errors = {}
    for name, p in ZOO.items():
        stages = regnet_stages(p)
        fit = fit_regnet([s.depth for s in stages], [s.width for s in stages])
        errors[name] = fit.e_fit
    assert max(errors.values()) <= PUBLISHED_BOUND
    assert max(errors, key=errors.__getitem__) == "regnety_4_0gf"
    assert errors["regnetx_200mf"] == errors["regnety_400mf"] == 0.0  # compatibility kept them


# --- networks far from linear --------------------------------------------------------------


@pytest.mark.parametrize(
    ("depths", "widths", "least"),
    [
        ([1, 1, 1, 1], [512, 64, 512, 64], 1.0),  # zigzag
        ([1, 1, 1, 1], [512, 256, 128, 64], 0.69),  # decreasing: the rule only grows
        ([3, 3, 3, 3], [64, 1024, 64, 1024], 0.8),
        ([1, 8], [1024, 8], 0.5),  # all but the first block fit: ln(1024 / 8) / 9
    ],
)
def test_far_from_linear_fits_badly(depths: list[int], widths: list[int], least: float) -> None:
    fit = fit_regnet(depths, widths)
    assert fit.e_fit >= least
    assert fit.e_fit > 6 * PUBLISHED_BOUND  # and far above every zoo model's


def test_decreasing_widths_fit_a_constant() -> None:
    fit = fit_regnet([1, 1, 1, 1], [512, 256, 128, 64])
    assert fit.wa == 0.0  # one stage: the best the rule can do
    assert len(set(fit.widths())) == 1
    assert fit.e_fit == pytest.approx(math.log(2))


# --- the fit is as good as a brute-force grid ----------------------------------------------


def _brute(observed: list[int]) -> float:
    """The least e_fit over w0 in 8 .. max step 8, wm in 1.5 .. 3 step 0.01, wa exact."""
    sweep = _Sweep(observed)
    best = math.inf
    for w0 in range(8, max(observed) + 9, 8):
        for i in range(151):
            cost, _, _ = sweep.best_wa(w0, 1.5 + 0.01 * i, best)
            best = min(best, cost)
    return best / len(observed)


@pytest.mark.parametrize("seed", range(6))
def test_fit_beats_a_brute_force_grid(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(2, 4)
    widths = [8 * rng.randint(2, 40) for _ in range(n)]
    if seed % 2:
        widths.sort()
    depths = [rng.randint(1, 6) for _ in range(n)]
    observed = list(block_widths(depths, widths))
    assert fit_regnet(depths, widths).e_fit <= _brute(observed) + 1e-12


@pytest.mark.parametrize("seed", range(20))
def test_sweep_is_exact_over_wa(seed: int) -> None:
    """The breakpoint sweep's cost is realised by its interval and no wa on a grid beats it."""
    rng = random.Random(100 + seed)
    d = rng.randint(1, 14)
    observed = [8 * rng.randint(1, 64) for _ in range(d)]
    if seed % 3:
        observed.sort()
    w0 = 8 * rng.randint(1, 32)
    wm = rng.uniform(1.5, 3.0)
    cost, lo, hi = _Sweep(observed).best_wa(w0, wm, math.inf)
    x = 0.0 if lo == 0 else (lo + hi) / 2 if math.isfinite(hi) else 2 * lo
    assert e_fit(observed, predicted_widths(w0, w0 * x, wm, d)) * d == pytest.approx(cost)
    for i in range(400):
        wa = 0.25 * i * (1 + rng.random() / 100)
        assert e_fit(observed, predicted_widths(w0, wa, wm, d)) * d >= cost - 1e-9


# --- networks the rule makes ---------------------------------------------------------------


@pytest.mark.property
@settings(max_examples=60, deadline=None)
@given(
    d=st.integers(12, 28),
    w0=st.integers(1, 32).map(lambda i: 8 * i),
    wa=st.floats(8.0, 256.0),
    wm=st.floats(2.0, 3.0),
)
def test_rule_networks_are_fitted_exactly(d: int, w0: int, wa: float, wm: float) -> None:
    # pycls's sampler (regnet_pycls.md section 6.3) quantises WA to 0.1 and WM to 0.001.
    p = RegNetParams(d, w0, round(wa, 1), round(wm, 3), group_width=8)
    depths, widths = _raw(p)
    fit = fit_regnet(depths, widths)
    assert fit.e_fit <= 1e-12
    assert _raw(fit.params(8)) == (depths, widths)


def test_sampled_rule_networks_are_fitted_exactly() -> None:
    """A wider, seeded sample: any depth up to 40, wa from 0, wm down to 1.5, odd decimals."""
    rng = random.Random(2020)
    worst = 0.0
    for _ in range(200):
        d = rng.randint(1, 40)
        w0 = 8 * rng.randint(1, 32)
        wa = round(rng.choice([0.0, rng.uniform(0, 8), rng.uniform(8, 256)]), rng.randint(0, 3))
        wm = round(rng.uniform(1.5, 3.0), rng.randint(1, 4))
        depths, widths = _raw(RegNetParams(d, w0, wa, wm, group_width=8))
        worst = max(worst, fit_regnet(depths, widths).e_fit)
    assert worst <= 1e-12


def test_wm_outside_the_grid_is_approximated() -> None:
    depths, widths = _raw(RegNetParams(16, 32, 40.0, 3.6, group_width=8))
    assert fit_regnet(depths, widths).e_fit > 0  # wm 3.6 is over wm_max 3.0
    assert fit_regnet(depths, widths, grid=FitGrid(wm_max=4.0)).e_fit == 0.0


# --- the helpers ---------------------------------------------------------------------------


def test_block_widths_expands_stages() -> None:
    assert block_widths([1, 2, 3], [24, 56, 152]) == (24, 56, 56, 152, 152, 152)
    assert block_widths((1,), (7,)) == (7,)


@pytest.mark.parametrize("name", ["regnetx_200mf", "regnetx_1_6gf", "regnety_32gf"])
def test_predicted_widths_are_the_rules(name: str) -> None:
    p = ZOO[name]
    assert predicted_widths(p.w0, p.wa, p.wm, p.depth) == tuple(
        _rule_widths(p.depth, p.w0, p.wa, p.wm)
    )


def test_predicted_widths_of_x_200mf() -> None:  # regnet_pycls.md section 5.1
    assert predicted_widths(24, 36.44, 2.49, 13) == (24, 56) + (152,) * 4 + (368,) * 7


def test_e_fit_is_the_mean_absolute_log_ratio() -> None:
    assert e_fit([8, 16], [16, 8]) == pytest.approx(math.log(2))
    assert e_fit([64, 64, 64, 64], [64, 64, 64, 128]) == pytest.approx(math.log(2) / 4)
    assert e_fit([24, 56], [24, 56]) == 0.0


def test_fit_params_and_widths() -> None:
    fit = Fit(depth=13, w0=24, wa=36.44, wm=2.49, e_fit=0.0)
    assert fit.params(8) == RegNetParams(13, 24, 36.44, 2.49, 8)
    assert fit.params(16, 0.5).bottleneck == 0.5
    assert fit.widths() == predicted_widths(24, 36.44, 2.49, 13)


def test_single_block_and_constant_networks() -> None:
    one = fit_block_widths([100])  # 104 is nearer 100 than 96 is, in log ratio
    assert (one.depth, one.w0, one.wa) == (1, 104, 0.0)
    assert one.e_fit == pytest.approx(math.log(104 / 100))
    flat = fit_regnet([12], [64])
    assert (flat.w0, flat.wa, flat.e_fit) == (64, 0.0, 0.0)


def test_any_sequence_of_ints() -> None:
    fit = fit_block_widths(range(8, 328, 8))  # 40 blocks, widths of no RegNet
    assert fit.depth == 40
    assert 0 < fit.e_fit < 0.3
    assert fit.e_fit == e_fit(range(8, 328, 8), fit.widths())


def test_fitted_wa_is_a_short_decimal() -> None:
    for p in ZOO.values():
        wa = fit_regnet(*_raw(p)).wa
        assert wa == round(wa, 2)


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("depths", "widths", "message"),
    [
        ([], [], "depths is empty"),
        ([1, 2], [8], "2 stage depths but 1 stage widths"),
        ([1], [8, 16], "1 stage depths but 2 stage widths"),
        ([0, 1], [8, 16], "depths[0] is 0; it must be a positive integer"),
        ([1, -2], [8, 16], "depths[1] is -2"),
        ([1, 1], [8, 0], "widths[1] is 0; it must be a positive integer"),
        ([1, 1], [8, -16], "widths[1] is -16"),
        ([1.5], [8], "depths[0] is 1.5, not an integer"),
        ([1], ["8"], "widths[0] is '8', not an integer"),
        ([True], [8], "depths[0] is True"),
        ("12", [8, 8], "depths must be a sequence of integers, not a string"),
    ],
)
def test_bad_stages_raise_e331(depths: list[int], widths: list[int], message: str) -> None:
    with pytest.raises(NasgenError) as err:
        fit_regnet(depths, widths)
    assert err.value.code == "E331"
    assert message in err.value.message
    assert err.value.message.startswith("regnet fit: ")


def test_bad_block_widths_and_e_fit_raise_e331() -> None:
    cases = [
        (lambda: fit_block_widths([]), "observed widths is empty"),
        (lambda: fit_block_widths([8, 0]), "observed widths[1] is 0"),
        (lambda: fit_block_widths([8] * 1025), "1025 blocks are over the rule's 1024"),
        (lambda: e_fit([8, 16], [8]), "2 observed widths but 1 predicted ones"),
        (lambda: e_fit([8], [-8]), "predicted widths[0] is -8"),
        (lambda: block_widths([1], []), "widths is empty"),
    ]
    for call, message in cases:
        with pytest.raises(NasgenError) as err:
            call()
        assert err.value.code == "E331"
        assert message in err.value.message


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        (FitGrid(wm_min=1.0), "wm_min 1.0 must be over 1"),
        (FitGrid(wm_max=1.2), "wm_max 1.2 must be a finite number >= wm_min 1.5"),
        (FitGrid(wm_max=math.inf), "wm_max inf"),
        (FitGrid(wm_step=0.0), "wm_step 0.0 and wm_fine_step 0.001 must be positive"),
        (FitGrid(wm_step=1e-6), "makes over 10000 values of wm"),
        (FitGrid(wm_fine_step=1e-9), "is under wm_step / 10000"),
        (FitGrid(w0_per_octave=0), "w0_per_octave 0 must be at least 1"),
        (FitGrid(max_cells=0), "max_cells 0"),
        (FitGrid(refine=0), "refine 0"),
    ],
)
def test_bad_grid_raises_e331(grid: FitGrid, message: str) -> None:
    with pytest.raises(NasgenError) as err:
        fit_regnet([1], [8], grid=grid)
    assert err.value.code == "E331"
    assert err.value.message.startswith("regnet fit: grid: ")
    assert message in err.value.message


def test_bad_rule_parameters_raise_the_rules_e330() -> None:
    with pytest.raises(NasgenError) as err:
        predicted_widths(12, 10.0, 2.0, 4)  # w0 not a multiple of 8
    assert err.value.code == "E330"
