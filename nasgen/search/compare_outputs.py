"""What a comparison shows: ``summary.json``, the NB-201-style table and the anytime curves.

Pipeline stage: search. Imports ``nasgen.files``, ``nasgen.plotting`` and the rest of
``nasgen.search``; matplotlib (the ``plot`` extra) only for ``anytime.png``.

NOTE: [Mean and spread] Every "mean ± std" is over the seeds of one strategy, std being the
population standard deviation (ddof 0, numpy's default, as NB-201's scripts compute it). The
table is computed from ``summary.json`` alone, so anyone can recompute it:
  1. the reward column: each run's best reward (the architecture the search chose);
  2. a reported column: that same architecture's value of the column; no search saw it;
  3. a run that evaluated nothing successfully chose nothing: it counts in ``runs`` only.
The anytime curves give mean, std, min and max at each point (the PNG's band is mean ± std).
A run counts at a point once it has a reward, and keeps its final best after it stopped.
"""

from __future__ import annotations

import bisect
import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nasgen.errors import NasgenError
from nasgen.files import write_atomic
from nasgen.plotting import pyplot, save_png
from nasgen.search.journal import TrialRow
from nasgen.search.results import anytime_curve, ranked

__all__ = [
    "RunRows",
    "anytime_of",
    "plot_anytime",
    "summary_of",
    "table_markdown",
    "table_of",
    "write_outputs",
]

_STD = "population standard deviation over seeds (ddof 0)"
_BAND = "mean ± std (population, over seeds); min and max also given"
_TIME_POINTS = 100
Curve = list[tuple[float, float]]


@dataclass(frozen=True, slots=True)
class RunRows:
    """One run of a comparison: its strategy, label, seed, parameters, folder and trials."""

    strategy: str
    label: str
    seed: int
    params: dict[str, Any]
    directory: str
    rows: list[TrialRow]


# -- summary.json and the table ----------------------------------------------------------------


def _record(run: RunRows) -> dict[str, Any]:
    top = ranked(run.rows, 1)
    best = None
    if top:
        row = top[0]
        metrics = dict(sorted(row.metrics.items()))
        best = {"trial": row.trial, "text": row.text, "hash": row.arch_hash}
        best |= {"reward": row.reward, "metrics": metrics}
    return {
        "strategy": run.strategy,
        "label": run.label,
        "seed": run.seed,
        "params": run.params,
        "directory": run.directory,
        "evaluations": sum(r.status in ("done", "failed") for r in run.rows),
        "failed": sum(r.status == "failed" for r in run.rows),
        "best": best,
    }


def summary_of(header: dict[str, Any], runs: Sequence[RunRows]) -> dict[str, Any]:
    """``summary.json``: the comparison's header, then one record per run (its best, by trial)."""
    return {"kind": "nasgen-compare-summary", **header, "runs": [_record(r) for r in runs]}


