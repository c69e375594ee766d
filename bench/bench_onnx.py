"""Benchmark nasgen's direct ONNX exporter against ``torch.onnx.export`` on CPU.

For NASNet-A mobile (N=4, F=44, 224x224, 1000 classes) and DARTS_V2 CIFAR (N=6, F=36, 32x32),
in one process:

(a) export time: nasgen's path as ``nasgen compile -o x.onnx`` runs it
    (``nasgen.api.to_onnx``: inference passes on the compiled IR, arrays taken from the
    state_dict, graph emitted, serialised, written) against
    ``torch.onnx.export(..., opset_version=18, dynamo=False)`` (the TorchScript exporter),
    interleaved, with the per-round ratio; the dynamo exporter (``dynamo=True``) is timed
    too when ``onnxscript`` is installed, and reported as unavailable otherwise;
(b) the files: node count, node count per op type, initializers, file size, and the largest
    difference of their logits from PyTorch's (randomised BN statistics, eval mode);
(b') fp16 and int8 (QDQ, per channel) versions of nasgen's file: size, the time to make them,
    and their agreement with fp32 (max |logit error|, top-1) on synthetic calibration images;
(c) onnxruntime CPU latency, batch 1 and 8, at ``ORT_ENABLE_ALL`` and ``ORT_ENABLE_BASIC``,
    for both files, interleaved with PyTorch eager (``torch.inference_mode``), with the
    per-round ratio to eager; plus each session's creation time.

Every figure is a median over repeats with the interquartile range (q1-q3); prefer the ratios
on a shared machine. Nothing is asserted on times.

Usage::

    python bench/bench_onnx.py                 # full run (a few minutes on 2 cores)
    python bench/bench_onnx.py --quick         # smoke run, few repeats
    python bench/bench_onnx.py --json bench/results/onnx.json
    python bench/bench_onnx.py --threads 1     # torch and onnxruntime intra-op threads
    python bench/bench_onnx.py --model darts_v2
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_torch import Row, interleaved, machine_info, paired_ratio, write_json  # noqa: E402
from models import MODELS  # noqa: E402
from reference_darts_copy import randomise  # noqa: E402

from nasgen.api import Analysis, analyze, build, options_for, to_onnx  # noqa: E402
from nasgen.backends.torch.onnx_oracle import torch_onnx_export  # noqa: E402
from nasgen.exporters.onnx.quantize import agreement, to_fp16, to_int8  # noqa: E402

LEVELS = {
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
}


@dataclass(frozen=True)
class Settings:
    """How many runs each measurement gets."""

    export_repeat: int
    torch_export_repeat: int
    latency_repeat: int
    latency_warmup: int


FULL = Settings(7, 5, 15, 3)
QUICK = Settings(2, 1, 3, 1)


@dataclass
class Exported:
    """One ONNX file and what we know about it."""

    name: str
    data: bytes
    nodes: int
    op_types: dict[str, int]
    initializers: int
    max_abs_diff: dict[str, float]
    error: str = ""
    """Why onnxruntime could not run the file (it is then left out of the latency runs)."""


# ---------------------------------------------------------------------------------- export


def _compile(key: str) -> tuple[Analysis, nn.Module]:
    spec = MODELS[key]
    result = analyze(spec["source"], options_for(N=spec["N"], F=spec["F"]))
    model = build(result, seed=0).eval()
    randomise(model, 1)
    return result, model


def direct_export(result: Analysis, model: nn.Module, path: Path) -> Callable[[], bytes]:
    """nasgen's path, as ``nasgen compile -o x.onnx`` runs it: inference passes on the
    compiled IR, state_dict -> arrays -> ModelProto -> bytes -> file."""

    def run() -> bytes:
        proto, _ = to_onnx(model, result=result)
        data = proto.SerializeToString()
        path.write_bytes(data)
        return data

    return run


def torch_export(
    model: nn.Module, x: torch.Tensor, path: Path, *, dynamo: bool
) -> Callable[[], bytes]:
    """``torch.onnx.export`` at opset 18 with a dynamic batch axis (the oracle path)."""

    def run() -> bytes:
        torch_onnx_export(model, path, input_shape=tuple(x.shape[1:]), dynamo=dynamo)
        return path.read_bytes()

    return run


def describe(name: str, data: bytes, model: nn.Module, shape: tuple[int, ...]) -> Exported:
    """Node counts and parity with torch at batch 1 and 8."""
    proto = onnx.load_from_string(data)
    ops = Counter(n.op_type for n in proto.graph.node)
    diffs: dict[str, float] = {}
    error = ""
    try:
        session = _session(data, "all", 0)
        for batch in (1, 8):
            g = torch.Generator().manual_seed(batch)
            x = torch.randn(batch, *shape[1:], generator=g)
            with torch.inference_mode():
                expected = model(x).numpy()
            (got,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
            diffs[f"b{batch}"] = float(np.abs(got - expected).max())
    except Exception as err:  # a broken export is a result, not a crash of the benchmark
        error = str(err).strip().splitlines()[-1][:300]
    initializers = len(proto.graph.initializer)
    ops_sorted = dict(sorted(ops.items()))
    return Exported(name, data, len(proto.graph.node), ops_sorted, initializers, diffs, error)


def bench_export(
    s: Settings, key: str, result: Analysis, model: nn.Module, tmp: Path
) -> tuple[list[Row], list[Exported]]:
    """(a) and (b) for one model."""
    label = MODELS[key]["label"]
    size = result.graph.node("input").shape
    x = torch.randn(1, *size)
    direct = direct_export(result, model, tmp / f"{key}.nasgen.onnx")
    script = torch_export(model, x, tmp / f"{key}.torchscript.onnx", dynamo=False)
    rows = []
    start = time.perf_counter()
    direct()
    rows.append(Row("export", f"{label} nasgen direct, first call", [_ms(start)]))
    start = time.perf_counter()
    script()
    rows.append(Row("export", f"{label} torch.onnx dynamo=False, first call", [_ms(start)]))
    a, b = interleaved([direct, script], max(s.export_repeat, s.torch_export_repeat), 0)
    r, q = paired_ratio(a, b)
    rows.append(Row("export", f"{label} nasgen direct", a, r, q, "ratio: vs torch.onnx"))
    rows.append(Row("export", f"{label} torch.onnx dynamo=False", b))
    files = [
        describe("nasgen", direct(), model, (1, *size)),
        describe("torchscript", script(), model, (1, *size)),
    ]
    if importlib.util.find_spec("onnxscript") is None:
        rows.append(
            Row("export", f"{label} torch.onnx dynamo=True", [], note="unavailable: no onnxscript")
        )
    else:
        dynamo = torch_export(model, x, tmp / f"{key}.dynamo.onnx", dynamo=True)
        try:
            start = time.perf_counter()
            data = dynamo()
            rows.append(Row("export", f"{label} torch.onnx dynamo=True", [_ms(start)]))
            files.append(describe("dynamo", data, model, (1, *size)))
        except Exception as err:  # report, do not abort the run
            rows.append(
                Row("export", f"{label} torch.onnx dynamo=True", [], note=f"failed: {err!r}"[:120])
            )
    return rows, files


def _calibration(shape: tuple[int, ...], count: int = 32) -> np.ndarray:
    """Synthetic images (smooth colour gradients plus noise, ImageNet-normalised).

    No real data set ships with nasgen, so agreement figures here are on these images; run
    ``nasgen export --int8 --calibration DIR`` on real ones for the figure that matters.
    """
    _, c, h, w = shape
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:h, 0:w]
    images = []
    for i in range(count):
        base = np.stack(
            [np.sin(xx / (5 + i)), np.cos(yy / (4 + i)), np.sin((xx + yy) / (6 + i))][:c]
        )
        pixels = ((base + 1) / 2 + rng.normal(0, 0.03, base.shape)).clip(0, 1)
        images.append((pixels - 0.45) / 0.225)
    return np.stack(images).astype(np.float32)


def bench_reduced(
    key: str, nasgen_file: Exported, model: nn.Module, shape: tuple[int, ...]
) -> tuple[list[Row], list[Exported]]:
    """fp16 and int8 versions of nasgen's file: size, time to make, agreement with fp32."""
    label = MODELS[key]["label"]
    fp32 = onnx.load_from_string(nasgen_file.data)
    images = _calibration(shape)
    rows, files = [], []
    for kind in ("fp16", "int8"):
        start = time.perf_counter()
        reduced = to_fp16(fp32) if kind == "fp16" else to_int8(fp32, images)
        made = _ms(start)
        check = agreement(fp32, reduced, images)
        note = (
            f"{reduced.ByteSize() / 2**20:.2f} MiB vs fp32 {fp32.ByteSize() / 2**20:.2f} MiB; "
            f"max|err| {check.max_abs_error:.3g}, top-1 {check.top1_agreement:.0%} on "
            f"{check.images} synthetic images"
        )
        rows.append(Row("reduce", f"{label} nasgen {kind} (make)", [made], note=note))
        files.append(describe(f"nasgen-{kind}", reduced.SerializeToString(), model, shape))
    return rows, files


