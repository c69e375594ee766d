"""The `nasgen` command line: summaries, JSON, check, errors without tracebacks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from nasgen.cli import main


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_compile_bundled_by_file_name_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out = _run("compile", "nasnet_a.cell", "--N", "4", "--F", "44")
    assert code == 0
    assert "total: 5,289,978 params" in out
    for stage in ("stem", "stage1", "reduce1", "stage2", "reduce2", "stage3", "head", "aux"):
        assert stage in out


def test_compile_json_has_the_documented_keys() -> None:
    code, out = _run("compile", "darts_v2", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["params"] == 3_349_342
    assert data["aux_params"] == 476_426
    assert data["macs"] > 0
    assert data["network"]["N"] == 6 and data["network"]["F"] == 36
    assert sum(s["params"] for s in data["stages"] if s["stage"] != "aux") == data["params"]
    assert sum(s["acts"] for s in data["stages"] if s["stage"] != "aux") == data["acts"] > 0
    assert [s["acts"] for s in data["stages"] if s["stage"] == "aux"] == [data["aux_acts"]]


def test_compile_json_gives_pycls_acts_for_a_regnet() -> None:
    # pycls dev/model_complexity.json (docs/design/regnet_pycls.md section 5): 2,164,056 acts.
    code, out = _run("compile", "regnetx_200mf", "--json")
    assert code == 0
    data = json.loads(out)
    assert (data["params"], data["acts"], data["aux_acts"]) == (2_684_792, 2_164_056, 0)
    code, out = _run("compile", "regnetx_200mf")
    assert code == 0
    assert "2,164,056 acts" in out and out.splitlines()[1].split()[-1] == "acts"


def test_compile_overrides_apply_after_variant() -> None:
    code, out = _run("compile", "darts_v2", "--variant", "imagenet", "--classes", "10", "--json")
    assert code == 0
    data = json.loads(out)
    # 4,718,752 with 1000 classes; the classifier shrinks from 768x1000+1000 to 768x10+10.
    assert data["params"] == 4_718_752 - (768 * 1000 + 1000) + (768 * 10 + 10)


def test_set_option_and_input_size() -> None:
    code, out = _run(
        "compile", "nasnet_a", "--variant", "cifar", "--set", "aux_head=none", "--json"
    )
    assert code == 0
    assert json.loads(out)["aux_params"] == 0


@pytest.mark.parametrize(
    ("args", "code_text"),
    [
        (("compile", "nasnet_a", "--variant", "huge"), "E220"),
        (("compile", "nasnet_a", "--set", "stem=cifar"), "E209"),
        (("compile", "nasnet_a", "--set", "colour=blue"), "E208"),
        (("compile", "nasnet_a", "--input-size", "8"), "E30"),
        (("compile", "no_such_genotype.cell"), "E108"),
    ],
)
def test_user_errors_exit_1_with_a_diagnostic(args: tuple[str, ...], code_text: str) -> None:
    code, out = _run(*args)
    assert code == 1
    assert f"error[{code_text}" in out


def test_missing_file_suggests_a_bundled_name() -> None:
    code, out = _run("compile", "nasnet_a.cel")
    assert code == 1
    assert "did you mean 'nasnet_a.cell'?" in out


def test_check_reports_every_variant_and_fails_on_any_bad_file(tmp_path: Path) -> None:
    good = tmp_path / "good.cell"
    good.write_text(Path(__file__).parents[2].joinpath("genotypes/darts_v2.cell").read_text())
    bad = tmp_path / "bad.cell"
    bad.write_text("nasgen 1\ncell normal(h_prev, h) {\n  b1 = add(sep_cnov_3x3(h))\n}\n")
    code, out = _run("check", str(good))
    assert code == 0
    assert "default" in out and "imagenet" in out
    code, out = _run("check", str(good), str(bad))
    assert code == 1
    assert f"{bad}:3:12: error[E203]: unknown op 'sep_cnov_3x3'" in out
    assert "hint: did you mean 'sep_conv_3x3'?" in out
    assert "1 of 2 file(s) failed" in out


def test_list_and_ops() -> None:
    code, out = _run("list")
    assert code == 0 and "nasnet_a.cell" in out and "darts_v2.cell" in out
    code, out = _run("ops")
    assert code == 0 and "sep_conv_3x3" in out and "skip_connect" in out


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_command_help_has_an_example(command: str) -> None:
    code, out = _run(command, "--help")
    assert code == 0
    assert "Example" in out
    # the examples keep their lines (click's \b marker must be a real backspace)
    assert re.search(rf"\n +nasgen {command}\b", out), out
    assert "\\b" not in out


def test_shell_completion_script() -> None:
    code, out = _run("completion", "bash")
    assert code == 0 and "_NASGEN_COMPLETE" in out
