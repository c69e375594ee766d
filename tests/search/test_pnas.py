"""PNAS: the first step, the beam's expansion, the surrogate's fit, exact resume, the recorded
rank correlations, several workers, clear errors, the CLI, and a statistically sound win over
random search on a table whose optimum is known."""

from __future__ import annotations

import collections
import itertools
import json
import random
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from search_helpers import TINY_SPACE, tiny_additive_table

from nasgen.cli import main
from nasgen.errors import NasgenError
from nasgen.search.base import Proposal, Told
from nasgen.search.config import SearchConfig
from nasgen.search.evaluators.table import TableEvaluator
from nasgen.search.executors import InlineExecutor
from nasgen.search.journal import Journal
from nasgen.search.loop import Search
from nasgen.search.results import ranked
from nasgen.search.strategies import make_strategy
from nasgen.search.strategies import surrogate as surrogate_module
from nasgen.search.strategies.pnas import PNAS
from nasgen.search.strategies.surrogate import Surrogate, spearman
from nasgen.space import load_space

# Two cells: the first has two decisions a block, the second one; two blocks each. The 1-block
# cells are decisions 0, 1 and 4 (12 of them); a 2-block cell adds decisions 2, 3 and 5.
SIZES = (2, 3, 2, 2, 2, 3)
BLOCKS_OF = (0, 0, 1, 1, 0, 1)
# One cell of three blocks (an input and an op each), for the longer runs.
CHAIN = (2, 3, 3, 3, 4, 3)
CHAIN_BLOCKS = (0, 0, 1, 1, 2, 2)
SMALL = {"ensemble": 2, "hidden": 12, "epochs": 20}

Vector = tuple[int, ...]


def _told(choices: Vector, reward: float | None, arch_hash: str = "") -> Told:
    return Told(Proposal(0, choices, "", arch_hash), reward)


def _additive(sizes: tuple[int, ...], blocks_of: tuple[int, ...], seed: int = 0) -> Any:
    """A reward that sums a weight per (decision, option) over the decisions present."""
    rng = random.Random(seed)
    weights = [[rng.uniform(0, 1) for _ in range(s)] for s in sizes]
    where = {
        sum(1 for b in blocks_of if b < n): [i for i, b in enumerate(blocks_of) if b < n]
        for n in range(1, max(blocks_of) + 2)
    }

    def reward(v: Vector) -> float:
        return sum(weights[i][x] for i, x in zip(where[len(v)], v, strict=True))

    return reward


def test_the_first_step_proposes_every_1_block_cell_that_fits_the_beam() -> None:
    pnas = PNAS(SIZES, 0, beam=12, predictor="mlp", blocks_of=BLOCKS_OF, **SMALL)
    asked = [pnas.ask() for _ in range(12)]
    assert sorted(asked) == list(itertools.product(range(2), range(3), range(2)))
    other = PNAS(SIZES, 1, beam=5, predictor="mlp", blocks_of=BLOCKS_OF, **SMALL)
    drawn = [other.ask() for _ in range(5)]
    assert len(set(drawn)) == 5 and all(len(v) == 3 for v in drawn)  # distinct, uniform
    assert drawn != asked[:5]


def test_the_children_of_a_cell_are_it_with_every_possible_next_block() -> None:
    pnas = PNAS(SIZES, 0, beam=3, predictor="mlp", blocks_of=BLOCKS_OF, **SMALL)
    expected = [(1, 2, x, y, 0, z) for x in range(2) for y in range(2) for z in range(3)]
    assert pnas.children((1, 2, 0)) == expected  # new slots interleaved, cell by cell
    assert len(pnas.children(())) == 12
    reward = _additive(SIZES, BLOCKS_OF)
    told = []
    while pnas.step == 0:
        v = pnas.ask()
        told.append(v)
        pnas.tell(_told(v, reward(v)))
    parents = sorted(told, key=reward, reverse=True)[:3]
    family = sorted({c for p in parents for c in pnas.children(p)})
    assert pnas.blocks == 2 and pnas.ranked is not None and len(pnas.ranked) == 6
    assert set(pnas.ranked) <= set(family)  # children of the beam only
    predicted = dict(zip(family, pnas.surrogate.predict(family), strict=True))
    scores = [predicted[c] for c in pnas.ranked]
    assert scores == sorted(scores, reverse=True)  # best first
    assert min(scores) >= max(s for c, s in predicted.items() if c not in pnas.ranked)
    asked = [pnas.ask() for _ in range(3)]
    assert asked == pnas.ranked[:3]


