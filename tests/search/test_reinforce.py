"""REINFORCE over per-decision logits: the baseline, the direction of an update, exact resume,
and a statistically sound win over random search on a table whose optimum is known."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import pytest
import torch
from search_helpers import additive_table, best_reward

from nasgen.errors import NasgenError
from nasgen.search.base import Proposal, Told
from nasgen.search.evaluators.table import TableEvaluator
from nasgen.search.strategies.reinforce import Reinforce


def _told(choices: tuple[int, ...], reward: float | None) -> Told:
    return Told(Proposal(0, choices, "", ""), reward)


def _probs(agent: Reinforce) -> list[list[float]]:
    return [torch.softmax(x.detach(), 0).tolist() for x in agent.logits]


def test_the_baseline_is_a_moving_average_updated_first() -> None:
    agent = Reinforce((3, 3), seed=0, lr=0.1, baseline_decay=0.9)
    agent.tell(_told((0, 0), 10.0))
    assert agent.baseline == 10.0  # the first reward: no advantage, no change
    assert _probs(agent)[0] == pytest.approx([1 / 3] * 3)
    agent.tell(_told((1, 2), 20.0))
    assert agent.baseline == pytest.approx(0.9 * 10.0 + 0.1 * 20.0)


def test_a_reward_above_the_baseline_makes_its_choices_likelier() -> None:
    agent = Reinforce((4, 4), seed=0, lr=0.1)
    agent.tell(_told((0, 0), 1.0))
    agent.tell(_told((2, 3), 5.0))  # above the baseline of 1.4
    probs = _probs(agent)
    assert probs[0][2] > 0.25 and probs[1][3] > 0.25
    agent.tell(_told((1, 1), -5.0))  # below: less likely
    assert _probs(agent)[0][1] < probs[0][1]


def test_sampling_follows_the_policy() -> None:
    agent = Reinforce((2,), seed=1)
    with torch.no_grad():
        agent.logits[0].copy_(torch.tensor([0.0, math.log(3.0)], dtype=torch.float64))
    ones = sum(agent.ask()[0] for _ in range(4000))
    assert 0.72 < ones / 4000 < 0.78  # p = 3/4


def test_a_restored_state_proposes_and_learns_the_same() -> None:
    a = Reinforce((5,) * 6, seed=3, lr=0.05)
    for _ in range(25):
        c = a.ask()
        a.tell(_told(c, float(sum(c))))
    b = Reinforce((5,) * 6, seed=3, lr=0.05)
    b.load_state_dict(a.state_dict())
    for _ in range(15):
        ca, cb = a.ask(), b.ask()
        assert ca == cb
        a.tell(_told(ca, float(sum(ca))))
        b.tell(_told(cb, float(sum(cb))))
    assert a.state_dict() == b.state_dict()


def test_an_unknown_controller_is_a_clear_error() -> None:
    with pytest.raises(NasgenError) as err:
        Reinforce((2,), seed=0, controller="lstm")
    assert err.value.code == "E856"


@pytest.mark.slow
def test_reinforce_beats_random_search_over_many_seeds(tmp_path: Path) -> None:
    table = TableEvaluator(str(additive_table(tmp_path / "additive.csv")))
    params = {"lr": 0.1, "baseline_decay": 0.9, "entropy": 0.0, "controller": "logits"}
    seeds = range(24)
    learned = [best_reward("reinforce", params, s, table, tmp_path) for s in seeds]
    rnd = [best_reward("random", {}, s, table, tmp_path) for s in seeds]
    diff = [a - b for a, b in zip(learned, rnd, strict=True)]
    t = statistics.mean(diff) / (statistics.stdev(diff) / len(diff) ** 0.5)
    assert statistics.mean(diff) > 0 and t > 3.0, (
        statistics.mean(learned),
        statistics.mean(rnd),
        t,
    )