# --------------------------------------------------------------------------------- latency


def _session(data: bytes, level: str, threads: int) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.graph_optimization_level = LEVELS[level]
    opts.log_severity_level = 3
    if threads:
        opts.intra_op_num_threads = threads
    return ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])


def bench_latency(
    s: Settings,
    key: str,
    model: nn.Module,
    files: list[Exported],
    shape: tuple[int, ...],
    threads: int,
) -> list[Row]:
    """(c) for one model: every file at every level against PyTorch eager, per batch."""
    label = MODELS[key]["label"]
    rows = []
    sessions: dict[str, ort.InferenceSession] = {}
    for f in files:
        if f.error:
            rows.append(Row("session", f"{label} {f.name}", [], note="skipped: fails in ort"))
            continue
        for level in LEVELS:
            start = time.perf_counter()
            sessions[f"{f.name} ort {level}"] = _session(f.data, level, threads)
            rows.append(Row("session", f"{label} {f.name} ort {level} create", [_ms(start)]))
    for batch in (1, 8):
        x = torch.randn(batch, *shape[1:])
        feed = x.numpy()
        fns: list[Callable[[], object]] = [_eager(model, x)]
        fns += [_ort(sess, feed) for sess in sessions.values()]
        times = interleaved(fns, s.latency_repeat, s.latency_warmup)
        rows.append(Row("latency", f"{label} b{batch} torch eager", times[0]))
        for name, t in zip(sessions, times[1:], strict=True):
            r, q = paired_ratio(t, times[0])
            rows.append(Row("latency", f"{label} b{batch} {name}", t, r, q, "ratio: vs eager"))
    return rows


