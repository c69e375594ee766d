"""The search loop, its journal and the table evaluator: reproducible, resumable, honest errors."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from search_helpers import content_rows, synthetic_table

from nasgen.cli import main
from nasgen.search.journal import Journal


def run_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def test_random_search_on_the_bundled_table_writes_compilable_best_cells(tmp_path: Path) -> None:
    out = tmp_path / "run"
    code, text = run_cli(
        "search", "nb201", "--strategy", "random", "--evaluator", "table:nb201",
        "--metric", "cifar10_valid", "--budget", "100", "--seed", "0", "-o", str(out), "--json",
    )  # fmt: skip
    assert code == 0, text
    summary = json.loads(text[text.index("{") :])
    assert summary["reward_metric"] == "cifar10_valid" and summary["counts"]["done"] == 100
    best = summary["best"]
    assert best["reward"] == best["metrics"]["cifar10_valid"] and "cifar10_test" in best["metrics"]
    assert best["foreign"]["nb201"].startswith("|")
    first = (out / "best" / "1.cell").read_text()
    assert "# reward (guided the search): cifar10_valid" in first
    code, compiled = run_cli("compile", str(out / "best" / "1.cell"))
    assert code == 0 and "total:" in compiled


def test_the_same_seed_gives_the_same_journal(tmp_path: Path) -> None:
    table = synthetic_table(tmp_path / "t.csv")
    for name in ("a", "b", "c"):
        seed = "1" if name != "c" else "2"
        code, out = run_cli(
            "search", "nb201", "--evaluator", f"table:{table}", "--metric", "valid",
            "--budget", "40", "--seed", seed, "-o", str(tmp_path / name),
        )  # fmt: skip
        assert code == 0, out
    assert content_rows(tmp_path / "a") == content_rows(tmp_path / "b")
    assert content_rows(tmp_path / "a") != content_rows(tmp_path / "c")


def test_failed_evaluations_are_recorded_and_the_search_goes_on(tmp_path: Path) -> None:
    table = synthetic_table(tmp_path / "t.csv.gz", drop=8000)  # about half the cells missing
    code, out = run_cli(
        "search", "nb201", "--evaluator", f"table:{table}", "--metric", "valid",
        "--budget", "30", "-o", str(tmp_path / "run"),
    )  # fmt: skip
    assert code == 0, out
    rows = list(Journal.open(tmp_path / "run").trials())
    failed = [r for r in rows if r.status == "failed"]
    done = [r for r in rows if r.status == "done"]
    assert failed and done and len(failed) + len(done) == 30
    assert all("has no row for |" in (r.error or "") for r in failed)
    assert all(r.reward is None for r in failed)


def test_constraints_reject_before_evaluating(tmp_path: Path) -> None:
    table = synthetic_table(tmp_path / "t.csv")
    code, out = run_cli(
        "search", "nb201", "--evaluator", f"table:{table}", "--metric", "valid",
        "--budget", "20", "--max-params", "300000", "-o", str(tmp_path / "run"),
    )  # fmt: skip
    assert code == 0, out
    rows = list(Journal.open(tmp_path / "run").trials())
    rejected = [r for r in rows if r.status == "rejected"]
    assert rejected and all(r.params is not None and r.params > 300_000 for r in rejected)
    assert all("above the bound 300,000" in (r.error or "") for r in rejected)
    assert all(not r.metrics and r.reward is None for r in rejected)
    evaluated = [r for r in rows if r.status == "done"]
    assert len(evaluated) == 20 and all((r.params or 0) <= 300_000 for r in evaluated)


def test_time_budget_counts_the_tables_simulated_cost(tmp_path: Path) -> None:
    table = synthetic_table(tmp_path / "t.csv", cost=True)
    code, out = run_cli(
        "search", "nb201", "--evaluator", f"table:{table}", "--metric", "valid",
        "--time-budget", "1000", "-o", str(tmp_path / "run"),
    )  # fmt: skip
    assert code == 0, out
    rows = [r for r in Journal.open(tmp_path / "run").trials() if r.status == "done"]
    spent = sum(r.cost or 0.0 for r in rows)
    assert 1000 <= spent < 1000 + 200  # stops at the first evaluation past the budget
    assert 5 <= len(rows) <= 11


def test_clear_errors_for_bad_runs(tmp_path: Path) -> None:
    table = synthetic_table(tmp_path / "t.csv")
    run = tmp_path / "run"
    base = [
        "search",
        "nb201",
        "--evaluator",
        f"table:{table}",
        "--metric",
        "valid",
        "--budget",
        "3",
    ]
    assert run_cli(*base, "-o", str(run))[0] == 0
    code, out = run_cli(*base, "-o", str(run))
    assert code == 1 and "E840" in out and "--resume" in out  # a DIR that holds another search
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    code, out = run_cli(*base, "-o", str(mine))
    assert code == 1 and "E840" in out and (mine / "notes.txt").read_text() == "mine"
    code, out = run_cli("search", "--resume", str(mine))
    assert code == 1 and "E842" in out
    bogus = tmp_path / "bogus"
    bogus.mkdir()
    sqlite3.connect(bogus / "journal.sqlite").execute("CREATE TABLE x (y)").connection.close()
    code, out = run_cli("search", "--resume", str(bogus))
    assert code == 1 and "not a nasgen search journal" in out
    code, out = run_cli(
        "search",
        "nb201",
        "--evaluator",
        "table:/no/such.csv",
        "--budget",
        "3",
        "-o",
        str(tmp_path / "x"),
    )
    assert code == 1 and "E830" in out and not (tmp_path / "x").exists()
    code, out = run_cli(*base[:-2], "--metric", "vaild", "--budget", "3", "-o", str(tmp_path / "y"))
    assert code == 1 and "E854" in out
    code, out = run_cli(
        "search",
        "nb2O1",
        "--evaluator",
        f"table:{table}",
        "--budget",
        "3",
        "-o",
        str(tmp_path / "z"),
    )
    assert code == 1 and "did you mean 'nb201'" in out
    code, out = run_cli(*base, "--param", "population=10", "-o", str(tmp_path / "w"))
    assert code == 1 and "E850" in out


def test_a_table_keyed_by_nb201_strings_refuses_other_spaces(tmp_path: Path) -> None:
    code, out = run_cli(
        "search", "darts", "--evaluator", "table:nb201", "--budget", "2", "-o", str(tmp_path / "r")
    )
    assert code == 0, out
    rows = list(Journal.open(tmp_path / "r").trials())
    assert all(r.status == "failed" and "keyed by NB-201 strings" in (r.error or "") for r in rows)


def test_report_lists_every_trial_and_plots(tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert (
        run_cli("search", "nb201", "--evaluator", "table:nb201", "--budget", "12", "-o", str(run))[
            0
        ]
        == 0
    )
    code, out = run_cli("search", "report", str(run), "--json", "--plot", str(tmp_path / "c.png"))
    assert code == 0, out
    data = json.loads(out[out.index("{") :])
    assert len(data["trials_detail"]) == 12
    for trial in data["trials_detail"]:
        assert trial["foreign"]["nb201"].count("+") == 2 and trial["text"].startswith("nasgen 1")
        assert set(trial["metrics"]) >= {"cifar10_valid", "cifar10_test"}
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, out = run_cli("search", "report", str(run))
    assert code == 0 and "reward cifar10_valid" in out


@pytest.mark.slow
def test_two_workers_write_the_same_journal_as_one(tmp_path: Path) -> None:
    table = synthetic_table(tmp_path / "t.csv")
    for name, workers in (("one", "1"), ("two", "2")):
        code, out = run_cli(
            "search", "nb201", "--evaluator", f"table:{table}", "--metric", "valid",
            "--budget", "16", "--seed", "5", "--workers", workers, "-o", str(tmp_path / name),
        )  # fmt: skip
        assert code == 0, out
    assert content_rows(tmp_path / "one") == content_rows(tmp_path / "two")


def test_a_proxy_search_says_which_proxy_guided_it(tmp_path: Path) -> None:
    code, out = run_cli(
        "search", "nb201", "--evaluator", "proxy:params,macs", "--metric", "params",
        "--budget", "6", "--seed", "2", "-o", str(tmp_path / "p"), "--json",
    )  # fmt: skip
    assert code == 0, out
    summary = json.loads(out[out.index("{") :])
    assert summary["evaluator"] == "proxy:params,macs" and summary["reward_metric"] == "params"
    rows = list(Journal.open(tmp_path / "p").trials())
    assert all(r.reward == r.params and r.metrics["macs"] == r.macs for r in rows)
    assert summary["best"]["reward"] == max(r.params or 0 for r in rows)


def test_a_journal_with_a_broken_configuration_is_a_clear_error(tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert (
        run_cli("search", "nb201", "--evaluator", "table:nb201", "--budget", "2", "-o", str(run))[0]
        == 0
    )
    conn = sqlite3.connect(run / "journal.sqlite")
    conn.execute("UPDATE meta SET value = '{broken' WHERE key = 'config'")
    conn.commit()
    conn.close()
    for args in (("search", "--resume", str(run)), ("search", "report", str(run))):
        code, out = run_cli(*args)
        assert code == 1 and "E842" in out and "configuration is broken" in out
