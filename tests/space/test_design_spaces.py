"""Design spaces as text (AnyNetX_A..E, RegNetX): exact sizes, uniform decisions, samples that
are ordinary stage networks, and located errors."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from nasgen.api import analyze
from nasgen.dsl import parse_text
from nasgen.dsl.printer import print_module
from nasgen.errors import NasgenError
from nasgen.space import load_space
from nasgen.space.ranking import rank_multiset, unrank_multiset

ANYNET = ["anynetx_a", "anynetx_b", "anynetx_c", "anynetx_d", "anynetx_e"]


def _monotone(n: int, k: int) -> int:
    """Non-decreasing sequences of k over n values, counted by brute force for small n."""
    return sum(1 for s in itertools.product(range(n), repeat=k) if list(s) == sorted(s))


def test_exact_sizes_follow_the_papers_restrictions() -> None:
    d, w, b, g = 16, 128, 3, 6  # depth <= 16, width <= 1024 by 8, b in 1, 2, 4, g 1..32
    sizes = {name: load_space(name).size() for name in ANYNET}
    assert sizes["anynetx_a"] == (d * w * b * g) ** 4  # the seed's ~1.8e18
    assert sizes["anynetx_a"] == 1_846_757_322_198_614_016
    assert sizes["anynetx_b"] == (d * w * g) ** 4 * b
    assert sizes["anynetx_c"] == (d * w) ** 4 * b * g
    assert sizes["anynetx_d"] == d**4 * math.comb(w + 3, 4) * b * g
    assert sizes["anynetx_e"] == math.comb(d + 3, 4) * math.comb(w + 3, 4) * b * g
    assert math.comb(12 + 3, 4) == _monotone(12, 4)  # the multiset count, by brute force
    regnet = load_space("regnetx")
    assert regnet.size() == 17 * 32 * 2481 * 1001 * 3 * 6  # the grid's vectors


def test_multiset_ranks_are_a_bijection() -> None:
    seqs = [s for s in itertools.product(range(6), repeat=3) if list(s) == sorted(s)]
    ranks = [rank_multiset(s, 6) for s in seqs]
    assert ranks == list(range(len(seqs))) == list(range(math.comb(8, 3)))
    assert [unrank_multiset(r, 6, 3) for r in ranks] == seqs


@pytest.mark.parametrize("name", [*ANYNET, "regnetx"])
def test_samples_are_stage_networks_that_compile(name: str) -> None:
    found = load_space(name)
    rng = random.Random(5)
    for _ in range(8):
        module = found.decode(found.sample(rng))
        text = print_module(module)
        assert parse_text(text) == module
        result = analyze(text)
        assert result.arch.network.body == ("regnet" if name == "regnetx" else "stages")
        assert result.cost.params > 0 and result.cost.acts > 0


def test_restrictions_hold_in_every_sample() -> None:
    rng = random.Random(2)
    for name in ANYNET:
        found = load_space(name)
        for _ in range(30):
            net = analyze(print_module(found.decode(found.sample(rng)))).arch.network
            if name != "anynetx_a":
                assert len(set(net.bottlenecks)) == 1
            if name in ("anynetx_c", "anynetx_d", "anynetx_e"):  # one g, capped by w * b
                top = max(net.group_widths)
                for w, b, g in zip(net.widths, net.bottlenecks, net.group_widths, strict=True):
                    assert g == top or g == round(w * b) < top
            if name == "anynetx_e":
                assert list(net.depths) == sorted(net.depths)
            for w, b, g in zip(net.widths, net.bottlenecks, net.group_widths, strict=True):
                assert round(w * b) % g == 0  # the compatibility step ran


def test_sorted_widths_come_from_one_uniform_decision() -> None:
    """AnyNetX_D's widths are one decision over the non-decreasing sequences: uniform."""
    found = load_space("anynetx_d")
    names = [d.name for d in found.decisions()]
    assert "widths" in names and not any(n.endswith(".width") for n in names)
    rng = random.Random(0)
    index = names.index("widths")
    size = found.decisions()[index].size
    draws = [found.sample(rng)[index] for _ in range(4000)]
    assert abs(sum(draws) / len(draws) / (size - 1) - 0.5) < 0.02  # mean rank: the middle


