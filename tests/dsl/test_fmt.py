"""`nasgen fmt`: canonical text, comments kept, a fixed point, the network unchanged."""

from __future__ import annotations

import random
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from nasgen.api import analyze
from nasgen.cli import main
from nasgen.dsl import parse
from nasgen.dsl.fmt import format_text, scan_comments
from nasgen.dsl.generate import random_genotype
from nasgen.dsl.printer import print_module
from nasgen.dsl.source import bundled_names, decode_source, read_bundled
from nasgen.review import architecture_hash

MESSY = """# my experiment
nasgen 1
name "mine #not a comment"   # trailing on name
convention darts { none = zero   # zero is what DARTS means
}
# the normal cell
cell normal(h_prev, h) { b1 = add(sep_conv_3x3(h_prev),   sep_conv_3x3(h))  # first
\tb2 = add(skip_connect(h_prev), max_pool_3x3(b1))
  # before output
  output concat(b1, b2)
  # after output, inside
}
cell reduction(h_prev, h) {
  b1 = add(max_pool_3x3(h_prev), max_pool_3x3(h))
  output concat(b1) }
network { N = 1
  F = 8   # small
  classes = 10 }
# the end
"""


def _fmt(text: str) -> str:
    return format_text(decode_source(text.encode("utf-8"), "t.cell"))


@pytest.mark.parametrize("name", bundled_names())
def test_bundled_genotypes_are_already_canonical(name: str) -> None:
    source = read_bundled(name)
    assert source is not None
    assert _fmt(source.text) == source.text


def test_messy_file_keeps_every_comment_in_order_and_its_network() -> None:
    out = _fmt(MESSY)
    assert [c.text for c in scan_comments(out)] == [c.text for c in scan_comments(MESSY)]
    assert '"mine #not a comment"' in out  # a # inside a string is not a comment
    assert "  # before output\n  output concat(b1, b2)\n  # after output, inside\n}" in out
    assert "  F = 8  # small\n" in out
    assert _fmt(out) == out
    a = analyze(decode_source(MESSY.encode(), "a.cell"))
    b = analyze(decode_source(out.encode(), "b.cell"))
    assert architecture_hash(a.arch) == architecture_hash(b.arch)
    assert (a.cost.params, a.cost.macs) == (b.cost.params, b.cost.macs)


def _mangle(text: str, rng: random.Random) -> tuple[str, list[str]]:
    """Random spacing and comments on a valid file (comments only between statements)."""
    lines, comments = [], []
    for i, line in enumerate(text.split("\n")):
        if not line.strip():
            continue
        if rng.random() < 0.3:
            note = f"# note {i}"
            comments.append(note)
            lines.append(" " * rng.randint(0, 4) + note)
        line = line.replace(", ", "," + " " * rng.randint(0, 3))
        indent = "\t" if rng.random() < 0.2 else " " * rng.randint(0, 6)
        tail = ""
        if rng.random() < 0.2 and not line.rstrip().endswith("{"):
            tail = f"   # tail {i}"
            comments.append(tail.strip())
        lines.append(indent + line.strip() + tail)
    return "\n".join(lines) + "\n", comments


@pytest.mark.property
@settings(max_examples=120, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), nb201=st.booleans())
def test_generated_files_mangled_and_commented_format_back(seed: int, nb201: bool) -> None:
    module = random_genotype(seed, nb201=nb201)
    canonical = print_module(module)
    mangled, comments = _mangle(canonical, random.Random(seed))
    out = _fmt(mangled)
    assert parse(decode_source(out.encode(), "x")) == module
    assert _fmt(out) == out
    assert [c.text for c in scan_comments(out)] == comments
    if not comments:
        assert out == canonical


def test_cli_check_shows_a_diff_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "messy.cell"
    path.write_text(MESSY, encoding="utf-8")
    result = CliRunner().invoke(main, ["fmt", "--check", str(path)])
    assert result.exit_code == 1
    assert "+++" in result.output and "(formatted)" in result.output
    assert path.read_text(encoding="utf-8") == MESSY


def test_cli_fmt_rewrites_keeps_the_mode_and_then_checks_clean(tmp_path: Path) -> None:
    path = tmp_path / "messy.cell"
    path.write_text(MESSY, encoding="utf-8")
    path.chmod(0o640)
    assert CliRunner().invoke(main, ["fmt", str(path)]).exit_code == 0
    assert path.read_text(encoding="utf-8") == _fmt(MESSY)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert CliRunner().invoke(main, ["fmt", "--check", str(path)]).exit_code == 0
    assert [p.name for p in tmp_path.iterdir()] == ["messy.cell"]  # no temporary file left


def test_cli_fmt_leaves_a_broken_file_alone(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.cell", tmp_path / "bad.cell"
    good.write_text(MESSY, encoding="utf-8")
    broken = MESSY.replace("sep_conv_3x3(h))", "sep_conv_3x3(h)")
    bad.write_text(broken, encoding="utf-8")
    result = CliRunner().invoke(main, ["fmt", str(bad), str(good)])
    assert result.exit_code == 1
    assert "error[" in result.output and "Traceback" not in result.output
    assert bad.read_text(encoding="utf-8") == broken
    assert good.read_text(encoding="utf-8") == _fmt(MESSY)  # the good one is still formatted
