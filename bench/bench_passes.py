"""Benchmark the IR passes: optimised against unoptimised modules, same weights, one run.

For every model of ``bench/models.py`` (NASNet-A mobile at 224, DARTS_V2 CIFAR at 32):

(a) the graphs: IR nodes, ops (nodes + ReLUs inside ops) and parameters at -O0, -O1
    training form and -O1 inference form, and how long the passes take;
(b) eval forward latency (CPU, ``torch.inference_mode``), batch 1 and 8: the -O0 module, the
    -O1 training-form module (same parameters) and the inference module
    (``nasgen.api.inference_module``: dead states and aux head gone, equal pools merged,
    shared ReLUs, BatchNorm folded), interleaved in alternating order, with the per-round
    ratio to -O0 (below 1 is faster);
(c) one training step (forward, loss with the aux head, backward, SGD), batch 16, -O1
    training form against -O0.

The outputs are checked first (max |logit difference| in eval, BN statistics randomised), so
each ratio compares two implementations of one function. ``--compare MODULE:FUNCTION`` adds
any zero-argument ``nn.Module`` factory to the eval rounds of the model given by
``--compare-with`` (default darts_v2), with its ratio to -O0 there. Nothing is asserted on
times; prefer the ratios on a shared machine.

Usage::

    python bench/bench_passes.py
    python bench/bench_passes.py --quick --json bench/results/passes.json
    python bench/bench_passes.py --compare mypkg.models:make_net --compare-with darts_v2
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_torch import (  # noqa: E402
    Row,
    eval_fn,
    format_table,
    interleaved,
    load_factory,
    machine_info,
    paired_ratio,
    train_fn,
    write_json,
)
from models import MODELS  # noqa: E402
from reference_darts_copy import randomise  # noqa: E402

from nasgen.api import analyze, build, inference_module, optimized, options_for  # noqa: E402
from nasgen.passes import count_ops  # noqa: E402


@dataclass(frozen=True)
class Settings:
    """How many runs each measurement gets."""

    eval_repeat: int
    eval_warmup: int
    train_repeat: int
    train_warmup: int


FULL = Settings(15, 3, 7, 2)
QUICK = Settings(3, 1, 2, 1)


def graphs(key: str) -> dict[str, object]:
    """(a) node, ReLU and parameter counts per level and form; pass time."""
    spec = MODELS[key]
    result = analyze(spec["source"], options_for(N=spec["N"], F=spec["F"]))
    out: dict[str, object] = {}
    for label, level, form in (
        ("O0", 0, "train"),
        ("O1 train", 1, "train"),
        ("O1 infer", 1, "inference"),
    ):
        start = time.perf_counter()
        fast, opt = optimized(result, level, form)
        ms = (time.perf_counter() - start) * 1000.0
        out[label] = {
            "nodes": len(fast.graph),
            "ops": count_ops(fast.graph),
            "params": fast.cost.params,
            "passes_ms": ms,
            "changes": len(opt.changes()),
        }
    return out


def bench_model(
    s: Settings, key: str, others: dict[str, nn.Module]
) -> tuple[list[Row], dict[str, float]]:
    """(b) and (c) for one model."""
    spec = MODELS[key]
    label = spec["label"]
    result = analyze(spec["source"], options_for(N=spec["N"], F=spec["F"]))
    base = build(result, seed=0)
    randomise(base, 1)
    base.eval()
    train_form = build(optimized(result, 1, "train")[0], seed=0)
    train_form.load_state_dict(base.state_dict())
    train_form.eval()
    fast = inference_module(base)
    size = result.arch.network.input_size
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        ref = base(x)
        check = {
            "O1 train": float((train_form(x) - ref).abs().max()),
            "O1 inference": float((fast(x) - ref).abs().max()),
        }
    models = {"O0": base, "O1 train form": train_form, "O1 inference": fast, **others}
    rows: list[Row] = []
    for batch in (1, 8):
        x = torch.randn(batch, 3, size, size)
        times = interleaved([eval_fn(m, x) for m in models.values()], s.eval_repeat, s.eval_warmup)
        by_name = dict(zip(models, times, strict=True))
        rows.append(Row("eval", f"{label} b{batch} [O0]", by_name["O0"]))
        for name, t in by_name.items():
            if name != "O0":
                r, q = paired_ratio(t, by_name["O0"])
                rows.append(Row("eval", f"{label} b{batch} [{name}]", t, r, q, "ratio: vs O0"))
    g = torch.Generator().manual_seed(0)
    xb = torch.randn(16, 3, size, size, generator=g)
    yb = torch.randint(0, result.arch.network.classes, (16,), generator=g)
    pair = {"O0": build(result, seed=0), "O1 train form": build(optimized(result, 1)[0], seed=0)}
    pair["O1 train form"].load_state_dict(pair["O0"].state_dict())
    fns = []
    for m in pair.values():
        m.train()
        fns.append(train_fn(m, xb, yb, float(m.aux_weight)))
    a, b = interleaved(fns, s.train_repeat, s.train_warmup)
    rows.append(Row("train", f"{label} step b16 [O0]", a))
    r, q = paired_ratio(b, a)
    rows.append(Row("train", f"{label} step b16 [O1 train form]", b, r, q, "ratio: vs O0"))
    return rows, check


def main(argv: Sequence[str] | None = None) -> int:
    """Run; print the tables; optionally write JSON."""
    ap = argparse.ArgumentParser(description="Benchmark the IR passes (see the docstring).")
    ap.add_argument("--quick", action="store_true", help="few repeats: a smoke run")
    ap.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON")
    ap.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's)")
    ap.add_argument("--model", choices=sorted(MODELS), action="append", help="only these")
    ap.add_argument("--compare", action="append", default=[], metavar="MODULE:FUNCTION")
    ap.add_argument("--compare-with", choices=sorted(MODELS), default="darts_v2")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    s = QUICK if args.quick else FULL
    info = machine_info()
    print(f"torch {info['torch']}, {info['threads']} threads, {info['cpu_count']} CPUs")
    factories: dict[str, Callable[[], nn.Module]] = {c: load_factory(c) for c in args.compare}
    wall = time.perf_counter()
    counts, checks, rows = {}, {}, []
    for key in args.model or list(MODELS):
        counts[key] = graphs(key)
        others = (
            {spec: f().eval() for spec, f in factories.items()} if key == args.compare_with else {}
        )
        model_rows, checks[key] = bench_model(s, key, others)
        rows += model_rows
    elapsed = time.perf_counter() - wall
    print()
    for key, levels in counts.items():
        for level, c in levels.items():
            assert isinstance(c, dict)
            print(
                f"{MODELS[key]['label']:<22} {level:<9} {c['nodes']:>4} nodes {c['ops']:>4} "
                f"ops {c['params']:>11,} params  passes {c['passes_ms']:.1f} ms"
            )
    print("outputs vs O0 (max |diff|): " + ", ".join(f"{k} {v}" for k, v in checks.items()))
    print()
    print(format_table(rows).replace("x reference", "x O0"))
    print(f"\nratios: median of per-round ratios to O0, q1-q3 in brackets; {elapsed:.0f} s")
    if args.json:
        doc = {
            "machine": info,
            "settings": {**asdict(s), "quick": args.quick, "compare": args.compare},
            "graphs": counts,
            "check_max_abs_diff": checks,
            "elapsed_s": elapsed,
            "results": [r.as_json("ratio_to_O0") for r in rows],
        }
        write_json(args.json, doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
