"""REINFORCE and PPO over per-decision logits and NASNet's LSTM controller: the baseline, the
direction of an update, PPO's clip, batches, exact resume, and statistically sound wins over
random search on a table whose optimum is known."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import pytest
import torch
from search_helpers import additive_table, best_reward

from nasgen.errors import NasgenError
from nasgen.policy.controller import LSTMPolicy
from nasgen.search.base import Proposal, Told
from nasgen.search.evaluators.table import TableEvaluator
from nasgen.search.strategies.ppo import PPO, clipped_objective
from nasgen.search.strategies.reinforce import Reinforce


def _told(choices: tuple[int, ...], reward: float | None) -> Told:
    return Told(Proposal(0, choices, "", ""), reward)


def _probs(agent: Reinforce) -> list[list[float]]:
    return [torch.softmax(x.detach(), 0).tolist() for x in agent.policy.logits]


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
        agent.policy.logits[0].copy_(torch.tensor([0.0, math.log(3.0)], dtype=torch.float64))
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
        Reinforce((2,), seed=0, controller="gru")
    assert err.value.code == "E856"
    assert "controller=lstm" in (err.value.hint or "")


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


def test_the_lstm_scores_what_it_samples() -> None:
    """Sampling step by step and scoring the whole sequence at once agree."""
    policy = LSTMPolicy((3, 4, 2, 5), hidden=8, layers=2, seed=0)
    gen = torch.Generator().manual_seed(0)
    drawn = [policy.sample(gen) for _ in range(20)]
    log_p, entropy = policy.log_prob([c for c, _ in drawn])
    assert log_p.tolist() == pytest.approx([p for _, p in drawn], abs=1e-12)
    assert all(0 < h < math.log(3 * 4 * 2 * 5) for h in entropy.tolist())
    assert all(float(p.detach().abs().max()) <= 0.1 for p in policy.parameters())


def test_the_lstm_conditions_on_earlier_choices() -> None:
    policy = LSTMPolicy((3, 3), hidden=8, layers=1, seed=1)
    with torch.no_grad():
        a, _ = policy.log_prob([(0, 1), (2, 1)])
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        first = torch.log_softmax(policy.heads[0](policy.lstm(policy.start)[0][0, -1]), 0)
    assert float(a[0] - first[0]) != pytest.approx(float(a[1] - first[2]), abs=1e-9)
    choices, _ = policy.sample(gen)
    assert len(choices) == 2 and all(0 <= c < 3 for c in choices)


def test_reinforce_with_the_lstm_learns_in_the_right_direction() -> None:
    agent = Reinforce((4, 4, 4), seed=0, lr=0.05, controller="lstm", hidden=16, layers=1)
    good = (3, 0, 2)
    before = agent._log_prob(good)
    agent.tell(_told((1, 1, 1), 0.0))
    for _ in range(5):
        agent.tell(_told(good, 5.0))
        agent.tell(_told((1, 1, 1), 0.0))
    assert agent._log_prob(good) > before + 0.5


def test_ppo_clips_the_ratio() -> None:
    """A hand computation: ratios 0.5, 1 and 2 with advantages +1, +1, -1, eps 0.2."""
    old = torch.zeros(3, dtype=torch.float64)
    log_p = torch.log(torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64)).requires_grad_(True)
    adv = torch.tensor([1.0, 1.0, -1.0], dtype=torch.float64)
    surrogate, outside = clipped_objective(log_p, old, adv, 0.2)
    # min(0.5, 0.8) = 0.5; min(1, 1) = 1; min(-2, -1.2) = -2: mean -1/6
    assert float(surrogate.detach()) == pytest.approx((0.5 + 1.0 - 2.0) / 3)
    assert float(outside) == pytest.approx(2 / 3)
    surrogate.backward()
    grad = log_p.grad.tolist()  # d/dlog_p of ratio*A/3 where unclipped: ratio*A/3
    assert grad == pytest.approx([0.5 / 3, 1 / 3, -2 / 3])
    log_p2 = torch.log(torch.tensor([1.5], dtype=torch.float64)).requires_grad_(True)
    s2, _ = clipped_objective(log_p2, torch.zeros(1, dtype=torch.float64), torch.ones(1), 0.2)
    s2.backward()
    assert float(s2.detach()) == pytest.approx(1.2) and log_p2.grad.tolist() == [
        0.0
    ]  # clipped: no push


def test_ppo_updates_once_per_batch_with_the_old_probabilities() -> None:
    agent = PPO((3, 3), seed=0, batch=3, lr=0.05, hidden=8)
    weights = agent.state_dict()["weights"]
    told = []
    for i in range(2):
        c = agent.ask()
        told.append(c)
        agent.tell(Told(Proposal(i, c, "", ""), float(i)))
    assert agent.updates == 0 and agent.state_dict()["weights"] is weights  # packed once
    c = agent.ask()
    assert set(agent.pending) == {"2"}
    agent.tell(Told(Proposal(2, c, "", ""), 9.0))
    assert agent.updates == 1 and agent.pending == {} and agent.batch == []
    assert agent.state_dict()["weights"] != weights
    assert agent.baseline == pytest.approx(0.95 * (0.05 * 1.0) + 0.05 * 9.0)  # from the first


def test_ppo_raises_the_probability_of_the_best_of_a_batch() -> None:
    agent = PPO((4, 4), seed=1, batch=4, lr=0.05, controller="logits")
    vectors = [(0, 0), (1, 1), (2, 2), (3, 3)]
    before = agent.policy.log_prob(vectors)[0].tolist()
    for i, v in enumerate(vectors):
        agent.pending[str(i)] = before[i]
        agent.tell(Told(Proposal(i, v, "", ""), 10.0 if v == (3, 3) else 0.0))
    after = agent.policy.log_prob(vectors)[0].tolist()
    assert after[3] > before[3] and all(a < b for a, b in zip(after[:3], before[:3], strict=True))


@pytest.mark.parametrize("make", [
    lambda: Reinforce((5,) * 6, seed=3, lr=0.05, controller="lstm", batch=4, hidden=12),
    lambda: PPO((5,) * 6, seed=3, lr=0.05, batch=4, hidden=12),
    lambda: PPO((5,) * 6, seed=3, lr=0.05, batch=3, controller="logits"),
], ids=["reinforce-lstm", "ppo-lstm", "ppo-logits"])  # fmt: skip
def test_a_restored_controller_proposes_and_learns_the_same(make: object) -> None:
    a = make()  # type: ignore[operator]
    trial = 0
    for _ in range(10):
        c = a.ask()
        a.tell(Told(Proposal(trial, c, "", ""), float(sum(c))))
        trial += 1
    pending = a.ask()  # restored with an ask outstanding and a batch half full
    b = make()  # type: ignore[operator]
    b.load_state_dict(a.state_dict())
    for agent in (a, b):
        agent.tell(Told(Proposal(trial, pending, "", ""), float(sum(pending))))
    for t in range(trial + 1, trial + 15):
        ca, cb = a.ask(), b.ask()
        assert ca == cb
        a.tell(Told(Proposal(t, ca, "", ""), float(sum(ca))))
        b.tell(Told(Proposal(t, cb, "", ""), float(sum(cb))))
    assert a.state_dict() == b.state_dict()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("strategy", "params"),
    [
        ("ppo", {"controller": "lstm", "lr": 0.02, "batch": 5, "hidden": 16, "entropy": 0.0}),
        ("reinforce", {"controller": "lstm", "lr": 0.02, "batch": 1, "hidden": 16, "layers": 1}),
    ],
    ids=["ppo-lstm", "reinforce-lstm"],
)
def test_controllers_beat_random_search_over_many_seeds(
    tmp_path: Path, strategy: str, params: dict[str, object]
) -> None:
    from nasgen.search.strategies import parse_params

    table = TableEvaluator(str(additive_table(tmp_path / "additive.csv")))
    full = parse_params(strategy, [f"{k}={v}" for k, v in params.items()])
    seeds = range(16)
    # Repeats count against the budget (as in NB-201's loops): a controller that has converged
    # within 60 evaluations would otherwise sample duplicates until the idle limit.
    learned = [
        best_reward(strategy, full, s, table, tmp_path, count_duplicates=True) for s in seeds
    ]
    rnd = [best_reward("random", {}, s, table, tmp_path, count_duplicates=True) for s in seeds]
    diff = [a - b for a, b in zip(learned, rnd, strict=True)]
    t = statistics.mean(diff) / (statistics.stdev(diff) / len(diff) ** 0.5)
    assert statistics.mean(diff) > 0 and t > 3.0, (
        statistics.mean(learned),
        statistics.mean(rnd),
        t,
    )
