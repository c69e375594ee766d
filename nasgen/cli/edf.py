"""``nasgen space edf``: compare design spaces by the EDFs of their models (Radosavovic 2020).

Pipeline stage: user interface. Calls ``nasgen.search.edf``, ``nasgen.search`` (the loop, for
evaluated EDFs) and ``nasgen.plotting``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from nasgen.cli.app import executor_options, user_errors
from nasgen.cli.space import SPACE, space
from nasgen.dsl.options import CompileOptions
from nasgen.errors import NasgenError
from nasgen.files import write_atomic
from nasgen.search.edf import MEASURES, SpaceSample, edf, ks_test, parse_regime, sample_space
from nasgen.search.executors import ExecutorOptions

__all__ = ["edf_command"]

MANIFEST = "edf.json"
_WHAT = ("spaces", "n", "regime", "seed", "evaluator", "metric", "variant")


def _check_dir(directory: Path, manifest: dict[str, Any]) -> bool:
    """Whether ``directory`` already holds this comparison; refuse one that holds another.

    Nothing is written here: a run that fails before its first result leaves no folder.
    """
    path = directory / MANIFEST
    if directory.exists() and not directory.is_dir():
        raise NasgenError("E874", f"{directory} is a file, not a run directory")
    if path.is_file():
        try:
            stored = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            stored = {}
        if stored.get("kind") != "nasgen-edf" or any(stored.get(k) != manifest[k] for k in _WHAT):
            raise NasgenError(
                "E874",
                f"{directory} holds another EDF comparison (or a damaged {MANIFEST})",
                hint="choose another -o, or move that folder away",
            )
        return True
    if directory.exists() and any(directory.iterdir()):
        raise NasgenError(
            "E874",
            f"{directory} is not empty and holds no {MANIFEST}: not an EDF run directory",
            hint="choose a new or empty -o folder",
        )
    return False


def _claim_dir(directory: Path, manifest: dict[str, Any]) -> None:
    """Create ``directory`` (if need be) and write its manifest, atomically."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise NasgenError("E507", f"cannot create {directory}: {err.strerror or err}") from None
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    write_atomic(directory / MANIFEST, text.encode("utf-8"))


def _ks_rows(values: dict[str, list[float]]) -> list[dict[str, Any]]:
    names = list(values)
    rows = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            d, p = ks_test(values[a], values[b])
            rows.append({"a": a, "b": b, "ks": d, "p": p})
    return rows


def _median(values: list[int]) -> int:
    return sorted(values)[len(values) // 2]


def _plot(path: Path, panels: list[tuple[str, dict[str, list[float]], bool]]) -> Path:
    from nasgen.plotting import pyplot, save_png

    plt = pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), squeeze=False)
    for ax, (title, values, log) in zip(axes[0], panels, strict=True):
        for name, vals in values.items():
            xs, ys = edf(vals)
            ax.step(xs, ys, where="post", label=f"{name} (n={len(vals)})")
        ks = _ks_rows(values)
        if ks:
            title += f"\nKS D={ks[0]['ks']:.3f}, p={ks[0]['p']:.2g}"
        ax.set_title(title, fontsize=9)
        if log:
            ax.set_xscale("log")
            ax.tick_params(axis="x", which="minor", labelbottom=False)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("cumulative prob.")
    axes[0][0].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return save_png(fig, path)