def test_a_large_expansion_is_sampled_evenly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(surrogate_module, "MAX_CHILDREN", 8)  # 3 parents x 12 children: 2 each
    pnas = PNAS(SIZES, 0, beam=3, predictor="mlp", blocks_of=BLOCKS_OF, **SMALL)
    reward = _additive(SIZES, BLOCKS_OF)
    while pnas.step == 0:
        v = pnas.ask()
        pnas.tell(_told(v, reward(v)))
    assert pnas.ranked is not None and 0 < len(pnas.ranked) <= 6
    per_parent = collections.Counter((c[0], c[1], c[4]) for c in pnas.ranked)
    assert len(per_parent) == 3 and max(per_parent.values()) <= 2
    assert all(len(pnas.ask()) == 6 for _ in range(10))  # then uniform 2-block cells


def test_duplicates_do_not_count_and_the_parents_are_distinct() -> None:
    pnas = PNAS(SIZES, 0, beam=2, predictor="mlp", blocks_of=BLOCKS_OF, **SMALL)
    a, b, c = pnas.ask(), pnas.ask(), pnas.ask()
    pnas.tell(_told(a, 5.0, "h1"))
    pnas.tell(_told(b, 5.0, "h1"))  # the same architecture as a, told with its reward
    assert pnas.step == 0 and pnas.step_new == 1
    pnas.tell(_told(c, 1.0, "h2"))
    assert pnas.step == 1  # two new architectures: the step is over
    assert pnas._parents(1) == [a, c]


@pytest.mark.parametrize("predictor", ["mlp", "lstm"])
def test_the_surrogate_ranks_held_out_cells_of_an_additive_reward(predictor: str) -> None:
    sizes, blocks_of = (2, 2, 8, 8, 3, 3, 8, 8), (0, 0, 0, 0, 1, 1, 1, 1)
    reward = _additive(sizes, blocks_of, seed=1)
    rng = random.Random(2)
    cells = [tuple(rng.randrange(s) for s in sizes) for _ in range(400)]
    cells += [tuple(rng.randrange(s) for s in sizes[:4]) for _ in range(40)]  # 1-block ones too
    surrogate = Surrogate(sizes, blocks_of, 2, predictor, 2, hidden=24, epochs=30)
    train, held_out = cells[:240] + cells[400:], cells[240:400]
    surrogate.fit(train, [reward(v) for v in train], seed=0)
    rho = spearman(surrogate.predict(held_out), [reward(v) for v in held_out])
    assert rho is not None and rho > 0.8, rho


def test_spearman_of_ties_and_constant_inputs() -> None:
    assert spearman([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 1, 2], [1, 2, 3]) == pytest.approx(0.8660254)
    assert spearman([1, 1], [1, 2]) is None and spearman([1], [1]) is None


def _schedule(asks: int, workers: int) -> list[str]:
    """The loop's order of calls: ask ahead while fewer than ``workers`` results are out."""
    ops, out, asked = [], 0, 0
    while asked < asks:
        if out < workers:
            ops.append("ask")
            asked, out = asked + 1, out + 1
        else:
            ops.append("tell")
            out -= 1
    return ops


def _play(
    pnas: PNAS,
    ops: list[str],
    asked: list[Vector],
    told: int,
    reward: Callable[[Vector], float],
    states: list[tuple[dict[str, Any], int, int]] | None = None,
) -> list[Vector]:
    for op in ops:
        if op == "ask":
            asked.append(pnas.ask())
        else:
            v = asked[told]
            pnas.tell(_told(v, None if told % 7 == 3 else reward(v)))  # some fail
            told += 1
        if states is not None:
            states.append((pnas.state_dict(), len(asked), told))
    return asked


