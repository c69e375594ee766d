"""Diagnostics: every bad input fails with the right code, at the right place, never a crash.

``tests/corpus/bad/*.cell`` are small realistic mistakes; the first line of each says what it
must produce, ``# expect: E203 7:12`` (code, line and column of the span the error points at;
lines count that comment). Bad *bytes* (empty, binary, non-UTF-8, too large, missing) are
generated here in ``tmp_path``. ``tests/corpus/good/*.cell`` must compile and print back to an
equal AST. ``pytest --update-golden`` rewrites ``tests/golden/diagnostics/*.txt``.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from nasgen.api import CompileOptions, analyze
from nasgen.cli import main
from nasgen.dsl import parse_text
from nasgen.dsl.printer import print_module
from nasgen.dsl.source import MAX_SOURCE_BYTES
from nasgen.errors import DslSemanticError, DslSyntaxError, IRValidationError, NasgenError

ROOT = Path(__file__).resolve().parents[2]
BAD_DIR = ROOT / "tests" / "corpus" / "bad"
GOOD_DIR = ROOT / "tests" / "corpus" / "good"
GOLDEN = ROOT / "tests" / "golden" / "diagnostics"
BAD = sorted(BAD_DIR.glob("*.cell"))
GOOD = sorted(GOOD_DIR.glob("*.cell"))
EXPECT = re.compile(r"# expect: (E\d{3}) (\d+):(\d+)")
CLASS_OF = {"1": DslSyntaxError, "2": DslSemanticError, "3": IRValidationError}

# Every code a .cell file can trigger (E220, an unknown --variant, comes from options only).
FILE_CODES = {
    *("E100", "E101", "E102", "E107", "E109", "E110"),
    *(f"E2{n:02d}" for n in range(1, 20)),
    *("E222", "E223"),
    *("E302", "E303", "E305", "E306", "E308", "E310", "E311"),
}

GOLDEN_CASES = [
    "e100_missing_close_paren",
    "e101_unicode_prime_in_state",
    "e102_truncated_block",
    "e203_unknown_op_typo",
    "e204_forward_reference",
    "e209_bad_stem_choice",
    "e306_darts_concat_input_in_reduction",
]

CLI_CASES = [
    "e101_semicolon",
    "e203_unknown_op_typo",
    "e217_negative_filters_in_variant",
    "e310_stale_h_prev",
]


def _expectation(path: Path) -> tuple[str, int, int]:
    first = path.read_text(encoding="utf-8").split("\n", 1)[0]
    match = EXPECT.fullmatch(first)
    assert match, f"{path.name}: first line must be `# expect: EXXX LINE:COL`, got {first!r}"
    return match.group(1), int(match.group(2)), int(match.group(3))


def _check(source: str | Path) -> None:
    """What `nasgen check` does to one file: the default network, then each variant."""
    result = analyze(source)
    for variant in result.module.variants:
        analyze(result.source, CompileOptions(variant=variant.name))


def _first_error(source: str | Path) -> NasgenError:
    try:
        _check(source)
    except NasgenError as err:
        return err
    except Exception as err:  # a crash is a nasgen bug, not a diagnostic
        pytest.fail(f"crashed with {type(err).__name__}: {err} (expected a NasgenError)")
    pytest.fail(f"{source}: compiled without error")


# --- the bad corpus ---------------------------------------------------------------------------


def test_bad_corpus_is_large_and_covers_every_file_code() -> None:
    assert len(BAD) >= 45
    codes = {_expectation(p)[0] for p in BAD}
    assert codes >= FILE_CODES, f"codes without a bad file: {sorted(FILE_CODES - codes)}"


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_file(path: Path) -> None:
    code, line, column = _expectation(path)
    err = _first_error(path)
    assert isinstance(err, CLASS_OF[code[1]]), type(err).__name__
    assert err.span is not None, f"{err.code} has no location: {err}"
    assert (err.code, err.span.line, err.span.column) == (code, line, column), str(err)
    # The excerpt shows the line the location names, with the caret under its column.
    text = path.read_text(encoding="utf-8").split("\n")[line - 1]
    rendered = str(err).splitlines()
    assert rendered[0].startswith(f"{path}:{line}:{column}: error[{code}]: ")
    assert rendered[1] == f"  {line} | {text}"
    assert rendered[2].split(" | ", 1)[1].index("^") == column - 1


def test_unknown_op_hints_the_close_spelling() -> None:
    for name in ("e203_unknown_op_typo", "e203_unknown_single_op"):
        err = _first_error(BAD_DIR / f"{name}.cell")
        assert err.hint == "did you mean 'sep_conv_3x3'?"


def test_messages_spell_values_as_the_file_does() -> None:
    """`true`, not `Ident(name='true')`: messages quote the user's text, not Python reprs."""
    leaks = {}
    for path in BAD:
        try:
            _check(path)
        except NasgenError as err:
            if "Ident(" in str(err):
                leaks[path.stem] = err.message
        except Exception:  # crashes are test_bad_file's business
            continue
    assert not leaks


def test_absurd_network_is_refused_quickly() -> None:
    start = time.perf_counter()
    err = _first_error(BAD_DIR / "e303_absurdly_large.cell")
    assert err.code == "E303"
    assert time.perf_counter() - start < 5


def test_unknown_variant_option_hints_the_close_name() -> None:
    with pytest.raises(DslSemanticError) as info:
        analyze("nasnet_a", CompileOptions(variant="lage"))
    assert info.value.code == "E220"
    assert info.value.hint == "did you mean 'large'?"


# --- bad bytes, generated ---------------------------------------------------------------------


