"""Issue 11: foreign genotypes (DARTS, NB-201, TF-slim) are read by one bounded, data-only reader.

Each test reproduces a defect of the ast.parse / json.loads importers: a huge range, deep
nesting, unhashable or None values, bools as indices, quadratic splitting, unlocated errors.
Errors are asserted by code and span (line, column) in the user's own text.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from nasgen.cli.foreign import check_imported, print_foreign, read_foreign
from nasgen.dsl.foreign import (
    export_darts,
    export_foreign,
    import_darts,
    import_darts_file,
    import_nb201,
    import_tfslim,
    split_genotypes,
)
from nasgen.errors import DslSyntaxError, NasgenError, SourceText

PAIR = "('sep_conv_3x3', 0), ('sep_conv_3x3', 1)"
CELL = (
    '{"operations": ["none", "none"], "hiddenstate_indices": [0, 1], '
    '"used_hiddenstates": [1, 0, 0]}'
)


def darts(normal: str = PAIR, normal_concat: str = "[2]", tail: str = "") -> str:
    return (
        f"Genotype(normal=[{normal}], normal_concat={normal_concat}, reduce=[{PAIR}], "
        f"reduce_concat=[2]{tail})"
    )


def _error(fn: Callable[[], object]) -> NasgenError:
    with pytest.raises(NasgenError) as info:
        fn()
    err = info.value
    assert str(err)  # renders
    return err


def _at(err: NasgenError, code: str, line: int, column: int) -> None:
    assert err.code == code, str(err)
    assert err.span is not None, str(err)
    assert (err.span.line, err.span.column) == (line, column), str(err)


def _bounded(fn: Callable[[], object], mib: float = 20, seconds: float = 2.0) -> NasgenError:
    """The error of ``fn``, which must stay under ``mib`` MiB of Python memory and ``seconds``."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        err = _error(fn)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < mib * 2**20, f"peak {peak / 2**20:.1f} MiB"
    assert time.perf_counter() - start < seconds
    return err


# -- defect 1: a concat or an index outside the cell is refused before anything is built ------


@pytest.mark.parametrize("stop", ["1000000000", "10**18", "1" + "0" * 18, "1" + "0" * 99])
def test_a_huge_concat_range_is_refused_unexpanded(stop: str) -> None:
    text = darts(normal_concat=f"range({stop})")
    err = _bounded(lambda: import_darts(text))
    column = text.index("range(") + 1 if "*" not in stop else text.index("**") - 1
    _at(err, "E120", 1, column)


def test_a_range_is_checked_against_the_states_of_the_cell() -> None:
    text = darts(normal_concat="range(2, 4)")
    err = _error(lambda: import_darts(text))
    _at(err, "E120", 1, text.index("range(") + 1)
    assert "reaches 3" in err.message and err.hint == "states: 0 = h_prev, 1 = h, 2..2 = blocks"
    assert import_darts(darts(normal_concat="range(2, 3)")) == import_darts(darts())
    assert import_darts(darts(normal_concat="list(range(2, 3))")) == import_darts(darts())
    for bad in ("range(2, 3, 0)", "range()", "range(2, 3, 1, 1)", "range(2, stop=3)"):
        text = darts(normal_concat=bad)
        _at(_error(lambda t=text: import_darts(t)), "E120", 1, text.index("range(") + 1)


def test_an_input_index_outside_the_cell_is_located() -> None:
    text = darts(normal="('sep_conv_3x3', 5), ('sep_conv_3x3', 1)")
    _at(_error(lambda: import_darts(text)), "E120", 1, text.index("5") + 1)
    text = darts(normal="('sep_conv_3x3', -1), ('sep_conv_3x3', 1)")
    _at(_error(lambda: import_darts(text)), "E120", 1, text.index("-1") + 1)
    text = darts(normal_concat="[2, 3]")
    _at(_error(lambda: import_darts(text)), "E120", 1, text.index("3]") + 1)


# -- defect 2: type confusion, deep nesting, quadratic splitting ---------------------------


