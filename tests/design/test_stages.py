"""Explicit stage networks (``body = stages``): the zoo's stage form is the same network, the
three pycls blocks cost what their layers cost, and bad lists are located errors."""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner

from nasgen import api
from nasgen.cli import main
from nasgen.design import ZOO
from nasgen.dsl.ast import Numbers
from nasgen.dsl.options import CompileOptions
from nasgen.dsl.parser import parse_text
from nasgen.dsl.printer import print_module
from nasgen.dsl.stage_form import with_stages
from nasgen.errors import NasgenError
from nasgen.ir import lower
from nasgen.review.fingerprint import architecture_hash

TINY = """nasgen 2
name "tiny"
convention pycls
network {{
  body = stages
  block = {block}
  depths = [{depths}]
  widths = [{widths}]
  {extra}
  stem = simple
  stem_width = 8
  head = gap
  classes = 10
  input_size = 32
}}
"""


def tiny(block: str = "x", depths: str = "2", widths: str = "16", extra: str = "") -> str:
    if block == "x" and "group_widths" not in extra:
        extra += " group_widths = [8]"
    return TINY.format(block=block, depths=depths, widths=widths, extra=extra)


@pytest.mark.parametrize("name", sorted(ZOO))
def test_the_stage_form_of_every_zoo_model_is_the_same_network(name: str) -> None:
    regnet = api.analyze(name)
    explicit = with_stages(regnet.module, ZOO[name].stages())
    stages = api.analyze(print_module(explicit))
    assert stages.arch.network.body == "stages"
    assert stages.cost == regnet.cost

    def layers(result: api.Analysis) -> list[tuple[str, str, tuple[int, ...]]]:
        return [(n.id, n.op, n.shape) for n in lower(result.arch).nodes()]

    assert layers(stages) == layers(regnet)


def _conv_bn(k: int, c_in: int, c_out: int, groups: int = 1) -> int:
    return k * k * c_in * c_out // groups + 2 * c_out


def test_vanilla_and_basic_blocks_cost_their_layers() -> None:
    stem = _conv_bn(3, 3, 8)
    head = 16 * 10 + 10
    vanilla = api.analyze(tiny("vanilla"))
    layers = _conv_bn(3, 8, 16) + 3 * _conv_bn(3, 16, 16)
    assert vanilla.cost.params == stem + layers + head
    basic = api.analyze(tiny("res_basic"))
    assert basic.cost.params == stem + layers + _conv_bn(1, 8, 16) + head  # one projection
    # stem at 16 px, stage at 8 px: the MACs of the convs alone
    macs = 9 * 3 * 8 * 16**2 + (9 * 8 * 16 + 3 * 9 * 16 * 16) * 8**2 + 16 * 10
    assert vanilla.cost.macs == macs
    assert basic.cost.macs == macs + 8 * 16 * 8**2


def test_an_x_block_matches_the_regnet_lowering_of_the_same_stage() -> None:
    x = api.analyze(tiny("x", "1, 2", "16, 32", "group_widths = [8, 8] strides = [2, 1]"))
    ops = [n.op for n in lower(x.arch).nodes()]
    assert ops.count("add") == 3 and "se" not in ops
    assert x.arch.network.strides == (2, 1)
    y = api.analyze(tiny("x", "1, 2", "16, 32", "group_widths = [8, 8] se = 0.25"))
    assert [n.op for n in lower(y.arch).nodes()].count("se") == 3


@pytest.mark.parametrize("block", ["x", "res_basic", "vanilla"])
def test_the_torch_module_has_the_static_count_and_runs(block: str) -> None:
    result = api.analyze(tiny(block, "1, 2", "16, 32", "group_widths = [8, 8] se = 0.25"))
    model = api.build(result, 0).eval()
    assert sum(p.numel() for p in model.parameters()) == result.cost.params
    with torch.no_grad():
        assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_omitted_strides_and_bottlenecks_are_the_defaults_written_out() -> None:
    short = api.analyze(tiny())
    long = api.analyze(tiny(extra="strides = [2] bottlenecks = [1.0] group_widths = [8]"))
    assert short.arch.network.as_dict() == long.arch.network.as_dict()
    assert architecture_hash(short.arch) == architecture_hash(long.arch)


