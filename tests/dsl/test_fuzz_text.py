"""Fuzzing: any text, mutated genotypes included, either compiles or raises a NasgenError that
renders; never any other exception."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nasgen.api import analyze
from nasgen.dsl import bundled_names, read_bundled
from nasgen.dsl.generate import random_genotype
from nasgen.dsl.printer import print_module
from nasgen.errors import NasgenError

_SEEDS = [read_bundled(n).text for n in bundled_names()]  # type: ignore[union-attr]
_SEEDS += [print_module(random_genotype(s, nb201=s % 2 == 1)) for s in range(6)]
_TOKENS = [
    "(",
    ")",
    "{",
    "}",
    ",",
    "=",
    "add",
    "concat",
    "output",
    "cell",
    "network",
    "variant",
    "convention",
    "nasgen 1",
    "sep_conv_3x3",
    "skip_connect",
    "none",
    "h",
    "h_prev",
    "b1",
    "N",
    "F",
    "0",
    "-1",
    "99999999999",
    "1e9",
    '"',
    "#",
    "\n",
    "\x00",
    "é",
    "\u2028",
]


def _check(text: str) -> None:
    try:
        analyze(text if text.strip() else "nasgen 1\n")
    except NasgenError as err:
        rendered = str(err)
        assert re.fullmatch(r"E\d{3}", err.code), err.code
        if err.span is not None:
            assert 1 <= err.span.line <= text.count("\n") + 2, rendered
        assert rendered


@st.composite
def _mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(_SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["delete", "insert", "token", "truncate", "dup_line"]))
        if kind == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 12)) :]
        elif kind == "insert":
            text = text[:pos] + draw(st.text(max_size=6)) + text[pos:]
        elif kind == "token":
            text = text[:pos] + " " + draw(st.sampled_from(_TOKENS)) + " " + text[pos:]
        elif kind == "truncate":
            text = text[:pos]
        else:
            lines = text.split("\n")
            i = draw(st.integers(0, len(lines) - 1))
            text = "\n".join([*lines[: i + 1], lines[i], *lines[i + 1 :]])
    return text


@pytest.mark.property
@settings(max_examples=400, deadline=None)
@given(text=_mutated())
def test_mutated_genotypes_compile_or_fail_cleanly(text: str) -> None:
    _check(text)


@pytest.mark.property
@settings(max_examples=200, deadline=None)
@given(body=st.text(max_size=200), header=st.booleans())
def test_random_text_compiles_or_fails_cleanly(body: str, header: bool) -> None:
    _check(("nasgen 1\n" if header else "") + body)