def _eager(model: nn.Module, x: torch.Tensor) -> Callable[[], object]:
    def run() -> object:
        with torch.inference_mode():
            return model(x)

    return run


def _ort(session: ort.InferenceSession, feed: np.ndarray) -> Callable[[], object]:
    name = session.get_inputs()[0].name
    return lambda: session.run(None, {name: feed})


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


# ---------------------------------------------------------------------------------- output


def format_table(rows: list[Row]) -> str:
    """A plain-text table: median, IQR, runs, paired ratio (see each row's note)."""
    head = ("group", "measurement", "median ms", "q1-q3 ms", "n", "ratio (q1-q3)")
    body = []
    for r in rows:
        if not r.samples_ms:
            body.append((r.group, r.name, "-", "-", "0", r.note))
            continue
        q1, q3 = r.iqr
        ratio = f"{r.ratio:.3f} ({r.ratio_q[0]:.2f}-{r.ratio_q[1]:.2f})" if r.ratio_q else r.note
        iqr = f"{q1:.1f}-{q3:.1f}" if len(r.samples_ms) > 1 else "-"
        body.append((r.group, r.name, f"{r.median:.1f}", iqr, str(len(r.samples_ms)), ratio))
    widths = [max(len(line[i]) for line in (head, *body)) for i in range(len(head))]

    def fmt(line: Sequence[str]) -> str:
        cells = [
            c.rjust(w) if i in (2, 3, 4) else c.ljust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    return "\n".join([fmt(head), "  ".join("-" * w for w in widths), *(fmt(b) for b in body)])


def format_files(files: dict[str, list[Exported]]) -> str:
    """One line per exported file: nodes, initializers, size, parity."""
    lines = []
    for key, exported in files.items():
        for f in exported:
            top = ", ".join(
                f"{op} {n}" for op, n in sorted(f.op_types.items(), key=lambda kv: -kv[1])[:6]
            )
            diff = ", ".join(f"{b} {d:.1e}" for b, d in f.max_abs_diff.items())
            diff = diff if not f.error else f"ORT FAILS: {f.error}"
            lines.append(
                f"{MODELS[key]['label']:<20} {f.name:<12} {f.nodes:>5} nodes  {f.initializers:>4} "
                f"initializers  {len(f.data) / 1e6:7.2f} MB  max|diff| {diff}  ({top})"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the tables; optionally write JSON."""
    ap = argparse.ArgumentParser(
        description="Benchmark nasgen's ONNX exporter (see the docstring)."
    )
    ap.add_argument("--quick", action="store_true", help="few repeats: a smoke run")
    ap.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON")
    ap.add_argument("--threads", type=int, default=0, help="torch and onnxruntime intra-op threads")
    ap.add_argument("--model", choices=sorted(MODELS), action="append", help="only these models")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    s = QUICK if args.quick else FULL
    info = {**machine_info(), "onnx": onnx.__version__, "onnxruntime": ort.__version__}
    print(
        f"torch {info['torch']}, onnx {info['onnx']}, onnxruntime {info['onnxruntime']}, "
        f"{info['threads']} threads, {info['cpu_count']} CPUs, python {info['python']}"
    )
    wall = time.perf_counter()
    rows: list[Row] = []
    files: dict[str, list[Exported]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for key in args.model or list(MODELS):
            result, model = _compile(key)
            export_rows, files[key] = bench_export(s, key, result, model, Path(tmp))
            shape = (1, *result.graph.node("input").shape)
            rows += export_rows
            reduce_rows, reduced = bench_reduced(key, files[key][0], model, shape)
            rows += reduce_rows
            files[key] += reduced
            rows += bench_latency(s, key, model, files[key], shape, args.threads)
    elapsed = time.perf_counter() - wall
    print()
    print(format_files(files))
    print()
    print(format_table(rows))
    print(f"\nratios: median of per-round ratios, q1-q3 in brackets; {elapsed:.0f} s")
    if args.json:
        doc = {
            "machine": info,
            "settings": {**asdict(s), "quick": args.quick, "threads": args.threads},
            "files": {
                key: [{**asdict(f), "data": None, "bytes": len(f.data)} for f in exported]
                for key, exported in files.items()
            },
            "elapsed_s": elapsed,
            "results": [r.as_json() for r in rows],
        }
        write_json(args.json, doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
