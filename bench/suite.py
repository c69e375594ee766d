"""Every benchmark of the project in one command: one JSON file and one readable summary.

Runs, each in its own process (so thread settings and memory do not leak between them):

  frontend  bench_frontend.py   parse, resolve, lower, validate + cost model; CLI start-up
  torch     bench_torch.py      module build, eager forward, training step; nasgen's DARTS_V2
                                next to a hand-written one (ratios)
  onnx      bench_onnx.py       direct export vs torch.onnx.export, file sizes, onnxruntime
                                latency (ALL / BASIC) vs eager; fp16 and int8
  passes    bench_passes.py     -O1 (training and inference form) vs -O0, eval and training

and writes ``{"machine": ..., "suites": {name: that script's JSON}}`` plus a summary of the
ratios (each script also prints its full table as it runs). Every figure is a median over
repeated, interleaved runs; the machine (platform, CPUs, threads, library versions, git
commit) is recorded. Nothing is asserted on times.

Adding a model: add it to ``bench/models.py``; bench_onnx and bench_passes then time it.
Comparing any other ``nn.Module`` factory side by side: ``--compare module:function`` (a
zero-argument callable returning the module; the current directory is importable) is passed
to bench_torch (timed with DARTS_V2 and the reference, ratio to the reference) and
bench_passes (timed with the model of ``--compare-with``, ratio to -O0), in the same
interleaved rounds, so the ratios hold on a noisy machine where absolute times do not.

Usage::

    python bench/suite.py                          # everything (about 10 minutes on 2 cores)
    python bench/suite.py --quick                  # smoke run
    python bench/suite.py --json bench/results/all.json --only torch --only passes
    python bench/suite.py --compare mypkg.nets:make_darts
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_torch import machine_info  # noqa: E402

SUITES = {
    "frontend": "bench_frontend.py",
    "torch": "bench_torch.py",
    "onnx": "bench_onnx.py",
    "passes": "bench_passes.py",
}


def _args(name: str, quick: bool, compare: Sequence[str], out: Path) -> list[str]:
    args = [sys.executable, str(HERE / SUITES[name]), "--json", str(out)]
    if name == "frontend":
        return args + (["--repeat", "5"] if quick else [])
    if quick:
        args.append("--quick")
    if name in ("torch", "passes"):
        for spec in compare:
            args += ["--compare", spec]
    return args


def _ratios(doc: dict[str, object]) -> list[tuple[str, float]]:
    out = []
    for row in doc.get("results", []):  # type: ignore[union-attr]
        for key in ("ratio", "ratio_to_reference", "ratio_to_O0"):
            value = row.get(key)
            if value is not None:
                out.append((f"{row['group']}: {row['name']}", float(value)))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen suites, then print the summary and write the JSON."""
    ap = argparse.ArgumentParser(description="Run every nasgen benchmark (see the docstring).")
    ap.add_argument("--quick", action="store_true", help="few repeats in every suite")
    ap.add_argument("--json", type=Path, metavar="PATH", help="write all results here")
    ap.add_argument("--only", choices=sorted(SUITES), action="append", help="these suites only")
    ap.add_argument("--compare", action="append", default=[], metavar="MODULE:FUNCTION")
    args = ap.parse_args(argv)
    chosen = args.only or list(SUITES)
    docs: dict[str, object] = {}
    failed = []
    wall = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for name in chosen:
            out = Path(tmp) / f"{name}.json"
            print(f"\n===== {name} ({SUITES[name]}) =====", flush=True)
            code = subprocess.call(_args(name, args.quick, args.compare, out))
            if code != 0 or not out.exists():
                failed.append(name)
                continue
            docs[name] = json.loads(out.read_text())
    elapsed = time.perf_counter() - wall
    print("\n===== summary: ratios (median of per-round ratios; below 1 = faster) =====")
    for name, doc in docs.items():
        for label, value in _ratios(doc):  # type: ignore[arg-type]
            print(f"{name:<8} {value:7.3f}  {label}")
    print(f"{len(docs)} suites in {elapsed:.0f} s" + (f"; FAILED: {failed}" if failed else ""))
    if args.json:
        result = {"machine": machine_info(), "elapsed_s": elapsed, "suites": docs}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
