"""``nasgen search compare``: strategies over seeds, as NAS-Bench-201 tables them.

Pipeline stage: user interface. Parses and prints; ``nasgen.search.compare`` does the work.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from nasgen.cli.app import executor_options, sample_options, user_errors
from nasgen.cli.space import SPACE
from nasgen.search.compare import (
    Tally,
    define_comparison,
    finish_comparison,
    open_comparison,
    run_comparison,
)
from nasgen.search.compare_outputs import table_markdown
from nasgen.search.config import Constraints
from nasgen.search.executors import ExecutorOptions
from nasgen.search.strategies import STRATEGIES

__all__ = ["compare"]


def _shown(tally: Tally | None) -> str:
    if tally is None or not tally.current:
        return ""
    best = f", best {tally.best:g}" if tally.best is not None else ""
    return f"{tally.current}{best}"


@click.command(name="compare")
@click.argument("source", metavar="SPACE", type=SPACE)
@click.option(
    "--strategies",
    multiple=True,
    required=True,
    metavar="NAME[,NAME...]",
    help=f"Strategies to compare, each once: {', '.join(STRATEGIES)}.",
)
@click.option(
    "--evaluator",
    "evaluator_spec",
    required=True,
    help="table:nb201, table:FILE.csv[.gz] or proxy:NAME[,NAME].",
)
@click.option("--metric", help="The column that is the reward (default: the evaluator's first).")
@click.option(
    "--report",
    multiple=True,
    metavar="COLUMN[,COLUMN...]",
    help="Columns reported beside the reward, never searched on (default: every other one).",
)
@click.option(
    "--seeds",
    type=click.IntRange(1, 10_000),
    required=True,
    help="Runs per strategy: seeds 0..K-1.",
)
@click.option("--budget", type=click.IntRange(min=1), help="Architectures to evaluate per run.")
@click.option(
    "--time-budget",
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds of evaluation per run (simulated when the table has a cost column).",
)
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="STRATEGY.KEY=VALUE",
    help="One strategy's hyper-parameter, e.g. rea.population=10 (repeatable).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=1,
    show_default=True,
    help="Local worker processes per run.",
)
@sample_options
@click.option(
    "-o",
    "--output",
    required=True,
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="The comparison's folder: new or empty, or one this same command started (resumed).",
)
@click.option(
    "--count-duplicates",
    is_flag=True,
    help="Duplicates count against --budget, as in NB-201's reference loops (see search run).",
)
@executor_options
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON on stdout.")
@user_errors
def compare(
    source: str,
    strategies: tuple[str, ...],
    evaluator_spec: str,
    metric: str | None,
    report: tuple[str, ...],
    seeds: int,
    budget: int | None,
    time_budget: float | None,
    params: tuple[str, ...],
    workers: int,
    variant: str | None,
    blocks: int | None,
    min_params: int | None,
    max_params: int | None,
    min_macs: int | None,
    max_macs: int | None,
    output: Path,
    count_duplicates: bool,
    executor: ExecutorOptions,
    as_json: bool,
) -> None:
    """Compare strategies: seeds 0..K-1 of each, then mean ± std of what they found.

    Each run is an ordinary search in DIR/runs/STRATEGY/seedK (`nasgen search report` reads
    it). DIR gets summary.json (every run's best), table.md and table.json (the reward's and
    each reported column's mean ± std per strategy), anytime.json and anytime.png (best reward
    so far against evaluations, and simulated seconds when the table has a cost). The same
    command again resumes what was interrupted; DIR holding anything else is refused.
    `nasgen search run --help` lists each strategy's hyper-parameters.

    \b
    Examples:
      nasgen search compare nb201 --strategies random,rea,reinforce --evaluator table:nb201 \\
        --metric cifar10_valid --report cifar10_test --seeds 5 --budget 100 \\
        --param rea.population=10 --param rea.sample=3 -o cmp1
      nasgen search report cmp1/runs/rea/seed0
    """
    comparison, evaluator = define_comparison(
        source, strategies, evaluator_spec, seeds=seeds, budget=budget, metric=metric,
        report=report, time_budget=time_budget, params=params, workers=workers,
        constraints=Constraints(min_params, max_params, min_macs, max_macs), variant=variant,
        blocks=blocks, count_duplicates=count_duplicates,
    )  # fmt: skip
    open_comparison(output, comparison)
    bar: Any
    with click.progressbar(
        length=comparison.work,
        label=f"compare on {comparison.space_name}",
        file=sys.stderr,
        item_show_func=_shown,
        hidden=as_json,
    ) as bar:
        shown = 0

        def tick(tally: Tally) -> None:
            nonlocal shown
            bar.update(tally.done - shown, tally)
            shown = tally.done

        tally = run_comparison(output, comparison, evaluator, tick, executor)
    table, notes = finish_comparison(output, comparison, getattr(evaluator, "has_cost", False))
    click.echo(json.dumps(table, indent=2) if as_json else table_markdown(table), nl=as_json)
    click.echo(
        f"{tally.started} runs started, {tally.resumed} resumed, {tally.finished_before} "
        f"finished earlier; in {output}: summary.json, table.md, table.json, anytime.json"
        + ("" if notes else ", anytime.png"),
        err=True,
    )
    for note in tally.notes + notes:
        click.echo(f"warning: {note}", err=True)