def test_the_stage_form_prints_and_formats_back() -> None:
    module = parse_text(tiny(extra="group_widths = [8] bottlenecks = [0.5]"))
    assert parse_text(print_module(module)) == module


@pytest.mark.parametrize(
    ("text", "code", "words"),
    [
        (tiny(depths="1, 2"), "E332", "1 widths for 2 stages"),
        (tiny(extra="group_widths = [16] bottlenecks = [0.25]"), "E332", "not a multiple"),
        (tiny("x", extra="group_widths = 8"), "E209", "must be a list"),
        (tiny().replace("stem_width = 8", "stem_width = [8]"), "E209", "not a list"),
        (tiny().replace("group_widths = [8]", ""), "E332", "need group_widths"),
        (tiny(widths="16.5"), "E209", "integer"),
        (tiny(depths="0"), "E217", "out of range"),
        (tiny().replace("  depths = [2]\n", ""), "E215", "must set depths"),
    ],
)
def test_bad_stage_lists_are_located_errors(text: str, code: str, words: str) -> None:
    with pytest.raises(NasgenError) as err:
        api.analyze(text)
    assert err.value.code == code and words in str(err.value)
    assert err.value.span is not None


def test_space_regnet_cell_prints_a_file_that_compiles_to_the_model() -> None:
    out = CliRunner().invoke(main, ["space", "regnet", "regnety_400mf", "--cell"])
    assert out.exit_code == 0, out.output
    assert "body = stages" in out.output and "se = 0.25" in out.output
    assert api.analyze(out.output).cost == api.analyze("regnety_400mf").cost
    out = CliRunner().invoke(
        main, ["space", "regnet", "--depth", "13", "--w0", "24", "--wa", "36.44", "--wm", "2.49",
               "--group-width", "8", "--cell"],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    assert api.analyze(out.output).cost == api.analyze("regnetx_200mf").cost


def test_stage_overrides_from_the_command_line() -> None:
    small = api.analyze(tiny())
    result = api.analyze(tiny(), CompileOptions(settings=(("input_size", 64),)))
    assert result.arch.network.input_size == 64
    assert (
        result.cost.params == small.cost.params
        and result.cost.macs == 4 * small.cost.macs - 3 * 16 * 10
    )
    deeper = api.analyze(tiny(), CompileOptions(settings=(("depths", Numbers((3,))),)))
    assert deeper.arch.network.depths == (3,) and deeper.cost.params > small.cost.params


def test_a_regnet_and_its_stage_form_hash_alike() -> None:
    for name in ("regnetx_200mf", "regnety_1_6gf"):
        regnet = api.analyze(name)
        explicit = api.analyze(print_module(with_stages(regnet.module, ZOO[name].stages())))
        assert architecture_hash(explicit.arch) == architecture_hash(regnet.arch)
    other = api.analyze(tiny(extra="group_widths = [8] bottlenecks = [0.5]"))
    assert architecture_hash(other.arch) != architecture_hash(api.analyze(tiny()).arch)


def test_keys_a_stage_body_never_reads_are_refused() -> None:
    with pytest.raises(NasgenError) as err:
        api.analyze(tiny(extra="group_widths = [8] N = 4"))
    assert err.value.code == "E225" and err.value.span is not None
    with pytest.raises(NasgenError) as err:
        api.analyze("regnetx_200mf", CompileOptions(settings=(("F", 16),)))
    assert err.value.code == "E225" and "command-line" in str(err.value)
    with pytest.raises(NasgenError) as err:
        api.analyze("darts_v2", CompileOptions(settings=(("depths", Numbers((1,))),)))
    assert err.value.code == "E225"