def _evaluate(
    directory: Path, found: Any, sample: SpaceSample, args: dict[str, Any], quiet: bool
) -> tuple[list[float], str]:
    """Evaluate a space's sample through the search loop (journal in DIR/NAME); its errors."""
    from nasgen.search.builder import build_search, prepare
    from nasgen.search.compare import open_run
    from nasgen.search.config import MAX_IDLE_PROPOSALS, SearchConfig
    from nasgen.search.results import write_best

    name = sample.name
    prepared = prepare(found.source, None, args["evaluator"], args["variant"], args["metric"])
    config = SearchConfig(
        prepared.space_text, name, "random", args["evaluator"], prepared.metric, args["seed"],
        args["n"], constraints=args["regime"].constraints(), workers=args["workers"],
        variant=args["variant"], max_idle=max(MAX_IDLE_PROPOSALS, sample.drawn),
    )  # fmt: skip
    journal, _ = open_run(directory / name, config, name)
    try:
        search = build_search(journal, config, prepared.evaluator, args["executor"])
        with click.progressbar(
            length=args["n"], label=f"evaluating {name}", file=sys.stderr, hidden=quiet
        ) as bar:
            bar.update(min(search.progress.evaluated, args["n"]))
            search.run(lambda p: bar.update(1))
        rows = list(journal.trials())
        write_best(journal.directory, config, rows)
    finally:
        journal.close()
    metric = prepared.metric
    rewards = [r.reward for r in rows if r.status == "done" and r.reward is not None]
    if metric.endswith("acc"):
        return [1.0 - v for v in rewards], f"error (1 - {metric})"
    return rewards, metric


class _Source:
    """A space and the text it came from (kept for the journal's config)."""

    def __init__(self, source: str) -> None:
        from nasgen.space import load_space

        self.source = source
        self.space = load_space(source)


@space.command(name="edf")
@click.argument("sources", nargs=-1, required=True, metavar="SPACE...", type=SPACE)
@click.option(
    "-n", "n", type=click.IntRange(2, 100_000), default=500, show_default=True,
    help="Models per space (distinct networks in the regime).",
)  # fmt: skip
@click.option(
    "--regime",
    default="none",
    show_default=True,
    help="MAC range of the models: 400MF (the paper's 360M-400M), 360M-400M, -1.6G, none.",
)
@click.option(
    "--evaluator",
    help="Also evaluate every model through the search loop (train:DATA, proxy:NAME, "
    "table:FILE) and plot the error EDFs.",
)
@click.option("--metric", help="The evaluator's metric (default: its first; *_acc -> error).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the draws.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True)
@click.option("--variant", help="Cost (and evaluate) on this variant of each space's network.")
@executor_options
@click.option("--no-plot", is_flag=True, help="Write the JSON only (no matplotlib needed).")
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), required=True,
    help="Run directory: edf.json, complexity.json and .png [error.png, a search per space].",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
