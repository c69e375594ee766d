"""RegNetX/Y-200MF on CPU: nasgen's compiled module beside a hand-written one (eval latency).

    python bench/bench_regnet.py                 # batch 1 and 8 at 224 px, 21 rounds
    python bench/bench_regnet.py --quick         # 3 rounds
    python bench/bench_regnet.py --json out.json

Both networks get the same weights (nasgen's, mapped to the hand-written one's names), and
their eval outputs are checked equal (1e-4) before timing. Rounds alternate nasgen and the
hand-written network (``bench/reference_regnet.py``) in one process; each figure is the median
over rounds, and the ratio nasgen / hand-written is taken per round and its median reported,
beside the same ratio for a copy of the hand-written network (A/A: what noise alone gives).
Both use in-place ReLUs (pycls's default). Nothing is asserted on times.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from reference_regnet import ReferenceRegNet

from nasgen import api
from nasgen.design import ZOO


def _reference_key(key: str, block_index: dict[str, int]) -> str:
    """The hand-written network's name for one of nasgen's state_dict entries."""
    parts = key.split(".")
    if parts[0] == "stem":
        return ".".join(["stem", {"conv": "0", "bn": "1"}[parts[1]], *parts[2:]])
    if parts[0] == "head":
        return ".".join(["fc", *parts[3:]])
    block = f"blocks.{block_index[parts[0] + '.' + parts[1]]}"
    if parts[2] == "se":
        return ".".join([block, "se", {"reduce": "down", "expand": "up"}[parts[3]], *parts[4:]])
    return ".".join([block, parts[2], {"conv": "0", "bn": "1"}[parts[3]], *parts[4:]])


def _pair(name: str) -> tuple[torch.nn.Module, torch.nn.Module]:
    """nasgen's module and the hand-written one with the same weights, checked equal."""
    ours = api.build(api.analyze(name), 0).eval()
    params = ZOO[name]
    ref = ReferenceRegNet(params.stages(), 0.25 if params.se else 0.0).eval()
    names = [f"s{i}.b{j + 1}" for i, st in enumerate(params.stages(), 1) for j in range(st.depth)]
    index = {n: k for k, n in enumerate(names)}
    target = ref.state_dict()
    mapped = {_reference_key(k, index): v for k, v in ours.state_dict().items()}
    assert set(mapped) == set(target), set(mapped) ^ set(target)
    ref.load_state_dict(mapped)
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        torch.testing.assert_close(ours(x), ref(x), rtol=0, atol=1e-4)
    return ours, ref


def _time(model: torch.nn.Module, x: torch.Tensor) -> float:
    with torch.inference_mode():
        start = time.perf_counter()
        model(x)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rounds = 3 if args.quick else 21
    rows = []
    for name in ("regnetx_200mf", "regnety_200mf"):
        ours, ref = _pair(name)
        twin = copy.deepcopy(ref)  # the same network again: the noise floor of the ratio
        for batch in (1, 8):
            x = torch.randn(batch, 3, 224, 224)
            _time(ours, x), _time(ref, x), _time(twin, x)  # warm up
            times: dict[str, list[float]] = {"nasgen": [], "reference": [], "twin": []}
            ratios, floor = [], []
            for r in range(rounds):
                order = (("nasgen", ours), ("reference", ref), ("twin", twin))
                turn = order[r % 3 :] + order[: r % 3]
                got = {label: _time(m, x) for label, m in (turn if r % 2 == 0 else turn[::-1])}
                for label, seconds in got.items():
                    times[label].append(seconds)
                ratios.append(got["nasgen"] / got["reference"])
                floor.append(got["twin"] / got["reference"])
            rows.append({
                "model": name, "batch": batch,
                "nasgen_ms": 1000 * statistics.median(times["nasgen"]),
                "reference_ms": 1000 * statistics.median(times["reference"]),
                "ratio": statistics.median(ratios),
                "twin_ratio": statistics.median(floor),
                "params": sum(p.numel() for p in ours.parameters()),
            })  # fmt: skip
    print(f"eval latency at 224 px, {torch.get_num_threads()} threads, {rounds} rounds:")
    print(f"{'model':<15} {'batch':>5} {'nasgen ms':>10} {'hand ms':>9} {'ratio':>6} {'A/A':>5}")
    for row in rows:
        print(
            f"{row['model']:<15} {row['batch']:>5} {row['nasgen_ms']:>10.1f} "
            f"{row['reference_ms']:>9.1f} {row['ratio']:>6.2f} {row['twin_ratio']:>5.2f}"
        )
    print("A/A: a copy of the hand-written network against itself (the ratio's noise floor)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
