"""Fuzzing the foreign doors: DARTS, NB-201 and TF-slim importers, and export -> import.

Any input either imports to a module that checks (resolve, lower, validate, print round trip)
or raises a ``NasgenError`` that renders, with a span inside the input; never any other
exception. ``bench/fuzz_foreign.py`` runs the same doors for 100,000+ inputs each.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nasgen.api import load_source
from nasgen.cli.foreign import check_imported
from nasgen.dsl import Module, parse
from nasgen.dsl.foreign import (
    export_darts,
    export_foreign,
    export_nb201,
    import_darts,
    import_darts_file,
    import_nb201,
    import_tfslim,
)
from nasgen.dsl.generate import GenotypeSpace, random_genotype
from nasgen.errors import NasgenError, SourceText

TFSLIM = Path(__file__).parent.parent / "data" / "tfslim"
DARTS_FORM = GenotypeSpace(darts_form=True)
_DARTS_BUNDLED = ["darts_v1", "darts_v2", "pc_darts", "p_darts", "nasnet_a_darts"]

_DARTS_SEEDS = [export_darts(parse(load_source(n))) for n in _DARTS_BUNDLED]
_DARTS_SEEDS += [export_darts(random_genotype(s, DARTS_FORM)) for s in range(4)]
_DARTS_SEEDS.append(
    "from collections import namedtuple\nGenotype = namedtuple('Genotype', 'normal "
    "normal_concat reduce reduce_concat')\n\nV2 = Genotype(\n  normal=[('sep_conv_3x3', 0),\n"
    "    ('skip_connect', 1)],\n  normal_concat=range(2, 3),\n  reduce=[('max_pool_3x3', 0), "
    "('dil_conv_5x5', 1)],\n  reduce_concat=[2],\n)\nDARTS = V2  # the default\n"
)
_NB201_SEEDS = [export_nb201(random_genotype(s, nb201=True)) for s in range(6)]
_TF_SEEDS = [p.read_text(encoding="utf-8") for p in sorted(TFSLIM.glob("*.json"))]
_TF_SEEDS.append(
    "operations = ['separable_5x5_2', 'none', 'avg_pool_3x3', 'none']\n"
    "used_hiddenstates = [1, 0, 0, 0]\nhiddenstate_indices = [0, 1, 1, 2]\n"
)
_TOKENS = [
    "(", ")", "[", "]", "{", "}", ",", ":", "=", "'", '"', "\\", "#", "\n", "\r\n", " ",
    "-", "-1", "0", "1", "2", "7", "True", "None", "null", "1.5", "1e9", "10**18",
    "9" * 30, "range(", "range(10**9)", "range(2, 6)", "list(", "Genotype(", "DARTS = X\n",
    "sep_conv_3x3", "sep_cnv_3x3", "skip_connect", "none", "'none'", "separable_3x3_2",
    '"operations"', '"used_hiddenstates"', '"hiddenstate_indices"', '"normal"', '"reduce"',
    "|", "~", "+", "|none~0|", "~²", "\x00", "é", "\udcff", "\u2028", "[" * 40, "(" * 40,
]  # fmt: skip


def _check(text: str, run: Callable[[SourceText], Module]) -> None:
    try:
        check_imported(run(SourceText("<fuzz>", text)))
    except NasgenError as err:
        rendered = str(err)
        assert re.fullmatch(r"E\d{3}", err.code), err.code
        assert rendered
        if err.span is not None:
            assert 1 <= err.span.line <= text.count("\n") + text.count("\r") + 1, rendered
            assert err.span.path == "<fuzz>", rendered


_DOORS: dict[str, Callable[[SourceText], Module]] = {
    "darts": import_darts_file,
    "darts_expression": import_darts,
    "nb201": import_nb201,
    "tfslim": import_tfslim,
}


@st.composite
def _mutated(draw: st.DrawFn, seeds: list[str]) -> str:
    text = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["delete", "insert", "token", "truncate", "dup", "digit"]))
        if kind == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 12)) :]
        elif kind == "insert":
            text = text[:pos] + draw(st.text(max_size=6)) + text[pos:]
        elif kind == "token":
            text = text[:pos] + draw(st.sampled_from(_TOKENS)) + text[pos:]
        elif kind == "truncate":
            text = text[:pos]
        elif kind == "dup":
            end = min(len(text), pos + draw(st.integers(1, 40)))
            text = text[:end] + text[pos:end] + text[end:]
        else:
            digits = [m.start() for m in re.finditer(r"[0-9]", text)] or [pos]
            at = draw(st.sampled_from(digits))
            text = (
                text[:at] + draw(st.sampled_from(["9", "-1", "True", "1.0", "99"])) + text[at + 1 :]
            )
    return text


_FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.property
@_FUZZ
@given(text=_mutated(_DARTS_SEEDS), expression=st.booleans())
def test_mutated_darts_strings_import_or_fail_cleanly(text: str, expression: bool) -> None:
    _check(text, _DOORS["darts_expression" if expression else "darts"])


@pytest.mark.property
@_FUZZ
@given(text=_mutated(_NB201_SEEDS))
def test_mutated_nb201_strings_import_or_fail_cleanly(text: str) -> None:
    _check(text, _DOORS["nb201"])


@pytest.mark.property
@_FUZZ
@given(text=_mutated(_TF_SEEDS))
def test_mutated_tfslim_lists_import_or_fail_cleanly(text: str) -> None:
    _check(text, _DOORS["tfslim"])


@pytest.mark.property
@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=120), door=st.sampled_from(sorted(_DOORS)))
def test_random_text_imports_or_fails_cleanly(text: str, door: str) -> None:
    _check(text, _DOORS[door])


@pytest.mark.property
@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 10**6), nb201=st.booleans())
def test_exported_genotypes_import_back_to_the_same_cells(seed: int, nb201: bool) -> None:
    module = random_genotype(seed, nb201=nb201) if nb201 else random_genotype(seed, DARTS_FORM)
    fmt = "nb201" if nb201 else "darts"
    text, warnings = export_foreign(fmt, module)
    assert (warnings == []) == (module.convention is not None and module.convention.preset == fmt)
    again = import_nb201(text) if nb201 else import_darts(text)
    assert again.cells == module.cells
    assert export_foreign(fmt, again) == (text, [])
    if warnings:  # another convention: the same cells may not build under the format's own
        _check(text, _DOORS["darts_expression"])
    else:
        check_imported(again)