def test_tfslim_accepts_reduction_as_the_reduce_key() -> None:
    reduce = import_tfslim(f'{{"normal": {CELL}, "reduce": {CELL}}}')
    assert import_tfslim(f'{{"normal": {CELL}, "reduction": {CELL}}}') == reduce
    both = f'{{"normal": {CELL}, "reduce": {CELL}, "reduction": {CELL}}}'
    _at(_error(lambda: import_tfslim(both)), "E124", 1, both.rindex("{") + 1)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('{"normal": 1, "reduction": 2}', "1"),
        ('{"normal": null, "reduce": null}', "null"),
        ('{"normal": null}', "null"),
        (f'{{"reduce": {CELL}}}', "{"),
        (CELL.replace('["none", "none"]', '[["none"], "none"]'), '["none"]'),
        (CELL.replace('["none", "none"]', '[{"a": 1}, "none"]'), '{"a"'),
        (CELL.replace("[0, 1]", "[0, true]"), "true"),
        (CELL.replace("[0, 1]", "[0, 1.0]"), "1.0"),
        (CELL.replace("[1, 0, 0]", "[1, 0, false]"), "false"),
        (CELL.replace("[1, 0, 0]", "[1, 0, 2]"), "2]"),
        (CELL.replace('"operations": ["none", "none"]', '"operations": "none"'), '"none"'),
    ],
)
def test_tfslim_values_of_the_wrong_type_are_located_errors(text: str, needle: str) -> None:
    _at(_error(lambda: import_tfslim(text)), "E124", 1, text.index(needle) + 1)


def test_deep_nesting_is_refused_before_parsing() -> None:
    for fn, code in ((import_tfslim, "E124"), (import_darts, "E120")):
        err = _bounded(lambda f=fn: f("[" * 100_000))
        _at(err, code, 1, 33)
        assert len(str(err)) < 600  # a window of the line, not 100,000 brackets


def test_nb201_refuses_non_ascii_digits_and_huge_sources() -> None:
    for text in ("|nor_conv_3x3~²|", "|nor_conv_3x3~\u0660|", "|nor_conv_3x3~" + "9" * 5000 + "|"):
        _at(_bounded(lambda t=text: import_nb201(t)), "E121", 1, 15)


def test_a_long_run_of_unary_minus_is_refused_cheaply() -> None:
    text = "Genotype(" + "-" * 100_000 + "1)"
    _at(_bounded(lambda: import_darts(text)), "E120", 1, 10)
    _at(_bounded(lambda: import_darts_file(text)), "E120", 1, 10)


def test_nested_genotypes_are_one_linear_error() -> None:
    text = "Genotype(" * 10_000 + ")" * 10_000
    err = _bounded(lambda: split_genotypes(text), seconds=1.0)
    _at(err, "E120", 1, 33 * len("Genotype("))  # the 33rd "("
    flat = "X = Genotype(Genotype(Genotype(1)))\n" * 2_000
    start = time.perf_counter()
    assert len(split_genotypes(flat)) == 2_000  # one per line: inner ones are not scanned
    assert time.perf_counter() - start < 1.0
    _at(_error(lambda: import_darts_file(flat, "X")), "E120", 2_000, 5)


def test_input_over_the_source_limit_is_refused_first() -> None:
    big = "Genotype(" + " " * (1 << 20) + ")"
    for fn in (import_darts, import_nb201, import_tfslim, split_genotypes):
        assert _bounded(lambda f=fn: f(big), mib=40).code == "E106"  # type: ignore[operator]


# -- defect 3: bools are not integers; Genotype has four fields ------------------------------


def test_true_as_an_index_is_refused() -> None:
    text = darts(normal="('sep_conv_3x3', True), ('sep_conv_3x3', 1)")
    err = _error(lambda: import_darts(text))
    _at(err, "E120", 1, text.index("True") + 1)
    assert "not True" in err.message
    text = darts(normal_concat="[True]")
    _at(_error(lambda: import_darts(text)), "E120", 1, text.index("True") + 1)


def test_a_fifth_genotype_field_is_refused() -> None:
    text = f"Genotype([{PAIR}], [2], [{PAIR}], [2], [3])"
    _at(_error(lambda: import_darts(text)), "E120", 1, text.index("[3]") + 1)
    text = darts(tail=", extra=[1]")
    _at(_error(lambda: import_darts(text)), "E120", 1, text.index("extra") + 1)
    text = darts(tail=", normal=[]")
    _at(_error(lambda: import_darts(text)), "E120", 1, text.rindex("normal") + 1)


# -- defect 4: NAME = OTHER aliases of genotypes.py -----------------------------------------

