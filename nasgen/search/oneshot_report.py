"""What ``nasgen search report`` shows of a one-shot search: epochs, derived cells, heat maps.

Pipeline stage: search (reports). Imports ``nasgen.plotting`` (matplotlib, when drawing) and
the journal's rows and states; never torch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nasgen.errors import NasgenError
from nasgen.plotting import pyplot, save_png
from nasgen.search.config import SearchConfig
from nasgen.search.journal import TrialRow

__all__ = ["epochs_lines", "plot_heatmap"]


def epochs_lines(config: SearchConfig, rows: Sequence[TrialRow]) -> list[str]:
    """One line an epoch: the reward, the loss, the derived cell's hash and how it changed."""
    lines = []
    previous: TrialRow | None = None
    for row in rows:
        if previous is None:
            change = "first"
        else:
            moved = sum(a != b for a, b in zip(row.choices, previous.choices, strict=True))
            change = "same cell" if moved == 0 else f"{moved} decisions changed"
        loss = row.metrics.get("train_loss")
        shown = f"train_loss {loss:.4f}  " if loss is not None else ""
        reward = f"{row.reward:.4f}" if row.reward is not None else "?"
        lines.append(
            f"epoch {row.trial + 1:>3}: {config.metric} {reward}  {shown}"
            f"cell {row.arch_hash[:12]} ({change})"
        )
        previous = row
    return lines


def plot_heatmap(arch: Mapping[str, Mapping[str, Any]], title: str, path: Path) -> Path:
    """One heat map per cell kind: a row per edge (or decision), a column per option.

    ``arch`` is an epoch's state ``arch``: per cell kind, ``rows`` (names), ``columns`` (the
    options of each row) and ``values`` (probabilities). Rows with fewer options than the
    widest are padded with blanks; when the rows' options differ, each row's name lists them.
    The colour scale runs from 0 to the largest probability shown (near-uniform alphas early
    in a DARTS search stay visible).
    """
    if not arch:
        raise NasgenError("E861", "this search recorded no architecture distribution")
    plt = pyplot()
    kinds = list(arch)
    heights = [len(arch[k]["rows"]) for k in kinds]
    fig, axes = plt.subplots(
        1, len(kinds), figsize=(5.5 * len(kinds), 2.0 + 0.28 * max(heights)), dpi=100,
        squeeze=False, layout="constrained",
    )  # fmt: skip
    top = max((v for k in kinds for row in arch[k]["values"] for v in row), default=1.0)
    image = None
    for ax, kind in zip(axes[0], kinds, strict=True):
        entry = arch[kind]
        columns: list[list[str]] = entry["columns"]
        width = max(len(c) for c in columns)
        values = [list(v) + [math.nan] * (width - len(v)) for v in entry["values"]]
        shared = all(c == columns[0] for c in columns)
        image = ax.imshow(values, cmap="viridis", vmin=0.0, vmax=top or 1.0, aspect="auto")
        names = (
            list(entry["rows"])
            if shared
            else [f"{r} [{' '.join(c)}]" for r, c in zip(entry["rows"], columns, strict=True)]
        )
        ax.set_yticks(range(len(names)), names, fontsize=7)
        labels = columns[0] if shared else [str(k) for k in range(width)]
        ax.set_xticks(range(width), labels, rotation=60, ha="right", fontsize=7)
        ax.set_title(kind)
    if image is not None:
        fig.colorbar(image, ax=axes[0].tolist(), fraction=0.03, label="probability")
    fig.suptitle(title)
    return save_png(fig, path)
