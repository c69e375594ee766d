"""The 24 RegNet zoo files compile to pycls's exact params, flops and acts, from the IR alone.

pycls ``dev/model_complexity.json`` (facebookresearch/pycls; transcribed in
docs/design/regnet_pycls.md section 5, columns flops, params, acts) at 224 x 224: params,
"flops" that are multiply-adds plus one add per bias output (the classifier's and, in Y blocks,
both SE convs'), and acts, the output elements of every conv, max pool and linear layer
(section 4, pycls ``blocks.py`` ``*_cx``). nasgen's MACs leave the bias adds out, so the two
differ by exactly those adds; params and acts are the same counts.
"""

from __future__ import annotations

import pytest

from nasgen import api

PYCLS = {  # model: (flops, params, acts)
    "regnetx_200mf": (199_040_872, 2_684_792, 2_164_056),
    "regnetx_400mf": (397_678_568, 5_157_512, 3_143_272),
    "regnetx_600mf": (600_891_112, 6_196_040, 3_975_096),
    "regnetx_800mf": (799_700_712, 7_259_656, 5_148_744),
    "regnetx_1_6gf": (1_602_850_792, 9_190_136, 7_933_512),
    "regnetx_3_2gf": (3_176_622_952, 15_296_552, 11_367_432),
    "regnetx_4_0gf": (3_964_499_816, 22_118_248, 12_201_608),
    "regnetx_6_4gf": (6_460_292_264, 26_209_256, 16_369_744),
    "regnetx_8_0gf": (7_995_133_416, 39_572_648, 14_059_688),
    "regnetx_12gf": (12_086_679_016, 46_106_056, 21_366_568),
    "regnetx_16gf": (15_940_756_456, 54_278_536, 25_515_496),
    "regnetx_32gf": (31_735_930_792, 107_811_560, 36_302_160),
    "regnety_200mf": (199_519_076, 3_162_996, 2_168_052),
    "regnety_400mf": (401_849_056, 4_344_144, 3_892_496),
    "regnety_600mf": (601_227_608, 6_055_160, 4_334_296),
    "regnety_800mf": (797_183_328, 6_263_168, 5_249_888),
    "regnety_1_6gf": (1_612_087_326, 11_202_430, 8_044_814),
    "regnety_3_2gf": (3_176_496_162, 19_436_338, 11_263_418),
    "regnety_4_0gf": (3_973_301_344, 20_646_656, 12_287_200),
    "regnety_6_4gf": (6_355_221_876, 30_583_252, 16_407_188),
    "regnety_8_0gf": (7_963_074_196, 39_180_068, 17_968_916),
    "regnety_12gf": (12_092_395_504, 51_822_544, 21_384_496),
    "regnety_16gf": (15_911_534_044, 83_590_140, 23_041_228),
    "regnety_32gf": (32_279_583_362, 145_046_770, 30_261_570),
}


def _bias_adds(graph: object) -> int:
    adds = 0
    for node in graph.nodes():  # type: ignore[attr-defined]
        if node.op == "se":
            adds += node.attrs.get_int("c_se") + node.shape[0]
        elif node.op == "linear" and node.attrs.get_bool("bias", True):
            adds += node.shape[0]
    return adds


@pytest.mark.parametrize("name", sorted(PYCLS))
def test_a_zoo_model_has_pycls_exact_params_flops_and_acts(name: str) -> None:
    result = api.analyze(name)
    flops, params, acts = PYCLS[name]
    assert result.cost.params == params
    assert result.cost.macs + _bias_adds(result.graph) == flops
    assert result.cost.acts == acts
    assert result.cost.aux_acts == 0
    assert result.graph.node(result.graph.output).shape == (1000, 1, 1)


def test_regnetx_200mf_stage_acts_match_the_worked_check() -> None:
    # docs/design/regnet_pycls.md section 5.1: stem 32 x 112^2, s1..s4, the 1000-way FC.
    stages = {s.stage: s.acts for s in api.analyze("regnetx_200mf").cost.stages}
    assert stages == {
        "stem": 401_408,
        "stage1": 526_848,
        "stage2": 307_328,
        "stage3": 476_672,
        "stage4": 450_800,
        "head": 1_000,
    }
