"""Printer and parser are inverse on any syntactically valid AST: ``parse(print(m)) == m`` and
canonical text is a fixed point (hypothesis-generated modules, valid or not in meaning)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nasgen.dsl import bundled_names, parse_text, read_bundled
from nasgen.dsl.ast import (
    Block,
    CellDef,
    ConventionDef,
    Ident,
    Module,
    NetworkDef,
    OpCall,
    Output,
    Setting,
    StateRef,
    VariantDef,
)
from nasgen.dsl.printer import print_module

_KEYWORDS = {"nasgen", "name", "source", "convention", "cell", "network", "variant", "output"}
names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True).filter(
    lambda n: n not in _KEYWORDS
)
combines = st.sampled_from(["add", "concat"])
strings = st.text(
    st.characters(blacklist_categories=("Cs",)), max_size=12
)  # no lone surrogates (E109)
values = st.one_of(
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    strings,
    names.map(Ident),
)
settings_ = st.lists(st.builds(Setting, names, values), max_size=4, unique_by=lambda s: s.key)
op_params = st.lists(st.builds(Setting, names, values), max_size=2, unique_by=lambda s: s.key)
# An op name must not be a combine, or the block would parse as a combine.
op_names = names.filter(lambda n: n not in {"add", "concat"})
op_calls = st.builds(OpCall, op_names, st.builds(StateRef, names), op_params.map(tuple))
blocks = st.one_of(
    st.builds(Block, names, combines, st.lists(op_calls, min_size=1, max_size=3).map(tuple)),
    st.builds(Block, names, st.none(), op_calls.map(lambda c: (c,))),
)
outputs = st.one_of(
    st.none(),
    st.builds(
        Output,
        st.just("concat"),
        st.lists(st.builds(StateRef, names), min_size=1, max_size=4).map(tuple),
    ),
    st.builds(Output, st.none(), st.builds(StateRef, names).map(lambda r: (r,))),
)
cells = st.builds(
    CellDef,
    names,
    st.lists(st.builds(StateRef, names), min_size=1, max_size=3).map(tuple),
    st.lists(blocks, max_size=4).map(tuple),
    outputs,
)
modules = st.builds(
    Module,
    st.just(1),
    st.none() | strings,
    st.none() | strings,
    st.none() | st.builds(ConventionDef, names, settings_.map(tuple)),
    st.lists(cells, max_size=3).map(tuple),
    st.none() | st.builds(NetworkDef, settings_.map(tuple)),
    st.lists(
        st.builds(VariantDef, names, settings_.map(tuple)), max_size=2, unique_by=lambda v: v.name
    ).map(tuple),
)


@pytest.mark.property
@settings(max_examples=150, deadline=None)
@given(module=modules)
def test_print_then_parse_is_identity(module: Module) -> None:
    text = print_module(module)
    again = parse_text(text)
    assert again == module
    assert print_module(again) == text


@pytest.mark.parametrize("name", bundled_names())
def test_bundled_genotypes_round_trip(name: str) -> None:
    source = read_bundled(name)
    assert source is not None
    module = parse_text(source.text)
    text = print_module(module)
    assert parse_text(text) == module
    assert print_module(parse_text(text)) == text
