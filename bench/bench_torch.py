"""PyTorch backend benchmark: build time, eval latency, a training step, and nasgen's DARTS_V2
side by side with a hand-written one (bench/reference_darts.py) in the same run.

Usage::

    python bench/bench_torch.py                 # table
    python bench/bench_torch.py --quick         # smoke run
    python bench/bench_torch.py --json out.json
    python bench/bench_torch.py --compare mypkg.models:darts_v2   # your factory, same input

The comparison copies nasgen's weights into the reference network and checks both compute the
same outputs before timing them, so the ratio compares two implementations of one function.
Timings interleave the two models (A, B, A, B, ...) and report medians; on shared machines the
ratio is the figure to read. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))

from reference_darts import DartsCifar

import nasgen

_SEP = {"depthwise1": "1", "pointwise1": "2", "bn1": "3", "depthwise2": "5", "pointwise2": "6"}
_SEP |= {"bn2": "7", "conv1": "a", "conv2": "b", "bn": "bn"}
_AUX = {"proj": "features.2", "bn_proj": "features.3", "conv": "features.5", "bn": "features.6"}


def _ref_name(name: str, theirs: set[str]) -> str:
    """nasgen DARTS_V2 parameter name -> reference parameter name."""
    parts = name.split(".")
    leaf = parts[-1]
    if parts[0] == "stem":
        return f"stem.{ {'conv': '0', 'bn': '1'}[parts[1]] }.{leaf}"
    if parts[0] == "head":
        return f"fc.{leaf}"
    if parts[0] == "aux":
        return f"aux.{_AUX.get(parts[1], parts[1])}.{leaf}"
    cell, node, layer = parts[1], parts[2], parts[-2]
    if node in ("h_prev", "h"):
        pre = f"cells.{cell}.{'pre0' if node == 'h_prev' else 'pre1'}"
        if f"{pre}.a.weight" in theirs:  # FactorizedReduce after a reduction
            return f"{pre}.{_SEP[layer]}.{leaf}"
        return f"{pre}.{ {'conv': '1', 'bn': '2'}[layer] }.{leaf}"
    block, slot = int(node[1:]) - 1, parts[3]
    index = 2 * block + (0 if slot == "left" else 1)
    return f"cells.{cell}.ops.{index}.{_SEP[layer]}.{leaf}"


def copy_into_reference(model: nn.Module, ref: nn.Module) -> None:
    """Load nasgen DARTS_V2 weights and BN statistics into the reference network."""
    theirs = set(ref.state_dict())
    mapped = {_ref_name(k, theirs): v for k, v in model.state_dict().items()}
    missing, unexpected = sorted(theirs - set(mapped)), sorted(set(mapped) - theirs)
    if missing or unexpected:
        raise SystemExit(
            f"weight mapping failed: missing {missing[:3]}, unexpected {unexpected[:3]}"
        )
    ref.load_state_dict(mapped)


def _randomise_bn(model: nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)


def _median_ms(fns: list[Callable[[], object]], repeat: int, warmup: int) -> list[float]:
    for fn in fns:
        for _ in range(warmup):
            fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            times[i].append(time.perf_counter() - start)
    return [statistics.median(t) * 1000 for t in times]


def _eval(model: nn.Module, x: torch.Tensor) -> Callable[[], object]:
    def run() -> object:
        with torch.inference_mode():
            return model(x)

    return run


def _train_step(model: nn.Module, batch: int) -> Callable[[], object]:
    x, y = torch.randn(batch, 3, 32, 32), torch.randint(0, 10, (batch,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    ce = nn.functional.cross_entropy

    def run() -> object:
        opt.zero_grad(set_to_none=True)
        logits, aux = model(x)
        loss = ce(logits, y) + 0.4 * ce(aux, y)
        loss.backward()
        opt.step()
        return loss

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few repeats (a smoke run)")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--compare", help="module:function returning an nn.Module for 3x32x32 input")
    args = ap.parse_args()
    repeat, warmup = (3, 1) if args.quick else (15, 3)
    rows: dict[str, float] = {}

    start = time.perf_counter()
    nasnet = nasgen.compile("nasnet_a.cell", N=4, F=44, seed=0).eval()
    rows["build nasnet_a mobile (ms)"] = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    darts = nasgen.compile("darts_v2.cell", seed=0).eval()
    rows["build darts_v2 cifar (ms)"] = (time.perf_counter() - start) * 1000

    ref = DartsCifar().eval()
    _randomise_bn(darts, 0)
    copy_into_reference(darts, ref)
    probe = torch.randn(4, 3, 32, 32)
    with torch.inference_mode():
        max_diff = (darts(probe) - ref(probe)).abs().max().item()
    rows["nasgen vs reference max |diff|"] = max_diff

    for batch in (1, 8):
        x224 = torch.randn(batch, 3, 224, 224)
        (rows[f"eval nasnet_a mobile 224 b{batch} (ms)"],) = _median_ms(
            [_eval(nasnet, x224)], max(3, repeat // 3), warmup
        )
        x32 = torch.randn(batch, 3, 32, 32)
        fns = [_eval(darts, x32), _eval(ref, x32)]
        names = ["nasgen", "reference"]
        if args.compare:
            mod, _, fn = args.compare.partition(":")
            other = getattr(importlib.import_module(mod), fn)().eval()
            fns.append(_eval(other, x32))
            names.append(args.compare)
        times = _median_ms(fns, repeat, warmup)
        for name, t in zip(names, times, strict=True):
            rows[f"eval darts_v2 32 b{batch} {name} (ms)"] = t
        rows[f"eval darts_v2 32 b{batch} nasgen/reference"] = times[0] / times[1]

    darts.train()
    ref.train()
    t_n, t_r = _median_ms([_train_step(darts, 32), _train_step(ref, 32)], max(3, repeat // 3), 1)
    rows["train step darts_v2 b32 nasgen (ms)"] = t_n
    rows["train step darts_v2 b32 reference (ms)"] = t_r
    rows["train step darts_v2 b32 nasgen/reference"] = t_n / t_r

    width = max(map(len, rows))
    for key, value in rows.items():
        shown = f"{value:.2e}" if "diff" in key else f"{value:10.2f}"
        print(f"{key:<{width}}  {shown}")
    if args.json:
        machine = {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "cpus": os.cpu_count(),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        args.json.write_text(json.dumps({"machine": machine, "results": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
