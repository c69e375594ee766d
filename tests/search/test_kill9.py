"""A search killed with SIGKILL at random moments and resumed ends with exactly the journal of
an uninterrupted run: the same rows (timings and workers aside), nothing lost, nothing twice."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest
from search_helpers import (
    TINY_SPACE,
    content_rows,
    journal_trials,
    kill_when,
    synthetic_table,
    tiny_additive_table,
)

from nasgen.search.journal import JOURNAL_NAME

_CLI = [sys.executable, "-c", "from nasgen.cli import main; main()"]
KILLS = 6  # each restart pays torch's import: six moments a strategy keep the suite's budget


STRATEGIES = {
    "random": ["--budget", "1000"],
    "rea": ["--budget", "1000", "--param", "population=20", "--param", "sample=5"],
    # a learning strategy converges and then proposes duplicates: a smaller budget, a slow lr
    "reinforce": ["--budget", "300", "--param", "lr=0.01"],
    # NASNet's controller: its weights and Adam's moments travel as blobs; batches of 10
    "reinforce-lstm": [
        "--budget", "300", "--param", "controller=lstm", "--param", "batch=10",
        "--param", "hidden=16",
    ],
    "ppo": ["--budget", "300", "--param", "batch=10", "--param", "hidden=32"],
    # progressive steps of 8 on a space whose 1-, 2- and 3-block cells are all in its table:
    # ranked children, a surrogate refit after each step (its weights as blobs), the B phase
    "pnas": [
        "--budget", "150", "--param", "beam=8", "--param", "predictor=mlp",
        "--param", "ensemble=2",
    ],
}  # fmt: skip


def _setup(tmp: Path, label: str) -> tuple[str, Path, str]:
    """(SPACE argument, table, metric) of a case."""
    if label == "pnas":
        space = tmp / "tiny.cell"
        space.write_text(TINY_SPACE)
        return str(space), tiny_additive_table(tmp / "tiny.csv")[0], "score"
    return "nb201", synthetic_table(tmp / "t.csv", seed=3), "valid"


def _search(case: tuple[str, Path, str], out: Path, label: str = "random") -> list[str]:
    space, table, metric = case
    return [
        *_CLI, "search", space, "--evaluator", f"table:{table}", "--metric", metric,
        "--seed", "7", "--max-params", "900000", "-o", str(out),
        "--strategy", label.split("-")[0], *STRATEGIES[label],
    ]  # fmt: skip


def _last_state(directory: Path) -> dict[str, object]:
    from nasgen.search.journal import Journal

    journal = Journal.open(directory)
    try:
        last = journal.last_state()
    finally:
        journal.close()
    assert last is not None
    return last[2]


@pytest.mark.slow
@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_kill_9_at_six_random_moments_then_resume(tmp_path: Path, strategy: str) -> None:
    case = _setup(tmp_path, strategy)
    reference = tmp_path / "reference"
    subprocess.run(_search(case, reference, strategy), check=True, capture_output=True)
    total = len(content_rows(reference))
    killed = tmp_path / "killed"
    journal = killed / JOURNAL_NAME
    rng = random.Random(11)
    # Ten moments spread over the run, chosen by progress (trials journaled), not by the clock,
    # so they fall inside the search however fast the machine is; each gets a random jitter.
    targets = sorted(rng.sample(range(5, total - 60), KILLS))
    kills = 0
    for target in targets:
        cmd = (
            [*_CLI, "search", "--resume", str(killed)]
            if journal.exists()
            else _search(case, killed, strategy)
        )
        kills += kill_when(cmd, journal, target, rng.uniform(0, 0.01), limit=60)
    assert kills == KILLS  # every moment fell inside the search, before it ended
    assert journal_trials(journal) < total
    subprocess.run([*_CLI, "search", "--resume", str(killed)], check=True, capture_output=True)
    expected, got = content_rows(reference), content_rows(killed)
    assert len(got) == len(expected) and got == expected
    last = _last_state(killed)
    assert last == _last_state(reference)  # the learned weights too
    if strategy == "pnas":  # the run went through ranked steps and their refits
        assert len(last["rank_correlations"]) >= 3
    statuses = {row[4] for row in got}
    assert statuses <= {"done", "rejected", "duplicate"} and "done" in statuses
    best = sorted((reference / "best").glob("*.cell"))
    assert best and [p.read_text() for p in best] == [
        p.read_text() for p in sorted((killed / "best").glob("*.cell"))
    ]
