"""What a search found: the top-k as .cell files, the summary, the anytime curve, foreign strings.

Pipeline stage: search. Imports ``nasgen.dsl``, ``nasgen.files`` and ``nasgen.search``; the
plot imports matplotlib (the ``plot`` extra) when asked for.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nasgen.dsl import parse_text
from nasgen.dsl.foreign import export_darts, export_nb201
from nasgen.errors import NasgenError
from nasgen.files import write_atomic
from nasgen.plotting import pyplot, save_png
from nasgen.search.config import SearchConfig
from nasgen.search.journal import TrialRow
from nasgen.space import SearchSpace, load_space

__all__ = [
    "anytime_curve",
    "best_text",
    "foreign_encodings",
    "plot_curve",
    "ranked",
    "summary",
    "trial_json",
    "write_best",
]


def ranked(rows: Sequence[TrialRow], k: int | None = None) -> list[TrialRow]:
    """Evaluated trials, best reward first (the earlier trial first on a tie)."""
    done = [r for r in rows if r.status == "done" and r.reward is not None]
    done.sort(key=lambda r: (-(r.reward or 0.0), r.trial))
    return done if k is None else done[:k]


def _metrics_line(row: TrialRow, metric: str) -> str:
    others = [f"{k} = {v:g}" for k, v in sorted(row.metrics.items()) if k != metric]
    return ", ".join(others) or "none"


def best_text(config: SearchConfig, row: TrialRow, rank: int, evaluated: int) -> str:
    """A top trial's .cell text with comments saying where it comes from."""
    params = f"{row.params:,}" if row.params is not None else "?"
    macs = f"{row.macs:,}" if row.macs is not None else "?"
    header = [
        f"# nasgen search: rank {rank} of {evaluated} evaluated architectures (trial {row.trial}).",
        f"# space {config.space_name}, strategy {config.strategy} (seed {config.seed}), "
        f"evaluator {config.evaluator}.",
        f"# reward (guided the search): {config.metric} = {row.reward:g}",
        f"# reported beside it: {_metrics_line(row, config.metric)}",
        f"# static cost on the space's skeleton: {params} params, {macs} MACs",
        f"# choices: {' '.join(map(str, row.choices))}; nasgen hash {row.arch_hash}",
    ]
    return "\n".join(header) + "\n" + row.text


def write_best(directory: Path, config: SearchConfig, rows: Sequence[TrialRow]) -> list[Path]:
    """Write ``DIR/best/1.cell`` .. ``k.cell`` (rank order); remove ranks no longer held."""
    folder = directory / "best"
    folder.mkdir(exist_ok=True)
    evaluated = sum(r.status in ("done", "failed") for r in rows)
    top = ranked(rows, config.top_k)
    paths = []
    for rank, row in enumerate(top, start=1):
        paths.append(write_atomic(folder / f"{rank}.cell", best_text(config, row, rank, evaluated)))
    for stale in folder.glob("*.cell"):
        if stale.stem.isdigit() and int(stale.stem) > len(top):
            stale.unlink()
    return paths


@functools.cache
def _enas_micro() -> SearchSpace:
    return load_space("enas_micro")  # read once: a report encodes every trial


def foreign_encodings(text: str) -> dict[str, str]:
    """The architecture in the foreign formats that can hold it.

    The NB-201 arch string, the DARTS ``Genotype(...)``, ENAS's ``fixed_arc`` (micro space).
    """
    module = parse_text(text)
    preset = module.convention.preset if module.convention else None
    out = {}
    exporters = {"nb201": export_nb201, "darts": export_darts}
    for name, export in exporters.items():
        if preset != name:
            continue
        with contextlib.suppress(NasgenError):
            out[name] = export(module)
    if preset == "enas":
        enas = _enas_micro()
        with contextlib.suppress(NasgenError):
            out["enas_fixed_arc"] = enas.fixed_arc(enas.encode(module))
    return out


def trial_json(row: TrialRow) -> dict[str, Any]:
    """One trial as JSON: text, hash, status, reward, metrics, cost, foreign encodings."""
    return {
        "trial": row.trial,
        "status": row.status,
        "hash": row.arch_hash,
        "same_as": row.same_as,
        "reward": row.reward,
        "metrics": row.metrics,
        "params": row.params,
        "macs": row.macs,
        "cost": row.cost,
        "seconds": row.seconds,
        "worker": row.worker,
        "error": row.error,
        "choices": list(row.choices),
        "text": row.text,
        "foreign": foreign_encodings(row.text) if not row.arch_hash.startswith("invalid:") else {},
    }


def summary(config: SearchConfig, rows: Sequence[TrialRow]) -> dict[str, Any]:
    """The result of a search as JSON: the best architecture and what it was judged by."""
    top = ranked(rows, 1)
    counts = {
        s: sum(r.status == s for r in rows)
        for s in ("done", "failed", "rejected", "duplicate", "running")
    }
    best = None
    if top:
        row = top[0]
        best = {**trial_json(row), "reward_metric": config.metric}
    out = {
        "space": config.space_name,
        "strategy": config.strategy,
        "params": config.params,
        "seed": config.seed,
        "evaluator": config.evaluator,
        "reward_metric": config.metric,
        "trials": len(rows),
        "counts": counts,
        "best": best,
    }
    if config.budget is not None and _is_oneshot(config.strategy):
        # NOTE: [A one-shot result is its last epoch] DARTS and ENAS keep the cell derived
        # at the end, whatever epoch scored best on the weight-sharing reward ("best" above).
        out["epochs"] = len(rows)
        out["derived"] = {**trial_json(rows[-1]), "epoch": len(rows)} if rows else None
    return out


def _is_oneshot(strategy: str) -> bool:
    from nasgen.search.strategies import STRATEGIES

    info = STRATEGIES.get(strategy)
    return info is not None and info.oneshot is not None


def anytime_curve(rows: Sequence[TrialRow]) -> list[tuple[int, float]]:
    """(evaluations so far, best reward so far) after each evaluated trial, in trial order."""
    out: list[tuple[int, float]] = []
    best: float | None = None
    n = 0
    for row in rows:
        if row.status not in ("done", "failed"):
            continue
        n += 1
        if row.reward is not None and (best is None or row.reward > best):
            best = row.reward
        if best is not None:
            out.append((n, best))
    return out


def plot_curve(curve: Sequence[tuple[int, float]], metric: str, title: str, path: Path) -> Path:
    """The anytime curve as a PNG (matplotlib, the ``plot`` extra)."""
    fig, ax = pyplot().subplots(figsize=(6, 4), dpi=100)
    ax.step([c[0] for c in curve], [c[1] for c in curve], where="post")
    ax.set_xlabel("architectures evaluated")
    ax.set_ylabel(f"best {metric} so far")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return save_png(fig, path)