def _through_json(state: dict[str, Any]) -> dict[str, Any]:
    """The state as the journal keeps it: JSON, with bytes stored aside and handed back."""
    blobs: list[bytes] = []

    def out(x: Any) -> Any:
        if isinstance(x, bytes):
            blobs.append(x)
            return {"$blob": len(blobs) - 1}
        if isinstance(x, dict):
            return {k: out(v) for k, v in x.items()}
        return [out(v) for v in x] if isinstance(x, list) else x

    def back(x: Any) -> Any:
        if isinstance(x, dict):
            return blobs[x["$blob"]] if set(x) == {"$blob"} else {k: back(v) for k, v in x.items()}
        return [back(v) for v in x] if isinstance(x, list) else x

    result: dict[str, Any] = back(json.loads(json.dumps(out(state))))
    return result


@pytest.mark.parametrize("predictor", ["mlp", "lstm"])
def test_a_restored_state_proposes_the_same_future(predictor: str) -> None:
    params: dict[str, Any] = {"beam": 4, "predictor": predictor, "blocks_of": CHAIN_BLOCKS, **SMALL}
    reward = _additive(CHAIN, CHAIN_BLOCKS, seed=3)
    ops = _schedule(80, workers=2)
    states: list[tuple[dict[str, Any], int, int]] = []
    reference = _play(PNAS(CHAIN, 5, **params), ops, [], 0, reward, states)
    steps = [s["step"] for s, _, _ in states]
    after_refit = [k for k in range(1, len(states)) if steps[k] != steps[k - 1]]
    for k in set(range(1, len(states))) - set(after_refit):  # packed once per retraining
        assert states[k][0]["weights"] is states[k - 1][0]["weights"]
    mid_step = [k for k, (s, _, _) in enumerate(states) if s["pending"] and s["taken"] == 2]
    in_last = [k for k in after_refit if states[k][0]["blocks"] == 3]
    points = [0, mid_step[1], after_refit[0], after_refit[1], in_last[1]]
    assert all(states[k][1] <= len(reference) - 30 for k in points)  # 30+ asks to compare
    for k in points:
        state, asked, told = states[k]
        restored = PNAS(CHAIN, 5, **params)
        restored.load_state_dict(_through_json(state))
        assert restored.state_dict() == state
        again = _play(restored, ops[k + 1 :], list(reference[:asked]), told, reward)
        assert again == reference, k
        assert restored.state_dict() == states[-1][0]


def test_the_rank_correlation_is_recorded_per_step() -> None:
    pnas = PNAS(CHAIN, 0, beam=4, predictor="mlp", blocks_of=CHAIN_BLOCKS, **SMALL)
    reward = _additive(CHAIN, CHAIN_BLOCKS, seed=4)
    seen: dict[int, list[tuple[float, float]]] = {}  # step -> (prediction when asked, reward)
    for _ in range(40):
        step, v = pnas.step, pnas.ask()
        if pnas.step == step and pnas.surrogate.members:
            seen.setdefault(step, []).append((pnas.surrogate.predict([v])[0], reward(v)))
        pnas.tell(_told(v, reward(v)))
    entries = pnas.state_dict()["rank_correlations"]
    assert [e["step"] for e in entries] == list(range(1, pnas.step))  # no surrogate at step 0
    assert [e["blocks"] for e in entries][:3] == [2, 3, 3] and all(e["n"] == 4 for e in entries)
    for e in entries:
        predicted, rewards = zip(*seen[e["step"]], strict=True)
        assert e["spearman"] == pytest.approx(spearman(predicted, rewards))


