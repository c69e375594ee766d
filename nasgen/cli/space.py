"""``nasgen space info`` and ``nasgen space sample``: search spaces as text, counted and sampled.

Pipeline stage: user interface. Calls ``nasgen.space``, ``nasgen.search.survey`` and
``nasgen.api``.
"""

from __future__ import annotations

import json
import math
import random
import sys
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import click

from nasgen.api import CompileOptions, analyze, parse_source
from nasgen.cli.app import check_output, main, user_errors
from nasgen.design import ZOO, RegNetParams, fit_regnet
from nasgen.dsl.ast import Module
from nasgen.dsl.printer import print_module
from nasgen.dsl.resolve import body_stages
from nasgen.dsl.stage_form import with_stages
from nasgen.errors import NasgenError
from nasgen.files import write_atomic
from nasgen.search.survey import cost_range, distinct_count
from nasgen.space import SearchSpace, load_space, space_names

__all__ = ["space"]


class _SpaceType(click.ParamType):  # type: ignore[type-arg]
    name = "space"

    def shell_complete(
        self, ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[click.shell_completion.CompletionItem]:
        from click.shell_completion import CompletionItem

        names = [CompletionItem(n) for n in space_names() if n.startswith(incomplete)]
        return [*names, CompletionItem(incomplete, type="file")]


SPACE = _SpaceType()


@main.group()
def space() -> None:
    """Search spaces: .cell files whose `space cell`s state a controller's choices.

    SPACE is a path or a bundled space: nasnet, pnas, enas_micro, enas_chain, darts, nb201
    (cell spaces) and anynetx_a ... anynetx_e, regnetx (design spaces: stages, not cells).
    Every sample is an ordinary .cell file that compiles on the space's skeleton.

    \b
    Examples:
      nasgen space info nb201
      nasgen space sample darts --seed 0 -n 10 -o samples/
    """


def _load(source: str, blocks: int | None) -> SearchSpace:
    found = load_space(source)
    return found.with_blocks(blocks) if blocks is not None else found


def _cell_lines(found: SearchSpace) -> list[str]:
    lines = []
    for spec in found.cells:
        inputs = {"all": "all earlier states", "previous": "the previous state"}.get(
            spec.input_mode,
            f"choose({spec.k}{', distinct' if spec.input_mode == 'distinct' else ''})",
        )
        lines.append(
            f"cell {spec.name}({', '.join(spec.inputs)}): {spec.blocks} blocks, inputs {inputs}"
            f"{' + skips from earlier blocks' if spec.skips else ''}, {len(spec.ops)} ops, "
            f"combine {' | '.join(spec.combines)}, output {spec.output}"
        )
        lines.append(f"  ops: {', '.join(spec.ops)}")
    return lines


def _block_lines(found: SearchSpace) -> list[str]:
    groups: dict[str, list[int]] = {}
    for d in found.decisions():
        groups.setdefault(d.name.rsplit(".", 1)[0], []).append(d.size)
    return [
        f"  {where}: {' x '.join(map(str, sizes))} = {math.prod(sizes):,}"
        for where, sizes in groups.items()
    ]


@space.command(name="info")
@click.argument("source", metavar="SPACE", type=SPACE)
@click.option("--blocks", type=click.IntRange(1, 64), help="Blocks per cell (PNAS grows B).")
@click.option("--variant", help="Cost the samples on this variant of the space's network.")
@click.option(
    "--samples",
    type=click.IntRange(1, 100_000),
    default=100,
    show_default=True,
    help="Seeded samples the cost range is taken over.",
)
@click.option("--exhaustive", is_flag=True, help="Cost every architecture (spaces up to 1e5).")
@click.option(
    "--distinct", is_flag=True, help="Count distinct networks by nasgen hash (spaces up to 1e5)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the facts as JSON.")
@user_errors
def info(
    source: str,
    blocks: int | None,
    variant: str | None,
    samples: int,
    exhaustive: bool,
    distinct: bool,
    as_json: bool,
) -> None:
    """Count a search space exactly, list its choices, and cost it on its skeleton.

    The size is the product of every decision's options (printed block by block, so the
    count can be checked by hand). "Unordered add operands" merges the two orders of an
    add's operands (PNAS's count). --distinct hashes every architecture (`nasgen hash`:
    equal networks, whatever their spelling). Params and MACs are the range over seeded
    samples (or every architecture with --exhaustive), on the space's network block.

    \b
    Examples:
      nasgen space info nb201 --distinct
      nasgen space info pnas --blocks 1
      nasgen space info darts --variant search --json
    """
    found = _load(source, blocks)
    options = CompileOptions(variant=variant)
    bar: Any
    with click.progressbar(
        length=found.size() if exhaustive else samples,
        label="costing",
        file=sys.stderr,
    ) as bar:
        costs = cost_range(
            found, options, samples=samples, exhaustive=exhaustive, progress=bar.update
        )
    distinct_n = None
    if distinct:
        with click.progressbar(length=found.size(), label="hashing", file=sys.stderr) as bar:
            distinct_n = distinct_count(found, bar.update)
    facts: dict[str, Any] = {
        "name": found.name,
        "cells": [spec.name for spec in found.cells],
        "decisions": len(found.decisions()),
        "size": found.size(),
        "unordered_add_operands": found.symmetric_size(),
        "distinct_by_hash": distinct_n,
        "costed": costs.looked_at,
        "exhaustive": costs.exhaustive,
        "params": list(costs.params),
        "macs": list(costs.macs),
        "failed_to_compile": costs.failed,
    }
    if as_json:
        click.echo(json.dumps(facts, indent=2))
        return
    over = "every architecture" if costs.exhaustive else f"{costs.looked_at} seeded samples"
    per = "options per block (inputs x ops x combine x skips):"
    if found.design is not None:
        per = (
            "options per stage (depth x width x bottleneck x group width; shared keys and "
            "non-decreasing sequences on their own):"
            if found.design.kind == "stages"
            else "options (the RegNet rule's parameters):"
        )
    lines = [
        f"{found.name}  ({len(found.decisions())} decisions)",
        *_cell_lines(found),
        per,
        *_block_lines(found),
        f"architectures: {found.size():,} (exact: the product above)"
        if found.design is None or found.design.kind == "stages"
        else f"vectors: {found.size():,} (exact: the product above; those whose rule makes "
        f"another stage count than {found.design.stages_wanted} name no network)",
    ]
    if found.design is None:
        lines.append(f"with unordered add operands: {found.symmetric_size():,}")
    if distinct_n is not None:
        lines.append(f"distinct by nasgen hash: {distinct_n:,}")
    lines.append(
        f"params: {costs.params[0]:,} to {costs.params[1]:,}; "
        f"MACs: {costs.macs[0]:,} to {costs.macs[1]:,} (over {over})"
    )
    if costs.failed:
        lines.append(f"{costs.failed} did not compile, e.g.: {costs.first_error}")
    click.echo("\n".join(lines))


def _header(found: SearchSpace, seed: int, index: int, choices: tuple[int, ...]) -> str:
    return (
        f"# Sampled from search space {found.name}, seed {seed}, sample {index}.\n"
        f"# choices: {' '.join(map(str, choices))}\n"
    )


@space.command(name="sample")
@click.argument("source", metavar="SPACE", type=SPACE)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0, show_default=True)
@click.option("-n", "count", type=click.IntRange(1, 1_000_000), default=1, show_default=True)
@click.option("--blocks", type=click.IntRange(1, 64), help="Blocks per cell (PNAS grows B).")
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write NAME_SEED_I.cell files into this folder (made if missing).",
)
@click.option("--force", is_flag=True, help="Overwrite existing sample files.")
@user_errors
def sample(
    source: str, seed: int, count: int, blocks: int | None, output: Path | None, force: bool
) -> None:
    """Write uniformly random architectures of SPACE as checked .cell files.

    Each file compiles (it is checked before it is written) and starts with comments naming
    the space, the seed, the sample's index and its choice vector. Without -o one sample is
    printed.

    \b
    Examples:
      nasgen space sample nb201 --seed 3
      nasgen space sample nasnet --seed 0 -n 100 -o samples/
    """
    found = _load(source, blocks)
    if output is None and count > 1:
        raise NasgenError("E812", "-n above 1 needs -o DIR", hint="one file per sample")
    rng = random.Random(seed)
    if output is not None:
        if output.exists() and not output.is_dir():
            raise NasgenError("E506", f"{output}: not a directory")
        output.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        choices = found.sample(rng)
        text = print_module(found.decode(choices))
        analyze(text)  # every sample compiles on the skeleton, or the space is at fault
        full = _header(found, seed, index, choices) + text
        if output is None:
            click.echo(full, nl=False)
            continue
        path = output / f"{found.name}_{seed}_{index}.cell"
        check_output(path, force)
        write_atomic(path, full)
    if output is not None:
        click.echo(f"wrote {count} file(s) to {output}", err=True)


