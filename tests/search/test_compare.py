"""`nasgen search compare`: seeds 0..K-1 of each strategy, tables that recompute, resumable."""

from __future__ import annotations

import json
import shutil
import statistics
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from search_helpers import content_rows, synthetic_table

from nasgen.cli import main
from nasgen.search.compare import (
    Tally,
    define_comparison,
    open_comparison,
    run_comparison,
    run_folder,
)
from nasgen.search.journal import Journal
from nasgen.search.results import ranked

STRATEGIES = ("random", "rea", "reinforce")
SEEDS, BUDGET = 3, 12
OUTPUTS = ("summary.json", "table.json", "table.md", "anytime.json", "anytime.png")
ARGS = (
    "--strategies", ",".join(STRATEGIES), "--evaluator", "table:nb201",
    "--metric", "cifar10_valid", "--report", "cifar10_test", "--seeds", str(SEEDS),
    "--budget", str(BUDGET), "--param", "rea.population=5",
)  # fmt: skip


def compare(*args: str) -> Result:
    result = CliRunner().invoke(main, ["search", "compare", "nb201", *args])
    assert "Traceback" not in result.output, result.output
    return result


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def done(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    out = tmp_path_factory.mktemp("compare") / "cmp"
    result = compare(*ARGS, "-o", str(out))
    assert result.exit_code == 0, result.output
    return out, result


def test_every_seed_of_every_strategy_runs_as_an_ordinary_search(done: tuple[Path, Result]) -> None:
    out, _ = done
    runs = load(out / "summary.json")["runs"]
    assert [(r["strategy"], r["seed"]) for r in runs] == [
        (s, k) for s in STRATEGIES for k in range(SEEDS)
    ]
    for record in runs:
        folder = out / record["directory"]
        assert folder == out / "runs" / record["strategy"] / f"seed{record['seed']}"
        journal = Journal.open(folder)
        config, rows = journal.config, list(journal.trials())
        journal.close()
        assert (config["strategy"], config["seed"], config["budget"]) == (
            record["strategy"], record["seed"], BUDGET,
        )  # fmt: skip
        assert record["evaluations"] == BUDGET == sum(r.status == "done" for r in rows)
        best = ranked(rows, 1)[0]
        assert record["best"] == {
            "trial": best.trial, "text": best.text, "hash": best.arch_hash,
            "reward": best.reward, "metrics": best.metrics,
        }  # fmt: skip
        assert (folder / "best" / "1.cell").is_file()


def test_param_reaches_its_strategy_and_labels_it(done: tuple[Path, Result]) -> None:
    out, _ = done
    runs = load(out / "summary.json")["runs"]
    rea = [r for r in runs if r["strategy"] == "rea"]
    assert all(r["params"]["population"] == 5 and r["params"]["sample"] == 25 for r in rea)
    assert {r["label"] for r in rea} == {"rea(population=5)"}
    assert {r["label"] for r in runs if r["strategy"] != "rea"} == {"random", "reinforce"}
    journal = Journal.open(out / "runs" / "rea" / "seed0")
    assert journal.config["params"]["population"] == 5
    journal.close()


def _recompute(summary: dict[str, Any], label: str, column: str | None) -> tuple[float, float]:
    bests = [r["best"] for r in summary["runs"] if r["label"] == label]
    values = [b["reward"] if column is None else b["metrics"][column] for b in bests]
    return statistics.fmean(values), statistics.pstdev(values)


def test_the_table_recomputes_from_the_summary_and_labels_its_columns(
    done: tuple[Path, Result],
) -> None:
    out, result = done
    summary, table = load(out / "summary.json"), load(out / "table.json")
    assert summary["reward_metric"] == table["reward_metric"] == "cifar10_valid"
    assert summary["reported"] == table["reported"] == ["cifar10_test"]
    markdown = (out / "table.md").read_text(encoding="utf-8")
    assert result.stdout == markdown
    assert "| cifar10_valid (reward) | cifar10_test (reported) |" in markdown
    assert "Reward (guided every search): `cifar10_valid`" in markdown
    assert [row["label"] for row in table["rows"]] == ["random", "rea(population=5)", "reinforce"]
    for row in table["rows"]:
        mean, std = _recompute(summary, row["label"], None)
        assert row["reward"]["column"] == "cifar10_valid" and row["runs"] == SEEDS
        assert (row["reward"]["mean"], row["reward"]["std"]) == pytest.approx((mean, std))
        test_mean, test_std = _recompute(summary, row["label"], "cifar10_test")
        reported = row["reported"]["cifar10_test"]
        assert (reported["mean"], reported["std"]) == pytest.approx((test_mean, test_std))
        cells = f"{mean:.2f} ± {std:.2f} | {test_mean:.2f} ± {test_std:.2f}"
        assert f"| {row['label']} | {SEEDS} | {cells} |" in markdown


def test_anytime_curves_one_per_strategy_ending_at_the_table(done: tuple[Path, Result]) -> None:
    out, _ = done
    anytime, table = load(out / "anytime.json"), load(out / "table.json")
    curves = anytime["evaluations"]
    assert [c["label"] for c in curves] == [row["label"] for row in table["rows"]]
    assert anytime["simulated_seconds"] is None  # the bundled table has no cost column
    for curve, row in zip(curves, table["rows"], strict=True):
        assert curve["x"] == list(range(1, BUDGET + 1)) and curve["runs"] == [SEEDS] * BUDGET
        assert all(len(curve[k]) == BUDGET for k in ("mean", "std", "min", "max"))
        assert curve["mean"][-1] == pytest.approx(row["reward"]["mean"])
        assert curve["min"] == sorted(curve["min"])  # the best so far never drops
    pytest.importorskip("matplotlib")
    assert (out / "anytime.png").read_bytes().startswith(b"\x89PNG")


def test_the_same_command_again_skips_finished_runs_and_rewrites_nothing(
    done: tuple[Path, Result],
) -> None:
    out, _ = done
    before = {name: (out / name).stat().st_mtime_ns for name in OUTPUTS}
    rows = {r: content_rows(out / "runs" / r / "seed0") for r in STRATEGIES}
    result = compare(*ARGS, "-o", str(out), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == load(out / "table.json")
    assert "0 runs started, 0 resumed, 9 finished earlier" in result.stderr
    assert {name: (out / name).stat().st_mtime_ns for name in OUTPUTS} == before
    assert {r: content_rows(out / "runs" / r / "seed0") for r in STRATEGIES} == rows


class _Interrupt(Exception):  # noqa: N818  (not an error: a Ctrl-C)
    pass


def test_an_interrupted_comparison_finishes_only_what_is_missing(
    done: tuple[Path, Result], tmp_path: Path
) -> None:
    reference, _ = done
    out = tmp_path / "cmp"
    comparison, evaluator = define_comparison(
        "nb201", [",".join(STRATEGIES)], "table:nb201", seeds=SEEDS, budget=BUDGET,
        metric="cifar10_valid", report=["cifar10_test"], params=["rea.population=5"],
    )  # fmt: skip
    open_comparison(out, comparison)

    def stop(tally: Tally) -> None:  # a Ctrl-C in the middle of rea's seed 1 (the fifth run)
        if tally.done >= 4 * BUDGET + 5:
            raise _Interrupt

    with pytest.raises(_Interrupt):
        run_comparison(out, comparison, evaluator, stop)
    rea = comparison.entries[1]
    partial = content_rows(run_folder(out, rea, 1))
    assert len([r for r in partial if r[4] == "done"]) == 5
    random = comparison.entries[0]
    finished = {k: content_rows(run_folder(out, random, k)) for k in range(3)}
    result = compare(*ARGS, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "4 runs started, 1 resumed, 4 finished earlier" in result.stderr
    assert {k: content_rows(run_folder(out, random, k)) for k in range(3)} == finished
    assert content_rows(run_folder(out, rea, 1))[:5] == partial
    for entry, seed in comparison.runs():
        assert content_rows(run_folder(out, entry, seed)) == content_rows(
            run_folder(reference, entry, seed)
        )
    assert load(out / "summary.json")["runs"] == load(reference / "summary.json")["runs"]
    assert (out / "table.md").read_text() == (reference / "table.md").read_text()


def test_a_folder_holding_anything_else_is_refused(
    done: tuple[Path, Result], tmp_path: Path
) -> None:
    out, _ = done
    manifest = (out / "compare.json").read_bytes()
    other = [a if a != str(BUDGET) else "13" for a in ARGS]
    result = compare(*other, "-o", str(out))
    assert result.exit_code == 1 and "E872" in result.output
    assert "budget 12 there, 13 now" in result.output
    assert (out / "compare.json").read_bytes() == manifest
    result = compare(*ARGS[:-2], "-o", str(out))  # rea with its default population
    assert result.exit_code == 1 and "E872" in result.output and "strategies" in result.output
    search = out / "runs" / "random" / "seed0"
    result = compare(*ARGS, "-o", str(search))
    assert result.exit_code == 1 and "E871" in result.output and "holds a search" in result.output
    (tmp_path / "notes.txt").write_text("mine")
    result = compare(*ARGS, "-o", str(tmp_path))
    assert result.exit_code == 1 and "E871" in result.output
    swapped = tmp_path / "swapped"
    shutil.copytree(out, swapped)
    seeds = swapped / "runs" / "random"
    (seeds / "seed0").rename(seeds / "tmp")
    (seeds / "seed1").rename(seeds / "seed0")
    (seeds / "tmp").rename(seeds / "seed1")
    result = compare(*ARGS, "-o", str(swapped))
    assert result.exit_code == 1 and "E873" in result.output and "random seed 0" in result.output


@pytest.mark.parametrize(
    ("change", "code", "text"),
    [
        ({"--strategies": "random,raa"}, "E851", "did you mean 'rea'?"),
        ({"--strategies": "random,random"}, "E870", "random twice"),
        ({"--seeds": "0"}, "Error", "--seeds"),
        ({"--evaluator": "tabel:nb201"}, "E833", "did you mean 'table'?"),
        ({"--evaluator": "table:missing.csv"}, "E830", "no such file"),
        ({"--metric": "cifar10_vlid"}, "E854", "did you mean 'cifar10_valid'?"),
        ({"--report": "cifar10_tst"}, "E854", "did you mean 'cifar10_test'?"),
        ({"--param": "rea.populaton=5"}, "E850", "did you mean 'population'?"),
        ({"--param": "raa.population=5"}, "E850", "did you mean 'rea'?"),
        ({"--param": "population=5"}, "E850", "STRATEGY.KEY=VALUE"),
        ({"--param": "rea.population=0"}, "E855", "tournament"),
    ],
)
def test_bad_names_and_values_exit_1_with_a_message(
    change: dict[str, str], code: str, text: str, tmp_path: Path
) -> None:
    args = list(ARGS)
    for option, value in change.items():
        args[args.index(option) + 1] = value
    result = compare(*args, "-o", str(tmp_path / "cmp"))
    assert result.exit_code == 1 and code in result.output and text in result.output
    assert not (tmp_path / "cmp").exists()


def test_a_cost_column_gives_curves_against_simulated_seconds(tmp_path: Path) -> None:
    table = synthetic_table(tmp_path / "t.csv", cost=True)
    out = tmp_path / "cmp"
    result = compare(
        "--strategies", "random,rea", "--evaluator", f"table:{table}", "--metric", "valid",
        "--seeds", "2", "--budget", "8", "-o", str(out), "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["reported"] == ["test"]
    assert [r["label"] for r in shown["rows"]] == ["random", "rea"]
    anytime = load(out / "anytime.json")
    timed = anytime["simulated_seconds"]
    assert [c["label"] for c in timed] == ["random", "rea"]
    end = max(c["x"][-1] for c in timed)
    for curve, row in zip(timed, shown["rows"], strict=True):
        assert 1 < len(curve["x"]) <= 101 and curve["x"] == sorted(curve["x"])
        assert curve["mean"][-1] == pytest.approx(row["reward"]["mean"])
    totals = [sum_costs(out, s, k) for s in ("random", "rea") for k in (0, 1)]
    assert end == pytest.approx(max(totals))


def sum_costs(out: Path, strategy: str, seed: int) -> float:
    journal = Journal.open(out / "runs" / strategy / f"seed{seed}")
    total = sum(r.cost or 0.0 for r in journal.trials() if r.status == "done")
    journal.close()
    return total


def test_without_matplotlib_the_curves_are_json_and_the_png_is_explained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    out = tmp_path / "cmp"
    result = compare(
        "--strategies", "random", "--evaluator", "table:nb201", "--seeds", "1", "--budget", "3",
        "-o", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (out / "anytime.json").is_file() and not (out / "anytime.png").exists()
    assert 'pip install "nasgen[plot]"' in result.stderr


def test_search_compare_reaches_compare_not_run() -> None:
    result = CliRunner().invoke(main, ["search", "compare", "--help"])
    assert result.exit_code == 0 and "Compare strategies" in result.output
    assert "--strategies" in result.output and "--seeds" in result.output


def test_other_reported_columns_change_the_table_and_no_run(
    done: tuple[Path, Result], tmp_path: Path
) -> None:
    out = tmp_path / "cmp"
    shutil.copytree(done[0], out)
    rows = {r: content_rows(out / "runs" / r / "seed1") for r in STRATEGIES}
    args = [a if a != "cifar10_test" else "cifar100_test,cifar10_test" for a in ARGS]
    result = compare(*args, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "9 finished earlier" in result.stderr
    assert load(out / "table.json")["reported"] == ["cifar100_test", "cifar10_test"]
    assert "| cifar100_test (reported) | cifar10_test (reported) |" in result.stdout
    assert {r: content_rows(out / "runs" / r / "seed1") for r in STRATEGIES} == rows
