"""Benchmark nasgen's PyTorch backend on CPU, side by side with a hand-written DARTS network.

Measures, in one process:

(a) build time of ``nasgen.compile`` for NASNet-A mobile (N=4, F=44) and DARTS_V2 CIFAR
    (the first, cold call separately; then warm repeats interleaved with building the
    hand-written reference network);
(b) eval forward latency under ``torch.inference_mode``: NASNet-A mobile at 224x224 and
    DARTS_V2 CIFAR at 32x32, batch 1 and 8;
(c) one training step of DARTS_V2 CIFAR (forward, cross-entropy + 0.4 x auxiliary loss,
    backward, SGD with momentum), batch 32 at 32x32, drop path off;
(d) nasgen's DARTS_V2 against ``bench/reference_darts.py`` (written by hand from the DARTS
    paper) for (b) and (c), interleaved in the same run (A B, B A, A B, ...), with the
    nasgen/reference ratio taken per round and summarised by its median.

Before timing, nasgen's weights are copied into the reference and both are checked to give
the same outputs (float32 eval logits within 1e-5 with randomised BN statistics; float64
training outputs and gradients), so the ratio compares two implementations of one function.

Every figure is a median over repeats with the interquartile range (q1-q3); on a shared
machine prefer the ratios, which come from paired, interleaved runs. Nothing is asserted on
times.

Usage::

    python bench/bench_torch.py                   # full run (about 2-3 minutes on 2 cores)
    python bench/bench_torch.py --quick           # smoke run, few repeats
    python bench/bench_torch.py --json bench/results/torch.json
    python bench/bench_torch.py --threads 1
    python bench/bench_torch.py --compare mypkg.models:make_darts   # repeatable

``--compare module:function`` imports ``function`` from ``module`` (the current directory is
on the import path) and calls it with no arguments; it must return an ``nn.Module`` that takes
a ``(batch, 3, 32, 32)`` tensor and, like the others, returns logits in eval mode and either
logits or ``(logits, aux_logits)`` in train mode. It is timed in (b) and (c) next to nasgen's
DARTS_V2 and the reference, in the same interleaved rounds, and gets a ratio to the reference.
No equivalence check is made for it. ``--compare reference_darts:ReferenceDartsCifar`` (a
second copy of the reference) is a handy A/A control: its ratio shows the noise floor of the
machine at that moment.

The JSON file holds the machine (platform, python, torch, threads, cpu count, timestamp,
git commit), the settings, the equivalence check and every measurement with its raw samples.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import torch
from torch import Tensor, nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import reference_darts as refd  # noqa: E402
import reference_darts_copy as refc  # noqa: E402

import nasgen  # noqa: E402

REFERENCE = "reference"


@dataclass(frozen=True)
class Settings:
    """How many runs each measurement gets."""

    build_repeat: int
    build_warmup: int
    eval_repeat: int
    eval_warmup: int
    nasnet_b8_repeat: int
    train_repeat: int
    train_warmup: int


FULL = Settings(7, 1, 21, 3, 7, 9, 2)
QUICK = Settings(2, 0, 3, 1, 2, 2, 1)


@dataclass
class Row:
    """One measurement: times in milliseconds."""

    group: str
    name: str
    samples_ms: list[float]
    ratio: float | None = None  # median of per-round ratios to the reference, where paired
    ratio_q: tuple[float, float] | None = None
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def iqr(self) -> tuple[float, float]:
        return _quartiles(self.samples_ms)

    def as_json(self, ratio_key: str = "ratio") -> dict[str, object]:
        """The row for a JSON file: median, quartiles, runs, ratio (under ``ratio_key``)."""
        return {
            "group": self.group,
            "name": self.name,
            "unit": "ms",
            "median": self.median if self.samples_ms else None,
            "q1": self.iqr[0] if self.samples_ms else None,
            "q3": self.iqr[1] if self.samples_ms else None,
            "n": len(self.samples_ms),
            ratio_key: self.ratio,
            "ratio_q1_q3": list(self.ratio_q) if self.ratio_q else None,
            "note": self.note,
            "samples": self.samples_ms,
        }


def _quartiles(xs: Sequence[float]) -> tuple[float, float]:
    if len(xs) < 2:
        m = statistics.median(xs)
        return m, m
    q1, _, q3 = statistics.quantiles(xs, n=4, method="inclusive")
    return q1, q3


# --------------------------------------------------------------------------------- timing


def interleaved(fns: Sequence[Callable[[], object]], repeat: int, warmup: int) -> list[list[float]]:
    """Time each callable ``repeat`` times in rounds, alternating the order every round.

    Returns one list of milliseconds per callable; sample k of every list comes from round k.
    """
    for _ in range(warmup):
        for fn in fns:
            fn()
    gc.collect()
    times: list[list[float]] = [[] for _ in fns]
    order = list(range(len(fns)))
    for r in range(repeat):
        for i in order if r % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            fns[i]()
            times[i].append((time.perf_counter() - start) * 1000.0)
    return times


def paired_ratio(a: Sequence[float], b: Sequence[float]) -> tuple[float, tuple[float, float]]:
    """Median and quartiles of the per-round ratios a[k] / b[k]."""
    ratios = [x / y for x, y in zip(a, b, strict=True)]
    return statistics.median(ratios), _quartiles(ratios)


def eval_fn(model: nn.Module, x: Tensor) -> Callable[[], object]:
    """One inference-mode forward pass."""

    def run() -> object:
        with torch.inference_mode():
            return model(x)

    return run


def train_fn(model: nn.Module, x: Tensor, y: Tensor, aux_weight: float) -> Callable[[], object]:
    """One training step: forward, loss (+ auxiliary), backward, SGD step (DARTS settings)."""
    opt = torch.optim.SGD(model.parameters(), lr=0.025, momentum=0.9, weight_decay=3e-4)
    ce = nn.functional.cross_entropy

    def run() -> object:
        opt.zero_grad(set_to_none=True)
        out = model(x)
        if isinstance(out, tuple):
            logits, aux = out
            loss = ce(logits, y) + aux_weight * ce(aux, y)
        else:
            loss = ce(out, y)
        loss.backward()  # type: ignore[no-untyped-call]
        opt.step()
        return loss

    return run


# --------------------------------------------------------------------------------- models


def load_factory(spec: str) -> Callable[[], nn.Module]:
    """``module:function`` -> the callable (the current directory is importable)."""
    mod_name, sep, attr = spec.partition(":")
    if not sep or not mod_name or not attr:
        raise SystemExit(f"--compare wants module:function, got {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    obj: object = importlib.import_module(mod_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise SystemExit(f"--compare {spec}: {attr} is not callable")
    return obj


def n_params(model: nn.Module) -> int:
    """All trainable parameters (auxiliary head included)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# ---------------------------------------------------------------------------------- runs