def _error_for_bytes(tmp_path: Path, data: bytes, name: str = "bad.cell") -> NasgenError:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(NasgenError) as info:
        analyze(path)
    return info.value


@pytest.mark.parametrize(
    "data", [b"", b"  \n\t\n\r\n", b"\xef\xbb\xbf\n"], ids=["empty", "whitespace", "bom-only"]
)
def test_empty_input(tmp_path: Path, data: bytes) -> None:
    err = _error_for_bytes(tmp_path, data)
    assert isinstance(err, DslSyntaxError)
    assert err.code == "E105"


def test_binary_input(tmp_path: Path) -> None:
    err = _error_for_bytes(tmp_path, b"nasgen 1\n\x00\x01\x02\x89PNG\r\n")
    assert (err.code, type(err)) == ("E104", DslSyntaxError)


def test_non_utf8_points_at_the_bad_byte(tmp_path: Path) -> None:
    err = _error_for_bytes(tmp_path, "nasgen 1\n# café\n# caf".encode() + b"\xe9 latin-1\n")
    assert err.code == "E103"
    assert err.span is not None
    assert (err.span.line, err.span.column) == (3, 6)
    assert "0xe9" in err.message


def test_non_utf8_column_does_not_count_a_byte_order_mark(tmp_path: Path) -> None:
    err = _error_for_bytes(tmp_path, b"\xef\xbb\xbfnasgen 1 \xff\n")
    assert err.code == "E103"
    assert err.span is not None
    assert (err.span.line, err.span.column) == (1, 10)


def test_oversized_input(tmp_path: Path) -> None:
    err = _error_for_bytes(tmp_path, b"nasgen 1\n" + b"#" * MAX_SOURCE_BYTES + b"\n")
    assert err.code == "E106"
    assert "1,048,576" in err.message


def test_directory_input(tmp_path: Path) -> None:
    (tmp_path / "cells.cell").mkdir()
    with pytest.raises(DslSyntaxError) as info:
        analyze(tmp_path / "cells.cell")
    assert info.value.code == "E108"
    assert "directory" in info.value.message


def test_missing_file_hints_a_bundled_name(tmp_path: Path) -> None:
    with pytest.raises(DslSyntaxError) as info:
        analyze(tmp_path / "nasnet_a.cel")
    assert info.value.code == "E108"
    assert info.value.hint == "did you mean 'nasnet_a.cell'?"
    with pytest.raises(DslSyntaxError) as info:
        analyze("nasnet_a.cel")
    assert (info.value.code, info.value.hint) == ("E108", "did you mean 'nasnet_a.cell'?")


_NETWORK_TYPO = "network { N = 1  F = 8  clases = 10 }"


@pytest.mark.parametrize(
    ("newline", "odd"),
    [("\n", ""), ("\r\n", ""), ("\n", "\f"), ("\n", "\u2028"), ("\n", "\x1c"), ("\n", "\x85")],
    ids=["lf", "crlf", "form-feed", "line-separator", "file-separator", "next-line"],
)
def test_excerpt_shows_the_located_line(tmp_path: Path, newline: str, odd: str) -> None:
    """Characters that str.splitlines() breaks on but the grammar does not must not shift it."""
    lines = ["nasgen 1", f"# page{odd}break", 'name "x"', _NETWORK_TYPO]
    err = _error_for_bytes(tmp_path, newline.join(lines).encode() + newline.encode())
    assert err.code == "E208"
    assert err.span is not None
    assert (err.span.line, err.span.column) == (4, 25)
    assert f"  4 | {_NETWORK_TYPO}\n" in str(err)


# --- the command line -------------------------------------------------------------------------


@pytest.mark.parametrize("name", CLI_CASES)
def test_cli_check_prints_a_located_diagnostic(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    rel = f"tests/corpus/bad/{name}.cell"
    code, line, column = _expectation(ROOT / rel)
    result = CliRunner().invoke(main, ["check", rel])
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1
    assert f"{rel}:{line}:{column}: error[{code}]: " in result.output
    assert re.search(r"^ +\| +\^~*$", result.output, re.MULTILINE), result.output
    assert "1 of 1 file(s) failed" in result.output
    assert "Traceback" not in result.output


def test_cli_check_whole_bad_corpus_never_crashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    files = [str(p.relative_to(ROOT)) for p in BAD]
    result = CliRunner().invoke(main, ["check", *files])
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert f"{len(files)} of {len(files)} file(s) failed" in result.output
    assert ": ok (" not in result.output


def test_cli_check_good_corpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    files = [str(p.relative_to(ROOT)) for p in GOOD]
    result = CliRunner().invoke(main, ["check", *files])
    assert result.exit_code == 0, result.output
    assert result.output.count(": ok (") == len(files)


# --- golden renderings ------------------------------------------------------------------------


@pytest.mark.golden
@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_golden_rendering(
    name: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    text = str(_first_error(f"tests/corpus/bad/{name}.cell")) + "\n"
    path = GOLDEN / f"{name}.txt"
    if request.config.getoption("--update-golden"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden {path.name}; run pytest --update-golden"
    assert text == path.read_text(encoding="utf-8")


# --- the good corpus --------------------------------------------------------------------------


def test_good_corpus_size() -> None:
    assert 6 <= len(GOOD) <= 10


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.stem)
def test_good_file_compiles_and_round_trips(path: Path) -> None:
    result = analyze(path)
    assert result.cost.params > 0
    for variant in result.module.variants:
        assert analyze(result.source, CompileOptions(variant=variant.name)).cost.params > 0
    printed = print_module(result.module)
    reparsed = parse_text(printed)
    assert reparsed == result.module
    assert print_module(reparsed) == printed
