"""Comparing strategies: seeds 0..K-1 of each, every run an ordinary search, then the tables.

Pipeline stage: search. Imports ``nasgen.api``, ``nasgen.files``, ``nasgen.space`` and the rest
of ``nasgen.search``; the tables and curves are in ``nasgen.search.compare_outputs``.

NOTE: [A comparison folder] ``nasgen search compare ... -o DIR`` writes
  1. ``DIR/compare.json``: what the comparison is (space text, strategies and their
     hyper-parameters, evaluator, reward metric, seeds, budgets, constraints), written first;
  2. ``DIR/runs/<strategy>/seed<k>/``: one search each, with its own journal, built by
     ``nasgen.search.builder`` exactly as ``nasgen search run`` builds one, so
     ``nasgen search report`` and ``--resume`` work on each;
  3. ``summary.json``, ``table.md``, ``table.json``, ``anytime.json`` and ``anytime.png``, read
     back from the journals once every run is finished.
Running the same command again resumes every unfinished run as ``--resume`` does; a finished
run is opened, found complete and left untouched. A folder that holds another comparison, or
anything else, is refused. ``--report`` changes no run, so it may differ between invocations;
``--workers`` may not (an adaptive strategy's asks depend on how many trials are out).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nasgen.errors import NasgenError, did_you_mean
from nasgen.files import write_atomic
from nasgen.search.base import Evaluator
from nasgen.search.builder import build_search, check_metric, prepare
from nasgen.search.compare_outputs import RunRows, write_outputs
from nasgen.search.config import Constraints, SearchConfig
from nasgen.search.executors import ExecutorOptions
from nasgen.search.journal import JOURNAL_NAME, Journal, TrialRow
from nasgen.search.loop import Progress
from nasgen.search.results import write_best
from nasgen.search.strategies import STRATEGIES, make_strategy, parse_params

__all__ = [
    "COMPARE_NAME",
    "Comparison",
    "Entry",
    "Tally",
    "define_comparison",
    "finish_comparison",
    "open_comparison",
    "open_run",
    "parse_strategies",
    "parse_strategy_params",
    "run_comparison",
    "run_folder",
]

COMPARE_NAME = "compare.json"
_KIND = "nasgen-compare"
_FORMAT = 1
_HOW_NOT_WHAT: tuple[str, ...] = ()  # settings of a run that change none of its results


def _show(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


@dataclass(frozen=True, slots=True)
class Entry:
    """One strategy of a comparison and its hyper-parameters (defaults filled in)."""

    strategy: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The strategy's name, with the hyper-parameters that differ from their defaults."""
        defaults = {p.name: p.default for p in STRATEGIES[self.strategy].params}
        changed = [f"{k}={_show(v)}" for k, v in self.params.items() if defaults.get(k) != v]
        return f"{self.strategy}({', '.join(changed)})" if changed else self.strategy


@dataclass(frozen=True, slots=True)
class Comparison:
    """Strategies over seeds 0..``seeds``-1 on one space, evaluator and budget."""

    space_text: str
    space_name: str
    entries: tuple[Entry, ...]
    evaluator: str
    metric: str
    seeds: int
    budget: int | None
    time_budget: float | None = None
    constraints: Constraints = field(default_factory=Constraints)
    variant: str | None = None
    blocks: int | None = None
    report: tuple[str, ...] = ()  # the other columns the table shows (no run depends on it)
    workers: int = 1  # per run: trials proposed ahead (adaptive strategies' asks depend on it)
    count_duplicates: bool = False

    def __post_init__(self) -> None:
        """Refuse a comparison without seeds or strategies, or with a strategy twice."""
        if self.seeds < 1:
            raise NasgenError("E870", f"--seeds {self.seeds}: a comparison needs at least 1 seed")
        names = [e.strategy for e in self.entries]
        if not names:
            raise NasgenError("E870", "a comparison needs at least one strategy")
        if len(set(names)) != len(names):
            raise NasgenError("E870", f"--strategies {','.join(names)}: a strategy twice")
        self.config(self.entries[0], 0)  # the budget's checks (E852)

    def config(self, entry: Entry, seed: int) -> SearchConfig:
        """The configuration of one run: ``entry``'s strategy with seed ``seed``."""
        return SearchConfig(
            self.space_text, self.space_name, entry.strategy, self.evaluator, self.metric, seed,
            self.budget, self.time_budget, dict(entry.params), self.workers, self.constraints,
            self.variant, self.blocks, count_duplicates=self.count_duplicates,
        )  # fmt: skip

    def runs(self) -> list[tuple[Entry, int]]:
        """Every (entry, seed) pair, strategy by strategy."""
        return [(e, seed) for e in self.entries for seed in range(self.seeds)]

    @property
    def work(self) -> int:
        """The units progress counts: evaluations (with a budget), else runs."""
        return len(self.entries) * self.seeds * (self.budget or 1)

    def definition(self) -> dict[str, Any]:
        """What makes two comparisons the same, as JSON data (``--report`` aside)."""
        data = {
            "space_text": self.space_text,
            "space_name": self.space_name,
            "strategies": [{"strategy": e.strategy, "params": e.params} for e in self.entries],
            "evaluator": self.evaluator,
            "metric": self.metric,
            "seeds": self.seeds,
            "budget": self.budget,
            "time_budget": self.time_budget,
            "constraints": asdict(self.constraints),
            "variant": self.variant,
            "blocks": self.blocks,
            "workers": self.workers,
            "count_duplicates": self.count_duplicates,
        }
        normal: dict[str, Any] = json.loads(json.dumps(data))
        return normal


