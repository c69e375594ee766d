"""``nasgen search``: run, resume and report a search whose every result is a .cell file.

Pipeline stage: user interface. Calls ``nasgen.search`` and ``nasgen.space``.
"""

from __future__ import annotations

import inspect
import json
import random
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from nasgen.api import CompileOptions, cost_module
from nasgen.cli.app import (
    SEED_MAX,
    DefaultRunGroup,
    executor_options,
    main,
    sample_options,
    user_errors,
)
from nasgen.cli.compare import compare
from nasgen.cli.space import SPACE
from nasgen.errors import NasgenError
from nasgen.search.builder import (
    build_oneshot,
    build_search,
    check_oneshot,
    is_oneshot,
    prepare,
    read_source,
)
from nasgen.search.config import Constraints, SearchConfig
from nasgen.search.executors import ExecutorOptions
from nasgen.search.journal import JOURNAL_NAME, Journal
from nasgen.search.loop import Progress
from nasgen.search.oneshot_report import epochs_lines, plot_heatmap
from nasgen.search.results import anytime_curve, plot_curve, ranked, summary, trial_json, write_best
from nasgen.search.strategies import STRATEGIES, parse_params

__all__ = ["search"]


def _strategy_help() -> str:
    lines = []
    for info in STRATEGIES.values():
        params = ", ".join(f"{p.name} [{p.default}]" for p in info.params) or "no parameters"
        lines.append(f"  {info.name}: {info.doc}; {params}")
    return "\n".join(lines)


@main.group(cls=DefaultRunGroup)
def search() -> None:
    """Search a space: every proposal is .cell text, every result is in DIR/journal.sqlite.

    `nasgen search SPACE ... -o DIR` runs a search (see `nasgen search run --help` for every
    option); `nasgen search --resume DIR` continues one after any crash, ending with exactly
    the journal an uninterrupted run writes; `nasgen search report DIR` shows the result;
    `nasgen search compare SPACE --strategies A,B --seeds K ...` runs strategies over seeds.

    \b
    Examples:
      nasgen search nb201 --evaluator table:nb201 --metric cifar10_valid --budget 100 -o run1
      nasgen search --resume run1
      nasgen search report run1 --plot run1/curve.png
    """


search.help = inspect.cleandoc(search.help or "") + (
    "\n\nStrategies (hyper-parameters as --param KEY=VALUE, defaults in brackets):\n\n\b\n"
    + _strategy_help()
)


def _run_oneshot(journal: Journal, config: SearchConfig, quiet: bool) -> Progress:
    bar: Any
    with click.progressbar(
        length=config.budget or 0,
        label=f"{config.strategy} on {config.space_name} (epochs)",
        file=sys.stderr,
        item_show_func=lambda item: item or "",
        hidden=quiet,
    ) as bar:

        def on_batch(phase: str, step: int, steps: int) -> None:
            bar.update(0, f"{phase} {step}/{steps}")

        def tick(progress: Progress) -> None:
            bar.update(1, f"best {config.metric} {progress.best:g}")

        loop = build_oneshot(journal, config, on_batch)
        bar.update(len(loop.rows))
        return loop.run(tick)


def _run(
    journal: Journal, config: SearchConfig, quiet: bool, executor: ExecutorOptions
) -> Progress:
    if is_oneshot(config.strategy):
        return _run_oneshot(journal, config, quiet)
    loop = build_search(journal, config, executor=executor)
    total = config.budget
    bar: Any
    with click.progressbar(
        length=total or 0,
        label=f"{config.strategy} on {config.space_name}",
        file=sys.stderr,
        item_show_func=lambda p: (
            f"best {config.metric} {p.best:g}" if p and p.best is not None else ""
        ),
        hidden=quiet,
    ) as bar:
        bar.update(loop.progress.started and min(loop.progress.evaluated, total or 0))

        def tick(progress: Progress) -> None:
            bar.update(1, progress)

        progress = loop.run(tick)
    rows = list(journal.trials())
    write_best(journal.directory, config, rows)
    return progress


def _print_result(
    journal: Journal, config: SearchConfig, progress: Progress, as_json: bool
) -> None:
    rows = list(journal.trials())
    if as_json:
        click.echo(json.dumps(summary(config, rows), indent=2))
        return
    top = ranked(rows, config.top_k)
    if is_oneshot(config.strategy):
        click.echo(f"{len(rows)} epochs of {config.strategy}; reward: {config.metric}")
        for line in epochs_lines(config, rows)[-5:]:
            click.echo(f"  {line}")
        if rows:
            click.echo(f"derived: {journal.directory / 'derived.cell'} (epoch {len(rows)})")
        for line in progress.errors:
            click.echo(f"warning: {line}", err=True)
        return
    click.echo(
        f"{progress.evaluated} evaluated, {progress.failed} failed, {progress.rejected} rejected "
        f"by constraints, {progress.duplicates} duplicates; reward: {config.metric}"
    )
    for rank, row in enumerate(top, start=1):
        others = ", ".join(
            f"{k} {v:g}" for k, v in sorted(row.metrics.items()) if k != config.metric
        )
        click.echo(f"  {rank}. trial {row.trial}: {config.metric} {row.reward:g} ({others})")
    if top:
        click.echo(f"best: {journal.directory / 'best' / '1.cell'}")
    for line in progress.errors:
        click.echo(f"warning: {line}", err=True)
    if progress.stopped:
        click.echo(f"stopped early: {progress.stopped}", err=True)