GENOTYPES_PY = f"""from collections import namedtuple

Genotype = namedtuple('Genotype', 'normal normal_concat reduce reduce_concat')

PRIMITIVES = [
    'none',
    'max_pool_3x3',
]

DARTS_V1 = {darts().replace("sep_conv_3x3", "max_pool_3x3")}
DARTS_V2 = Genotype(
  normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)],
  normal_concat=range(2, 3),
  reduce=[('skip_connect', 0), ('sep_conv_3x3', 1)],
  reduce_concat=[2],
)

DARTS = DARTS_V2
LATEST = DARTS  # an alias of an alias
"""


def test_an_alias_resolves_to_the_genotype_it_names() -> None:
    v2 = import_darts_file(GENOTYPES_PY, "DARTS_V2")
    assert import_darts_file(GENOTYPES_PY, "DARTS").cells == v2.cells
    assert import_darts_file(GENOTYPES_PY, "LATEST").name == "darts_v2"
    assert import_darts_file(GENOTYPES_PY, "DARTS_V1").cells != v2.cells
    rebound = GENOTYPES_PY + "DARTS_V2 = DARTS_V1\n"  # DARTS still means the first DARTS_V2
    assert import_darts_file(rebound, "DARTS").cells == v2.cells
    assert import_darts_file(rebound, "DARTS_V2").cells != v2.cells


def test_an_unknown_or_ambiguous_name_is_e123() -> None:
    err = _error(lambda: import_darts_file(GENOTYPES_PY, "DARTS_V3"))
    assert err.code == "E123" and err.hint == "did you mean 'DARTS_V2'?"
    err = _error(lambda: import_darts_file(GENOTYPES_PY))
    assert err.code == "E123" and "2 Genotype(...) found" in err.message
    assert "DARTS, DARTS_V1, DARTS_V2, LATEST" in str(err.hint)
    dangling = GENOTYPES_PY + "OLD = DARTS_V0\n"
    err = _error(lambda: import_darts_file(dangling, "OLD"))
    _at(err, "E123", dangling.count("\n"), 1)
    assert err.message == "no Genotype named 'DARTS_V0' (this alias)"
    assert err.hint == "did you mean 'DARTS_V2'?"
    cycle = "A = B\nB = A\n"
    assert _error(lambda: import_darts_file(cycle, "A")).code == "E123"
    assert _error(lambda: import_darts_file("x = 1\n")).code == "E123"


def test_errors_in_a_file_point_at_its_lines() -> None:
    text = GENOTYPES_PY.replace("('skip_connect', 0)", "('skip_conect', 0)")
    err = _error(lambda: import_darts_file(SourceText("genotypes.py", text), "DARTS"))
    _at(err, "E203", 14, text.split("\n")[13].index("skip_conect") + 1)
    assert err.span is not None and err.span.path == "genotypes.py"
    assert err.hint == "did you mean 'skip_connect'?"
    assert "14 |   reduce=[('skip_conect', 0)" in str(err)
    # a broken genotype the user did not ask for is never read
    text = GENOTYPES_PY.replace("normal_concat=range(2, 3)", "normal_concat=range(2, 9)")
    assert import_darts_file(text, "DARTS_V1").name == "darts_v1"
    _at(_error(lambda: import_darts_file(text, "DARTS")), "E120", 13, 17)


# -- defect 5: errors point at the user's input, with "did you mean" ------------------------


@pytest.mark.parametrize(
    ("fmt", "text", "needle"),
    [
        ("darts", darts(normal="('sep_cnv_3x3', 0), ('sep_conv_3x3', 1)"), "sep_cnv"),
        ("darts", darts(normal='("sep_cnv_3x3", 0), ("sep_conv_3x3", 1)'), "sep_cnv"),
        ("nb201", "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x4~1|", "avg_pool_3x4"),
    ],
)
def test_an_unknown_op_is_located_in_the_input(fmt: str, text: str, needle: str) -> None:
    importer = import_darts_file if fmt == "darts" else import_nb201
    err = _error(lambda: check_imported(importer(SourceText("<string>", text))))
    _at(err, "E203", 1, text.index(needle) + 1)
    assert err.span is not None and err.span.path == "<string>"
    assert err.hint is not None and err.hint.startswith("did you mean")


