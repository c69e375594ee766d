"""Training: the loss falls on the embedded data, drop path and the auxiliary loss act in training
only, the recipe is recorded, a killed run resumes to the same weights, runs export to ONNX."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import nasgen
from nasgen.cli import main
from nasgen.training.recipe import RECIPES, learning_rate
from nasgen.training.session import start_training
from nasgen.training.trainer import fit

_CLI = [sys.executable, "-c", "from nasgen.cli import main; main()"]


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def test_the_loss_falls_on_the_embedded_digits(tmp_path: Path) -> None:
    job = start_training(
        "nb201_example", "digits", tmp_path / "run", seed=0,
        recipe={"epochs": 4, "batch_size": 32, "lr": 0.05}, settings={"N": 1, "F": 8},
    )  # fmt: skip
    history = fit(job)
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]
    assert history[-1]["train_loss"] < 0.7 * history[0]["train_loss"]
    assert history[-1]["valid_acc"] > 0.5  # ten classes: chance is 0.1
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["recipe"]["lr"] == 0.05 and config["recipe"]["weight_decay"] == 5e-4
    assert config["recipe"]["nesterov"] is True  # NB-201's own recipe under the overrides
    assert config["synthetic_data"] is False and "digits" in config["data_source"].lower()
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2, 3, 4]


def test_drop_path_and_the_auxiliary_head_act_in_training_only() -> None:
    model = nasgen.compile("darts_v2", N=1, F=8, seed=0, drop_path=0.5)
    x = torch.randn(4, 3, 32, 32)
    model.train()
    model.set_progress(1.0)
    torch.manual_seed(0)
    first = model(x)
    torch.manual_seed(1)
    second = model(x)
    assert isinstance(first, tuple) and isinstance(second, tuple)  # (logits, aux logits)
    assert not torch.equal(first[0], second[0])  # drop path draws new masks
    model.eval()
    with torch.no_grad():
        a, b = model(x), model(x)
    assert isinstance(a, torch.Tensor) and torch.equal(a, b)


def test_the_learning_rate_follows_the_recipes() -> None:
    darts = RECIPES["darts"]
    assert learning_rate(darts, 0) == pytest.approx(0.025)
    assert learning_rate(darts, 300) == pytest.approx(0.0125)
    enas = RECIPES["enas"]  # SGDR: restarts after 10, 30, 70... epochs
    assert learning_rate(enas, 0) == pytest.approx(0.05)
    assert learning_rate(enas, 10) == pytest.approx(0.05)
    assert learning_rate(enas, 9) < 0.01 and learning_rate(enas, 29) < 0.01
    assert sum(10 * 2**i for i in range(6)) == enas.epochs == 630


def _train_cmd(out: Path) -> list[str]:
    return [
        *_CLI, "train", "nb201_example", "--data", "digits", "--N", "1", "--F", "8",
        "--epochs", "8", "--batch-size", "16", "--max-batches", "25", "--seed", "3", "-q",
        "-o", str(out),
    ]  # fmt: skip


def _committed(run: Path) -> int:
    try:
        return int(json.loads((run / "state.json").read_text())["epoch"])
    except (OSError, ValueError, KeyError):
        return -1


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return nasgen.load(path).state_dict()


@pytest.mark.slow
def test_a_run_killed_with_sigkill_resumes_to_the_same_weights(tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    start = time.monotonic()
    subprocess.run(_train_cmd(reference), check=True, capture_output=True)
    epoch_seconds = (time.monotonic() - start) / 8  # an upper bound: it includes the start-up
    killed = tmp_path / "killed"
    rng = random.Random(5)
    kills = 0
    # Three moments chosen by progress (the committed epoch), then a random point inside the
    # next epoch, so the kills land mid-epoch however fast the machine is.
    for target in sorted(rng.sample(range(0, 6), 3)):
        started = (killed / "config.json").exists()
        cmd = [*_CLI, "train", "--resume", str(killed), "-q"] if started else _train_cmd(killed)
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while proc.poll() is None and _committed(killed) < target and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.5) * epoch_seconds)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
    assert kills == 3  # each while the run was going
    subprocess.run([*_CLI, "train", "--resume", str(killed), "-q"], check=True, capture_output=True)
    a, b = _weights(reference / "last.safetensors"), _weights(killed / "last.safetensors")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)  # bit-identical on the CPU
    ref = json.loads((reference / "state.json").read_text())["history"]
    got = json.loads((killed / "state.json").read_text())["history"]
    keys = ("epoch", "lr", "train_loss", "train_acc", "valid_loss", "valid_acc")
    assert [[h[k] for k in keys] for h in ref] == [[h[k] for k in keys] for h in got]


def test_cli_train_report_and_export(tmp_path: Path) -> None:
    run = tmp_path / "run"
    code, out = _run(
        "train", "nb201_example", "--N", "1", "--F", "4", "--epochs", "1", "--max-batches", "3",
        "-q", "-o", str(run),
    )  # fmt: skip
    assert code == 0, out
    assert json.loads(out[out.index("{") :])["epochs"] == 1
    code, out = _run("train", "report", str(run), "--plot", str(tmp_path / "c.png"))
    assert code == 0 and "epoch" in out
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    code, out = _run("export", str(run / "best.safetensors"), "-o", str(tmp_path / "m.onnx"))
    assert code == 0, out
    code, out = _run("train", "nb201_example", "-o", str(run))
    assert code == 1 and "E920" in out
    code, out = _run("train", "--resume", str(tmp_path))
    assert code == 1 and "E921" in out
    code, out = _run(
        "train", "nb201_example", "--data", "cifar10:/nonexistent", "-o", str(tmp_path / "x")
    )
    assert code == 1 and "Traceback" not in out


def test_the_train_evaluator_in_a_search(tmp_path: Path) -> None:
    code, out = _run(
        "search", "nb201", "--evaluator", "train:digits,epochs=1,max_batches=2,batch=32",
        "--budget", "2", "--seed", "1", "-o", str(tmp_path / "s"), "--json",
    )  # fmt: skip
    assert code == 0, out
    summary = json.loads(out[out.index("{") :])
    assert summary["reward_metric"] == "valid_acc" and summary["counts"]["done"] == 2
    best = summary["best"]
    assert 0.0 <= best["reward"] <= 1.0 and best["cost"] > 0
    assert set(best["metrics"]) >= {"valid_acc", "train_loss", "params"}


def test_mixed_precision_and_channels_last_paths_run(tmp_path: Path) -> None:
    # CUDA's defaults, exercised on the CPU (bfloat16 autocast and NHWC exist there too).
    job = start_training(
        "nb201_example", "digits", tmp_path / "run", seed=0, recipe={"epochs": 1},
        settings={"N": 1, "F": 4}, amp=True, channels_last=True, max_batches=3,
    )  # fmt: skip
    assert job.speed.amp and job.speed.channels_last
    history = fit(job)
    assert history[0]["train_loss"] == history[0]["train_loss"]  # finite, not NaN
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["amp"] is True and config["channels_last"] is True


def test_the_train_evaluator_is_deterministic_given_the_seed() -> None:
    from nasgen.api import load_source
    from nasgen.search.evaluators.train import TrainEvaluator

    evaluator = TrainEvaluator("digits,epochs=1,max_batches=3,batch=32")
    text = load_source("nb201_example").text
    first, again, other = (evaluator.evaluate(text, s) for s in (4, 4, 5))
    assert first.metrics == again.metrics
    assert first.metrics != other.metrics
    assert first.cost > 0 and first.error is None


def test_broken_run_files_are_clear_errors_and_a_bare_config_resumes(tmp_path: Path) -> None:
    run = tmp_path / "run"
    code, out = _run(
        "train", "nb201_example", "--N", "1", "--F", "4", "--epochs", "1", "--max-batches", "2",
        "-q", "-o", str(run),
    )  # fmt: skip
    assert code == 0, out
    state = (run / "state.json").read_text()
    (run / "state.json").write_text(state[:-5])
    for args in (("train", "--resume", str(run)), ("train", "report", str(run))):
        code, out = _run(*args)
        assert code == 1 and "E921" in out and "state.json" in out
    # Killed after config.json and before anything else: the run restarts from its seed.
    (run / "state.json").unlink()
    for old in (run / "checkpoints").iterdir():
        old.unlink()
    (run / "checkpoints").rmdir()
    code, out = _run("train", "--resume", str(run), "-q")
    assert code == 0, out
    config = json.loads((run / "config.json").read_text())
    config["recipe"]["bogus"] = 1
    (run / "config.json").write_text(json.dumps(config))
    code, out = _run("train", "--resume", str(run))
    assert code == 1 and "E921" in out and "config.json" in out
