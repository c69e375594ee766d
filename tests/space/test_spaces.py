"""Search spaces as text: exact counts, the choices <-> AST bijection, samples that compile,
located errors for bad space files."""

from __future__ import annotations

import itertools
import math
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from nasgen.api import analyze, load_source, options_for
from nasgen.cli import main
from nasgen.dsl import parse_text, resolve
from nasgen.dsl.printer import print_module
from nasgen.errors import NasgenError
from nasgen.review import architecture_hash
from nasgen.space import SearchSpace, load_space, space_names

BUNDLED = ["darts", "enas_chain", "enas_micro", "nasnet", "nb201", "pnas"]
DESIGN = ["anynetx_a", "anynetx_b", "anynetx_c", "anynetx_d", "anynetx_e", "regnetx"]


def test_every_seeded_space_is_bundled() -> None:
    assert space_names() == sorted(BUNDLED + DESIGN)


def _per_block(blocks: int, per: object) -> int:
    return math.prod(per(i) for i in range(1, blocks + 1))  # type: ignore[operator]


def test_exact_sizes_match_the_papers_formulas() -> None:
    sizes = {name: load_space(name).size() for name in BUNDLED}
    assert sizes["nb201"] == 5**6 == 15_625
    assert sizes["enas_chain"] == 5**6 * 2**15 == 512_000_000
    # NASNet: block i picks 2 of the i + 1 earlier states, 2 of 14 ops, add or concat; 2 cells.
    assert sizes["nasnet"] == _per_block(5, lambda i: (i + 1) ** 2 * 14**2 * 2) ** 2
    # ENAS micro: the same wiring, 5 ops, add only.
    assert sizes["enas_micro"] == _per_block(5, lambda i: (i + 1) ** 2 * 5**2) ** 2
    # DARTS: node k keeps 2 distinct of its k + 1 predecessors, an op (8) on each.
    assert sizes["darts"] == _per_block(4, lambda k: math.comb(k + 1, 2) * 8**2) ** 2
    # PNAS (one cell type): 5 blocks of 2 inputs and 2 of 8 ops.
    assert sizes["pnas"] == _per_block(5, lambda i: (i + 1) ** 2 * 8**2)


def test_pnas_one_block_cell_counts_as_the_paper() -> None:
    one = load_space("pnas").with_blocks(1)
    assert one.size() == 256
    assert one.symmetric_size() == 136
    # Brute force: unordered pairs of (input, op) operands.
    operands = list(itertools.product(range(2), range(8)))
    pairs = {frozenset(p) for p in itertools.product(operands, repeat=2)}
    assert len(pairs) == 136


def test_symmetric_size_agrees_with_hashing_small_spaces() -> None:
    from nasgen.search.survey import distinct_count

    pnas = load_space("pnas").with_blocks(1)
    assert distinct_count(pnas) == pnas.symmetric_size() == 136
    enas = load_space("enas_micro").with_blocks(1)  # two cells of one block: 100 x 100
    assert enas.size() == 100**2
    assert distinct_count(enas) == enas.symmetric_size() == math.comb(11, 2) ** 2 == 3025


@pytest.mark.parametrize("name", BUNDLED)
def test_samples_round_trip_through_text_and_compile(name: str) -> None:
    found = load_space(name)
    rng = random.Random(1)
    for _ in range(12):
        choices = found.sample(rng)
        text = print_module(found.decode(choices))
        module = parse_text(text)
        assert found.encode(module) == choices
        analyze(text)  # compiles on the space's own skeleton


def test_every_nb201_vector_is_a_bijection() -> None:
    found = load_space("nb201")
    sizes = [d.size for d in found.decisions()]
    for vector in itertools.product(*(range(s) for s in sizes)):
        assert found.encode(found.decode(vector)) == vector


@pytest.mark.slow
@pytest.mark.parametrize("name", BUNDLED)
def test_static_cost_equals_the_module_count(name: str) -> None:
    import nasgen

    found = load_space(name)
    rng = random.Random(2)
    for _ in range(3):
        text = print_module(found.decode(found.sample(rng)))
        options = options_for(N=1, F=8)
        static = analyze(text, options).cost
        model = nasgen.compile(text, N=1, F=8, seed=0)
        assert model.count_parameters(aux=False) == static.params


def test_published_cells_encode_into_their_spaces() -> None:
    darts = load_space("darts")
    v2 = parse_text(load_source("darts_v2").text)
    choices = darts.encode(v2)
    again = darts.decode(choices)
    assert architecture_hash(resolve(again)) == architecture_hash(resolve(v2))
    nb201 = load_space("nb201")
    example = parse_text(load_source("nb201_example").text)
    assert architecture_hash(resolve(nb201.decode(nb201.encode(example)))) == architecture_hash(
        resolve(example)
    )


def test_a_cell_outside_the_space_is_refused() -> None:
    nasnet_a = parse_text(load_source("nasnet_a").text)
    with pytest.raises(NasgenError) as err:
        load_space("darts").encode(nasnet_a)
    assert err.value.code == "E803"


