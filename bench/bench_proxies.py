"""Rank correlation of the zero-cost proxies with NAS-Bench-201 accuracies.

Samples NB-201 cells (seeded), converts each arch string to a .cell text
(``nasgen.dsl.foreign.import_nb201`` + ``nasgen.dsl.printer.print_module``), scores it with
``nasgen.search.evaluators.proxy.ProxyEvaluator`` on a small skeleton and one synthetic
minibatch, and prints the Spearman rank correlation of every proxy with the table's
``cifar10_valid`` and ``cifar10_test`` accuracies, plus the mean seconds per cell.

Read the numbers with care:

- The table (``nb201_12epoch.csv.gz``) holds **12-epoch** accuracies; the published proxy
  correlations (Abdelfattah et al., ICLR 2021, all 15,625 cells, CIFAR-10, 200-epoch test
  accuracy: synflow 0.737, jacob_cov 0.731, snip 0.596, grad_norm 0.594) are against converged
  accuracies, which proxies track better.
- The minibatch is synthetic (standard normal images, random labels), not CIFAR-10, and the
  skeleton is smaller than NB-201's (N = 5, F = 16) unless ``--N 5``.
- ``params`` (and ``macs``) are always reported: the parameter count alone is a strong baseline.

Ranks: ties get their average rank; a non-finite score (jacob_cov is NaN for a cell whose
output ignores its input, naswot -inf for a singular kernel) ranks below every finite one.
Nothing is asserted. In ``--json`` (strict JSON) a non-finite number is written as null.

Usage::

    python bench/bench_proxies.py                      # 300 cells, N=1, F=16, batch 64
    python bench/bench_proxies.py --n 50 --json bench/results/proxies.json
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import math
import platform
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from nasgen.api import options_for
from nasgen.dsl.foreign import import_nb201
from nasgen.dsl.printer import print_module
from nasgen.search.evaluators.proxy import PROXIES, ProxyEvaluator

ROOT = Path(__file__).resolve().parent.parent
TABLES = (
    Path("/work/shared/data/nb201_12epoch.csv.gz"),
    ROOT / "nasgen" / "search" / "data" / "nb201_12epoch.csv.gz",
)
TARGETS = ("cifar10_valid", "cifar10_test")
PUBLISHED = {"synflow": 0.737, "jacob_cov": 0.731, "snip": 0.596, "grad_norm": 0.594}
"""Abdelfattah et al. 2021: Spearman on all NB-201 cells vs 200-epoch CIFAR-10 test accuracy."""


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their average rank; non-finite values rank lowest."""
    x = np.where(np.isfinite(values), values, -np.inf)
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    ranks = np.empty(len(x), dtype=np.float64)
    start = 0
    while start < len(x):
        stop = start + 1
        while stop < len(x) and sorted_x[stop] == sorted_x[start]:
            stop += 1
        ranks[order[start:stop]] = (start + stop - 1) / 2.0 + 1.0
        start = stop
    return ranks


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman's rho: Pearson's correlation of the average ranks (NaN if one is constant)."""
    ra, rb = average_ranks(np.asarray(a, float)), average_ranks(np.asarray(b, float))
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = math.sqrt(float((ra**2).sum() * (rb**2).sum()))
    return float((ra * rb).sum() / denom) if denom > 0 else math.nan


def read_table(path: Path) -> list[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _table_path(given: str | None) -> Path:
    if given:
        return Path(given)
    for path in TABLES:
        if path.exists():
            return path
    raise SystemExit("no NB-201 table found; give --table PATH")


def run(args: argparse.Namespace) -> dict[str, object]:
    table = _table_path(args.table)
    rows = read_table(table)
    chosen = random.Random(args.seed).sample(rows, min(args.n, len(rows)))
    names = list(PROXIES)
    evaluator = ProxyEvaluator(names, args.batch_size, options_for(N=args.N, F=args.F))
    scores: dict[str, list[float]] = {n: [] for n in names}
    seconds: dict[str, list[float]] = {}
    accs: dict[str, list[float]] = {t: [] for t in TARGETS}
    failed: list[str] = []
    per_cell: list[dict[str, object]] = []
    start = time.perf_counter()
    for i, row in enumerate(chosen, start=1):
        text = print_module(import_nb201(row["arch"]))
        result, times = evaluator.evaluate_timed(text, args.proxy_seed)
        if result.error is not None:
            failed.append(f"{row['index']}: {result.error.splitlines()[0]}")
            continue
        for n in names:
            scores[n].append(result.metrics[n])
        for k, v in times.items():
            seconds.setdefault(k, []).append(v)
        for t in TARGETS:
            accs[t].append(float(row[t]))
        per_cell.append({"index": int(row["index"]), "arch": row["arch"], **result.metrics})
        if i % 50 == 0:
            print(f"  {i}/{len(chosen)} cells, {time.perf_counter() - start:.0f} s", flush=True)
    results = []
    for n in names:
        values = np.asarray(scores[n], float)
        spent = seconds.get("compile" if PROXIES[n].static else n, [0.0])
        results.append(
            {
                "proxy": n,
                "log_space": PROXIES[n].log_space,
                **{f"spearman_{t}": spearman(values, accs[t]) for t in TARGETS},
                "seconds_per_cell": float(np.mean(spent)),
                "non_finite": int((~np.isfinite(values)).sum()),
                "published_200epoch_test": PUBLISHED.get(n),
            }
        )
    return {
        "table": str(table),
        "cells": len(chosen),
        "scored": len(chosen) - len(failed),
        "failed": failed,
        "settings": {
            "N": args.N,
            "F": args.F,
            "batch_size": args.batch_size,
            "data": "synthetic: standard normal images, labels uniform in range(10)",
            "sample_seed": args.seed,
            "proxy_seed": args.proxy_seed,
        },
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "platform": platform.platform(),
        },
        "build_seconds_per_cell": float(np.mean(seconds.get("build", [0.0]))),
        "wall_seconds": time.perf_counter() - start,
        "results": results,
        "per_cell": per_cell,
    }


def jsonable(value: object) -> object:
    """``value`` with every non-finite float as None (strict JSON has no NaN or infinity)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def format_table(report: dict[str, object]) -> str:
    head = ("proxy", "rho valid", "rho test", "s/cell", "non-finite", "published")
    lines = [" | ".join(head), " | ".join("-" * len(h) for h in head)]
    for r in report["results"]:  # type: ignore[attr-defined]
        name = r["proxy"] + (" (log)" if r["log_space"] else "")
        pub = r["published_200epoch_test"]
        lines.append(
            f"{name} | {r['spearman_cifar10_valid']:.3f} | {r['spearman_cifar10_test']:.3f} | "
            f"{r['seconds_per_cell']:.4f} | {r['non_finite']} | "
            f"{'-' if pub is None else f'{pub:.3f}'}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=300, help="cells to sample (default 300)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample of cells")
    parser.add_argument("--proxy-seed", type=int, default=0, help="weights and minibatch seed")
    parser.add_argument("--N", type=int, default=1, help="cells per stage (NB-201: 5)")
    parser.add_argument("--F", type=int, default=16, help="filters of the first stage")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--data", choices=("none",), default="none", help="none: synthetic")
    parser.add_argument("--table", help="NB-201 CSV (default: the shared or bundled one)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--json", help="write the report to this path")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(
        f"{args.n} NB-201 cells at N={args.N}, F={args.F}, batch {args.batch_size} (synthetic); "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads",
        flush=True,
    )
    report = run(args)
    print()
    print(format_table(report))
    print()
    print(
        f"{report['scored']} of {report['cells']} cells scored in {report['wall_seconds']:.0f} s"
        f" (build {report['build_seconds_per_cell']:.4f} s/cell). Against 12-epoch accuracies"
        " and synthetic data; 'published' is all cells vs 200-epoch test (Abdelfattah et al.)."
    )
    for line in report["failed"][:5]:  # type: ignore[index]
        print(f"  failed {line}")
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(jsonable(report), indent=2, allow_nan=False) + "\n")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
