"""One-shot benchmark: a DARTS search step on CPU, nasgen's supernet beside a hand-written one.

    python bench/bench_oneshot.py                # batch 32, 3 rounds
    python bench/bench_oneshot.py --quick        # batch 8, 1 round
    python bench/bench_oneshot.py --json out.json

Rows (the DARTS space, C = 16, 8 cells, 10 classes, 32x32 inputs, the paper's defaults):
  - first order: the alphas step on a validation batch then the weights step on a training
    batch, nasgen (``SearchNetwork`` + ``DartsStep``) and the hand-written network of
    ``bench/reference_darts_search.py`` alternating in one process; the ratio of medians;
  - second order (nasgen): the unrolled step with the finite-difference Hessian-vector product,
    and its ratio to nasgen's first-order step;
  - GDAS (nasgen): one Gumbel-sampled op per edge, the memory-lean variant, and its ratio to
    the first-order DARTS step;
  - ENAS (nasgen, the enas_micro space, its search defaults: C = 20, 8 cells): a shared-weight
    step (the controller samples a cell, one SGD step on a training batch) and a controller step
    (10 sampled cells each scored on a validation batch, one Adam step), and their ratios to
    the DARTS first-order step;
  - peak memory: each side's step in a fresh process, the peak RSS of the step above the RSS
    before it (Linux: the peak is reset through ``/proc/self/clear_refs`` and read from
    ``VmHWM``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from reference_darts_search import ReferenceDartsSearch, first_order_step, weight_count

from nasgen.oneshot import SearchNetwork
from nasgen.oneshot.darts import DartsConfig, DartsStep
from nasgen.oneshot.enas import EnasConfig, EnasSearch
from nasgen.space import load_space


def _batches(batch: int, seed: int) -> tuple[tuple[torch.Tensor, torch.Tensor], ...]:
    g = torch.Generator().manual_seed(seed)
    return tuple(
        (torch.randn(batch, 3, 32, 32, generator=g), torch.randint(0, 10, (batch,), generator=g))
        for _ in range(2)
    )


def _reference(
    seed: int,
) -> tuple[ReferenceDartsSearch, torch.optim.Optimizer, torch.optim.Optimizer]:
    torch.manual_seed(seed)
    net = ReferenceDartsSearch()
    alphas = {id(a) for a in net.arch_parameters()}
    w_opt = torch.optim.SGD(
        [p for p in net.parameters() if id(p) not in alphas], 0.025, momentum=0.9, weight_decay=3e-4
    )
    a_opt = torch.optim.Adam(net.arch_parameters(), 3e-4, betas=(0.5, 0.999), weight_decay=1e-3)
    return net, w_opt, a_opt


def _nasgen(seed: int, order: int, tau: float | None = None) -> DartsStep:
    torch.manual_seed(seed)
    return DartsStep(SearchNetwork(load_space("darts")), DartsConfig(order=order, tau=tau))


def _enas() -> EnasSearch:
    return EnasSearch(load_space("enas_micro"), EnasConfig(), 0, (3, 32, 10), torch.device("cpu"))


def _enas_step(enas: EnasSearch, label: str, train: Batch, valid: Batch, r: int) -> None:
    sampler = torch.Generator().manual_seed(r)
    if label == "enas_weights":
        enas.weights_step(*train, sampler)
    else:
        enas.controller_step(iter([valid] * enas.config.aggregate), sampler)


Batch = tuple[torch.Tensor, torch.Tensor]
ENAS = ("enas_weights", "enas_controller")


def side_by_side(batch: int, rounds: int) -> dict[str, object]:
    ours, ours2, gdas = _nasgen(0, 1), _nasgen(0, 2), _nasgen(0, 1, tau=10.0)
    enas = _enas()
    ref = _reference(0)
    assert weight_count(ref[0]) == sum(p.numel() for p in ours.net.weights())
    ref[0].train()
    labels = ("nasgen", "reference", "nasgen_2nd", "gdas", *ENAS)
    times: dict[str, list[float]] = {k: [] for k in labels}
    for r in range(rounds + 1):  # the first round warms up and is not counted
        train, valid = _batches(batch, r)
        for label in times:
            start = time.perf_counter()
            if label == "reference":
                first_order_step(*ref, train, valid)
            elif label in ENAS:
                _enas_step(enas, label, train, valid, r)
            else:
                {"nasgen": ours, "nasgen_2nd": ours2, "gdas": gdas}[label].step(train, valid)
            if r:
                times[label].append(time.perf_counter() - start)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "batch": batch,
        "rounds": rounds,
        "weights": weight_count(ref[0]),
        "seconds": med,
        "ratio_nasgen_over_reference": med["nasgen"] / med["reference"],
        "second_over_first_order": med["nasgen_2nd"] / med["nasgen"],
        "gdas_over_first_order": med["gdas"] / med["nasgen"],
        "enas_weights_over_darts_first_order": med["enas_weights"] / med["nasgen"],
        "enas_controller_over_darts_first_order": med["enas_controller"] / med["nasgen"],
    }


def _status_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {key} in /proc/self/status")


def _peak_child(which: str, batch: int) -> None:
    """Run in a fresh process: the peak RSS of one step above the RSS before it."""
    train, valid = _batches(batch, 0)
    ref = _reference(0) if which == "reference" else None
    enas = _enas() if which in ENAS else None
    order, tau = (2, None) if which == "nasgen_2nd" else (1, 10.0 if which == "gdas" else None)
    step = _nasgen(0, order, tau) if ref is None and enas is None else None
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    base = _status_kb("VmRSS")
    if ref is not None:
        first_order_step(*ref, train, valid)
    elif enas is not None:
        _enas_step(enas, which, train, valid, 0)
    elif step is not None:
        step.step(train, valid)
    print(json.dumps({"base_kb": base, "peak_kb": _status_kb("VmHWM")}))


def peak_memory(batch: int) -> dict[str, float]:
    out = {}
    for which in ("nasgen", "reference", "nasgen_2nd", "gdas", *ENAS):
        done = subprocess.run(
            [sys.executable, __file__, "--peak-child", which, "--batch", str(batch)],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        data = json.loads(done.stdout.strip().splitlines()[-1])
        out[which] = (data["peak_kb"] - data["base_kb"]) / 1024
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--batch", type=int)
    parser.add_argument(
        "--peak-child", choices=("nasgen", "reference", "nasgen_2nd", "gdas", *ENAS)
    )
    args = parser.parse_args()
    batch = args.batch or (8 if args.quick else 32)
    if args.peak_child:
        _peak_child(args.peak_child, batch)
        return
    rows = side_by_side(batch, 1 if args.quick else 3)
    rows["peak_mib_above_build"] = peak = peak_memory(batch)
    sec = rows["seconds"]
    assert isinstance(sec, dict)
    print(f"DARTS search step, C = 16, 8 cells, batch {batch} (x2: train and valid), CPU:")
    print(f"{'':<28} {'seconds':>9} {'peak MiB':>9}")
    for label, key in (
        ("nasgen, first order", "nasgen"),
        ("hand-written, first order", "reference"),
        ("nasgen, second order", "nasgen_2nd"),
        ("nasgen, GDAS (tau 10)", "gdas"),
        ("ENAS shared-weight step", "enas_weights"),
        ("ENAS controller step (x10)", "enas_controller"),
    ):
        print(f"{label:<28} {sec[key]:>9.3f} {peak[key]:>9.0f}")
    print(f"ratio nasgen / hand-written (first order): {rows['ratio_nasgen_over_reference']:.2f}")
    print(f"second order / first order (nasgen): {rows['second_over_first_order']:.2f}")
    print(f"GDAS / first order (nasgen): {rows['gdas_over_first_order']:.2f}")
    for key in ("enas_weights", "enas_controller"):
        print(f"{key} / DARTS first order: {rows[key + '_over_darts_first_order']:.2f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
