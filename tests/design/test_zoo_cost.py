"""The 24 RegNet zoo files compile to pycls's exact params and flops, from the IR alone.

pycls ``dev/model_complexity.json`` (facebookresearch/pycls; docs/design/regnet_pycls.md
section 5) at 224 x 224: params, and "flops" that are multiply-adds plus one add per bias
output (the classifier's and, in Y blocks, both SE convs'). nasgen's MACs leave the bias adds
out, so the two differ by exactly those adds.
"""

from __future__ import annotations

import pytest

from nasgen import api

PYCLS = {  # model: (flops, params)
    "regnetx_200mf": (199_040_872, 2_684_792),
    "regnetx_400mf": (397_678_568, 5_157_512),
    "regnetx_600mf": (600_891_112, 6_196_040),
    "regnetx_800mf": (799_700_712, 7_259_656),
    "regnetx_1_6gf": (1_602_850_792, 9_190_136),
    "regnetx_3_2gf": (3_176_622_952, 15_296_552),
    "regnetx_4_0gf": (3_964_499_816, 22_118_248),
    "regnetx_6_4gf": (6_460_292_264, 26_209_256),
    "regnetx_8_0gf": (7_995_133_416, 39_572_648),
    "regnetx_12gf": (12_086_679_016, 46_106_056),
    "regnetx_16gf": (15_940_756_456, 54_278_536),
    "regnetx_32gf": (31_735_930_792, 107_811_560),
    "regnety_200mf": (199_519_076, 3_162_996),
    "regnety_400mf": (401_849_056, 4_344_144),
    "regnety_600mf": (601_227_608, 6_055_160),
    "regnety_800mf": (797_183_328, 6_263_168),
    "regnety_1_6gf": (1_612_087_326, 11_202_430),
    "regnety_3_2gf": (3_176_496_162, 19_436_338),
    "regnety_4_0gf": (3_973_301_344, 20_646_656),
    "regnety_6_4gf": (6_355_221_876, 30_583_252),
    "regnety_8_0gf": (7_963_074_196, 39_180_068),
    "regnety_12gf": (12_092_395_504, 51_822_544),
    "regnety_16gf": (15_911_534_044, 83_590_140),
    "regnety_32gf": (32_279_583_362, 145_046_770),
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
def test_a_zoo_model_has_pycls_exact_params_and_flops(name: str) -> None:
    result = api.analyze(name)
    flops, params = PYCLS[name]
    assert result.cost.params == params
    assert result.cost.macs + _bias_adds(result.graph) == flops
    assert result.graph.node(result.graph.output).shape == (1000, 1, 1)
