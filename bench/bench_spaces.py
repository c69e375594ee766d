"""Samples of every bundled space, checked at scale: each compiles on the space's skeleton and
re-encodes to its choices; for a random subset, the static parameter count equals the count of
the built PyTorch module.

    python bench/bench_spaces.py                    # 10,000 samples a space, 100 built
    python bench/bench_spaces.py --samples 500 --built 10 --json spaces.json
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from nasgen.api import analyze, options_for
from nasgen.dsl import parse_text
from nasgen.dsl.printer import print_module
from nasgen.errors import NasgenError
from nasgen.space import load_space, space_names


def check_space(name: str, samples: int, built: int, seed: int) -> dict[str, object]:
    import nasgen

    space = load_space(name)
    rng = random.Random(seed)
    failures: list[str] = []
    start = time.perf_counter()
    texts = []
    for _ in range(samples):
        choices = space.sample(rng)
        text = print_module(space.decode(choices))
        try:
            analyze(text)
        except NasgenError as err:
            failures.append(f"does not compile: {err}")
            continue
        if space.encode(parse_text(text)) != choices:
            failures.append(f"re-encodes differently: {choices}")
        texts.append(text)
    compiled_seconds = time.perf_counter() - start
    mismatches = 0
    start = time.perf_counter()
    for text in rng.sample(texts, min(built, len(texts))):
        static = analyze(text, options_for(N=1, F=8)).cost.params
        model = nasgen.compile(text, N=1, F=8, seed=0)
        mismatches += model.count_parameters(aux=False) != static
    return {
        "space": name,
        "samples": samples,
        "failures": len(failures),
        "first_failure": failures[0] if failures else None,
        "compile_seconds": compiled_seconds,
        "built": min(built, len(texts)),
        "count_mismatches": mismatches,
        "build_seconds": time.perf_counter() - start,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--built", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = []
    print(f"{'space':<12} {'samples':>8} {'failures':>9} {'built':>6} {'count mismatches':>17}")
    for name in space_names():
        row = check_space(name, args.samples, args.built, args.seed)
        rows.append(row)
        print(
            f"{name:<12} {row['samples']:>8} {row['failures']:>9} {row['built']:>6} "
            f"{row['count_mismatches']:>17}   ({row['compile_seconds']:.0f} s + "
            f"{row['build_seconds']:.0f} s)",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
