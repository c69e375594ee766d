"""``nasgen import`` / ``nasgen export darts|nb201`` on hostile and misspelt input (issue 11).

Every failure exits 1 with a located diagnostic on stderr (the user's own text, never the
generated .cell text) and no traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from nasgen.cli import main
from nasgen.dsl.foreign import import_darts

PAIR = "('sep_conv_3x3', 0), ('sep_conv_3x3', 1)"
GENOTYPE = f"Genotype(normal=[{PAIR}], normal_concat=[2], reduce=[{PAIR}], reduce_concat=[2])"
DARTS_V2_CELL = Path(__file__).parent.parent.parent / "nasgen" / "genotypes" / "darts_v2.cell"


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def refused(result: Result, head: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert "Traceback" not in result.output
    assert result.stderr.startswith(head), result.stderr


@pytest.mark.parametrize(
    ("fmt", "text", "head"),
    [
        ("darts", GENOTYPE.replace("[2]", "range(1000000000)", 1), "<string>:1:75: error[E120]"),
        ("darts", GENOTYPE.replace("[2]", "range(10**18)", 1), "<string>:1:81: error[E120]"),
        ("darts", GENOTYPE.replace(", 0)", ", True)", 1), "<string>:1:35: error[E120]"),
        ("darts", GENOTYPE[:-1] + ", [3])", "<string>:1:"),
        ("darts", "Genotype(" + "-" * 100_000 + "1)", "<string>:1:10: error[E120]"),
        ("darts", "Genotype(" * 10_000, "<string>:1:297: error[E120]"),
        ("tfslim", '{"normal": null, "reduce": null}', "<string>:1:12: error[E124]"),
        ("tfslim", '{"operations": [["x"]]}', "<string>:1:"),
        ("tfslim", "[" * 100_000, "<string>:1:33: error[E124]"),
        ("nb201", "|nor_conv_3x3~²|", "<string>:1:15: error[E121]"),
        ("darts", GENOTYPE.replace("sep_conv", "sep_cnv", 1), "<string>:1:20: error[E203]"),
        ("nb201", "|nor_cnv_3x3~0|", "<string>:1:2: error[E203]"),
    ],
)
def test_import_refuses_with_a_located_diagnostic(fmt: str, text: str, head: str) -> None:
    refused(run("import", fmt, text), head)


def test_an_unknown_op_in_a_file_is_shown_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "genotypes.py"
    path.write_text(f"A = 1\n\nMINE = {GENOTYPE.replace('sep_conv', 'sep_cnv', 1)}\n", "utf-8")
    result = run("import", "darts", str(path))
    refused(result, f"{path}:3:27: error[E203]: unknown op 'sep_cnv_3x3'")
    assert "3 | MINE = Genotype(normal=[('sep_cnv_3x3', 0)" in result.stderr
    assert "hint: did you mean 'sep_conv_3x3'?" in result.stderr


def test_a_file_name_with_spaces_and_parentheses_is_a_file(tmp_path: Path) -> None:
    path = tmp_path / "my genotypes (v2).py"
    path.write_text(f"V2 = {GENOTYPE}\nDARTS = V2\n", encoding="utf-8")
    result = run("import", "darts", str(path), "--name", "DARTS")
    assert result.exit_code == 0, result.output
    assert 'name "v2"' in result.stdout


def test_an_empty_file_is_refused_as_a_genotype(tmp_path: Path) -> None:
    path = tmp_path / "empty (1).json"
    path.write_text("  \n", encoding="utf-8")
    result = run("import", "tfslim", str(path))
    refused(result, f"error[E105]: {path}: empty file")
    assert "hint: expected a genotype" in result.stderr


# `nasgen export darts|nb201` is nasgen.cli.foreign.print_foreign (validate, then export).


@pytest.mark.parametrize(
    ("old", "new", "head"),
    [
        ("dil_conv_3x3(b1)", "dil_conv_3x3(b9)", ":16:47: error[E202]"),
        ("sep_conv_3x3(h_prev), sep_conv_3x3(h))", "sep_conv_3x3(b2), sep_conv_3x3(h))",
         ":13:25: error[E204]"),
        ("dil_conv_3x3(b1)", "dil_cnv_3x3(b1)", ":16:34: error[E203]"),
    ],
)  # fmt: skip
def test_export_validates_before_printing(tmp_path: Path, old: str, new: str, head: str) -> None:
    path = tmp_path / "broken.cell"
    path.write_text(DARTS_V2_CELL.read_text(encoding="utf-8").replace(old, new, 1), "utf-8")
    for fmt in ("darts", "nb201"):
        refused(run("export", fmt, str(path)), f"{path}{head}")


def test_export_warns_on_stderr_about_dropped_convention_rules(tmp_path: Path) -> None:
    path = tmp_path / "rules.cell"
    text = DARTS_V2_CELL.read_text(encoding="utf-8")
    path.write_text(text.replace("convention darts", "convention darts { none = identity }"))
    result = run("export", "darts", str(path))
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("warning: convention rules { none = identity }")
    assert (
        import_darts(result.stdout.strip()).cells
        == import_darts(run("export", "darts", "darts_v2").stdout.strip()).cells
    )


def test_options_of_another_format_are_refused() -> None:
    refused(run("import", "nb201", "|none~0|", "--name", "X"), "error[E530]: --name")
    refused(run("import", "darts", GENOTYPE, "--convention", "darts"), "error[E530]")
    refused(run("import", "darts", ""), "error[E123]: <string>: no Genotype(...) found")
    refused(run("import", "nb201", " "), "error[E121]: <string>: empty NAS-Bench-201 string")