BAD = {
    "unknown op": (
        "ops o = [sep_conv_3x3, sep_cnov_5x5]\nspace cell normal(h_prev, h) { blocks = 2 ops = o }",
        "E203",
        3,
        24,
        "sep_conv_5x5",
    ),
    "distinct from too few": (
        "ops o = [sep_conv_3x3]\n"
        "space cell normal(x) { blocks = 2 ops = o inputs = choose(2, distinct) }",
        "E801",
        4,
        52,
        None,
    ),
    "no op list": (
        "space cell normal(x) { blocks = 2 ops = darts }",
        "E801",
        3,
        41,
        None,
    ),
    "unknown key": (
        "ops o = [sep_conv_3x3]\nspace cell normal(x) { block = 2 ops = o }",
        "E801",
        4,
        24,
        "blocks",
    ),
    "output names nothing": (
        "ops o = [sep_conv_3x3]\nspace cell normal(x) { blocks = 2 ops = o output = [b3] }",
        "E801",
        4,
        52,
        None,
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_space_files_get_located_errors(case: str) -> None:
    body, code, line, column, hint = BAD[case]
    text = f"nasgen 2\nconvention darts\n{body}\nnetwork {{ N = 1 }}\n"
    with pytest.raises(NasgenError) as err:
        load_space(text)
    assert err.value.code == code
    assert err.value.span is not None
    assert (err.value.span.line, err.value.span.column) == (line, column), str(err.value)
    if hint:
        assert hint in str(err.value)


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_cli_space_info_explains_the_count() -> None:
    code, out = _run("space", "info", "nb201", "--samples", "5")
    assert code == 0 and "architectures: 15,625" in out
    assert "normal.n3: 5 x 5 x 5 = 125" in out
    code, out = _run("space", "info", "pnas", "--blocks", "1", "--json", "--samples", "3")
    assert code == 0 and '"size": 256' in out and '"unordered_add_operands": 136' in out


def test_cli_space_sample_writes_files_that_check(tmp_path: Path) -> None:
    code, _ = _run("space", "sample", "darts", "--seed", "4", "-n", "3", "-o", str(tmp_path / "s"))
    assert code == 0
    files = sorted((tmp_path / "s").glob("*.cell"))
    assert len(files) == 3
    code, out = _run("check", *map(str, files))
    assert code == 0, out
    assert files[0].read_text().startswith("# Sampled from search space darts, seed 4, sample 0.")
    code, again = _run(
        "space", "sample", "darts", "--seed", "4", "-n", "3", "-o", str(tmp_path / "s")
    )
    assert code == 1 and "E505" in again  # never overwritten without --force


def test_cli_space_info_of_a_bad_file_is_located(tmp_path: Path) -> None:
    bad = tmp_path / "bad.cell"
    bad.write_text(
        "nasgen 2\nops o = [sep_cnov_3x3]\nspace cell normal(x) { blocks = 1 ops = o }\n"
    )
    code, out = _run("space", "info", str(bad))
    assert code == 1 and f"{bad}:2:10: error[E203]" in out and "did you mean" in out


def test_enas_fixed_arc_of_the_bundled_cell_is_the_released_scripts() -> None:
    from nasgen.search.results import foreign_encodings

    text = load_source("enas_micro").text
    fixed_arc = (  # melodyguan/enas scripts/cifar10_micro_final.sh
        "0 2 0 0 0 4 0 1 0 4 1 1 1 0 0 1 0 2 1 1 1 0 1 0 0 3 0 2 1 1 3 1 1 0 0 4 0 3 1 1"
    )
    assert foreign_encodings(text)["enas_fixed_arc"] == fixed_arc


def test_cli_check_accepts_every_bundled_space() -> None:
    root = Path(__file__).parents[2] / "genotypes" / "spaces"
    code, out = _run("check", *sorted(str(p) for p in root.glob("*.cell")))
    assert code == 0, out
    assert out.count("ok (search space of") == len(BUNDLED) + len(DESIGN)
    assert "15,625 architectures" in out


def test_a_shorter_vector_decodes_as_the_first_blocks_of_each_cell() -> None:
    """PNAS's b-block cells: the decisions of the first b blocks, cells with fewer keep theirs."""
    import dataclasses

    full = load_space("nasnet")
    normal, reduction = full.cells
    space = SearchSpace(full.module, (dataclasses.replace(normal, blocks=2), reduction))
    rng = random.Random(4)
    vector = space.sample(rng)
    for b, blocks in ((1, (1, 1)), (3, (2, 3))):
        picked = tuple(v for v, d in zip(vector, space.decisions(), strict=True) if d.block < b)
        module = space.decode(picked)
        assert tuple(len(c.blocks) for c in module.cells) == blocks
        assert module.cells[0].blocks[0] == space.decode(vector).cells[0].blocks[0]
    with pytest.raises(NasgenError) as err:
        space.decode(vector[:3])
    assert err.value.code == "E802"
