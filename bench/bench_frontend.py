"""Front-end benchmark: parse -> resolve -> lower -> validate + cost, and the whole CLI call.

Usage::

    python bench/bench_frontend.py            # table
    python bench/bench_frontend.py --json out.json --repeat 20

Times are medians of repeated runs (``time.perf_counter``) on this machine; nothing is
asserted. The CLI figure is a cold process (``nasgen compile nasnet_a --variant large --json``),
which is what a pre-commit hook or a search worker pays.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from nasgen import __version__
from nasgen.api import CompileOptions, load_source
from nasgen.dsl import parse, resolve
from nasgen.ir import lower, validate

CASES = {
    "nasnet_a mobile": ("nasnet_a", CompileOptions()),
    "nasnet_a large": ("nasnet_a", CompileOptions(variant="large")),
    "darts_v2 cifar": ("darts_v2", CompileOptions()),
}


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _stages(name: str, repeat: int) -> dict[str, float]:
    source, options = CASES[name]
    text = load_source(source)
    module = parse(text)
    arch = resolve(module, options)
    graph = lower(arch)
    return {
        "parse_ms": _median_ms(lambda: parse(text), repeat),
        "resolve_ms": _median_ms(lambda: resolve(module, options), repeat),
        "lower_ms": _median_ms(lambda: lower(arch), repeat),
        "validate_cost_ms": _median_ms(lambda: validate(graph), repeat),
        "ir_nodes": len(graph),
    }


def _process_ms(args: list[str], repeat: int) -> float:
    # Bytecode caching on, as on a user's machine (some sandboxes set PYTHONDONTWRITEBYTECODE,
    # which recompiles nasgen's sources in every process).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(args, check=True, capture_output=True, env=env)  # writes the caches
    return _median_ms(
        lambda: subprocess.run(args, check=True, capture_output=True, env=env), repeat
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--json", type=Path, help="also write the results as JSON")
    args = ap.parse_args()
    rows = {name: _stages(name, args.repeat) for name in CASES}
    cli = [
        sys.executable,
        "-m",
        "nasgen.cli",
        "compile",
        "nasnet_a",
        "--variant",
        "large",
        "--json",
    ]
    whole = {
        "cli_compile_large_json_ms": _process_ms(cli, max(5, args.repeat // 2)),
        "python_import_nasgen_api_ms": _process_ms(
            [sys.executable, "-c", "import nasgen.api"], max(5, args.repeat // 2)
        ),
        "python_startup_ms": _process_ms([sys.executable, "-c", "pass"], max(5, args.repeat // 2)),
    }
    head = f"{'case':<18}{'parse':>9}{'resolve':>9}{'lower':>9}{'validate':>10}{'nodes':>7}"
    print(head)
    for name, r in rows.items():
        print(
            f"{name:<18}{r['parse_ms']:>8.2f}m{r['resolve_ms']:>8.2f}m{r['lower_ms']:>8.2f}m"
            f"{r['validate_cost_ms']:>9.2f}m{r['ir_nodes']:>7}"
        )
    print("(m = milliseconds, medians)")
    for key, value in whole.items():
        print(f"{key:<32}{value:>8.1f} ms")
    if args.json:
        result = {
            "machine": {
                "platform": platform.platform(),
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "nasgen": __version__,
                "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            },
            "stages": rows,
            "processes": whole,
        }
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