def test_more_workers_get_candidates_beyond_the_beam_then_uniform_cells() -> None:
    pnas = PNAS(SIZES, 0, beam=2, predictor="mlp", blocks_of=BLOCKS_OF, **SMALL)
    asked = [pnas.ask() for _ in range(20)]  # nothing told yet: never blocks, never raises
    assert sorted(asked[:12]) == list(itertools.product(range(2), range(3), range(2)))
    assert all(len(v) == 6 for v in asked[12:]) and len(set(asked)) == 20
    one = PNAS(SIZES, 0, beam=2, blocks=1, predictor="mlp", blocks_of=BLOCKS_OF, **SMALL)
    reward = _additive(SIZES, BLOCKS_OF)
    for _ in range(14):  # B = 1: the surrogate ranks the 1-block cells, then uniform ones
        v = one.ask()
        assert len(v) == 3
        one.tell(_told(v, reward(v)))


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"beam": 0}, "beam=0"),
        ({"ensemble": 0}, "ensemble=0"),
        ({"predictor": "gru"}, "predictor=gru"),
        ({"blocks": 3}, "blocks=3 is not from 0 to the space's 2"),
        ({"blocks": -1}, "blocks=-1"),
    ],
)
def test_bad_parameters_are_clear_errors(params: dict[str, Any], words: str) -> None:
    with pytest.raises(NasgenError) as err:
        PNAS(SIZES, 0, blocks_of=BLOCKS_OF, **params)
    assert err.value.code == "E856" and words in err.value.message and err.value.hint


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


@pytest.mark.slow
def test_a_pnas_search_from_the_cli(tmp_path: Path) -> None:
    out = tmp_path / "run"
    code, text = _cli(
        "search", "pnas", "--strategy", "pnas", "--evaluator", "proxy:params",
        "--budget", "12", "--param", "beam=4", "-o", str(out),
    )  # fmt: skip
    assert code == 0, text
    assert sorted(p.name for p in (out / "best").glob("*.cell")) == [
        f"{i}.cell" for i in range(1, 6)
    ]
    journal = Journal.open(out)
    last = journal.last_state()
    rows = list(journal.trials())
    journal.close()
    assert last is not None and [e["blocks"] for e in last[2]["rank_correlations"]] == [2, 3]
    assert [len(r.choices) for r in rows] == [4] * 4 + [8] * 4 + [12] * 4  # 1, 2, 3 blocks
    code, text = _cli(
        "search", "pnas", "--strategy", "pnas", "--evaluator", "proxy:params",
        "--budget", "2", "--param", "predictor=gru", "-o", str(tmp_path / "bad"),
    )  # fmt: skip
    assert code == 1 and "E856" in text


def _best(
    strategy: str, params: dict[str, Any], seed: int, table: TableEvaluator, tmp: Path
) -> float:
    space = load_space(TINY_SPACE)
    config = SearchConfig(TINY_SPACE, "tiny", strategy, "table:x", "score", seed, 60, params=params)
    journal = Journal.create(tmp / f"{strategy}{seed}", config.to_json())
    chosen = make_strategy(strategy, space.decisions(), seed, params)
    search = Search(journal, config, space, chosen, InlineExecutor(table))
    search.run()
    best = ranked(search.rows, 1)[0].reward
    journal.close()
    assert best is not None
    return best


@pytest.mark.slow
def test_pnas_beats_random_search_over_many_seeds(tmp_path: Path) -> None:
    path, optimum = tiny_additive_table(tmp_path / "tiny.csv")
    table = TableEvaluator(str(path))
    params = {"beam": 8, "blocks": 0, "predictor": "mlp", "ensemble": 2, "hidden": 16, "epochs": 30}
    seeds = range(12)
    found = [_best("pnas", params, s, table, tmp_path) for s in seeds]
    rnd = [_best("random", {}, s, table, tmp_path) for s in seeds]
    diff = [a - b for a, b in zip(found, rnd, strict=True)]
    t = statistics.mean(diff) / (statistics.stdev(diff) / len(diff) ** 0.5)
    assert statistics.mean(diff) > 0 and t > 3.0, (statistics.mean(found), statistics.mean(rnd), t)
    assert statistics.mean(found) > optimum - 1.0  # within the noise of the known optimum
