"""The RegNet rule gives the model zoo's published stages, with pycls's half-to-even roundings."""

from __future__ import annotations

import random

import pytest

from nasgen.design import ZOO, RegNetParams, generate_regnet, regnet_stages
from nasgen.errors import NasgenError

# Stage depths and widths of pycls's MODEL_ZOO.md models (Radosavovic et al. 2020), as its
# generate_regnet + adjust_block_compatibility give them for configs/dds_baselines/*.yaml.
PUBLISHED = {
    "regnetx_200mf": ((1, 1, 4, 7), (24, 56, 152, 368)),
    "regnetx_400mf": ((1, 2, 7, 12), (32, 64, 160, 384)),
    "regnetx_600mf": ((1, 3, 5, 7), (48, 96, 240, 528)),
    "regnetx_800mf": ((1, 3, 7, 5), (64, 128, 288, 672)),
    "regnetx_1_6gf": ((2, 4, 10, 2), (72, 168, 408, 912)),
    "regnetx_3_2gf": ((2, 6, 15, 2), (96, 192, 432, 1008)),
    "regnetx_4_0gf": ((2, 5, 14, 2), (80, 240, 560, 1360)),
    "regnetx_6_4gf": ((2, 4, 10, 1), (168, 392, 784, 1624)),
    "regnetx_8_0gf": ((2, 5, 15, 1), (80, 240, 720, 1920)),
    "regnetx_12gf": ((2, 5, 11, 1), (224, 448, 896, 2240)),
    "regnetx_16gf": ((2, 6, 13, 1), (256, 512, 896, 2048)),
    "regnetx_32gf": ((2, 7, 13, 1), (336, 672, 1344, 2520)),
    "regnety_200mf": ((1, 1, 4, 7), (24, 56, 152, 368)),
    "regnety_400mf": ((1, 3, 6, 6), (48, 104, 208, 440)),
    "regnety_600mf": ((1, 3, 7, 4), (48, 112, 256, 608)),
    "regnety_800mf": ((1, 3, 8, 2), (64, 128, 320, 768)),
    "regnety_1_6gf": ((2, 6, 17, 2), (48, 120, 336, 888)),
    "regnety_3_2gf": ((2, 5, 13, 1), (72, 216, 576, 1512)),
    "regnety_4_0gf": ((2, 6, 12, 2), (128, 192, 512, 1088)),
    "regnety_6_4gf": ((2, 7, 14, 2), (144, 288, 576, 1296)),
    "regnety_8_0gf": ((2, 4, 10, 1), (168, 448, 896, 2016)),
    "regnety_12gf": ((2, 5, 11, 1), (224, 448, 896, 2240)),
    "regnety_16gf": ((2, 4, 11, 1), (224, 448, 1232, 3024)),
    "regnety_32gf": ((2, 5, 12, 1), (232, 696, 1392, 3712)),
}


def test_the_zoo_has_the_24_models() -> None:
    assert sorted(ZOO) == sorted(PUBLISHED)
    assert all(p.se == name.startswith("regnety") for name, p in ZOO.items())


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_each_zoo_model_has_its_published_stages(name: str) -> None:
    stages = ZOO[name].stages()
    assert tuple(s.depth for s in stages) == PUBLISHED[name][0]
    assert tuple(s.width for s in stages) == PUBLISHED[name][1]
    assert sum(s.depth for s in stages) == ZOO[name].depth
    assert all(s.stride == 2 and s.width % s.group_width == 0 for s in stages)


def test_the_group_width_is_capped_by_a_narrower_stage() -> None:
    """RegNetX-8.0GF's first stage (80 wide, group width 120) has one group of 80."""
    assert [s.group_width for s in ZOO["regnetx_8_0gf"].stages()] == [80, 120, 120, 120]
    assert ZOO["regnety_32gf"].stages()[0].group_width == 232


def test_both_roundings_are_half_to_even() -> None:
    """Half-up would give RegNetX-1.6GF 184 -> 192 and RegNetX-400MF 400 (pycls: 168, 384)."""
    widths, _, _ = generate_regnet(ZOO["regnetx_1_6gf"])
    assert widths[0] == 80 and widths[1] == 176  # 80 * 2.25 / 8 = 22.5 -> 22
    widths, _, _ = generate_regnet(ZOO["regnetx_400mf"])
    assert widths == [24, 64, 152, 392]  # before the group adjustment: 392 / 16 = 24.5 -> 24
    assert ZOO["regnetx_400mf"].stages()[-1].width == 384


def test_merged_and_skipped_exponents_are_counted() -> None:
    """w0 = 8, wa = 200, wm = 2.5: the second block's exponent skips from 0 to 4."""
    widths, depths, spanned = generate_regnet(RegNetParams(6, 8, 200.0, 2.5, 8))
    assert len(widths) < spanned and sum(depths) == 6
    widths, depths, spanned = generate_regnet(RegNetParams(10, 32, 0.0, 2.5, 8))
    assert widths == [32] and depths == [10] and spanned == 1


@pytest.mark.parametrize("seed", range(200))
def test_random_parameters_give_compatible_stages(seed: int) -> None:
    rng = random.Random(seed)
    params = RegNetParams(
        rng.randint(12, 28), 8 * rng.randint(1, 32), round(rng.uniform(8, 256), 1),
        round(rng.uniform(2, 3), 3), 8 * rng.randint(1, 16), rng.choice([0.25, 0.5, 1.0, 2.0, 4.0]),
    )  # fmt: skip
    stages = regnet_stages(params)
    assert sum(s.depth for s in stages) == params.depth
    for s in stages:
        bottleneck = int(s.width * s.bottleneck)
        assert s.group_width >= 1 and bottleneck % s.group_width == 0


@pytest.mark.parametrize(
    "params",
    [
        RegNetParams(0, 24, 36.0, 2.5, 8),
        RegNetParams(13, 20, 36.0, 2.5, 8),
        RegNetParams(13, 24, -1.0, 2.5, 8),
        RegNetParams(13, 24, 36.0, 1.0, 8),
        RegNetParams(13, 24, float("nan"), 2.5, 8),
        RegNetParams(13, 24, 36.0, 2.5, 0),
        RegNetParams(13, 24, 36.0, 2.5, 8, bottleneck=1.5),
        RegNetParams(100_000, 24, 36.0, 2.5, 8),
    ],
)
def test_impossible_parameters_are_refused(params: RegNetParams) -> None:
    with pytest.raises(NasgenError) as err:
        params.stages()
    assert err.value.code == "E330"


def test_the_cli_prints_a_zoo_models_stages_and_refuses_bad_parameters() -> None:
    import json

    from click.testing import CliRunner

    from nasgen.cli import main

    out = CliRunner().invoke(main, ["space", "regnet", "regnety_32gf", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert [s["width"] for s in data["stages"]] == list(PUBLISHED["regnety_32gf"][1])
    assert data["params"]["se"] is True
    text = CliRunner().invoke(main, ["space", "regnet", "regnetx_8_0gf"]).output
    assert "1920" in text and "16" in text.splitlines()[-1]
    args = ["--depth", "13", "--w0", "20", "--wa", "36", "--wm", "2.49", "--group-width", "8"]
    bad = CliRunner().invoke(main, ["space", "regnet", *args])
    assert bad.exit_code == 1 and "E330" in bad.output and "Traceback" not in bad.output
    both = CliRunner().invoke(main, ["space", "regnet", "regnetx_200mf", "--depth", "3"])
    assert both.exit_code == 1 and "E330" in both.output
    assert CliRunner().invoke(main, ["space", "regnet"]).exit_code == 1
