"""The shipped parser tables match the grammar and parse exactly like a freshly built parser."""

from __future__ import annotations

import json
from pathlib import Path

from nasgen.dsl import bundled_names, read_bundled
from nasgen.dsl.tables import _digest, _grammar, build_parser, load_parser

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_tables_are_current() -> None:
    data = json.loads((ROOT / "grammar" / "nasgen.tables.json").read_text())
    assert data["grammar_sha256"] == _digest(_grammar()), "run: python -m nasgen.dsl.tables"


def test_loaded_parser_parses_like_the_built_one() -> None:
    loaded, built = load_parser(), build_parser()
    for name in bundled_names():
        text = read_bundled(name)
        assert text is not None
        assert loaded.parse(text.text) == built.parse(text.text)
    assert {t.name for t in loaded.terminals} == {t.name for t in built.terminals}
