"""What the CLI writes and refuses: suffixes, modes, symlinks, exit codes, paths checked first."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.shell_completion import CompletionItem
from click.testing import CliRunner

from nasgen.cli import main
from nasgen.cli.app import SOURCE

NB201 = "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|"


def _run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), input=stdin)
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_usage_errors_exit_1_like_every_user_error() -> None:
    for args in (
        ["compile", "darts_v2", "--bogus"],
        ["compile"],
        ["nope"],
        ["compile", "x", "--N", "0"],
    ):
        code, out = _run(*args)
        assert code == 1, (args, out)


@pytest.mark.parametrize("name", ["m.pt", "m.cell", "model", "m.onnx.bak"])
def test_compile_refuses_unknown_suffixes_before_any_work(tmp_path: Path, name: str) -> None:
    code, out = _run("compile", "no_such_genotype", "-o", str(tmp_path / name))
    assert code == 1 and "E508" in out and "no_such_genotype" not in out
    assert list(tmp_path.iterdir()) == []


def test_compile_onnx_suffix_is_case_insensitive(tmp_path: Path, umask_022: None) -> None:
    import onnx

    target = tmp_path / "M.ONNX"
    code, out = _run(
        "compile", "darts_v2", "--N", "1", "--F", "4", "--seed", "0", "-o", str(target)
    )
    assert code == 0, out
    assert onnx.load(str(target)).graph.node  # an ONNX file, not a safetensors one
    assert target.stat().st_mode & 0o777 == 0o644


def test_compile_refuses_an_onnx_file_over_2_gib_before_building(tmp_path: Path) -> None:
    start = time.perf_counter()
    code, out = _run("compile", "darts_v2", "--F", "600", "-o", str(tmp_path / "big.onnx"))
    assert code == 1 and "E509" in out and "2 GiB" in out
    assert time.perf_counter() - start < 30  # refused from the cost model, nothing built
    assert list(tmp_path.iterdir()) == []


def test_compile_refuses_a_seed_torch_cannot_take(tmp_path: Path) -> None:
    code, out = _run(
        "compile", "darts_v2", "--seed", str(2**64), "-o", str(tmp_path / "m.safetensors")
    )
    assert code == 1 and "--seed" in out
    assert list(tmp_path.iterdir()) == []


def test_import_refuses_a_non_cell_output(tmp_path: Path) -> None:
    code, out = _run("import", "nb201", NB201, "-o", str(tmp_path / "x.txt"))
    assert code == 1 and "E508" in out


def test_import_writes_with_the_umask_mode(tmp_path: Path, umask_022: None) -> None:
    target = tmp_path / "x.cell"
    code, _ = _run("import", "nb201", NB201, "-o", str(target))
    assert code == 0 and target.stat().st_mode & 0o777 == 0o644


def test_fmt_formats_the_target_of_a_symlink_and_keeps_the_link(tmp_path: Path) -> None:
    code, text = _run("import", "nb201", NB201)
    assert code == 0
    real = tmp_path / "real.cell"
    real.write_text(text.replace("\n  ", "\n      "))  # not canonical
    real.chmod(0o640)
    link = tmp_path / "link.cell"
    link.symlink_to(real.name)
    code, out = _run("fmt", str(link))
    assert code == 0, out
    assert link.is_symlink() and real.read_text() == text
    assert real.stat().st_mode & 0o777 == 0o640


def test_export_checks_paths_and_options_before_any_work(tmp_path: Path) -> None:
    onnx_out = str(tmp_path / "m.onnx")
    missing = str(tmp_path / "missing.safetensors")
    cases = [
        (["export", missing, "-o", onnx_out], "E503"),
        (["export", missing, "-o", str(tmp_path / "m.pt")], "E508"),
        (["export", missing, "-o", onnx_out, "--int8", "--calibration", "/nonexist"], "nonexist"),
        (["export", missing, "-o", onnx_out, "--calibration", str(tmp_path)], "--int8 or --fp16"),
        (["export", missing, "-o", onnx_out, "--batch-size", "4"], "--static-batch"),
    ]
    for args, needle in cases:
        start = time.perf_counter()
        code, out = _run(*args)
        assert code == 1 and needle in out, (args, out)
        assert time.perf_counter() - start < 5, args
    assert list(tmp_path.iterdir()) == []


def test_check_reads_standard_input() -> None:
    code, text = _run("import", "nb201", NB201)
    code, out = _run("check", "-", stdin=text)
    assert code == 0 and out.startswith("<stdin>: ok")
    code, out = _run("check", "-", stdin="nasgen 1\ncell normal(x) { n1 = bogus_op(x) }\n")
    assert code == 1 and "<stdin>:2:" in out and "E203" in out


def test_source_arguments_complete_bundled_names_and_files() -> None:
    items = SOURCE.shell_complete(None, None, "dar")  # type: ignore[arg-type]
    values = [(i.value, i.type) for i in items]
    assert ("darts_v2", "plain") in values and ("darts_v1", "plain") in values
    assert ("dar", "file") in values  # the shell completes file names too
    assert all(isinstance(i, CompletionItem) for i in items)


def _commands(group, prefix=()):  # type: ignore[no-untyped-def]
    import click

    for name, command in sorted(group.commands.items()):
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))


def test_help_examples_hold_no_placeholders() -> None:
    seen = 0
    for path, _ in _commands(main):
        code, text = _run(*path, "--help")
        assert code == 0, path
        for line in text.splitlines():
            if line.strip().startswith("nasgen "):
                seen += 1
                assert "..." not in line and "|...|" not in line, (path, line)
    assert seen > 30


def test_compile_refuses_what_does_not_fit_before_printing_or_building(tmp_path: Path) -> None:
    target = tmp_path / "x.safetensors"
    code, out = _run("compile", "darts_v2", "--F", "2000", "--N", "6", "-o", str(target))
    assert code == 1 and "E540" in out and "stage1" not in out
    code, out = _run("compile", "darts_v2", "--max-memory", "10M", "-o", str(target))
    assert code == 1 and "E540" in out and "--max-memory 10M" in out
    code, out = _run("compile", "darts_v2", "--max-memory", "10Q", "-o", str(target))
    assert code == 1 and "E542" in out
    assert list(tmp_path.iterdir()) == []
