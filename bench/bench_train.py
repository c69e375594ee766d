"""Training throughput: nasgen's trainer against a hand-written DARTS-style loop, side by side.

    python bench/bench_train.py                 # 8 batches a round, 5 rounds
    python bench/bench_train.py --quick --json train.json

(a) DARTS_V2 CIFAR (C = 36, 20 cells, auxiliary head, drop path 0.2 at mid-training),
    batch 96 at 32x32, on a synthetic CIFAR-shaped data set (no CIFAR ships): nasgen's
    ``train_epoch`` (its own batches: pad-4 crop, flip, cutout 16; SGD 0.025 momentum 0.9 wd
    3e-4; aux weight 0.4; clipping 5) against a loop written from the DARTS paper's
    description on ``bench/reference_darts.py``'s network with the same weights, fed by a
    torch ``DataLoader`` over per-sample transforms as DARTS's ``train.py`` is. Images/s of
    each, interleaved in rounds (A B, B A, ...), and the median of the per-round ratio of the
    time per image, nasgen / hand-written (above 1.00: nasgen is slower), data loading included.
(b) The time of a one-epoch ``train:`` evaluation of an NB-201 cell on the embedded digits.
Nothing is asserted; the figures are for the notes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
from reference_darts import ReferenceDartsCifar
from reference_darts_copy import copy_from_nasgen
from torch import nn
from torch.utils.data import DataLoader, Dataset

import nasgen
from nasgen.search.evaluators.train import TrainEvaluator
from nasgen.training.data import load_data
from nasgen.training.recipe import RECIPES
from nasgen.training.trainer import make_optimizer, train_epoch


class _PerSample(Dataset[tuple[torch.Tensor, int]]):
    """DARTS-style data: random crop with padding 4, horizontal flip, normalise, cutout 16."""

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        mean: tuple[float, ...],
        std: tuple[float, ...],
    ) -> None:
        self.images, self.labels = images, labels
        self.mean = torch.tensor(mean).view(-1, 1, 1)
        self.std = torch.tensor(std).view(-1, 1, 1)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        img = nn.functional.pad(self.images[i].float() / 255, (4, 4, 4, 4))
        y0, x0 = torch.randint(0, 9, (2,)).tolist()
        img = img[:, y0 : y0 + 32, x0 : x0 + 32]
        if torch.rand(()) < 0.5:
            img = img.flip(2)
        img = (img - self.mean) / self.std
        cy, cx = torch.randint(0, 32, (2,)).tolist()
        img[:, max(0, cy - 8) : cy + 8, max(0, cx - 8) : cx + 8] = 0
        return img, int(self.labels[i])


def _hand_written_epoch(
    model: nn.Module, loader: DataLoader[tuple[torch.Tensor, int]], batches: int
) -> tuple[int, float]:
    """The DARTS loop: SGD 0.025 momentum 0.9 wd 3e-4, loss + 0.4 aux, clip 5."""
    optimizer = torch.optim.SGD(model.parameters(), 0.025, momentum=0.9, weight_decay=3e-4)
    criterion = nn.CrossEntropyLoss()
    model.train()
    seen, start = 0, time.perf_counter()
    for step, (x, y) in enumerate(loader):
        if step >= batches:
            break
        optimizer.zero_grad()
        logits, aux = model(x)
        loss = criterion(logits, y) + 0.4 * criterion(aux, y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        seen += len(y)
    return seen, time.perf_counter() - start


def throughput(rounds: int, batches: int) -> dict[str, object]:
    data = load_data(f"synthetic:{96 * batches}")
    recipe = RECIPES["darts"].with_overrides(epochs=2)  # epoch 1 of 2: drop path at 0.1
    plain = nasgen.compile("darts_v2", seed=0)  # -O0: pairs with the reference op by op
    ref = ReferenceDartsCifar(drop_path_prob=0.2 * 1 / 2)
    copy_from_nasgen(plain, ref)
    result, _ = nasgen.api.optimized(nasgen.api.analyze("darts_v2"), 1, "train")
    ours = nasgen.api.build(result, 0)  # as nasgen train builds it: the -O1 training form
    ours.load_state_dict(plain.state_dict())  # the same names and weights
    loader = DataLoader(
        _PerSample(data.images, data.labels, data.mean, data.std),
        batch_size=96,
        shuffle=True,
        drop_last=True,
    )
    optimizer = make_optimizer(ours, recipe)
    a, b = [], []
    for r in range(rounds):
        for side in (0, 1) if r % 2 == 0 else (1, 0):
            if side == 0:
                _, _, seen, seconds = train_epoch(
                    ours,
                    optimizer,
                    data,
                    recipe,
                    1,
                    r,
                    device=torch.device("cpu"),
                    max_batches=batches,
                )
                a.append(seen / seconds)
            else:
                seen, seconds = _hand_written_epoch(ref, loader, batches)
                b.append(seen / seconds)
    ratios = [y / x for x, y in zip(a, b, strict=True)]  # time per image, nasgen / hand-written
    return {
        "nasgen_images_per_s": statistics.median(a),
        "hand_written_images_per_s": statistics.median(b),
        "ratio_median": statistics.median(ratios),
        "ratios": ratios,
        "rounds": rounds,
        "batches_per_round": batches,
    }


def train_evaluation_seconds(repeats: int) -> dict[str, float]:
    evaluator = TrainEvaluator("digits,epochs=1")
    text = nasgen.api.load_source("nb201_example").text
    times = []
    for seed in range(repeats):
        start = time.perf_counter()
        result = evaluator.evaluate(text, seed)
        times.append(time.perf_counter() - start)
    return {
        "seconds_median": statistics.median(times),
        "valid_acc_last": result.metrics["valid_acc"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rounds, batches = (2, 3) if args.quick else (5, 8)
    out = {"threads": torch.get_num_threads(), "throughput": throughput(rounds, batches)}
    t = out["throughput"]
    print(
        f"DARTS_V2 CIFAR training, batch 96: nasgen {t['nasgen_images_per_s']:.1f} images/s, "
        f"hand-written {t['hand_written_images_per_s']:.1f} images/s, "
        f"time ratio nasgen / hand-written {t['ratio_median']:.3f} "
        f"(median of {t['rounds']} rounds; target <= 1.00)"
    )
    out["train_evaluation"] = train_evaluation_seconds(2 if args.quick else 3)
    e = out["train_evaluation"]
    print(
        f"train: evaluation of nb201_example, 1 epoch on digits: {e['seconds_median']:.2f} s "
        f"(valid acc {e['valid_acc_last']:.3f})"
    )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