@space.command(name="supernet")
@click.argument("source", metavar="SPACE", type=SPACE)
@click.option("--C", "c", type=click.IntRange(1, 4096), default=16, show_default=True)
@click.option("--layers", type=click.IntRange(1, 64), default=8, show_default=True)
@click.option("--classes", type=click.IntRange(1, 100_000), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@user_errors
def supernet(source: str, c: int, layers: int, classes: int, as_json: bool) -> None:
    """The DARTS search network of a space: its weights and architecture parameters.

    Every edge of every cell is a mixed op over the space's op list (the torch backend's own
    layers; BN without affine parameters inside the cells, as the DARTS code has it), the
    cells at layers/3 and 2*layers/3 reduce. Built on PyTorch's meta device: nothing is
    allocated, whatever the size.

    \b
    Examples:
      nasgen space supernet darts
      nasgen space supernet darts --C 36 --layers 20 --json
    """
    import torch

    from nasgen.oneshot import SearchNetwork, SupernetSpec

    found = _load(source, None)
    with torch.device("meta"):
        net = SearchNetwork(found, SupernetSpec(C=c, layers=layers, classes=classes))
    alphas = net.arch_parameters()
    reductions = [i for i, r in enumerate(net.reductions) if r]
    info: dict[str, Any] = {
        "space": found.name,
        "C": c,
        "layers": layers,
        "classes": classes,
        "reductions": reductions,
        "weights": sum(p.numel() for p in net.weights()),
        "arch_parameters": sum(a.numel() for a in alphas),
        "alphas": {"normal": list(alphas[0].shape), "reduce": list(alphas[1].shape)},
        "primitives": list(net.primitives),
    }
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    click.echo(
        f"{found.name} supernet (C = {c}, {layers} cells, reductions at "
        f"{', '.join(map(str, reductions)) or 'none'}, {classes} classes)"
    )
    click.echo(f"  weights:                 {info['weights']:,}")
    shapes = " + ".join("x".join(map(str, a.shape)) for a in alphas)
    click.echo(f"  architecture parameters: {info['arch_parameters']:,} ({shapes})")
    click.echo(f"  ops on every edge:       {', '.join(net.primitives)}")


def _stage_form(name: str | None, params: RegNetParams) -> Module:
    """The bundled zoo file (or the zoo's skeleton) with its stages written out."""
    module = parse_source(name or ("regnety_200mf" if params.se else "regnetx_200mf"))
    if name is None:
        label = f"regnet d={params.depth} w0={params.w0} wa={params.wa:g} wm={params.wm:g}"
        module = replace(module, name="regnet", source=f"nasgen space regnet: {label}")
    return with_stages(module, params.stages())


@space.command(name="regnet")
@click.argument("name", required=False, type=click.Choice(sorted(ZOO)), metavar="[MODEL]")
@click.option("--depth", "d", type=int, help="d: blocks in all (pycls DEPTH).")
@click.option("--w0", type=int, help="w0: the first block's width, a multiple of 8 (W0).")
@click.option("--wa", type=float, help="wa: the slope of the linear widths (WA).")
@click.option("--wm", type=float, help="wm: the width multiplier between stages, > 1 (WM).")
@click.option("--group-width", "g", type=int, help="g: the group width (GROUP_W).")
@click.option("--bottleneck", "b", type=float, default=1.0, show_default=True, help="b (BOT_MUL).")
@click.option("--json", "as_json", is_flag=True, help="Print the stages as JSON.")
@click.option(
    "--cell",
    "as_cell",
    is_flag=True,
    help="Print a .cell file of the network in its explicit stage form (body = stages).",
)
@user_errors
def regnet(
    name: str | None,
    d: int | None,
    w0: int | None,
    wa: float | None,
    wm: float | None,
    g: int | None,
    b: float,
    as_json: bool,
    as_cell: bool,
) -> None:
    """The stages the RegNet rule makes of a zoo model, or of --depth --w0 --wa --wm --group-width.

    Radosavovic et al. 2020 (pycls generate_regnet and adjust_block_compatibility): per-block
    widths w0 + wa * j quantised to w0 * wm^k and to multiples of 8, stages from equal widths,
    then widths made compatible with the group width (both roundings half to even).

    \b
    Examples:
      nasgen space regnet regnetx_200mf
      nasgen space regnet --depth 13 --w0 24 --wa 36.44 --wm 2.49 --group-width 8 --json
      nasgen space regnet regnety_200mf --cell > regnety_200mf_stages.cell

    --cell writes the stages as lists (depths, widths, strides, bottlenecks, group_widths):
    the same network, stated stage by stage; a zoo model keeps its file's other keys, the
    parameters get the zoo's skeleton (simple stem of 32, 224 px, 1000 classes).
    """
    given = [v is not None for v in (d, w0, wa, wm, g)]
    if name is not None and any(given):
        raise NasgenError("E330", "give a zoo model or the parameters, not both")
    if name is None and not all(given):
        raise NasgenError(
            "E330",
            "regnet needs a zoo model or all of --depth --w0 --wa --wm --group-width",
            hint=f"zoo models: {', '.join(sorted(ZOO))}",
        )
    params = ZOO[name] if name is not None else RegNetParams(d, w0, wa, wm, g, b)  # type: ignore[arg-type]
    stages = params.stages()
    if as_cell:
        click.echo(print_module(_stage_form(name, params)), nl=False)
        return
    if as_json:
        click.echo(
            json.dumps({"params": asdict(params), "stages": [asdict(s) for s in stages]}, indent=2)
        )
        return
    label = name or "regnet"
    click.echo(
        f"{label}: d {params.depth}, w0 {params.w0}, wa {params.wa:g}, wm {params.wm:g}, "
        f"g {params.group_width}, b {params.bottleneck:g}{', SE 0.25' if params.se else ''}"
    )
    click.echo(f"{'stage':>5} {'depth':>6} {'width':>6} {'stride':>6} {'groups':>7}")
    for i, s in enumerate(stages, start=1):
        groups = int(s.width * s.bottleneck) // s.group_width
        click.echo(f"{i:>5} {s.depth:>6} {s.width:>6} {s.stride:>6} {groups:>7}")


@space.command(name="fit")
@click.argument("source", metavar="SOURCE")
@click.option("--json", "as_json", is_flag=True, help="Print the fit as JSON.")
@user_errors
def fit(source: str, as_json: bool) -> None:
    """Fit the RegNet rule's (w0, wa, wm) to a stage network and print its e_fit.

    SOURCE is a .cell file (or bundled name) with `body = stages` or `body = regnet`.
    Radosavovic et al. 2020, section 3.3: d is the network's depth; (w0, wa, wm) minimise
    e_fit, the mean |log| ratio of the rule's per-block widths to the network's (0: the
    network is a RegNet, before the group-width step). See nasgen/design/fit.py for the grid.

    \b
    Examples:
      nasgen space fit regnetx_200mf
      nasgen space regnet regnetx_200mf --cell > x.cell && nasgen space fit x.cell --json
    """
    result = analyze(source)
    spec = result.arch.network
    if spec.body == "cells":
        raise NasgenError(
            "E331", f"{source}: a cells network has no stages to fit",
            hint="fit a `body = stages` or `body = regnet` network",
        )  # fmt: skip
    stages = body_stages(spec)
    found = fit_regnet([s.depth for s in stages], [s.width for s in stages])
    facts = {
        "depth": found.depth, "w0": found.w0, "wa": found.wa, "wm": found.wm,
        "e_fit": found.e_fit, "depths": [s.depth for s in stages],
        "widths": [s.width for s in stages],
    }  # fmt: skip
    if as_json:
        click.echo(json.dumps(facts, indent=2))
        return
    click.echo(f"{result.module.name or source}: {len(stages)} stages, d = {found.depth}")
    click.echo(f"  depths {facts['depths']}, widths {facts['widths']}")
    click.echo(f"  fit: w0 {found.w0}, wa {found.wa:g}, wm {found.wm:g}; e_fit {found.e_fit:.4f}")
