"""``nasgen train``: a genotype trained by its recipe into a run directory; resume; report.

Pipeline stage: user interface. Calls ``nasgen.training`` (torch) lazily, so other commands never
import it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from nasgen.cli.app import SEED_MAX, SOURCE, DefaultRunGroup, main, user_errors
from nasgen.errors import NasgenError

__all__ = ["train"]


@main.group(cls=DefaultRunGroup)
def train() -> None:
    """Train a genotype (or a checkpoint) by its convention's recipe; resume; report.

    `nasgen train SOURCE -o RUN` compiles SOURCE for the data (input channels, size, classes),
    trains it with the recipe of its convention (DARTS, NASNet, ENAS, NB-201; every value can
    be overridden) and writes RUN/config.json, metrics.jsonl, last.safetensors and
    best.safetensors (nasgen checkpoints: `nasgen export RUN/best.safetensors -o m.onnx`).
    `nasgen train --resume RUN` continues after any crash with the weights an uninterrupted
    run reaches. See `nasgen train run --help` for every option.

    \b
    Examples:
      nasgen train darts_v2 --epochs 2 --N 1 --F 8 -o train_run
      nasgen train --resume train_run
      nasgen train report train_run --plot train_run/curves.png
    """


_RECIPE_OPTIONS = (
    ("epochs", click.IntRange(min=1), "Epochs (recipe: 600 for DARTS CIFAR)."),
    ("batch-size", click.IntRange(min=1), "Batch size."),
    ("lr", click.FloatRange(min=0, min_open=True), "Initial learning rate."),
    ("momentum", click.FloatRange(0, 1), "SGD momentum."),
    ("weight-decay", click.FloatRange(min=0), "Weight decay."),
    ("drop-path", click.FloatRange(0, 1, max_open=True), "Final drop-path probability."),
    ("aux-weight", click.FloatRange(min=0), "Auxiliary loss weight."),
    ("cutout", click.IntRange(min=0), "Cutout square side (0: off)."),
    ("grad-clip", click.FloatRange(min=0), "Gradient clipping by global norm (0: off)."),
    (
        "valid-fraction",
        click.FloatRange(0, 1, max_open=True),
        "Hold out this part of the training set as validation (0: report the test split).",
    ),
)


def _recipe_options(fn: Any) -> Any:
    for name, kind, doc in reversed(_RECIPE_OPTIONS):
        fn = click.option(f"--{name}", type=kind, help=doc)(fn)
    return fn


def _progress(quiet: bool) -> tuple[Any, Any]:
    """Per-batch and per-epoch callbacks printing to stderr (a bar only on a terminal)."""
    tty = sys.stderr.isatty() and not quiet

    def on_batch(epoch: int, step: int, steps: int, loss: float, acc: float) -> None:
        if tty:
            click.echo(
                f"\repoch {epoch + 1} {step}/{steps} loss {loss:.4f} acc {acc:.3f}",
                err=True,
                nl=False,
            )

    def on_epoch(stats: Any) -> None:
        if quiet:
            return
        valid = f" valid acc {stats.valid_acc:.4f}" if stats.valid_acc is not None else ""
        prefix = "\r" if tty else ""
        click.echo(
            f"{prefix}epoch {stats.epoch}: loss {stats.train_loss:.4f} "
            f"acc {stats.train_acc:.4f}{valid} lr {stats.lr:.4g} "
            f"drop path {stats.drop_path:.3f} {stats.images_per_s:.0f} images/s",
            err=True,
        )

    return on_batch, on_epoch


@train.command(name="run", help="Train SOURCE into -o RUN (also `nasgen train SOURCE ...`).")
@click.argument("source", type=SOURCE, required=False)
@click.option(
    "--data",
    default="digits",
    show_default=True,
    help="digits (embedded), cifar10:DIR, cifar100:DIR, folder:DIR[:SIZE], synthetic:N (tests).",
)
@click.option(
    "--resume",
    type=click.Path(file_okay=False, path_type=Path),
    help="Continue the run in this directory.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="The run directory (new or empty).",
)
@click.option("--seed", type=click.IntRange(0, SEED_MAX), default=0, show_default=True)
@click.option("--N", "n_cells", type=click.IntRange(min=1), help="Normal cells per stage.")
@click.option("--F", "num_filters", type=click.IntRange(min=1), help="Filters of the first stage.")
@click.option("--variant", help="A variant of the genotype's network.")
@click.option(
    "--device", type=click.Choice(["cpu", "cuda", "auto"]), default="cpu", show_default=True
)
@click.option("--amp/--no-amp", default=None, help="bfloat16 autocast (default: on for CUDA).")
@click.option(
    "--channels-last/--no-channels-last", default=None, help="NHWC layout (default: on for CUDA)."
)
@click.option(
    "--max-batches",
    type=click.IntRange(min=1),
    help="Stop each epoch after this many batches (quick trials).",
)
@_recipe_options
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
@user_errors
def run(
    source: str | None,
    data: str,
    resume: Path | None,
    output: Path | None,
    seed: int,
    n_cells: int | None,
    num_filters: int | None,
    variant: str | None,
    device: str,
    amp: bool | None,
    channels_last: bool | None,
    max_batches: int | None,
    quiet: bool,
    **recipe: Any,
) -> None:
    from nasgen.training.session import resume_training, start_training
    from nasgen.training.trainer import fit

    if resume is not None:
        if source is not None or output is not None:
            raise NasgenError(
                "E914", "--resume RUN takes the run's own settings; give nothing else"
            )
        job = resume_training(resume)
    else:
        if source is None or output is None:
            raise NasgenError("E914", "nasgen train needs SOURCE and -o RUN (or --resume RUN)")
        settings: dict[str, Any] = {"N": n_cells, "F": num_filters, "variant": variant}
        job = start_training(
            source, data, output, seed=seed, recipe=dict(recipe),
            settings={k: v for k, v in settings.items() if v is not None},
            device=device, max_batches=max_batches, amp=amp, channels_last=channels_last,
        )  # fmt: skip
    on_batch, on_epoch = _progress(quiet)
    history = fit(job, on_batch, on_epoch)
    last = history[-1] if history else {}
    click.echo(
        json.dumps(
            {
                "run": str(job.run.path),
                "epochs": len(history),
                "best_acc": job.best_acc,
                "best_epoch": job.best_epoch,
                "last": last,
            },
            indent=2,
        )
    )


@train.command(name="report")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the loss and accuracy curves as a PNG.",
)
@click.option("--json", "as_json", is_flag=True, help="Print every epoch as JSON.")
@user_errors
def report(directory: Path, plot: Path | None, as_json: bool) -> None:
    """Show a run's epochs (loss, accuracy, lr, images/s) and plot its curves.

    \b
    Examples:
      nasgen train report train_run
      nasgen train report train_run --plot curves.png
    """
    from nasgen.training.run import RunDir

    run_dir = RunDir.open(directory)
    state = run_dir.state() or {"history": []}
    history = state["history"]
    if as_json:
        click.echo(json.dumps({"config": run_dir.config(), "history": history}, indent=2))
    else:
        click.echo(f"{'epoch':>5} {'loss':>8} {'acc':>7} {'valid':>7} {'lr':>9} {'images/s':>9}")
        for row in history:
            valid = f"{row['valid_acc']:.4f}" if row.get("valid_acc") is not None else "-"
            click.echo(
                f"{row['epoch']:>5} {row['train_loss']:>8.4f} {row['train_acc']:>7.4f} "
                f"{valid:>7} {row['lr']:>9.4g} {row['images_per_s']:>9.0f}"
            )
    if plot is not None:
        if not history:
            raise NasgenError("E923", f"{directory}: no epoch finished yet; nothing to plot")
        from nasgen.training.plot import plot_history

        plot_history(history, plot, str(directory))
        click.echo(f"wrote {plot}", err=True)