def test_semantic_errors_of_an_import_are_located_in_the_input() -> None:
    text = darts(normal_concat="[2, 2]")
    err = _error(lambda: check_imported(import_darts(text)))
    _at(err, "E216", 1, text.index("[2, 2]") + 5)  # resolve, on the importer's spans


# -- defect 6: an existing file wins over the inline-text heuristic ------------------------


def test_an_existing_file_with_odd_characters_is_read_as_a_file(tmp_path: Path) -> None:
    path = tmp_path / "my genotype (v2) [final]=1.py"
    path.write_text(f"X = {darts()}\n", encoding="utf-8")
    source = read_foreign(str(path))
    assert source.path == str(path) and source.text.startswith("X = Genotype(")
    assert read_foreign(darts()).path == "<string>"
    assert _error(lambda: read_foreign(str(tmp_path / "missing.py"))).code == "E108"
    assert read_foreign("x" * 5000 + "(").path == "<string>"  # too long for a path: text


# -- defects 7 and 8: export validates first, and warns about what it drops -----------------


def test_export_warns_about_a_convention_the_format_cannot_hold() -> None:
    text, warnings = print_foreign("darts", "darts_v2")
    assert warnings == [] and import_darts(text).cells == import_darts(text).cells
    with_rules = Path(__file__).parent.parent.parent / "nasgen" / "genotypes" / "darts_v2.cell"
    source = with_rules.read_text(encoding="utf-8").replace(
        "convention darts", "convention darts { none = identity }"
    )
    text, warnings = print_foreign("darts", source)
    assert len(warnings) == 1 and "none = identity" in warnings[0]
    _, warnings = print_foreign("darts", "nasnet_a_darts")
    assert warnings == []
    _, warnings = print_foreign("nb201", "nb201_example")
    assert warnings == []
    tf = source.replace("convention darts { none = identity }", "convention tf_slim")
    _, warnings = print_foreign("darts", tf)
    assert len(warnings) == 1 and "convention tf_slim" in warnings[0]
    module = import_darts(darts())
    assert export_foreign("darts", module) == (export_darts(module), [])


@pytest.mark.parametrize(
    ("old", "new", "code", "line", "column"),
    [
        ("dil_conv_3x3(b1)", "dil_conv_3x3(b9)", "E202", 16, 47),
        ("sep_conv_3x3(h_prev), sep_conv_3x3(h))", "sep_conv_3x3(b2), sep_conv_3x3(h))",
         "E204", 13, 25),
        ("dil_conv_3x3(b1)", "dil_cnv_3x3(b1)", "E203", 16, 34),
    ],
)  # fmt: skip
def test_export_validates_the_source_first(
    old: str, new: str, code: str, line: int, column: int
) -> None:
    path = Path(__file__).parent.parent.parent / "nasgen" / "genotypes" / "darts_v2.cell"
    source = path.read_text(encoding="utf-8").replace(old, new, 1)
    for fmt in ("darts", "nb201"):
        _at(_error(lambda f=fmt: print_foreign(f, source)), code, line, column)


def test_export_refuses_what_the_format_cannot_hold() -> None:
    assert _error(lambda: print_foreign("nb201", "darts_v2")).code == "E122"
    assert _error(lambda: print_foreign("darts", "nb201_example")).code == "E122"
    _, warnings = print_foreign("darts", "enas_micro")
    assert len(warnings) == 1 and "convention enas" in warnings[0]
    assert _error(lambda: print_foreign("onnx", "darts_v2")).code == "E530"
    assert isinstance(_error(lambda: print_foreign("darts", "no_such")), NasgenError)


def test_exporters_never_raise_anything_but_nasgen_errors_on_raw_modules() -> None:
    module = import_darts(darts())
    broken = module.cells[0].blocks[0].ops[0]
    import dataclasses

    from nasgen.dsl.ast import StateRef

    bad_op = dataclasses.replace(broken, input=StateRef("nowhere"))
    bad_block = dataclasses.replace(module.cells[0].blocks[0], ops=(bad_op, bad_op))
    bad_cell = dataclasses.replace(module.cells[0], blocks=(bad_block,))
    bad = dataclasses.replace(module, cells=(bad_cell, module.cells[1]))
    assert isinstance(_error(lambda: export_darts(bad)), DslSyntaxError)
    assert _error(lambda: export_foreign("nb201", bad)).code == "E122"
