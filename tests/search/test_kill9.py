"""A search killed with SIGKILL at random moments and resumed ends with exactly the journal of
an uninterrupted run: the same rows (timings and workers aside), nothing lost, nothing twice."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from search_helpers import content_rows, synthetic_table

from nasgen.search.journal import JOURNAL_NAME

_CLI = [sys.executable, "-c", "from nasgen.cli import main; main()"]


def _search(table: Path, out: Path) -> list[str]:
    return [
        *_CLI, "search", "nb201", "--evaluator", f"table:{table}", "--metric", "valid",
        "--budget", "400", "--seed", "7", "--max-params", "900000", "-o", str(out),
    ]  # fmt: skip


@pytest.mark.slow
def test_kill_9_at_ten_random_moments_then_resume(tmp_path: Path) -> None:
    table = synthetic_table(tmp_path / "t.csv", seed=3)
    reference = tmp_path / "reference"
    subprocess.run(_search(table, reference), check=True, capture_output=True)
    killed = tmp_path / "killed"
    rng = random.Random(11)
    kills = 0
    for _ in range(10):
        started = (killed / JOURNAL_NAME).exists()
        cmd = [*_CLI, "search", "--resume", str(killed)] if started else _search(table, killed)
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.6))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
    assert kills >= 8  # the moments fell inside the search, not after it ended
    subprocess.run([*_CLI, "search", "--resume", str(killed)], check=True, capture_output=True)
    expected, got = content_rows(reference), content_rows(killed)
    assert len(got) == len(expected) and got == expected
    statuses = {row[4] for row in got}
    assert statuses <= {"done", "rejected", "duplicate"}
    assert sorted((reference / "best").iterdir()) != [] and [
        p.read_text() for p in sorted((reference / "best").iterdir())
    ] == [p.read_text() for p in sorted((killed / "best").iterdir()) if p.suffix == ".cell"]