def test_a_regnet_vector_of_another_stage_count_is_no_network() -> None:
    found = load_space("regnetx")
    rng = random.Random(0)
    failures = 0
    for _ in range(40):
        vector = tuple(rng.randrange(d.size) for d in found.decisions())
        try:
            found.decode(vector)
        except NasgenError as err:
            assert err.code == "E333" and "not 4" in err.message
            failures += 1
    assert 0 < failures < 40
    for _ in range(10):  # sample() draws again until the rule makes 4 stages
        found.decode(found.sample(rng))


def test_design_spaces_are_not_encoded_back_nor_grown() -> None:
    found = load_space("anynetx_c")
    module = found.decode(found.sample(random.Random(0)))
    with pytest.raises(NasgenError):
        found.encode(module)
    with pytest.raises(NasgenError):
        found.with_blocks(2)


BAD = [
    ("space cells { stages = 4 }", "unknown design space", "stages"),
    ("space stages { stages = 40 depth = 1 width = 8 group_width = 8 }", "from 1 to 16", None),
    ("space stages { depth = range(1, 16) width = 8 }", "values of `group_width`", None),
    ("space stages { depth = range(16, 1) width = 8 group_width = 8 }", "lo <= hi", None),
    ("space stages { depth = [1, 1] width = 8 group_width = 8 }", "twice", None),
    ("space stages { depth = [1.5] width = 8 group_width = 8 }", "integers", None),
    ("space stages { depth = 1 width = range(8, 1e9, 1) group_width = 8 }", "100,000 values", None),
    ("space stages { depth = 1 width = 8 group_width = 8 shared = [widht] }", "of keys", "width"),
    ("space stages { depth = 1 width = 8 group_width = 8 shared = [width] increasing = [width] }",
     "both shared and increasing", None),
    ("space stages { depth = 1 width = 8 group_width = 8 depht = 2 }", "unknown", "depth"),
    ("space regnet { depth = 13 w0 = 24 wa = 36 wm = 2.5 }", "`group_width`", None),
]  # fmt: skip


@pytest.mark.parametrize(("body", "words", "hint"), BAD)
def test_bad_design_spaces_are_located_errors(body: str, words: str, hint: str | None) -> None:
    text = f"nasgen 2\nconvention pycls\n{body}\nnetwork {{ stem = simple head = gap }}\n"
    with pytest.raises(NasgenError) as err:
        load_space(text)
    assert words in str(err.value)
    assert err.value.span is not None
    if hint is not None:
        assert hint in (err.value.hint or "")


def test_a_design_space_needs_language_version_2_and_no_cells() -> None:
    with pytest.raises(NasgenError, match="version 2"):
        load_space("nasgen 1\nspace stages { depth = 1 width = 8 group_width = 8 }\n")
    text = (
        "nasgen 2\nops o = [skip_connect]\nspace cell normal(x) { blocks = 1 ops = o }\n"
        "space stages { depth = 1 width = 8 group_width = 8 }\n"
    )
    with pytest.raises(NasgenError, match="holds no cells"):
        load_space(text)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("space stages { depth = 1 width = [64, 32] group_width = 8 increasing = [width] }",
         "ascending order"),
        ("space stages { depth = 1 width = range(-1e308, 1e308, 1) group_width = 8 }", "over"),
        ("space stages { depth = 1 width = 8 group_width = 8 bottleneck = 3.5 }", "or whole"),
        ("space regnet { depth = 13 w0 = 20 wa = 36 wm = 2.5 group_width = 8 }", "multiple of 8"),
        ("space regnet { depth = 13 w0 = 24 wa = 36 wm = 1 group_width = 8 }", "above 1"),
        ("space regnet { depth = 13 w0 = 24 wa = -3 wm = 2 group_width = 8 }", "0 or more"),
    ],
)  # fmt: skip
def test_values_the_rule_cannot_take_are_refused_where_written(body: str, words: str) -> None:
    text = f"nasgen 2\nconvention pycls\n{body}\nnetwork {{ stem = simple head = gap }}\n"
    with pytest.raises(NasgenError) as err:
        load_space(text)
    assert words in str(err.value) and err.value.span is not None


def test_learning_strategies_refuse_a_decision_of_millions() -> None:
    from nasgen.search.strategies import make_strategy

    decisions = load_space("anynetx_d").decisions()
    for name in ("reinforce", "ppo"):
        with pytest.raises(NasgenError) as err:
            make_strategy(name, decisions, 0, {})
        assert err.value.code == "E856" and "widths" in err.value.message
    make_strategy("rea", decisions, 0, {}).ask()