@search.command(
    name="run",
    help="Run a search (also `nasgen search SPACE ...`).\n\n"
    + "Strategies (set their hyper-parameters with --param KEY=VALUE):\n\n\b\n"
    + _strategy_help(),
)
@click.argument("source", metavar="SPACE", type=SPACE, required=False)
@click.option(
    "--resume",
    type=click.Path(file_okay=False, path_type=Path),
    help="Continue the search in this DIR.",
)
@click.option(
    "--strategy", type=click.Choice(sorted(STRATEGIES)), default="random", show_default=True
)
@click.option(
    "--evaluator",
    "evaluator_spec",
    help="table:nb201, table:FILE.csv[.gz], proxy:NAME[,NAME] or train:DATA[,key=value...] "
    "(darts and enas: the data their supernet trains on).",
)
@click.option(
    "--metric", help="The column or proxy that is the reward (default: the evaluator's first)."
)
@click.option(
    "--budget",
    type=click.IntRange(min=1),
    help="Architectures to evaluate (darts, enas: epochs).",
)
@click.option(
    "--time-budget",
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds of evaluation (simulated when the table has a cost column).",
)
@click.option("--seed", type=click.IntRange(0, SEED_MAX), default=0, show_default=True)
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="A strategy hyper-parameter (repeatable).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=1,
    show_default=True,
    help="Local worker processes.",
)
@sample_options
@click.option(
    "--top",
    "top_k",
    type=click.IntRange(1, 1000),
    default=5,
    show_default=True,
    help="How many best .cell files to keep.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="The run directory (new or empty).",
)
@click.option(
    "--count-duplicates",
    is_flag=True,
    help="A proposal equivalent to an earlier one counts against --budget (and charges the "
    "earlier one's simulated cost), as NB-201's reference loops do; it is never evaluated "
    "again. Default: duplicates are free.",
)
@click.option(
    "--device",
    help="Where darts and enas train their supernet: cpu (the default), cuda, cuda:1. With "
    "--resume it moves the search (its numbers then differ from a run that stayed).",
)
@executor_options
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
@user_errors
def run(
    source: str | None,
    resume: Path | None,
    strategy: str,
    evaluator_spec: str | None,
    metric: str | None,
    budget: int | None,
    time_budget: float | None,
    seed: int,
    params: tuple[str, ...],
    workers: int,
    variant: str | None,
    blocks: int | None,
    min_params: int | None,
    max_params: int | None,
    min_macs: int | None,
    max_macs: int | None,
    top_k: int,
    output: Path | None,
    count_duplicates: bool,
    device: str | None,
    executor: ExecutorOptions,
    as_json: bool,
) -> None:
    if resume is not None:
        if source is not None or output is not None or evaluator_spec is not None:
            raise NasgenError(
                "E853", "--resume DIR takes the search's own settings; give nothing else"
            )
        journal = Journal.open(resume)
        config = SearchConfig.from_json(journal.config)
        if device is not None:  # moved to another device: its numbers differ from then on
            if not is_oneshot(config.strategy):
                journal.close()
                raise NasgenError("E853", "--device is where darts and enas train")
            config = replace(config, device=device)
    else:
        if source is None or output is None or evaluator_spec is None:
            raise NasgenError(
                "E853",
                "a search needs SPACE, --evaluator and -o DIR (or --resume DIR)",
                hint="e.g. nasgen search nb201 --evaluator table:nb201 --budget 100 -o run1",
            )
        if is_oneshot(strategy):
            _check_oneshot_options(
                strategy, workers, count_duplicates, time_budget,
                (min_params, max_params, min_macs, max_macs),
            )  # fmt: skip
            space_text, found = read_source(source, blocks)
            space_name, chosen = found.name, check_oneshot(strategy, evaluator_spec, metric)
            cost_module(
                found.decode(found.sample(random.Random(0))), CompileOptions(variant=variant)
            )
        else:
            if device is not None:
                raise NasgenError(
                    "E853",
                    "--device is where darts and enas train; train: trials run on the CPU",
                )
            ready = prepare(source, blocks, evaluator_spec, variant, metric)
            space_text, space_name, chosen = ready.space_text, ready.space_name, ready.metric
        config = SearchConfig(
            space_text, space_name, strategy, evaluator_spec, chosen, seed,
            budget, time_budget, parse_params(strategy, params), workers,
            Constraints(min_params, max_params, min_macs, max_macs), variant, blocks, top_k,
            count_duplicates, device or "cpu",
        )  # fmt: skip
        created = not output.exists()
        journal = Journal.create(output, config.to_json())
    try:
        if is_oneshot(config.strategy) and executor.kind != "local":
            raise NasgenError("E853", f"{config.strategy} trains one supernet in one process")
        progress = _run(journal, config, as_json, executor)
        _print_result(journal, config, progress, as_json)
    except NasgenError:
        if resume is None and not any(True for _ in journal.trials()):
            _discard(journal, created)  # refused before its first result: leave things be
        raise
    finally:
        journal.close()


