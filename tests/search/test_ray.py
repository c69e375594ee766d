"""Trials on a real local Ray cluster: the same journal as a local search, a worker killed
mid-trial retried and journaled (every trial once, the same results), the driver killed and
resumed, and clear errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from search_helpers import (
    TINY_SPACE,
    content_rows,
    kill_when,
    synthetic_table,
    tiny_additive_table,
)

from nasgen.errors import NasgenError
from nasgen.search.builder import build_search, prepare
from nasgen.search.config import SearchConfig
from nasgen.search.executors import ExecutorOptions
from nasgen.search.journal import JOURNAL_NAME, Journal
from nasgen.search.ray_executor import RayExecutor, import_ray
from nasgen.search.strategies import parse_params

ray = pytest.importorskip("ray")  # the dev extra installs it; CI runs these
_CLI = [sys.executable, "-c", "from nasgen.cli import main; main()"]
RAY = ExecutorOptions("ray")


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    """A local Ray cluster (GCS, raylet and worker processes) for the module's tests."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield
    finally:
        ray.shutdown()


PARAMS: dict[str, dict[str, object]] = {
    "random": {},
    "pnas": {"beam": 4, "predictor": "mlp", "ensemble": 1},
    "rea": {"population": 6, "sample": 3},
    "reinforce": {"lr": 0.05},
    "ppo": {"batch": 4, "hidden": 16},
}


def _config(
    space: str, evaluator: str, budget: int, workers: int = 2, strategy: str = "rea"
) -> tuple[SearchConfig, object]:  # fmt: skip
    ready = prepare(space, None, evaluator, None, None)
    config = SearchConfig(
        ready.space_text, ready.space_name, strategy, evaluator, ready.metric, 5, budget,
        params=parse_params(strategy, [f"{k}={v}" for k, v in PARAMS[strategy].items()]),
        workers=workers,
    )  # fmt: skip
    return config, ready.evaluator


def _search(
    folder: Path,
    space: str,
    evaluator: str,
    budget: int,
    executor: ExecutorOptions | None,
    strategy: str = "rea",
    workers: int = 2,
) -> Journal:
    config, built = _config(space, evaluator, budget, workers, strategy)
    journal = Journal.create(folder, config.to_json())
    build_search(journal, config, built, executor).run()  # type: ignore[arg-type]
    return journal


@pytest.mark.parametrize("strategy", ["random", "rea", "reinforce", "ppo", "pnas"])
def test_a_ray_search_writes_the_journal_of_a_local_one(
    cluster: None, tmp_path: Path, strategy: str
) -> None:
    """Every strategy unchanged (PPO in batches of 4, PNAS's steps): a local pool's rows."""
    if strategy == "pnas":  # a growable space whose every 1-3 block cell is in the table
        space = tmp_path / "tiny.cell"
        space.write_text(TINY_SPACE)
        where, table = str(space), tiny_additive_table(tmp_path / "t.csv")[0]
    else:
        where, table = "nb201", synthetic_table(tmp_path / "t.csv", seed=1)
    spec = f"table:{table}"
    local = _search(tmp_path / "local", where, spec, 24, None, strategy)
    remote = _search(tmp_path / "ray", where, spec, 24, RAY, strategy)
    workers = {r.worker for r in remote.trials() if r.status == "done"}
    local.close(), remote.close()
    assert content_rows(tmp_path / "ray") == content_rows(tmp_path / "local")
    assert all(w and w.startswith("ray:") for w in workers) and len(workers) == 2


def _kill_a_worker_mid_trial(stop: threading.Event, killed: list[int]) -> None:
    """SIGKILL the first Ray worker seen running a trial (its title is ray::_evaluate)."""
    while not stop.is_set() and not killed:
        out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
        pids = [int(line.split()[0]) for line in out.splitlines() if "ray::_evaluate" in line]
        if pids:
            time.sleep(0.05)
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])
        time.sleep(0.01)


def test_a_worker_killed_mid_trial_is_retried_once_and_journaled(
    cluster: None, tmp_path: Path
) -> None:
    spec = "train:digits,epochs=1,max_batches=3"
    stop, killed = threading.Event(), []
    killer = threading.Thread(target=_kill_a_worker_mid_trial, args=(stop, killed))
    killer.start()
    try:
        remote = _search(tmp_path / "ray", "nb201", spec, 4, RAY, "random")
    finally:
        stop.set()
        killer.join()
    assert killed, "no worker was seen running a trial"
    rows = list(remote.trials())
    failures = remote.failures()
    remote.close()
    assert [r.trial for r in rows] == list(range(len(rows)))  # every trial once
    assert sum(r.status == "done" for r in rows) == 4
    assert failures and all("WorkerCrashedError" in f[2] or "died" in f[2] for f in failures)
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as each Ray worker (one CPU a trial) trains, here inline
    try:  # random search asks alike for any number of workers
        local = _search(tmp_path / "local", "nb201", spec, 4, None, "random", workers=1)
    finally:
        torch.set_num_threads(threads)
    local_rows = list(local.trials())
    local.close()
    assert [(r.arch_hash, r.reward) for r in rows] == [(r.arch_hash, r.reward) for r in local_rows]