def bench_build(s: Settings) -> list[Row]:
    """(a) nasgen.compile, cold then warm; the reference network's construction beside it."""
    rows: list[Row] = []
    start = time.perf_counter()
    nasgen.compile("nasnet_a.cell", N=4, F=44, seed=0)
    cold = (time.perf_counter() - start) * 1000.0
    rows.append(
        Row("build", "nasgen nasnet_a mobile, first call", [cold], note="imports the backend")
    )
    start = time.perf_counter()
    nasgen.compile("darts_v2", seed=0)
    rows.append(
        Row("build", "nasgen darts_v2 cifar, first call", [(time.perf_counter() - start) * 1000.0])
    )
    nas, dar, ref = interleaved(
        [
            lambda: nasgen.compile("nasnet_a.cell", N=4, F=44, seed=0),
            lambda: nasgen.compile("darts_v2", seed=0),
            lambda: refd.ReferenceDartsCifar(),
        ],
        s.build_repeat,
        s.build_warmup,
    )
    rows.append(Row("build", "nasgen nasnet_a mobile", nas))
    r, q = paired_ratio(dar, ref)
    rows.append(
        Row("build", "nasgen darts_v2 cifar", dar, r, q, note="ratio: vs building the reference")
    )
    rows.append(Row("build", "reference darts_v2 cifar (nn.Module init)", ref))
    return rows


def bench_nasnet(s: Settings) -> list[Row]:
    """(b) NASNet-A mobile eval latency at 224."""
    model = nasgen.compile("nasnet_a.cell", N=4, F=44, seed=0).eval()
    rows = []
    for batch, repeat in ((1, s.eval_repeat), (8, s.nasnet_b8_repeat)):
        x = torch.randn(batch, 3, 224, 224)
        (t,) = interleaved([eval_fn(model, x)], repeat, s.eval_warmup)
        rows.append(Row("eval", f"nasgen nasnet_a mobile 224 b{batch}", t))
    return rows


def bench_darts(
    s: Settings,
    darts: nn.Module,
    ref: nn.Module,
    others: dict[str, nn.Module],
    train_batch: int,
) -> list[Row]:
    """(b), (c), (d): DARTS_V2 eval and training step, nasgen vs reference (vs others)."""
    models = {"nasgen": darts, REFERENCE: ref, **others}
    rows: list[Row] = []
    for batch in (1, 8):
        x = torch.randn(batch, 3, 32, 32)
        for m in models.values():
            m.eval()
        times = interleaved([eval_fn(m, x) for m in models.values()], s.eval_repeat, s.eval_warmup)
        rows += _paired_rows("eval", f"darts_v2 cifar 32 b{batch}", models, times)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(train_batch, 3, 32, 32, generator=g)
    y = torch.randint(0, 10, (train_batch,), generator=g)
    aux_weight = float(getattr(darts, "aux_weight", 0.4))
    fns = []
    for m in models.values():
        m.train()
        fns.append(train_fn(m, x, y, aux_weight))
    times = interleaved(fns, s.train_repeat, s.train_warmup)
    rows += _paired_rows("train", f"darts_v2 cifar step b{train_batch} +aux", models, times)
    for m in models.values():
        m.eval()
    return rows


