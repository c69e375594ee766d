"""The static cost path (``nasgen.ir.static_cost``) agrees with lower + validate, always.

Properties: on samples of every bundled space, on every bundled genotype and its variants, on
generated genotypes of every convention and on the error corpus, ``static_cost`` returns the
full path's exact ``CostReport`` or None, and None only where the full path raises (or where
the doubt is documented); ``cost_module`` raises the full path's error.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from nasgen.api import cost_module, options_for
from nasgen.dsl import CompileOptions, bundled_names, parse, parse_text, read_bundled, resolve
from nasgen.dsl.generate import random_genotype
from nasgen.errors import NasgenError
from nasgen.ir import lower, validate
from nasgen.ir.static_cost import static_cost
from nasgen.space import load_space, space_names

CORPUS = Path(__file__).parents[1] / "corpus"


def _full(arch: object) -> object:
    try:
        return validate(lower(arch))  # type: ignore[arg-type]
    except NasgenError as err:
        return err.code


def _agrees(arch: object) -> bool:
    """The fast path's answer: None only for a network the full path refuses."""
    fast = static_cost(arch)  # type: ignore[arg-type]
    full = _full(arch)
    if fast is None:
        return isinstance(full, str)
    return fast == full


@pytest.mark.property
@pytest.mark.parametrize("name", space_names())
def test_space_samples_cost_the_same(name: str) -> None:
    space = load_space(name)
    rng = random.Random(12)
    for i in range(60):
        arch = resolve(space.decode(space.sample(rng)))
        assert static_cost(arch) is not None, (name, i)  # the skeleton holds every sample
        assert _agrees(arch), (name, i)


@pytest.mark.property
def test_space_samples_at_other_sizes() -> None:
    """Small F, a tiny input, two cells per stage: some compile, some do not; both agree."""
    declined = {True: 0, False: 0}
    for name in space_names():
        space = load_space(name)
        rng = random.Random(3)
        for i in range(20):
            module = space.decode(space.sample(rng))
            small = (options_for(N=1, F=2), options_for(N=2, input_size=3))
            if space.design is not None:  # stage networks read no N or F: narrow them instead
                small = (options_for(stem_width=2), options_for(input_size=3))
            for options in small:
                arch = resolve(module, options)
                assert _agrees(arch), (name, i, options)
                declined[static_cost(arch) is None] += 1
    assert declined[True] > 0 and declined[False] > 0, declined


def test_size_errors_occur_and_fall_back() -> None:
    """A tiny input makes the spatial size vanish: the fast path declines, the full one names it."""
    module = load_space("darts").decode(load_space("darts").sample(random.Random(0)))
    options = options_for(input_size=2)
    arch = resolve(module, options)
    assert static_cost(arch) is None
    with pytest.raises(NasgenError) as err:
        cost_module(module, options)
    assert err.value.code == _full(arch)


def test_absurd_size_is_refused_the_same() -> None:
    module = load_space("nb201").decode(load_space("nb201").sample(random.Random(0)))
    options = options_for(F=65_536)
    assert static_cost(resolve(module, options)) is None
    with pytest.raises(NasgenError) as err:
        cost_module(module, options)
    assert err.value.code == "E303"


@pytest.mark.parametrize("name", bundled_names())
def test_bundled_genotypes_and_variants(name: str) -> None:
    module = parse(read_bundled(name))  # type: ignore[arg-type]
    for variant in [None, *(v.name for v in module.variants)]:
        arch = resolve(module, CompileOptions(variant=variant))
        report = static_cost(arch)
        assert report is not None, (name, variant)
        assert report == validate(lower(arch)), (name, variant)


@pytest.mark.property
def test_generated_genotypes_of_every_convention() -> None:
    conventions = set()
    for seed in range(300):
        module = random_genotype(seed, nb201=seed % 5 == 0)
        arch = resolve(module)
        conventions.add(arch.convention.name)
        assert _agrees(arch), seed
        assert static_cost(arch) is not None, seed
    assert len(conventions) >= 3


def test_dangling_state_declines_and_names_it() -> None:
    text = (
        "nasgen 1\nconvention darts\n"
        "cell normal(h_prev, h) {\n  b1 = add(sep_conv_3x3(h_prev), skip_connect(h))\n"
        "  b2 = add(max_pool_3x3(h), skip_connect(h_prev))\n  output concat(b2)\n}\n"
        "network { N = 1  F = 8  reductions = 0 }\n"
    )
    module = parse_text(text)
    arch = resolve(module)
    assert static_cost(arch) is None
    with pytest.raises(NasgenError) as err:
        cost_module(module)
    assert err.value.code == "E305"


@pytest.mark.parametrize("path", sorted((CORPUS / "good").glob("*.cell")), ids=lambda p: p.stem)
def test_corpus_good_files(path: Path) -> None:
    arch = resolve(parse_text(path.read_text(), str(path)))
    report = static_cost(arch)
    assert report is not None and report == validate(lower(arch))


def test_corpus_bad_files_never_get_a_report() -> None:
    """Every bad file the resolver accepts but lowering refuses: the fast path declines too."""
    checked = 0
    for path in sorted((CORPUS / "bad").glob("*.cell")):
        try:
            arch = resolve(parse_text(path.read_text(errors="replace"), str(path)))
        except NasgenError:
            continue
        checked += 1
        assert _agrees(arch), path.name
    assert checked >= 3
