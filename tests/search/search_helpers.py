"""Helpers of the search tests: a synthetic NB-201 table and journal rows without timings."""

from __future__ import annotations

import csv
import gzip
import itertools
import random
import signal
import sqlite3
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from nasgen.dsl import parse_text, resolve
from nasgen.dsl.foreign import export_nb201
from nasgen.dsl.printer import print_module
from nasgen.review import architecture_hash
from nasgen.search.config import SearchConfig
from nasgen.search.evaluators.table import TableEvaluator
from nasgen.search.executors import InlineExecutor
from nasgen.search.journal import TIMING_COLUMNS, Journal
from nasgen.search.loop import Search
from nasgen.search.results import ranked
from nasgen.search.strategies import make_strategy
from nasgen.space import load_space


def synthetic_table(path: Path, *, seed: int = 0, drop: int = 0, cost: bool = False) -> Path:
    """A table over every NB-201 cell with seeded metrics (``drop`` cells left out)."""
    space = load_space("nb201")
    rng = random.Random(seed)
    sizes = [d.size for d in space.decisions()]
    rows = []
    for vector in itertools.product(*(range(s) for s in sizes)):
        arch = export_nb201(space.decode(vector))
        row = [arch, f"{rng.uniform(10, 90):.4f}", f"{rng.uniform(10, 90):.4f}"]
        rows.append([*row, f"{rng.uniform(100, 200):.1f}"] if cost else row)
    rng.shuffle(rows)
    rows = rows[drop:]
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", newline="") as fh:  # type: ignore[operator]
        writer = csv.writer(fh)
        writer.writerow(["arch", "valid", "test", *(["cost"] if cost else [])])
        writer.writerows(rows)
    return path


def content_rows(directory: Path) -> list[tuple[object, ...]]:
    """The journal's trial rows without the columns that say when and where."""
    journal = Journal.open(directory)
    columns = journal.columns()
    keep = [i for i, c in enumerate(columns) if c not in TIMING_COLUMNS]
    rows = [tuple(r[i] for i in keep) for r in journal.rows()]
    journal.close()
    return rows


def additive_table(path: Path) -> Path:
    """NB-201 cells scored by a sum of per-edge op scores plus noise: the optimum is known."""
    space = load_space("nb201")
    rng = random.Random(42)
    weights = [[rng.uniform(0, 10) for _ in range(5)] for _ in range(6)]
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["arch", "score"])
        for vector in itertools.product(range(5), repeat=6):
            score = sum(w[v] for w, v in zip(weights, vector, strict=True))
            writer.writerow([export_nb201(space.decode(vector)), f"{score + rng.gauss(0, 1):.4f}"])
    return path


def best_reward(
    strategy: str,
    params: dict[str, object],
    seed: int,
    table: TableEvaluator,
    tmp: Path,
    *,
    count_duplicates: bool = False,
) -> float:
    space = load_space("nb201")
    text = (Path(__file__).parents[2] / "genotypes" / "spaces" / "nb201.cell").read_text()
    config = SearchConfig(
        text, "nb201", strategy, "table:x", "score", seed, 60, params=params,
        count_duplicates=count_duplicates,
    )  # fmt: skip
    journal = Journal.create(tmp / f"{strategy}{seed}", config.to_json())
    strategy_ = make_strategy(strategy, space.decisions(), seed, params)
    search = Search(journal, config, space, strategy_, InlineExecutor(table))
    search.run()
    best = ranked(search.rows, 1)[0].reward
    journal.close()
    assert best is not None
    return best


# A tiny growable space (3 blocks, 1 input each) and a table of every 1-, 2- and 3-block cell:
# what PNAS needs to be scored at every step.
TINY_SPACE = """nasgen 2
name "tiny"
space cell normal(h_prev, h) {
  blocks = 3
  inputs = choose(1)
  ops = [sep_conv_3x3, max_pool_3x3, avg_pool_3x3, sep_conv_5x5]
  combine = add
  output = loose_ends
}
network {
  N = 1
  F = 8
  reductions = 1
  reduction_mode = stride_normal
  stem = conv3x3
  normal = normal
  head = relu_gap
  classes = 10
  input_size = 8
}
"""


def tiny_additive_table(path: Path) -> tuple[Path, float]:
    """Every 1-, 2- and 3-block cell of the tiny space by hash, scored by a sum plus noise."""
    space = load_space(TINY_SPACE)
    rng = random.Random(42)
    weights = [[rng.uniform(0, 10) for _ in range(d.size)] for d in space.decisions()]
    rows: dict[str, float] = {}
    for blocks in (1, 2, 3):
        sizes = [d.size for d in space.with_blocks(blocks).decisions()]
        for vector in itertools.product(*(range(s) for s in sizes)):
            text = print_module(space.decode(vector))
            score = sum(w[x] for w, x in zip(weights, vector, strict=False)) + rng.gauss(0, 1)
            rows.setdefault(architecture_hash(resolve(parse_text(text))), score)
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["hash", "score"])
        writer.writerows((k, f"{v:.4f}") for k, v in rows.items())
    return path, max(rows.values())


def journal_trials(journal: Path) -> int:
    """Trials a journal file holds now, read-only (0 while it does not exist or is created)."""
    if not journal.exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=5)
        try:
            return int(conn.execute("SELECT COUNT(*) FROM trials").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:  # the journal is being created
        return 0


def kill_when(cmd: Sequence[str], journal: Path, trials: int, delay: float, limit: float) -> bool:
    """Run ``cmd``; SIGKILL it ``delay`` seconds after its journal holds ``trials`` trials.

    The moment is chosen by progress, not by the clock, so it falls inside the run however
    fast the machine is. Returns whether the process was still running to be killed.
    """
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + limit
    while proc.poll() is None and journal_trials(journal) < trials and time.monotonic() < deadline:
        time.sleep(0.002)
    time.sleep(delay)
    killed = proc.poll() is None
    if killed:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    return killed