def _check_oneshot_options(
    strategy: str,
    workers: int,
    count_duplicates: bool,
    time_budget: float | None,
    bounds: tuple[int | None, ...],
) -> None:
    """E853 for a multi-trial option a weight-sharing search has no use for."""
    refused = [
        ("--workers", workers > 1, "it trains one supernet in one process"),
        ("--count-duplicates", count_duplicates, "its epochs are not proposals"),
        ("--time-budget", time_budget is not None, "its schedules run over --budget epochs"),
        ("--min/max-params/macs", any(b is not None for b in bounds), "it derives, not filters"),
    ]
    for option, given, why in refused:
        if given:
            raise NasgenError("E853", f"{strategy} takes no {option}: {why}")


def _discard(journal: Journal, created: bool) -> None:
    """Remove a journal this command created that holds nothing (its folder too, if new)."""
    journal.close()
    for end in ("", "-wal", "-shm"):
        (journal.directory / f"{JOURNAL_NAME}{end}").unlink(missing_ok=True)
    folders = [journal.directory / "best", journal.directory / "epochs"]
    for folder in folders + ([journal.directory] if created else []):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


@search.command(name="report")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--top", "top_k", type=click.IntRange(1, 10_000), default=10, show_default=True)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Every trial as JSON (text, hash, metrics, foreign strings).",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the anytime curve (best reward vs evaluations) as a PNG.",
)
@click.option(
    "--heatmap",
    type=click.Path(dir_okay=False, path_type=Path),
    help="darts, enas: write the architecture distribution of an epoch as a PNG heat map "
    "(DARTS: the softmax of each edge's alphas; ENAS: the controller's draws per decision).",
)
@click.option(
    "--epoch",
    type=click.IntRange(min=1),
    help="The epoch --heatmap draws (default: the last).",
)
@user_errors
def report(
    directory: Path,
    top_k: int,
    as_json: bool,
    plot: Path | None,
    heatmap: Path | None,
    epoch: int | None,
) -> None:
    """Show a search's result: the top trials, counts, and the anytime curve.

    For darts and enas: every epoch's reward and derived cell (DIR/epochs/NNN.cell), and with
    --heatmap the architecture distribution.

    \b
    Examples:
      nasgen search report run1
      nasgen search report run1 --json > run1.json
      nasgen search report run1 --plot curve.png
      nasgen search report darts_run --heatmap alphas.png --epoch 10
    """
    journal = Journal.open(directory)
    config = SearchConfig.from_json(journal.config)
    rows = list(journal.trials())
    oneshot = is_oneshot(config.strategy)
    maps = [state.get("arch", {}) for _, state in journal.states()] if oneshot else []
    journal.close()
    if heatmap is not None:
        if not oneshot:
            raise NasgenError("E861", f"{directory}: --heatmap is for darts and enas searches")
        if not maps:
            raise NasgenError("E861", f"{directory}: no epoch finished yet; no heat map to draw")
        chosen = epoch or len(maps)
        if chosen > len(maps):
            raise NasgenError("E861", f"{directory}: --epoch {chosen}, but {len(maps)} finished")
        title = f"{config.strategy} on {config.space_name}, epoch {chosen} (seed {config.seed})"
        plot_heatmap(maps[chosen - 1], title, heatmap)
        click.echo(f"wrote {heatmap}", err=True)
    if plot is not None:
        curve = anytime_curve(rows)
        if not curve:
            raise NasgenError("E861", f"{directory}: nothing evaluated yet; no curve to plot")
        plot_curve(
            curve,
            config.metric,
            f"{config.strategy} on {config.space_name} (seed {config.seed})",
            plot,
        )
        click.echo(f"wrote {plot}", err=True)
    if as_json:
        data: dict[str, Any] = {
            **summary(config, rows),
            "trials_detail": [trial_json(r) for r in rows],
        }
        if oneshot:
            data["architecture_by_epoch"] = maps
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(
        f"{config.strategy} on {config.space_name}, seed {config.seed}, "
        f"evaluator {config.evaluator}; reward {config.metric}"
    )
    if oneshot:
        for line in epochs_lines(config, rows):
            click.echo(line)
        if rows:
            click.echo(f"derived: {directory / 'derived.cell'} (epoch {len(rows)})")
        return
    counts = summary(config, rows)["counts"]
    click.echo(", ".join(f"{v} {k}" for k, v in counts.items()))
    for rank, row in enumerate(ranked(rows, top_k), start=1):
        others = ", ".join(
            f"{k} {v:g}" for k, v in sorted(row.metrics.items()) if k != config.metric
        )
        click.echo(
            f"{rank:>4}. trial {row.trial:<6} {config.metric} {row.reward:<10g} "
            f"{row.params or 0:>12,} params  {others}"
        )


search.add_command(compare)