def _stats(values: Sequence[float]) -> dict[str, Any]:
    if not values:
        return {"mean": None, "std": None, "min": None, "max": None, "n": 0}
    return {
        "mean": statistics.fmean(values),
        "std": statistics.pstdev(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


def table_of(summary: dict[str, Any]) -> dict[str, Any]:
    """The table as JSON, from ``summary.json``'s data alone: one row per strategy."""
    metric, reported = summary["reward_metric"], summary["reported"]
    by_label: dict[str, list[dict[str, Any]]] = {}
    for record in summary["runs"]:
        by_label.setdefault(record["label"], []).append(record)
    rows = []
    for label, records in by_label.items():
        chosen = [r["best"] for r in records if r["best"] is not None]
        columns = {
            name: _stats([b["metrics"][name] for b in chosen if name in b["metrics"]])
            for name in reported
        }
        rows.append(
            {
                "label": label,
                "strategy": records[0]["strategy"],
                "params": records[0]["params"],
                "runs": len(records),
                "reward": {"column": metric, **_stats([b["reward"] for b in chosen])},
                "reported": columns,
            }
        )
    header = {k: v for k, v in summary.items() if k not in ("kind", "runs")}
    return {"kind": "nasgen-compare-table", **header, "std": _STD, "rows": rows}


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if value == 0 or 0.01 <= abs(value) < 1e6 else f"{value:.3g}"


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _cell(stats: dict[str, Any]) -> str:
    if not stats["n"]:
        return "-"
    return f"{_number(stats['mean'])} ± {_number(stats['std'])}"


def table_markdown(table: dict[str, Any]) -> str:
    """The table as Markdown: which column is the reward, which are only reported."""
    metric, reported, seeds = table["reward_metric"], table["reported"], table["seeds"]
    budget = [f"{table['budget']} evaluations"] if table["budget"] is not None else []
    budget += [f"{table['time_budget']:g} s"] if table["time_budget"] is not None else []
    bounds = f", {table['constraints']}" if table["constraints"] else ""
    heads = [f"{metric} (reward)", *(f"{c} (reported)" for c in reported)]
    lines = [
        f"## {table['space']}: {_count(len(table['rows']), 'strategy', 'strategies')}, "
        f"seeds 0..{seeds - 1}",
        "",
        f"Evaluator `{table['evaluator']}`, budget {' or '.join(budget)} per run{bounds}.",
        f"Reward (guided every search): `{metric}`. Reported only (the chosen architecture's "
        f"value; no search saw it): {', '.join(f'`{c}`' for c in reported) or 'none'}.",
        "Each cell is the mean ± std over seeds (std: the population's, ddof 0).",
        "",
        "| strategy | runs | " + " | ".join(heads) + " |",
        "|---|---:|" + "---:|" * len(heads),
    ]
    for row in table["rows"]:
        n = row["reward"]["n"]
        runs = str(row["runs"]) if n == row["runs"] else f"{n} of {row['runs']}"
        cells = [_cell(row["reward"])] + [_cell(row["reported"][c]) for c in reported]
        lines.append(f"| {row['label']} | {runs} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# -- anytime curves ----------------------------------------------------------------------------


def _time_curve(rows: Sequence[TrialRow]) -> Curve:
    """(simulated seconds so far, best reward so far) after each evaluated trial."""
    out: Curve = []
    spent, best = 0.0, None
    for row in rows:
        if row.status not in ("done", "failed"):
            continue
        spent += row.cost or 0.0
        if row.reward is not None and (best is None or row.reward > best):
            best = row.reward
        if best is not None:
            out.append((spent, best))
    return out


def _band(
    curves: Sequence[Sequence[tuple[float, float]]], xs: Sequence[float]
) -> dict[str, list[float]]:
    """Mean, std, min and max over the curves at each x.

    A curve's value at x is that of its last point at or before x (none before its first).
    """
    keys = [[p[0] for p in c] for c in curves]
    out: dict[str, list[float]] = {k: [] for k in ("x", "mean", "std", "min", "max", "runs")}
    for x in xs:
        found = [(c, bisect.bisect_right(k, x)) for c, k in zip(curves, keys, strict=True)]
        values = [c[i - 1][1] for c, i in found if i]
        if not values:
            continue
        stats = _stats(values)
        out["x"].append(x)
        for key in ("mean", "std", "min", "max"):
            out[key].append(stats[key])
        out["runs"].append(len(values))
    return out


def anytime_of(header: dict[str, Any], runs: Sequence[RunRows], has_cost: bool) -> dict[str, Any]:
    """``anytime.json``: per strategy, best-so-far reward against evaluations (and seconds)."""
    by_label: dict[str, list[RunRows]] = {}
    for run in runs:
        by_label.setdefault(run.label, []).append(run)
    curves = {label: [anytime_curve(r.rows) for r in group] for label, group in by_label.items()}
    length = max((int(c[-1][0]) for group in curves.values() for c in group if c), default=0)
    evaluations = [
        {"label": label, **_band(group, range(1, length + 1))} for label, group in curves.items()
    ]
    seconds = None
    if has_cost:
        timed = {label: [_time_curve(r.rows) for r in group] for label, group in by_label.items()}
        end = max((c[-1][0] for group in timed.values() for c in group if c), default=0.0)
        grid = [end * i / _TIME_POINTS for i in range(_TIME_POINTS + 1)]
        seconds = [{"label": label, **_band(group, grid)} for label, group in timed.items()]
    return {
        "kind": "nasgen-compare-anytime",
        **header,
        "band": _BAND,
        "evaluations": evaluations,
        "simulated_seconds": seconds,
    }


def plot_anytime(anytime: dict[str, Any], path: Path) -> Path:
    """The curves as a PNG: mean line and ± std band per strategy (matplotlib, ``plot`` extra)."""
    panels = [("evaluations", "architectures evaluated")]
    if anytime["simulated_seconds"]:
        panels.append(("simulated_seconds", "simulated seconds (the table's cost column)"))
    plt = pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4), dpi=100, squeeze=False)
    for ax, (key, xlabel) in zip(axes[0], panels, strict=True):
        for curve in anytime[key]:
            low = [m - s for m, s in zip(curve["mean"], curve["std"], strict=True)]
            high = [m + s for m, s in zip(curve["mean"], curve["std"], strict=True)]
            (line,) = ax.step(curve["x"], curve["mean"], where="post", label=curve["label"])
            ax.fill_between(curve["x"], low, high, step="post", alpha=0.2, color=line.get_color())
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"best {anytime['reward_metric']} so far")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{anytime['space']}: mean ± std over {anytime['seeds']} seeds")
    fig.tight_layout()
    return save_png(fig, path)


# -- writing -----------------------------------------------------------------------------------


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` atomically unless ``path`` already holds it; True when written."""
    if _read(path) == text:
        return False
    write_atomic(path, text)
    return True


def _dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def write_outputs(
    directory: Path, header: dict[str, Any], runs: Sequence[RunRows], has_cost: bool
) -> tuple[dict[str, Any], list[str]]:
    """Write summary.json, table.json, table.md, anytime.json and anytime.png into ``directory``.

    Returns the table (as JSON data) and notes for the user (a PNG that needs the extra).
    """
    summary = summary_of(header, runs)
    table = table_of(summary)
    anytime = anytime_of(header, runs, has_cost)
    _write_if_changed(directory / "summary.json", _dumps(summary))
    _write_if_changed(directory / "table.json", _dumps(table))
    _write_if_changed(directory / "table.md", table_markdown(table))
    curves, png = directory / "anytime.json", directory / "anytime.png"
    text = _dumps(anytime)
    notes = []
    # The PNG first: killed between the two writes, the old JSON makes the next run redraw.
    if not png.exists() or _read(curves) != text:
        try:
            plot_anytime(anytime, png)
        except NasgenError as err:
            if err.code != "E860":
                raise
            notes.append(
                f"{png} not written: the plot needs matplotlib "
                f'(pip install "nasgen[plot]"); {curves} has the curves'
            )
    _write_if_changed(curves, text)
    return table, notes