@user_errors
def edf_command(
    sources: tuple[str, ...],
    n: int,
    regime: str,
    evaluator: str | None,
    metric: str | None,
    seed: int,
    workers: int,
    variant: str | None,
    executor: ExecutorOptions,
    no_plot: bool,
    output: Path,
    as_json: bool,
    quiet: bool,
) -> None:
    """Sample n models per design space in a MAC regime and compare the spaces' EDFs.

    The complexity EDFs (params, MACs, activations) come from the static cost model: no
    training, seconds for n = 500. With --evaluator every model is also evaluated through
    the search loop (a random search per space, journaled in DIR/SPACE, resumed by running
    the same command again; --executor ray runs the trials on Ray) and the error EDFs are
    plotted. Each chart gives the two-sample
    Kolmogorov-Smirnov statistic between the first two spaces; complexity.json has every pair.
    The draws are those of `nasgen search SPACE --strategy random` with the same seed.

    \b
    Examples:
      nasgen space edf anynetx_a regnetx -n 500 --regime 400MF -o edf/
      nasgen space edf anynetx_a anynetx_e -n 50 --regime 400MF --evaluator train:digits -o edf2/
    """
    if evaluator is None and executor.kind != "local":
        raise NasgenError("E853", "--executor ray runs evaluations; give --evaluator too")
    found = [_Source(s) for s in sources]
    names = [f.space.name for f in found]
    if len(set(names)) != len(names):
        raise NasgenError("E874", f"two spaces are named alike: {', '.join(names)}")
    if not no_plot:
        from nasgen.plotting import pyplot

        pyplot()  # refuse before sampling when matplotlib is missing
    parsed = parse_regime(regime)
    manifest = {
        "kind": "nasgen-edf", "spaces": names, "n": n, "regime": parsed.label, "seed": seed,
        "evaluator": evaluator, "metric": metric, "variant": variant,
    }  # fmt: skip
    claimed = _check_dir(output, manifest)
    options = CompileOptions(variant=variant)
    samples: list[SpaceSample] = []
    for f in found:
        with click.progressbar(
            length=n, label=f"sampling {f.space.name}", file=sys.stderr, hidden=quiet
        ) as bar:
            samples.append(sample_space(f.space, n, parsed, seed, options, bar.update))
    if not claimed:
        _claim_dir(output, manifest)
    measures = {
        m: {s.name: [float(x.measure(m)) for x in s.models] for s in samples} for m in MEASURES
    }
    result: dict[str, Any] = {
        "kind": "nasgen-edf-complexity",
        "regime": {"label": parsed.label, "min_macs": parsed.low, "max_macs": parsed.high},
        "seed": seed,
        "spaces": [
            {
                "name": s.name,
                "models": len(s.models),
                "drawn": s.drawn,
                "outside_regime": s.outside,
                "repeats": s.repeats,
                **{f"median_{m}": _median([x.measure(m) for x in s.models]) for m in MEASURES},
                "samples": [
                    {
                        "draw": x.draw,
                        "hash": x.arch_hash,
                        "params": x.params,
                        "macs": x.macs,
                        "acts": x.acts,
                    }
                    for x in s.models
                ],
            }
            for s in samples
        ],
        "ks": {m: _ks_rows(measures[m]) for m in MEASURES},
    }
    files = [output / "complexity.json"]
    if not no_plot:
        panels = [(m, measures[m], True) for m in MEASURES]
        files.append(_plot(output / "complexity.png", panels))
    if evaluator is not None:
        args = {"evaluator": evaluator, "variant": variant, "metric": metric, "seed": seed,
                "n": n, "regime": parsed, "workers": workers, "executor": executor}  # fmt: skip
        errors: dict[str, list[float]] = {}
        label = ""
        for f, s in zip(found, samples, strict=True):
            errors[s.name], label = _evaluate(output, f, s, args, quiet)
        result["error"] = {
            "measure": label,
            "spaces": {k: sorted(v) for k, v in errors.items()},
            "ks": _ks_rows(errors),
        }
        if not no_plot:
            files.append(_plot(output / "error.png", [(label, errors, False)]))
    text = json.dumps(result, indent=2) + "\n"
    write_atomic(files[0], text.encode("utf-8"))
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    _print(result, samples, files)


def _print(result: dict[str, Any], samples: list[SpaceSample], files: list[Path]) -> None:
    regime = result["regime"]["label"]
    click.echo(
        f"{'space':<14} {'models':>7} {'drawn':>9} {'in regime':>9}  median params / MACs / acts"
    )
    for s in result["spaces"]:
        share = s["models"] / s["drawn"] if s["drawn"] else 0.0
        click.echo(
            f"{s['name']:<14} {s['models']:>7} {s['drawn']:>9,} {share:>8.1%}  "
            f"{s['median_params'] / 1e6:.2f}M / {s['median_macs'] / 1e6:.0f}M / "
            f"{s['median_acts'] / 1e6:.2f}M"
        )
    click.echo(f"regime: {regime}; KS statistic between the spaces (D, p):")
    for m, rows in result["ks"].items():
        for r in rows:
            click.echo(f"  {m:<7} {r['a']} vs {r['b']}: D = {r['ks']:.3f}, p = {r['p']:.3g}")
    if "error" in result:
        for r in result["error"]["ks"]:
            click.echo(
                f"  {result['error']['measure']}: {r['a']} vs {r['b']}: D = {r['ks']:.3f}, "
                f"p = {r['p']:.3g}"
            )
    click.echo("wrote " + ", ".join(str(f) for f in files))