def test_the_driver_killed_resumes_with_the_same_journal(cluster: None, tmp_path: Path) -> None:
    table = synthetic_table(tmp_path / "t.csv", seed=2)
    base = [
        *_CLI, "search", "nb201", "--evaluator", f"table:{table}", "--metric", "valid",
        "--strategy", "rea", "--seed", "3", "--budget", "60", "--workers", "2",
        "--executor", "ray", "--address", "auto",
    ]  # fmt: skip
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    subprocess.run([*base, "-o", str(whole)], check=True, capture_output=True)
    assert kill_when([*base, "-o", str(cut)], cut / JOURNAL_NAME, 20, 0.05, 120)
    resumed = subprocess.run(
        [*_CLI, "search", "--resume", str(cut), "--executor", "ray", "--address", "auto"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert content_rows(cut) == content_rows(whole)


def test_an_evaluator_that_raises_is_a_failed_trial(cluster: None) -> None:
    executor = RayExecutor("table:/nonexistent/t.csv", None, RAY, 2)
    try:
        executor.submit(0, "nasgen 1\n", 0)
        found: list[object] = []
        deadline = time.monotonic() + 60
        while not found and time.monotonic() < deadline:
            found = list(executor.poll(timeout=1))
    finally:
        executor.close()
    assert len(found) == 1
    trial, result, _, _ = found[0]  # type: ignore[misc]
    assert trial == 0 and result.error and "evaluator raised" in result.error
    assert "nonexistent" in result.error


def test_back_pressure_holds_trials_on_the_driver(cluster: None, tmp_path: Path) -> None:
    table = synthetic_table(tmp_path / "t.csv")
    executor = RayExecutor(f"table:{table}", None, RAY, 1)
    try:
        for t in range(3):
            executor.submit(t, "nasgen 1\n", t)
        assert executor.pending() == 3 and len(executor._running) == 1
        done: list[int] = []
        deadline = time.monotonic() + 60
        while len(done) < 3 and time.monotonic() < deadline:
            done += [f[0] for f in executor.poll(timeout=1)]
            assert len(executor._running) <= 1
    finally:
        executor.close()
    assert sorted(done) == [0, 1, 2]


def test_ray_settings_need_the_ray_executor_and_ray(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from nasgen.cli import main

    out = CliRunner().invoke(main, [
        "search", "nb201", "--evaluator", "table:nb201", "--budget", "2", "--max-inflight", "3",
        "-o", str(tmp_path / "r"),
    ])  # fmt: skip
    assert out.exit_code == 1 and "E853" in out.output and "--executor ray" in out.output
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(NasgenError) as err:
        import_ray()
    assert err.value.code == "E875" and "nasgen[ray]" in (err.value.hint or "")


def test_compare_and_edf_run_their_trials_on_ray(cluster: None, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from nasgen.cli import main

    table = synthetic_table(tmp_path / "t.csv", seed=4)
    args = ["search", "compare", "nb201", "--strategies", "random,rea", "--evaluator",
            f"table:{table}", "--metric", "valid", "--seeds", "1", "--budget", "8"]  # fmt: skip
    here = CliRunner().invoke(main, [*args, "-o", str(tmp_path / "local"), "--json"])
    there = CliRunner().invoke(
        main, [*args, "-o", str(tmp_path / "ray"), "--json", "--executor", "ray"]
    )
    assert here.exit_code == 0 and there.exit_code == 0, there.output
    for run in ("random/seed0", "rea/seed0"):
        assert content_rows(tmp_path / "ray" / "runs" / run) == content_rows(
            tmp_path / "local" / "runs" / run
        )
    edf = CliRunner().invoke(main, [
        "space", "edf", "anynetx_e", "regnetx", "-n", "2", "--regime", "-1G", "--no-plot", "-q",
        "--evaluator", "train:digits,epochs=1,max_batches=1", "--executor", "ray",
        "-o", str(tmp_path / "edf"),
    ])  # fmt: skip
    assert edf.exit_code == 0, edf.output
    rows = list(Journal.open(tmp_path / "edf" / "regnetx").trials())
    assert [r.worker[:4] for r in rows if r.status == "done"] == ["ray:", "ray:"]


def test_a_trial_past_its_retries_fails_on_resume(cluster: None, tmp_path: Path) -> None:
    table = synthetic_table(tmp_path / "t.csv")
    executor = RayExecutor(f"table:{table}", None, RAY, 2, None, lambda trial: 3)
    try:
        executor.submit(7, "nasgen 1\n", 0)
        (trial, result, _, _), *rest = executor.poll(timeout=1)
    finally:
        executor.close()
    assert trial == 7 and not rest and "lost 3 times" in (result.error or "")


def test_max_inflight_above_workers_and_huge_reservations_are_refused(
    cluster: None, tmp_path: Path
) -> None:
    from nasgen.search.executors import make_executor

    table = f"table:{synthetic_table(tmp_path / 't.csv')}"
    with pytest.raises(NasgenError, match="above --workers"):
        make_executor(table, None, 2, lambda: None, ExecutorOptions("ray", max_inflight=3))  # type: ignore[arg-type,return-value]
    with pytest.raises(NasgenError) as err:
        RayExecutor(table, None, ExecutorOptions("ray", gpus_per_trial=1), 1)
    assert err.value.code == "E876" and "GPU" in err.value.message


def test_an_old_journal_has_no_failures_table_and_reads_as_none(tmp_path: Path) -> None:
    import sqlite3

    config, _ = _config("nb201", "table:nb201", 2)
    journal = Journal.create(tmp_path / "j", config.to_json())
    journal.close()
    conn = sqlite3.connect(tmp_path / "j" / JOURNAL_NAME)
    conn.execute("DROP TABLE failures")
    conn.commit()
    conn.close()
    journal = Journal.open(tmp_path / "j")
    assert journal.failures() == [] and journal.failure_count(0) == 0
    assert journal.add_failure(0, "lost", "ray:x") == 1 and journal.failure_count(0) == 1
    journal.close()
