"""The Python API refuses bad arguments with NasgenErrors that name them, checks seeds up front,
says where a bad value came from, and guards every build against running out of memory."""

from __future__ import annotations

from pathlib import Path

import pytest

import nasgen
from nasgen import api
from nasgen.dsl import CompileOptions
from nasgen.errors import BackendError, NasgenError
from nasgen.ir import memory

torch = pytest.importorskip("torch")


def _error(**kwargs: object) -> NasgenError:
    with pytest.raises(NasgenError) as err:
        nasgen.compile("darts_v2", **{"N": 1, "F": 4, **kwargs})
    return err.value


@pytest.mark.parametrize(
    ("kwargs", "code", "words"),
    [
        ({"aux_head": None}, "E209", "`aux_head` cannot be None (argument aux_head)"),
        ({"classes": None}, "E209", "`classes` cannot be None (argument classes)"),
        ({"classes": [10]}, "E209", "`classes` cannot be [10] (argument classes)"),
        ({"variant": 3}, "E220", "not 3 (argument variant)"),
        ({"N": 1.5}, "E209", "`N` must be an integer (argument N)"),
        ({"F": "wide"}, "E209", "`F` must be an integer (argument F)"),
        ({"F": 0}, "E217", "`F` = 0 is out of range (argument F)"),
        ({"classes": True}, "E209", "`classes` must be an integer (argument classes)"),
        ({"colour": 3}, "E208", "unknown network key 'colour' (argument colour)"),
    ],
)
def test_bad_arguments_are_nasgen_errors_naming_the_argument(
    kwargs: dict[str, object], code: str, words: str
) -> None:
    err = _error(**kwargs)
    assert err.code == code
    assert words in str(err)
    assert "command-line" not in str(err)


@pytest.mark.parametrize("seed", [1.5, -1, 2**64, True, "0", [0]])
def test_a_seed_outside_torchs_range_is_refused_up_front(
    seed: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_analysis(*args: object, **kwargs: object) -> None:
        raise AssertionError("analysed before the seed was checked")

    monkeypatch.setattr(api, "analyze", no_analysis)
    err = _error(seed=seed)
    assert err.code == "E541"
    assert "(argument seed)" in str(err) and "18446744073709551615" in str(err)


def test_seed_bounds_are_the_ones_torch_takes() -> None:
    assert (api.MIN_SEED, api.MAX_SEED) == (0, 2**64 - 1)
    for seed in (api.MIN_SEED, api.MAX_SEED):
        torch.manual_seed(seed)
        assert api.check_seed(seed) == seed
    with pytest.raises((RuntimeError, ValueError)):  # "Overflow when unpacking long long"
        torch.manual_seed(api.MAX_SEED + 1)
    result = api.analyze("darts_v2", api.options_for(N=1, F=4, aux_head="none"))
    with pytest.raises(BackendError):
        api.build(result, seed=api.MAX_SEED + 1)
    assert api.build(result, seed=api.MAX_SEED) is not None


@pytest.mark.parametrize("source", ["", "   ", "\t"])
def test_an_empty_source_says_empty_source(source: str) -> None:
    with pytest.raises(NasgenError) as err:
        api.load_source(source)
    assert err.value.code == "E105"
    assert "empty source" in str(err.value)
    assert "directory" not in str(err.value)


def test_the_cli_says_empty_source_too() -> None:
    from click.testing import CliRunner

    from nasgen.cli import main

    result = CliRunner().invoke(main, ["compile", ""])
    assert result.exit_code == 1
    assert "empty source" in result.output and "directory" not in result.output


def test_the_cli_keeps_saying_command_line_option() -> None:
    from click.testing import CliRunner

    from nasgen.cli import main

    result = CliRunner().invoke(main, ["compile", "darts_v2", "--set", "F=0"])
    assert result.exit_code == 1
    assert "(command-line option F)" in result.output


def test_options_carry_their_origin_without_changing_equality() -> None:
    a = CompileOptions(1, 8)
    b = CompileOptions(1, 8, origin="argument")
    assert a == b
    assert a.where("F") == " (command-line option F)"
    assert b.where("F") == " (argument F)"
    assert api.options_for(F=8).origin == "argument"


def test_a_network_too_large_for_this_machine_is_refused_before_allocating(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NASGEN_MEMORY_LIMIT", raising=False)
    monkeypatch.setattr(memory, "available_memory", lambda: 16 * 2**30)  # on any machine
    err = _error(N=6, F=2000)  # 9.7e9 parameters: under E303's 1e10, 39 GB of weights
    assert err.code == "E540"
    assert "9,739,540,708 parameters, 36.28 GiB of float32 weights" in str(err)
    assert "16.00 GiB is available" in str(err) and "NASGEN_MEMORY_LIMIT" in str(err)


@pytest.mark.parametrize("limit", ["1M", "1000000", 10**6])
def test_the_memory_limit_comes_from_the_environment_or_the_argument(
    limit: str | int, monkeypatch: pytest.MonkeyPatch
) -> None:
    if isinstance(limit, str):
        monkeypatch.setenv("NASGEN_MEMORY_LIMIT", limit)
        err = _error()
        assert "NASGEN_MEMORY_LIMIT" in str(err)
    else:
        err = _error(max_memory=limit)
        assert "max_memory" in str(err)
    assert err.code == "E540"


def test_none_disables_the_guard_and_an_argument_beats_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NASGEN_MEMORY_LIMIT", "1K")
    assert nasgen.compile("darts_v2", N=1, F=4, max_memory="none") is not None
    assert nasgen.compile("darts_v2", N=1, F=4, max_memory="64G") is not None
    monkeypatch.setenv("NASGEN_MEMORY_LIMIT", "lots")
    assert _error().code == "E542"


def test_every_build_entry_point_runs_the_guard(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    model = nasgen.compile("darts_v2", N=1, F=4, seed=0)
    path = nasgen.save(model, tmp_path / "m.safetensors")
    result = api.analyze("darts_v2", api.options_for(N=1, F=4))
    monkeypatch.setenv("NASGEN_MEMORY_LIMIT", "1M")
    calls = [
        lambda: api.build(result),
        lambda: nasgen.compile("darts_v2", N=1, F=4),
        lambda: nasgen.load(path),
        lambda: api.inference_module(model),
    ]
    for call in calls:
        with pytest.raises(BackendError) as err:
            call()
        assert err.value.code == "E540"


def test_a_meta_device_build_allocates_nothing_and_is_not_guarded() -> None:
    with torch.device("meta"):
        model = nasgen.compile("darts_v2", N=6, F=2000)
    assert model.count_parameters() == 9_735_042_010