def run_folder(directory: Path, entry: Entry, seed: int) -> Path:
    """The folder of one run: ``DIR/runs/<strategy>/seed<k>``."""
    return directory / "runs" / entry.strategy / f"seed{seed}"


# -- the definition from the command line ----------------------------------------------------


def parse_strategies(texts: Sequence[str]) -> tuple[str, ...]:
    """Comma-separated strategy names (``random,rea``), each known and named once."""
    names = [n.strip() for text in texts for n in text.split(",") if n.strip()]
    if not names:
        raise NasgenError("E870", "--strategies names no strategy", hint="e.g. random,rea")
    for name in names:
        if name not in STRATEGIES:
            hint = did_you_mean(name, STRATEGIES) or f"strategies: {', '.join(STRATEGIES)}"
            raise NasgenError("E851", f"unknown strategy {name!r}", hint=hint)
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise NasgenError(
            "E870",
            f"--strategies names {', '.join(twice)} twice",
            hint="one entry per strategy; set its hyper-parameters with --param STRATEGY.KEY=VALUE",
        )
    return tuple(names)


def parse_strategy_params(
    strategies: Sequence[str], pairs: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """``STRATEGY.KEY=VALUE`` texts as each strategy's typed hyper-parameters (defaults filled)."""
    given: dict[str, list[str]] = {name: [] for name in strategies}
    for text in pairs:
        head, sep, value = text.partition("=")
        name, dot, key = head.partition(".")
        if not (sep and dot and name and key):
            raise NasgenError(
                "E850", f"--param {text!r} is not STRATEGY.KEY=VALUE", hint="e.g. rea.population=10"
            )
        if name not in given:
            listed = f"compared: {', '.join(strategies)}"
            hint = did_you_mean(name, strategies)
            raise NasgenError(
                "E850",
                f"--param {text}: {name!r} is not one of the compared strategies",
                hint=f"{hint} ({listed})" if hint else listed,
            )
        given[name].append(f"{key}={value}")
    return {name: parse_params(name, given[name]) for name in strategies}


def _reported(evaluator: Evaluator, metric: str, report: Sequence[str]) -> tuple[str, ...]:
    """The reported columns: those named (comma-separated), else every other metric."""
    names = [n.strip() for text in report for n in text.split(",") if n.strip()]
    if not names:
        return tuple(m for m in evaluator.metrics if m != metric)
    out: list[str] = []
    for name in names:
        check_metric(evaluator, name)
        if name != metric and name not in out:
            out.append(name)
    return tuple(out)


def define_comparison(
    source: str,
    strategies: Sequence[str],
    evaluator_spec: str,
    *,
    seeds: int,
    budget: int | None,
    metric: str | None = None,
    report: Sequence[str] = (),
    time_budget: float | None = None,
    params: Sequence[str] = (),
    workers: int = 1,
    constraints: Constraints | None = None,
    variant: str | None = None,
    blocks: int | None = None,
    count_duplicates: bool = False,
) -> tuple[Comparison, Evaluator]:
    """A checked comparison and its evaluator: every name, parameter and metric known.

    Each strategy is built once, so a hyper-parameter it refuses stops the comparison before
    any run starts.
    """
    names = parse_strategies(strategies)
    typed = parse_strategy_params(names, params)
    ready = prepare(source, blocks, evaluator_spec, variant, metric)
    found, evaluator, chosen = ready.space, ready.evaluator, ready.metric
    comparison = Comparison(
        ready.space_text, ready.space_name, tuple(Entry(n, typed[n]) for n in names),
        evaluator_spec, chosen, seeds, budget, time_budget, constraints or Constraints(),
        variant, blocks, _reported(evaluator, chosen, report), workers, count_duplicates,
    )  # fmt: skip
    for entry in comparison.entries:
        make_strategy(entry.strategy, found.decisions(), 0, entry.params)
    return comparison, evaluator


# -- the folder --------------------------------------------------------------------------------


def _labels(value: Any) -> str:
    try:
        entries = [Entry(e["strategy"], e["params"]) for e in value]
        return ",".join(e.label if e.strategy in STRATEGIES else e.strategy for e in entries)
    except (TypeError, KeyError):
        return json.dumps(value)


def _differences(stored: Mapping[str, Any], given: Mapping[str, Any]) -> list[str]:
    out = []
    for key in given:
        if stored.get(key) == given[key]:
            continue
        if key == "space_text":
            out.append("the space's text")
        elif key == "strategies":
            out.append(f"strategies {_labels(stored.get(key))} there, {_labels(given[key])} now")
        else:
            out.append(f"{key} {json.dumps(stored.get(key))} there, {json.dumps(given[key])} now")
    return out or ["its definition"]


def _read_definition(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise NasgenError("E871", f"{path}: not a readable comparison ({err})") from None
    if not (isinstance(data, dict) and data.get("kind") == _KIND):
        raise NasgenError("E871", f"{path}: not a nasgen comparison")
    if data.get("format") != _FORMAT or not isinstance(data.get("comparison"), dict):
        raise NasgenError(
            "E871", f"{path}: comparison format {data.get('format')!r}; this nasgen reads 1"
        )
    definition: dict[str, Any] = data["comparison"]
    return definition


def open_comparison(directory: Path, comparison: Comparison) -> bool:
    """Start the comparison in ``directory`` (new or empty), or find it there: True if found.

    Refuses a folder holding another comparison (E872) or anything else (E871).
    """
    manifest = directory / COMPARE_NAME
    if manifest.is_file():
        stored = _read_definition(manifest)
        stored.setdefault("workers", 1)  # written before workers were part of it: the default
        if stored != comparison.definition():
            changed = "; ".join(_differences(stored, comparison.definition())[:3])
            raise NasgenError(
                "E872",
                f"{directory} holds another comparison ({changed})",
                hint="run the command that started it to resume it, or choose another -o",
            )
        return True
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        what = "a search" if (directory / JOURNAL_NAME).exists() else "something else"
        raise NasgenError(
            "E871",
            f"{directory} is not a comparison folder (it holds {what})",
            hint="a comparison writes into a new or empty folder; choose another -o",
        )
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise NasgenError("E507", f"cannot create {directory}: {err.strerror or err}") from None
    data = {"kind": _KIND, "format": _FORMAT, "comparison": comparison.definition()}
    write_atomic(manifest, json.dumps(data, indent=2) + "\n")
    return False


# -- running -------------------------------------------------------------------------------------


@dataclass(slots=True)
class Tally:
    """Where a comparison stands: work done of ``total`` (evaluations, or runs), the run now."""

    total: int
    done: int = 0
    current: str = ""
    best: float | None = None
    finished_before: int = 0
    resumed: int = 0
    started: int = 0
    notes: list[str] = field(default_factory=list)


def _same_search(stored: Mapping[str, Any], config: SearchConfig) -> bool:
    want = json.loads(json.dumps(config.to_json()))
    try:  # a journal written before a key existed holds its default
        normal = json.loads(json.dumps(SearchConfig.from_json(dict(stored)).to_json()))
    except NasgenError:
        return False
    mine = {k: v for k, v in normal.items() if k not in _HOW_NOT_WHAT}
    return mine == {k: v for k, v in want.items() if k not in _HOW_NOT_WHAT}


def open_run(folder: Path, config: SearchConfig, label: str) -> tuple[Journal, bool]:
    """The journal of ``config``'s run in ``folder`` (and whether it existed); E873 for another."""
    if not (folder / JOURNAL_NAME).is_file():
        return Journal.create(folder, config.to_json()), False
    journal = Journal.open(folder)
    if not _same_search(journal.config, config):
        journal.close()
        raise NasgenError(
            "E873",
            f"{folder} holds a search other than {label} seed {config.seed} of this comparison",
            hint="move that folder away to run it afresh, or choose another -o",
        )
    return journal, True


def _run_one(
    directory: Path,
    comparison: Comparison,
    entry: Entry,
    seed: int,
    evaluator: Evaluator | None,
    tally: Tally,
    on_progress: Callable[[Tally], None],
    executor: ExecutorOptions | None = None,
) -> None:
    config = comparison.config(entry, seed)
    journal, existed = open_run(run_folder(directory, entry, seed), config, entry.label)
    share = comparison.budget or 1
    base = tally.done
    try:
        search = build_search(journal, config, evaluator, executor)
        before = (len(search.rows), search.progress.evaluated, search.told)
        tally.current, tally.best = f"{entry.label} seed {seed}", search.progress.best

        def tick(progress: Progress) -> None:
            if comparison.budget is not None:
                tally.done = base + min(progress.evaluated, share)
            tally.best = progress.best
            on_progress(tally)

        tick(search.progress)
        progress = search.run(tick)
        worked = (len(search.rows), progress.evaluated, search.told) != before or not existed
        tally.finished_before += not worked
        tally.resumed += worked and existed
        tally.started += not existed
        if worked or not (journal.directory / "best").is_dir():
            write_best(journal.directory, config, list(journal.trials()))
    finally:
        journal.close()
    tally.notes += _notes(f"{entry.label} seed {seed}", progress)
    tally.done = base + share
    on_progress(tally)


def _notes(run: str, progress: Progress) -> list[str]:
    out = [f"{run} stopped early: {progress.stopped}"] if progress.stopped else []
    if progress.failed:
        first = f" (first: {progress.errors[0]})" if progress.errors else ""
        out.append(f"{run}: {progress.failed} evaluations failed{first}")
    return out


def run_comparison(
    directory: Path,
    comparison: Comparison,
    evaluator: Evaluator | None = None,
    on_progress: Callable[[Tally], None] | None = None,
    executor: ExecutorOptions | None = None,
) -> Tally:
    """Run (or resume) every run of ``comparison`` in ``directory``, one after another.

    ``evaluator``: one built from the comparison's spec, shared by the runs (a table is read
    once). ``on_progress`` is called after each evaluation and each run. ``executor``: where
    each run's trials go (``--executor ray``: one cluster for all the runs).
    """
    tally = Tally(total=comparison.work)
    tick = on_progress or (lambda t: None)
    for entry, seed in comparison.runs():
        _run_one(directory, comparison, entry, seed, evaluator, tally, tick, executor)
    return tally


def _rows(directory: Path, comparison: Comparison) -> list[RunRows]:
    out = []
    for entry, seed in comparison.runs():
        journal = Journal.open(run_folder(directory, entry, seed))
        try:
            rows: list[TrialRow] = list(journal.trials())
        finally:
            journal.close()
        where = run_folder(directory, entry, seed).relative_to(directory).as_posix()
        out.append(RunRows(entry.strategy, entry.label, seed, entry.params, where, rows))
    return out


def finish_comparison(
    directory: Path, comparison: Comparison, has_cost: bool
) -> tuple[dict[str, Any], list[str]]:
    """Write the summary, tables and curves from the runs' journals; (table JSON, notes).

    A file whose content would not change is left as it is. ``has_cost``: the evaluator
    charges simulated seconds, so the curves are also drawn against them.
    """
    header = _header(comparison)
    return write_outputs(directory, header, _rows(directory, comparison), has_cost)


def _header(comparison: Comparison) -> dict[str, Any]:
    """The fields every output file starts with: what was compared and by which numbers."""
    return {
        "space": comparison.space_name,
        "evaluator": comparison.evaluator,
        "reward_metric": comparison.metric,
        "reported": list(comparison.report),
        "seeds": comparison.seeds,
        "budget": comparison.budget,
        "time_budget": comparison.time_budget,
        "constraints": comparison.constraints.describe() or None,
    }