def _paired_rows(
    group: str, what: str, models: dict[str, nn.Module], times: list[list[float]]
) -> list[Row]:
    by_name = dict(zip(models, times, strict=True))
    rows = []
    for name, t in by_name.items():
        if name == REFERENCE:
            rows.append(Row(group, f"{what} [{name}]", t))
        else:
            r, q = paired_ratio(t, by_name[REFERENCE])
            rows.append(Row(group, f"{what} [{name}]", t, r, q))
    return rows


# --------------------------------------------------------------------------------- output


def machine_info() -> dict[str, object]:
    """Where the numbers come from."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=HERE,
            capture_output=True,
            text=True,
            check=False,
            timeout=5,
        ).stdout.strip()
    except OSError:
        commit = ""
    try:
        affinity: int | None = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = None
    try:
        load: list[float] | None = list(os.getloadavg())
    except OSError:
        load = None
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "nasgen": getattr(nasgen, "__version__", ""),
        "git_commit": commit,
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": affinity,
        "mkldnn": torch.backends.mkldnn.is_available(),  # type: ignore[no-untyped-call]
        "loadavg_at_start": load,
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def write_json(path: Path, doc: dict[str, object]) -> None:
    """Write a benchmark's results (creating the folder) and say where."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {path}")


def format_table(rows: list[Row]) -> str:
    """A plain-text table: median, IQR, runs, ratio to the reference."""
    head = ("group", "measurement", "median ms", "q1-q3 ms", "n", "x reference")
    body = []
    for r in rows:
        q1, q3 = r.iqr
        ratio = ""
        if r.ratio is not None and r.ratio_q is not None:
            ratio = f"{r.ratio:.3f} ({r.ratio_q[0]:.2f}-{r.ratio_q[1]:.2f})"
        iqr = f"{q1:.1f}-{q3:.1f}" if len(r.samples_ms) > 1 else "-"
        body.append((r.group, r.name, f"{r.median:.1f}", iqr, str(len(r.samples_ms)), ratio))
    widths = [max(len(line[i]) for line in (head, *body)) for i in range(len(head))]
    right = {2, 3, 4}

    def fmt(line: Sequence[str]) -> str:
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(head), sep, *(fmt(line) for line in body)])


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the table; optionally write JSON."""
    ap = argparse.ArgumentParser(
        description="Benchmark nasgen's PyTorch backend (see the module docstring)."
    )
    ap.add_argument("--quick", action="store_true", help="few repeats: a smoke run")
    ap.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON")
    ap.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="MODULE:FUNCTION",
        help="a zero-argument callable returning an nn.Module for (B, 3, 32, 32) input; "
        "timed next to DARTS_V2 (repeatable)",
    )
    ap.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's)")
    ap.add_argument("--train-batch", type=int, default=32, help="training-step batch (32)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    s = QUICK if args.quick else FULL
    info = machine_info()
    print(
        f"torch {info['torch']}, {info['threads']} threads, {info['cpu_count']} CPUs, "
        f"python {info['python']}, {info['platform']}"
    )
    wall = time.perf_counter()

    factories = {spec: load_factory(spec) for spec in args.compare}  # fail early on a typo

    rows = bench_build(s)

    darts = nasgen.compile("darts_v2", seed=0)
    check = refc.check_against_nasgen(darts)
    ref = refd.ReferenceDartsCifar()
    refc.copy_from_nasgen(darts, ref)  # same weights in the timed pair
    same = check["eval"] <= 1e-5 and max(check["train"], check["train_aux"], check["grad"]) <= 1e-9
    print(
        "reference check: "
        + ", ".join(f"{k} {v:.1e}" for k, v in check.items())
        + f" -> {'same function' if same else 'OUTPUTS DIFFER'}"
    )
    if not same:
        print("warning: nasgen and the reference disagree; the ratios compare different networks")
    params = {"nasgen darts_v2": n_params(darts), REFERENCE: n_params(ref)}
    others: dict[str, nn.Module] = {}
    for spec, factory in factories.items():
        model = factory()
        if not isinstance(model, nn.Module):
            raise SystemExit(f"--compare {spec} returned {type(model).__name__}, not nn.Module")
        others[spec] = model
        params[spec] = n_params(model)

    rows += bench_nasnet(s)
    rows += bench_darts(s, darts, ref, others, args.train_batch)
    elapsed = time.perf_counter() - wall

    print()
    print(format_table(rows))
    print()
    print("parameters (with aux head): " + ", ".join(f"{k} {v:,}" for k, v in params.items()))
    print(
        f"ratios: median of per-round nasgen/reference (or model/reference), q1-q3 in brackets;"
        f" {elapsed:.0f} s"
    )
    if args.json:
        doc = {
            "machine": info,
            "settings": {
                **asdict(s),
                "quick": args.quick,
                "train_batch": args.train_batch,
                "compare": args.compare,
            },
            "check": {"max_abs_diff": check, "same_function": same},
            "parameters": params,
            "elapsed_s": elapsed,
            "results": [r.as_json("ratio_to_reference") for r in rows],
        }
        write_json(args.json, doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
