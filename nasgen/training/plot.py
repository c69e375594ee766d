"""Training curves as a PNG (matplotlib, the ``plot`` extra).

Pipeline stage: training (report). Imports ``nasgen.files`` and, when called, matplotlib.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nasgen.errors import NasgenError
from nasgen.files import write_atomic

__all__ = ["plot_history"]


def plot_history(history: Sequence[dict[str, Any]], path: Path, title: str) -> Path:
    """Loss (left) and accuracy (right) per epoch, training and validation."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise NasgenError(
            "E860", "plotting needs matplotlib", hint='pip install "nasgen[plot]"'
        ) from None
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
    tmp = path.with_name(f".{path.name}.plot.png")
    fig.savefig(tmp, format="png", metadata={"Software": None})
    plt.close(fig)
    write_atomic(path, tmp.read_bytes())
    tmp.unlink()
    return path
