"""Docs match the code: the language reference names every op spelling, network key and
convention rule; the README keeps exactly its two set-up commands and the CI test command."""

from __future__ import annotations

import re
from pathlib import Path

from nasgen.dsl.network import KEYS
from nasgen.ops import OPS, PRESETS, RULES

ROOT = Path(__file__).resolve().parent.parent
LANGUAGE = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_language_reference_names_every_op_key_and_rule() -> None:
    documented = set(re.findall(r"`([A-Za-z_0-9]+)`", LANGUAGE))
    missing = [s for s in OPS.spellings() if s not in documented]
    missing += [k for k in KEYS if k not in documented]
    missing += [r for r in RULES if r not in documented]
    missing += [p for p in PRESETS if p not in documented]
    assert not missing, f"docs/language.md does not mention: {missing}"


def test_readme_has_two_setup_commands_and_ci_runs_the_test_one() -> None:
    blocks = re.findall(r"```(?:sh|bash)\n(.*?)```", README, flags=re.S)
    setup = [b for b in blocks if "pip install" in b]
    assert len(setup) == 2, setup
    assert "nasgen compile" in setup[0]
    assert "python -m pytest -q" in setup[1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "python -m pytest -q" in ci
