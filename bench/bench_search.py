"""Search benchmarks: proposals -> validated IR and cost per second, journal writes, resume, and
random search on the NB-201 12-epoch table over many seeds.

    python bench/bench_search.py                 # everything (a few minutes)
    python bench/bench_search.py --quick         # smaller counts
    python bench/bench_search.py --json out.json

Rows:
  - proposals/s per bundled space: sample -> decode -> print -> resolve, validate and cost
    (``cost_module``, each distinct cell body lowered once, as the search loop does) -> hash;
    beside it validated IR + cost alone, and the whole-graph lower + validate on the same
    samples with their ratio; in this process, with torch never imported (checked);
  - journal: trials written per second (proposal, result and tell: three transactions each);
  - resume: seconds to reopen a journal of N trials and rebuild the loop's state;
  - NB-201's protocol on table:nb201 (reward cifar10_valid; reported: the chosen cell's test
    accuracy on CIFAR-10, CIFAR-100 and ImageNet16-120) for random search, regularized
    evolution (P=10, S=3 and P=30, S=10) and REINFORCE (per-decision logits, lr 0.01 and 0.5)
    over S seeds at 100 evaluations: mean and std;
  - executors (``--executors`` runs only these): the overhead per trial of the inline
    executor, a local process pool and Ray (a local cluster, 2 workers) on table trials
    (microseconds of evaluation, so the time is the executor's), and the speed-up of 2
    workers over 1 on CPU-bound trials (``train:digits``, one thread a trial) for the pool
    and for Ray. Ray's start-up (seconds) is reported apart from its per-trial overhead.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from nasgen.api import analyze_module, cost_module
from nasgen.dsl.printer import print_module
from nasgen.review import architecture_hash
from nasgen.search.base import Evaluation, Proposal, Told
from nasgen.search.config import SearchConfig
from nasgen.search.evaluators.table import TableEvaluator
from nasgen.search.executors import InlineExecutor
from nasgen.search.journal import Journal
from nasgen.search.loop import Search
from nasgen.search.results import ranked
from nasgen.search.strategies import make_strategy, parse_params
from nasgen.space import load_space, space_names


def proposals_per_second(name: str, n: int) -> dict[str, float]:
    """The search loop's per-proposal work, and the full lowering beside it on the same samples.

    ``per_second``: decode -> canonical text -> resolve -> static cost (``cost_module``: the
    proposal validated, each distinct cell body lowered once) -> ``nasgen hash``, as
    ``Search._propose`` does. ``ir_per_second``: resolve + static cost alone (validated IR and
    cost, issue 12's target). ``full_per_second``: the same samples through the whole-graph
    ``analyze_module`` (lower + validate), the path before the static one.
    """
    space = load_space(name)
    rng = random.Random(0)
    vectors = [space.sample(rng) for _ in range(n)]
    for vector in vectors[: n // 5]:  # warm the op memo as a running search has
        cost_module(space.decode(vector))
    modules = [space.decode(v) for v in vectors]

    def loop_path() -> None:
        for vector in vectors:
            module = space.decode(vector)
            print_module(module)  # the text the journal stores
            arch, _ = cost_module(module)
            architecture_hash(arch)

    def ir_path() -> None:
        for module in modules:
            cost_module(module)

    def full_path() -> None:
        for module in modules:
            analyze_module(module)

    seconds = {}
    for label, run in (("loop", loop_path), ("ir", ir_path), ("full", full_path)):
        start = time.perf_counter()
        run()
        seconds[label] = time.perf_counter() - start
    return {
        "space": name,
        "proposals": n,
        "per_second": n / seconds["loop"],
        "ms_each": 1000 * seconds["loop"] / n,
        "ir_per_second": n / seconds["ir"],
        "full_per_second": n / seconds["full"],
        "speedup": seconds["full"] / seconds["ir"],
    }


def _config(
    budget: int,
    seed: int,
    strategy: str = "random",
    params: dict[str, object] | None = None,
    count_duplicates: bool = False,
) -> SearchConfig:
    text = (Path(__file__).parents[1] / "genotypes" / "spaces" / "nb201.cell").read_text()
    return SearchConfig(
        text, "nb201", strategy, "table:nb201", "cifar10_valid", seed, budget,
        params=parse_params(strategy, [f"{k}={v}" for k, v in (params or {}).items()]),
        count_duplicates=count_duplicates,
    )  # fmt: skip


def journal_writes(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        journal = Journal.create(Path(tmp) / "j", _config(n, 0).to_json())
        start = time.perf_counter()
        for t in range(n):
            journal.add(Proposal(t, (0, 1, 2), "nasgen 1\n", f"h{t}"), "running", {"asked": t}, t)
            journal.finish(t, Evaluation({"acc": 1.0}), 1.0, 0.0, "bench")
            journal.told(t + 1, t + 1, {"asked": t + 1})
        seconds = time.perf_counter() - start
        journal.close()
    return {
        "trials": n,
        "trials_per_second": n / seconds,
        "transactions_per_second": 3 * n / seconds,
    }


def _search(directory: Path, config: SearchConfig, table: TableEvaluator) -> Search:
    space = load_space("nb201")
    journal = (
        Journal.open(directory)
        if directory.exists()
        else Journal.create(directory, config.to_json())
    )
    strategy = make_strategy(config.strategy, space.decisions(), config.seed, config.params)
    return Search(journal, config, space, strategy, InlineExecutor(table), has_cost=False)


def resume_time(n: int, table: TableEvaluator) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "run"
        config = _config(n, 0)
        start = time.perf_counter()
        _search(directory, config, table).run()
        run_seconds = time.perf_counter() - start
        start = time.perf_counter()
        search = _search(directory, config, table)
        search.run()  # nothing left to do: loads, restores, finds the budget spent
        resume_seconds = time.perf_counter() - start
        trials = len(search.rows)
    return {
        "evaluations": n,
        "trials": trials,
        "run_seconds": run_seconds,
        "resume_seconds": resume_seconds,
    }


OVERHEAD_RUNS: tuple[tuple[str, dict[str, object]], ...] = (
    ("random", {}),
    ("rea", {"population": 10, "sample": 3}),
    ("reinforce", {}),
    ("reinforce", {"controller": "lstm"}),
    ("ppo", {}),
    ("pnas", {"beam": 32, "predictor": "mlp"}),
    ("pnas", {"beam": 32, "predictor": "lstm"}),
)


def strategy_overhead(
    space_name: str, strategy: str, params: dict[str, object], n: int
) -> dict[str, object]:
    """Milliseconds per proposal a strategy itself costs: ask, tell, and the two state_dicts
    the loop journals (after the ask and after the tell), with a synthetic reward."""
    space = load_space(space_name)
    decisions = space.decisions()
    typed = parse_params(strategy, [f"{k}={v}" for k, v in params.items()])
    made = make_strategy(strategy, decisions, 0, typed)
    rng = random.Random(0)
    ask = tell = state = 0.0
    for trial in range(n):
        start = time.perf_counter()
        choices = made.ask()
        ask += time.perf_counter() - start
        start = time.perf_counter()
        made.state_dict()
        state += time.perf_counter() - start
        reward = sum(choices) / max(1, len(choices)) + rng.gauss(0, 0.1)
        start = time.perf_counter()
        made.tell(Told(Proposal(trial, choices, "", ""), reward))
        tell += time.perf_counter() - start
        start = time.perf_counter()
        made.state_dict()
        state += time.perf_counter() - start
    return {
        "space": space_name,
        "strategy": strategy,
        "params": params,
        "proposals": n,
        "ask_ms": 1000 * ask / n,
        "tell_ms": 1000 * tell / n,
        "state_ms": 1000 * state / n,
        "total_ms": 1000 * (ask + tell + state) / n,
    }


REPORTED = ("cifar10_test", "cifar100_test", "imagenet16_120_test")


def strategy_seeds(
    strategy: str,
    params: dict[str, object],
    seeds: int,
    budget: int,
    table: TableEvaluator,
    count_duplicates: bool = False,
) -> dict[str, object]:
    """NB-201's protocol: reward cifar10_valid, report the chosen cell's test accuracies."""
    reported: dict[str, list[float]] = {m: [] for m in REPORTED}
    valids = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(seeds):
            config = _config(budget, seed, strategy, params, count_duplicates)
            search = _search(Path(tmp) / f"s{seed}", config, table)
            search.run()
            best = ranked(search.rows, 1)[0]
            for metric in REPORTED:
                reported[metric].append(best.metrics[metric])
            valids.append(best.metrics["cifar10_valid"])
            search.journal.close()
    return {
        "strategy": strategy,
        "params": params,
        "seeds": seeds,
        "budget": budget,
        "reward": "cifar10_valid",
        "count_duplicates": count_duplicates,
        "valid_mean": statistics.mean(valids),
        **{f"{m}_mean": statistics.mean(v) for m, v in reported.items()},
        **{f"{m}_std": statistics.stdev(v) for m, v in reported.items()},
    }


def _timed_search(
    tmp: Path, label: str, evaluator: str, budget: int, workers: int, kind: str
) -> float:
    """Seconds of one random search on NB-201 (journal and all), with this executor."""
    from nasgen.search.builder import build_search
    from nasgen.search.executors import ExecutorOptions

    text = (Path(__file__).parents[1] / "genotypes" / "spaces" / "nb201.cell").read_text()
    metric = "cifar10_valid" if evaluator.startswith("table") else "valid_acc"
    config = SearchConfig(text, "nb201", "random", evaluator, metric, 0, budget, workers=workers)
    journal = Journal.create(tmp / label, config.to_json())
    start = time.perf_counter()
    build_search(journal, config, executor=ExecutorOptions(kind)).run()
    seconds = time.perf_counter() - start
    journal.close()
    return seconds


def executor_rows(quick: bool) -> list[dict[str, object]]:
    """Per-trial overhead of each executor, and 2 workers against 1 on CPU-bound trials."""
    import os

    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread a trial, in every worker
    import ray
    import torch

    torch.set_num_threads(1)
    start = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    ray_start = time.perf_counter() - start
    rows: list[dict[str, object]] = []
    n = 100 if quick else 400
    train = "train:digits,epochs=1,max_batches=24"
    k = 4 if quick else 12
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        for kind, workers in (("local", 1), ("local", 2), ("ray", 2)):
            label = f"{kind}{workers}"
            seconds = _timed_search(base, f"t{label}", "table:nb201", n, workers, kind)
            name = {"local1": "inline", "local2": "process pool", "ray2": "ray"}[label]
            rows.append({"executor": name, "workers": workers, "trials": n,
                         "ms_per_trial": 1000 * seconds / n})  # fmt: skip
        for kind in ("local", "ray"):
            one = _timed_search(base, f"{kind}-1", train, k, 1, kind)
            two = _timed_search(base, f"{kind}-2", train, k, 2, kind)
            name = "inline / process pool" if kind == "local" else "ray"
            rows.append({"executor": name, "cpu_bound_trials": k, "seconds_1": one,
                         "seconds_2": two, "speedup": one / two})  # fmt: skip
    ray.shutdown()
    rows.append({"executor": "ray start-up", "seconds": ray_start})
    return rows


def _print_executors(rows: list[dict[str, object]]) -> None:
    print("executors (random search on NB-201):")
    for r in rows:
        if "ms_per_trial" in r:
            print(f"  {r['executor']:<24} {r['workers']} worker(s): {r['ms_per_trial']:.2f} ms a "
                  f"table trial (over {r['trials']})")  # fmt: skip
        elif "speedup" in r:
            print(f"  {r['executor']:<24} {r['cpu_bound_trials']} train:digits trials: "
                  f"{r['seconds_1']:.1f} s with 1 worker, {r['seconds_2']:.1f} s with 2: "
                  f"x{r['speedup']:.2f}")  # fmt: skip
        else:
            print(f"  {r['executor']:<24} {r['seconds']:.1f} s (ray.init of a local cluster)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--executors", action="store_true", help="Only the executor rows.")
    args = parser.parse_args()
    if args.executors:
        rows = executor_rows(args.quick)
        _print_executors(rows)
        if args.json:
            args.json.write_text(json.dumps({"executors": rows}, indent=2) + "\n")
        return
    n = 100 if args.quick else 500
    out: dict[str, object] = {}
    rows = [
        proposals_per_second(name, n // (5 if name == "nasnet" else 1)) for name in space_names()
    ]
    out["proposals"] = rows
    out["torch_imported"] = "torch" in sys.modules
    print(
        f"{'space':<12} {'proposals/s':>12} {'ms each':>9} {'IR+cost/s':>10} "
        f"{'full graph/s':>13} {'ratio':>6}"
    )
    for r in rows:
        print(
            f"{r['space']:<12} {r['per_second']:>12.0f} {r['ms_each']:>9.2f} "
            f"{r['ir_per_second']:>10.0f} {r['full_per_second']:>13.0f} {r['speedup']:>6.1f}"
        )
    overhead = [
        strategy_overhead(space_name, strategy, params, 100 if args.quick else 400)
        for space_name in ("nb201", "nasnet")
        for strategy, params in OVERHEAD_RUNS
        # the LSTM surrogate scores ~2e5 NASNet children per refit: minutes, not a row
        if not (space_name == "nasnet" and params.get("predictor") == "lstm")
    ]
    out["strategy_overhead"] = overhead
    compile_ms = {r["space"]: r["ms_each"] for r in rows}
    print("strategy overhead per proposal (ms; the loop's own compile+hash beside it):")
    print(
        f"{'space':<8} {'strategy':<26} {'ask':>7} {'tell':>7} {'state':>7} {'total':>7} "
        f"{'loop':>6}"
    )
    for r in overhead:
        label = f"{r['strategy']} {r['params'] or ''}".strip()
        print(
            f"{r['space']:<8} {label:<26} {r['ask_ms']:>7.3f} {r['tell_ms']:>7.3f} "
            f"{r['state_ms']:>7.3f} {r['total_ms']:>7.3f} {compile_ms[str(r['space'])]:>6.2f}"
        )
    writes = journal_writes(300 if args.quick else 2000)
    out["journal"] = writes
    print(f"torch imported: {out['torch_imported']}")
    print(
        f"journal: {writes['trials_per_second']:.0f} trials/s "
        f"({writes['transactions_per_second']:.0f} transactions/s)"
    )
    table = TableEvaluator("nb201")
    resume = resume_time(1000 if args.quick else 10_000, table)
    out["resume"] = resume
    print(
        f"resume: a journal of {resume['trials']} trials ({resume['evaluations']} evaluations) "
        f"reopened in {resume['resume_seconds']:.2f} s (the run took {resume['run_seconds']:.1f} s)"
    )
    n_seeds = 20 if args.quick else 200
    # (strategy, params, duplicates counted): NB-201's reference loops count a repeat as an
    # evaluation; nasgen's default lets repeats go free. Both are shown where they differ.
    runs: list[tuple[str, dict[str, object], bool]] = [
        ("random", {}, False),
        ("random", {}, True),
        ("rea", {"population": 10, "sample": 3}, False),
        ("rea", {"population": 10, "sample": 3}, True),
        ("rea", {"population": 30, "sample": 10}, False),
        ("rea", {"population": 30, "sample": 10}, True),
        ("reinforce", {"lr": 0.01}, False),
        ("reinforce", {"lr": 0.01}, True),
        ("reinforce", {"lr": 0.5}, True),  # collapses; free repeats would idle to the limit
        ("reinforce", {"lr": 0.01, "controller": "lstm"}, True),
        ("ppo", {}, True),
        ("ppo", {"controller": "logits", "lr": 0.01}, True),
    ]
    out["nb201_protocol"] = rows_ = [
        strategy_seeds(s, p, n_seeds, 100, table, counted) for s, p, counted in runs
    ]
    print(
        f"NB-201 protocol on table:nb201, {n_seeds} seeds x 100 evaluations, reward cifar10_valid"
        " (dups: repeats counted against the budget or free):"
    )
    print(
        f"{'strategy':<40} {'dups':>7} {'cifar10_test':>15} {'cifar100_test':>15} "
        f"{'imagenet16_test':>16}"
    )
    for row in rows_:
        label = f"{row['strategy']} {row['params'] or ''}".strip()
        dups = "counted" if row["count_duplicates"] else "free"
        cells = [f"{row[m + '_mean']:.2f} +- {row[m + '_std']:.2f}" for m in REPORTED]
        print(f"{label:<40} {dups:>7} {cells[0]:>15} {cells[1]:>15} {cells[2]:>16}")
    out["executors"] = executors = executor_rows(args.quick)
    _print_executors(executors)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
