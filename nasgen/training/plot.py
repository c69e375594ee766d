"""Training curves as a PNG (matplotlib, the ``plot`` extra).

Pipeline stage: training (report). Imports ``nasgen.plotting``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nasgen.plotting import pyplot, save_png

__all__ = ["plot_history"]


def plot_history(history: Sequence[dict[str, Any]], path: Path, title: str) -> Path:
    """Loss (left) and accuracy (right) per epoch, training and validation."""
    plt = pyplot()
    epochs = [row["epoch"] for row in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5), dpi=100)
    left.plot(epochs, [row["train_loss"] for row in history], label="train")
    right.plot(epochs, [row["train_acc"] for row in history], label="train")
    if any(row.get("valid_acc") is not None for row in history):
        left.plot(epochs, [row.get("valid_loss") for row in history], label="valid")
        right.plot(epochs, [row.get("valid_acc") for row in history], label="valid")
    left.set_xlabel("epoch")
    left.set_ylabel("loss")
    right.set_xlabel("epoch")
    right.set_ylabel("accuracy")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return save_png(fig, path)
