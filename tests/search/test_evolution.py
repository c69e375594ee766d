"""Regularized evolution: tournament and aging, the paper's mutations, exact resume, and a
statistically sound win over random search on a table whose optimum is known."""

from __future__ import annotations

import random
import statistics
from pathlib import Path

import pytest
from search_helpers import additive_table, best_reward

from nasgen.search.base import Proposal, Told
from nasgen.search.evaluators.table import TableEvaluator
from nasgen.search.strategies.evolution import RegularizedEvolution


def _told(choices: tuple[int, ...], reward: float | None) -> Told:
    return Told(Proposal(0, choices, "", ""), reward)


def test_the_population_fills_with_samples_then_ages() -> None:
    rea = RegularizedEvolution((5, 5, 5), seed=0, population=3, sample=2)
    for reward in (1.0, 2.0, 3.0):
        rea.tell(_told(rea.ask(), reward))
    assert [r for _, r in rea.population] == [1.0, 2.0, 3.0]
    rea.tell(_told(rea.ask(), 0.5))
    assert [r for _, r in rea.population] == [2.0, 3.0, 0.5]  # the oldest left, not the worst
    rea.tell(_told((0, 0, 0), None))  # a failed trial never joins
    assert len(rea.population) == 3


def test_the_tournament_winner_is_the_parent_and_one_decision_changes() -> None:
    kinds = ("input", "input", "op", "op")
    rea = RegularizedEvolution(
        (4, 4, 4, 4), 1, population=4, sample=4, identity=0.0, with_replacement=False, kinds=kinds
    )
    members = [((0, 0, 0, 0), 1.0), ((1, 1, 1, 1), 9.0), ((2, 2, 2, 2), 3.0), ((3, 3, 3, 3), 2.0)]
    for choices, reward in members:
        rea.asked += 1
        rea.tell(_told(choices, reward))
    children = [rea.ask() for _ in range(200)]
    for child in children:  # sample = population without replacement: always the best parent
        assert sum(a != b for a, b in zip(child, (1, 1, 1, 1), strict=True)) == 1
    changed = {next(i for i, v in enumerate(c) if v != 1) for c in children}
    assert changed == {0, 1, 2, 3}  # both hidden-state and op mutations occur


def test_identity_mutations_happen_at_their_rate() -> None:
    rea = RegularizedEvolution((6,) * 6, seed=2, identity=0.25)
    rng = random.Random(0)
    same = sum(rea.mutate((1,) * 6, rng) == (1,) * 6 for _ in range(4000))
    assert 0.22 < same / 4000 < 0.28


def test_a_restored_state_proposes_the_same_future() -> None:
    a = RegularizedEvolution((5,) * 6, seed=3, population=5, sample=2)
    for i in range(12):
        a.tell(_told(a.ask(), float(i % 7)))
    b = RegularizedEvolution((5,) * 6, seed=3, population=5, sample=2)
    b.load_state_dict(a.state_dict())
    assert [a.ask() for _ in range(20)] == [b.ask() for _ in range(20)]


@pytest.mark.slow
def test_evolution_beats_random_search_over_many_seeds(tmp_path: Path) -> None:
    table = TableEvaluator(str(additive_table(tmp_path / "additive.csv")))
    seeds = range(24)
    params = {"population": 10, "sample": 3, "with_replacement": True, "identity": 0.05}
    rea = [best_reward("rea", params, s, table, tmp_path) for s in seeds]
    rnd = [best_reward("random", {}, s, table, tmp_path) for s in seeds]
    diff = [a - b for a, b in zip(rea, rnd, strict=True)]
    mean, sd = statistics.mean(diff), statistics.stdev(diff)
    t = mean / (sd / len(diff) ** 0.5)  # paired t statistic over 24 seeds
    assert mean > 0 and t > 3.0, (statistics.mean(rea), statistics.mean(rnd), t)
