"""DARTS and ENAS through ``nasgen search``: a journal trial per epoch, exact resume after
``kill -9``, the derived cells as files, the report's heat map, and clear refusals."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from search_helpers import content_rows, journal_trials, kill_when

from nasgen import api
from nasgen.cli import main
from nasgen.search.journal import JOURNAL_NAME, Journal

_CLI = [sys.executable, "-c", "from nasgen.cli import main; main()"]

TINY = {
    "darts": [
        "darts", "--strategy", "darts", "--param", "C=4", "--param", "layers=3",
    ],
    "gdas": [
        "darts", "--strategy", "darts", "--param", "gumbel=true", "--param", "C=4",
        "--param", "layers=3",
    ],
    "enas-chain": [
        "enas_chain", "--strategy", "enas", "--param", "C=4", "--param", "controller_steps=2",
        "--param", "aggregate=3", "--param", "derive=6",
    ],
    "enas": [
        "enas_micro", "--strategy", "enas", "--param", "C=4", "--param", "layers=3",
        "--param", "controller_steps=3", "--param", "aggregate=4", "--param", "derive=8",
    ],
}  # fmt: skip


def _args(label: str, out: Path, epochs: int, batches: int = 4) -> list[str]:
    return [
        "search", *TINY[label], "--evaluator", f"train:digits,batch=32,max_batches={batches}",
        "--budget", str(epochs), "--seed", "3", "-o", str(out),
    ]  # fmt: skip


def _checkpoint(directory: Path) -> bytes | None:
    journal = Journal.open(directory)
    try:
        return journal.checkpoint()
    finally:
        journal.close()


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(TINY))
def test_a_short_search_writes_every_epoch_and_its_derived_cell(tmp_path: Path, label: str) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(main, _args(label, out, 3))
    assert result.exit_code == 0, result.output
    assert "3 epochs of" in result.output and "derived:" in result.output
    rows = content_rows(out)
    assert len(rows) == 3
    journal = Journal.open(out)
    trials = list(journal.trials())
    states = [state for _, state in journal.states()]
    journal.close()
    assert [t.trial for t in trials] == [0, 1, 2] and all(t.status == "done" for t in trials)
    assert all(t.reward == t.metrics["valid_acc"] for t in trials)
    assert len(states) == 3 and all(set(s["arch"]) for s in states)
    for t in trials:  # every epoch's cell is a file, with its text, compiling on the skeleton
        path = out / "epochs" / f"{t.trial + 1:03d}.cell"
        assert path.read_text().endswith(t.text)
        assert api.analyze(path.read_text()).cost.params == t.params
    assert (out / "derived.cell").read_text() == (out / "epochs" / "003.cell").read_text()
    png = tmp_path / "heat.png"
    report = CliRunner().invoke(main, ["search", "report", str(out), "--heatmap", str(png)])
    assert report.exit_code == 0, report.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert report.output.count("epoch ") >= 3
    again = CliRunner().invoke(main, ["search", "--resume", str(out)])  # nothing left to run
    assert again.exit_code == 0 and content_rows(out) == rows


@pytest.mark.slow
def test_darts_learns_on_digits_and_its_cell_changes(tmp_path: Path) -> None:
    """The short real run: the loss falls, the alphas leave uniform, the derived cell moves."""
    out = tmp_path / "run"
    result = CliRunner().invoke(
        main, [*_args("darts", out, 4, batches=10), "--param", "arch_lr=0.003"]
    )
    assert result.exit_code == 0, result.output
    journal = Journal.open(out)
    trials = list(journal.trials())
    states = [state for _, state in journal.states()]
    journal.close()
    losses = [t.metrics["train_loss"] for t in trials]
    assert losses[-1] < 0.8 * losses[0]
    assert trials[-1].metrics["valid_acc"] > 0.3  # 10 classes: chance is 0.1
    first, last = states[0]["arch"]["normal"]["values"], states[-1]["arch"]["normal"]["values"]
    moved = max(
        abs(a - b) for ra, rb in zip(first, last, strict=True) for a, b in zip(ra, rb, strict=True)
    )
    assert moved > 0.005 and max(max(r) for r in last) > 1 / 8 + 0.005
    assert len({t.arch_hash for t in trials}) > 1


@pytest.mark.slow
@pytest.mark.parametrize("label", ["darts", "enas"])
def test_kill_9_mid_epoch_then_resume_gives_the_uninterrupted_journal(
    tmp_path: Path, label: str
) -> None:
    epochs = 3
    reference = tmp_path / "reference"
    run = [*_CLI, *_args(label, reference, epochs, batches=3)]
    subprocess.run(run, check=True, capture_output=True)
    killed = tmp_path / "killed"
    journal = killed / JOURNAL_NAME
    rng = random.Random(5)
    kills = 0
    for target in (1, 2):  # after this many epochs are written, plus a random delay
        cmd = (
            [*_CLI, "search", "--resume", str(killed)]
            if journal.exists()
            else [*_CLI, *_args(label, killed, epochs, batches=3)]
        )
        kills += kill_when(cmd, journal, target, rng.uniform(0, 0.5), limit=120)
    assert kills == 2 and journal_trials(journal) < epochs
    subprocess.run([*_CLI, "search", "--resume", str(killed)], check=True, capture_output=True)
    assert content_rows(killed) == content_rows(reference)
    assert _checkpoint(killed) == _checkpoint(reference)  # the supernet and optimizers too
    for name in ("derived.cell", "epochs/002.cell"):
        assert (killed / name).read_text() == (reference / name).read_text()


DARTS = ["darts", "--strategy", "darts", "--evaluator", "train:digits"]


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        (["darts", "--strategy", "darts", "--evaluator", "table:nb201"], "E866"),
        (["nb201", "--strategy", "darts", "--evaluator", "train:digits"], "E868"),
        (["nb201", "--strategy", "enas", "--evaluator", "train:digits"], "E868"),
        (["darts", "--strategy", "darts", "--evaluator", "train:digits,epochs=3"], "E866"),
        (["darts", "--strategy", "darts", "--evaluator", "train:digits", "--workers", "2"], "E853"),
        (
            ["darts", "--strategy", "darts", "--evaluator", "train:digits", "--metric", "rewrd"],
            "E854",
        ),
        (
            ["darts", "--strategy", "darts", "--evaluator", "train:digits", "--param", "order=3"],
            "E856",
        ),
        (
            ["darts", "--strategy", "enas", "--evaluator", "train:digits", "--device", "cuda:99"],
            "E867",
        ),
        (["nb201", "--evaluator", "table:nb201", "--device", "cuda"], "E853"),
        ([*DARTS, "--time-budget", "5"], "E853"),
        ([*DARTS, "--max-params", "9"], "E853"),
        ([*DARTS, "--param", "lr=nan"], "E850"),
        ([DARTS[0], "--strategy", "enas", *DARTS[3:], "--param", "tanh=inf"], "E850"),
        ([*DARTS, "--variant", "serch"], "E220"),
        ([*DARTS, "--metric", "valid_loss"], "E854"),
    ],
)
def test_bad_one_shot_searches_are_refused_and_leave_nothing(
    tmp_path: Path, extra: list[str], code: str
) -> None:
    out = tmp_path / "run"
    args = ["search", *extra, "-o", str(out)]
    args += ["--budget", "2"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert code in result.output and "Traceback" not in result.output
    assert not out.exists()  # a refused search leaves no journal behind


def test_a_one_shot_method_is_not_a_multi_trial_strategy(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "search", "compare", "darts", "--strategies", "random,darts", "--evaluator",
            "train:digits", "--seeds", "1", "--budget", "1", "-o", str(tmp_path / "c"),
        ],
    )  # fmt: skip
    assert result.exit_code == 1 and "E866" in result.output


def test_the_result_is_the_last_epoch_and_a_resume_may_move_device(tmp_path: Path) -> None:
    import json

    out = tmp_path / "run"
    assert CliRunner().invoke(main, _args("darts", out, 2, batches=2)).exit_code == 0
    report = CliRunner().invoke(main, ["search", "report", str(out), "--json"])
    data = json.loads(report.output)
    assert data["epochs"] == 2 and data["derived"]["epoch"] == 2
    assert data["derived"]["text"] == content_rows(out)[-1][2]
    assert len(data["architecture_by_epoch"]) == 2
    moved = CliRunner().invoke(main, ["search", "--resume", str(out), "--device", "cpu"])
    assert moved.exit_code == 0, moved.output
    refused = CliRunner().invoke(main, ["search", "--resume", str(out), "--device", "cuda:5"])
    assert refused.exit_code == 1 and "E867" in refused.output
