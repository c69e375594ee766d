"""The ``nasgen`` command line (click). Calls ``nasgen.api`` only; the one place that prints.

Pipeline stage: user interface, the top layer.

A user error (any ``NasgenError``) prints its diagnostic and exits 1; any other exception is a
bug in nasgen and keeps its traceback.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from nasgen import __version__
from nasgen.api import (
    Analysis,
    CompileOptions,
    analyze,
    build,
    load,
    load_source,
    optimized,
    save,
    to_onnx,
)
from nasgen.dsl import bundled_names, parse
from nasgen.dsl.foreign import (
    export_darts,
    export_nb201,
    import_darts,
    import_nb201,
    import_tfslim,
    split_genotypes,
)
from nasgen.dsl.network import KEYS
from nasgen.dsl.printer import print_module
from nasgen.errors import NasgenError
from nasgen.ops import OPS, PRESETS
from nasgen.review import architecture_hash, cell_hashes, diff_architectures
from nasgen.verify import Check, load_registry, verify

__all__ = ["main"]

F = TypeVar("F", bound=Callable[..., Any])


def _user_errors(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except NasgenError as err:
            click.echo(str(err), err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def _human(n: int) -> str:
    for unit, scale in (("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f}{unit}"
    return str(n)


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


def _summary_dict(a: Analysis) -> dict[str, Any]:
    spec, report = a.arch.network, a.cost
    return {
        "name": a.module.name,
        "file": a.source.path,
        "convention": a.arch.convention.name,
        "network": spec.as_dict(),
        "input": [spec.input_channels, spec.input_size, spec.input_size],
        "params": report.params,
        "macs": report.macs,
        "aux_params": report.aux_params,
        "aux_macs": report.aux_macs,
        "stages": [
            {
                "stage": s.stage,
                "cells": s.cells,
                "shape": list(s.shape),
                "params": s.params,
                "macs": s.macs,
            }
            for s in report.stages
        ],
        "ir_nodes": len(a.graph),
    }


def _summary_table(a: Analysis) -> str:
    spec, report = a.arch.network, a.cost
    rows = [("stage", "cells", "output", "params", "MACs")]
    rows += [
        (s.stage, str(s.cells or ""), _shape(s.shape), f"{s.params:,}", _human(s.macs))
        for s in report.stages
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    fmt = "  ".join(f"{{:{'<' if i < 3 else '>'}{w}}}" for i, w in enumerate(widths))
    lines = [
        f"{a.module.name or a.source.path}  ({a.arch.convention.name} convention, "
        f"N={spec.n_cells}, F={spec.num_filters}, "
        f"{spec.input_channels}x{spec.input_size}x{spec.input_size}, {spec.classes} classes)",
        fmt.format(*rows[0]),
        *(fmt.format(*r) for r in rows[1:]),
        f"total: {report.params:,} params, {report.macs:,} MACs ({_human(report.macs)})"
        + (
            f"; auxiliary head: {report.aux_params:,} params (not in total)"
            if report.aux_params
            else ""
        ),
    ]
    return "\n".join(lines)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="nasgen")
def main() -> None:
    """nasgen: NAS architectures as reviewable .cell text files.

    Parse, validate and cost published cells (NASNet-A, DARTS, ...) without any framework,
    and (from later releases) build PyTorch modules and ONNX graphs from them.

    \b
    Examples:
      nasgen compile nasnet_a.cell --N 4 --F 44
      nasgen compile darts_v2 --variant imagenet --json
      nasgen check my_cells/*.cell
    """


@main.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--quiet", "-q", is_flag=True, help="Print errors only.")
@_user_errors
def check(files: tuple[str, ...], quiet: bool) -> None:
    """Validate .cell FILES (and every variant they define); exit 1 on any error.

    Each file is parsed, resolved, lowered to the IR with its own network settings and every
    `variant`, and validated (shapes, dangling states, sizes). Diagnostics point at
    file:line:col.

    \b
    Example:
      nasgen check genotypes/*.cell
    """
    failed = 0
    for file in files:
        try:
            text = load_source(file)
            module = parse(text)
            variants = [None, *(v.name for v in module.variants)]
            counts = [analyze(text, CompileOptions(variant=v)).cost.params for v in variants]
        except NasgenError as err:
            failed += 1
            click.echo(str(err), err=True)
            continue
        if not quiet:
            shown = ", ".join(
                f"{v or 'default'} {_human(c)}" for v, c in zip(variants, counts, strict=True)
            )
            click.echo(f"{text.path}: ok ({shown} params)")
    if failed:
        click.echo(f"{failed} of {len(files)} file(s) failed", err=True)
        sys.exit(1)


def _parse_set(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[Any, ...]:
    out = []
    for text in values:
        if "=" not in text:
            raise click.BadParameter(f"{text!r} is not KEY=VALUE")
        out.append(CompileOptions.parse_setting(text))
    return tuple(out)


def _optimisation_options(fn: F) -> F:
    """-O0/-O1 and --explain, shared by compile and export."""
    fn = click.option(
        "--explain",
        is_flag=True,
        help="List each pass and what it changed: cells, blocks, nodes removed, merged or folded.",
    )(fn)
    return click.option(
        "-O",
        "--opt-level",
        "level",
        type=click.IntRange(0, 1),
        default=1,
        show_default=True,
        help="0: the graph exactly as written; 1: run the IR passes (for a checkpoint the "
        "training form, which keeps every parameter and output; for ONNX the inference form).",
    )(fn)


@main.command(name="compile")
@click.argument("source")
@click.option(
    "--N",
    "n_cells",
    type=click.IntRange(min=1),
    help="Normal cells per stage (NASNet's N in N @ P).",
)
@click.option(
    "--F", "num_filters", type=click.IntRange(min=1), help="Filters of the first stage (DARTS C)."
)
@click.option(
    "--variant", help="Apply a `variant NAME { ... }` block of the file first (e.g. large, cifar)."
)
@click.option("--reductions", type=click.IntRange(min=0), help="Number of reductions (stages - 1).")
@click.option("--classes", type=click.IntRange(min=1), help="Number of classes.")
@click.option("--input-size", type=click.IntRange(min=1), help="Input height = width.")
@click.option(
    "--set",
    "settings",
    multiple=True,
    callback=_parse_set,
    metavar="KEY=VALUE",
    help="Override any network key (repeatable), e.g. --set stem_multiplier=3.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also build the PyTorch module and write it: PATH.safetensors (weights + genotype "
    "text + options; loads with nasgen.load(PATH)) or PATH.onnx (the inference graph).",
)
@click.option("--seed", type=int, help="Seed for the initial weights (with -o).")
@_optimisation_options
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@_user_errors
def compile_(
    source: str,
    n_cells: int | None,
    num_filters: int | None,
    variant: str | None,
    reductions: int | None,
    classes: int | None,
    input_size: int | None,
    settings: tuple[tuple[str, Any], ...],
    as_json: bool,
    output: Path | None,
    seed: int | None,
    level: int,
    explain: bool,
    force: bool,
) -> None:
    """Compile SOURCE (a .cell path or a bundled name) and print its size, stage by stage.

    The summary (shapes, parameters, multiply-accumulates per stage; the auxiliary head apart)
    comes from the IR alone: no framework is imported. Values given here override the file's
    network block, after --variant. With -o PATH.safetensors the PyTorch module is built and
    saved; with -o PATH.onnx its inference graph (opset 18, dynamic batch) is written straight
    from the IR (see `nasgen export` for opsets, fp16 and int8).

    \b
    Examples:
      nasgen compile nasnet_a.cell --N 4 --F 44
      nasgen compile nasnet_a.cell --variant large --json
      nasgen compile darts_v2.cell --N 6 --F 36 --set drop_path=0.3
      nasgen compile darts_v2.cell --seed 0 -o darts_v2.safetensors
      nasgen compile nasnet_a.cell --N 4 --F 44 --explain
      nasgen compile nasnet_a.cell --N 4 --F 44 --seed 0 -o nasnet_a_mobile.onnx
    """
    extra = [
        (k, v)
        for k, v in (("reductions", reductions), ("classes", classes), ("input_size", input_size))
        if v is not None
    ]
    options = CompileOptions(n_cells, num_filters, variant, tuple(extra) + settings)
    result = analyze(source, options)
    if output is not None and output.exists() and not force:
        raise NasgenError("E505", f"{output} exists; pass --force to overwrite it")
    if as_json:
        click.echo(json.dumps(_summary_dict(result), indent=2))
    else:
        click.echo(_summary_table(result))
    if output is not None and output.suffix == ".onnx":
        proto, opt = to_onnx(build(result, seed), level=level, result=result)
        if explain:
            click.echo(opt.explain(), nl=False, err=as_json)
        _write_onnx(proto, output, force, as_json)
        return
    fast, opt = optimized(result, level, "train")
    if explain:
        click.echo(opt.explain(), nl=False, err=as_json)
    if output is not None:
        written = save(build(fast, seed), output)
        size = written.stat().st_size
        click.echo(f"wrote {written} ({size / 2**20:.1f} MiB)", err=as_json)


def _write_onnx(proto: Any, path: Path, force: bool, quiet: bool = False) -> None:
    """Check (full checker, strict shape inference) and write atomically; never overwrite."""
    from nasgen.exporters.onnx import save_onnx

    try:
        written = save_onnx(proto, path, force=force)
    except FileExistsError:
        raise NasgenError("E505", f"{path} exists; pass --force to overwrite it") from None
    size = written.stat().st_size
    nodes = len(proto.graph.node)
    click.echo(f"wrote {written} ({nodes} nodes, {size / 2**20:.2f} MiB)", err=quiet)


def _write_new(path: Path, text: str, force: bool) -> None:
    """Write ``text`` atomically; refuse to replace an existing file unless ``force``."""
    if path.exists() and not force:
        raise NasgenError("E505", f"{path} exists; pass --force to overwrite it")
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


@main.command(name="import")
@click.argument("fmt", metavar="FORMAT", type=click.Choice(["darts", "nb201", "tfslim"]))
@click.argument("source", metavar="INPUT")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here.")
@click.option("--name", help="Which Genotype of a file holding several (its variable name).")
@click.option(
    "--convention",
    type=click.Choice(sorted(PRESETS)),
    help="tfslim only: the convention to write (default: tf_amoeba when a TF-TPU-only op such "
    "as 1x7_7x1 appears, else tf_slim).",
)
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@_user_errors
def import_(
    fmt: str,
    source: str,
    output: Path | None,
    name: str | None,
    convention: str | None,
    force: bool,
) -> None:
    """Turn a foreign genotype into .cell text.

    FORMAT is `darts` (a DARTS-family Genotype(...)), `nb201` (a NAS-Bench-201 string) or
    `tfslim` (TF-slim / TF-TPU lists `operations`, `hiddenstate_indices`, `used_hiddenstates`,
    as JSON or Python assignments, for one cell or for {"normal": ..., "reduce": ...}; TF's
    0 = h_i, 1 = h_{i-1} is swapped to nasgen's names, and the output concatenates the states
    marked unused). INPUT is a file or the text itself. Everything is read as data with
    Python's parser, never evaluated; a file may hold many `NAME = Genotype(...)` lines (choose
    with --name). The result gets the convention and evaluation skeleton of its source (DARTS
    CIFAR with an `imagenet` variant; NB-201 C=16, N=5; TF-slim NASNet CIFAR with a `mobile`
    variant, or PNASNet mobile for a single cell) and is checked before it is written.

    \b
    Examples:
      nasgen import darts "Genotype(normal=[...], normal_concat=[2,3,4,5], ...)" -o mine.cell
      nasgen import darts genotypes.py --name PCDARTS -o pc_darts.cell
      nasgen import nb201 "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|...|"
      nasgen import tfslim nasnet_a_lists.json -o nasnet_a.cell
    """
    inline = any(ch in source for ch in "(|[{=\n")
    text = source if inline else load_source(Path(source)).text
    if fmt == "nb201":
        module = import_nb201(text.strip())
    elif fmt == "tfslim":
        module = import_tfslim(text, "imported", convention)
    else:
        found = split_genotypes(text)
        if name is not None:
            found = [g for g in found if g[0] == name]
        if len(found) != 1:
            names = ", ".join(str(n) for n, _ in split_genotypes(text)) or "none"
            raise NasgenError(
                "E123", f"{len(found)} Genotype(...) found; choose one with --name ({names})"
            )
        label, genotype = found[0]
        module = import_darts(genotype, (label or "imported").lower())
    canonical = print_module(module)
    analyze(canonical)  # refuse to write a genotype nasgen cannot compile
    if output is None:
        click.echo(canonical, nl=False)
    else:
        _write_new(output, canonical, force)
        click.echo(f"wrote {output}", err=True)


@main.command(name="export")
@click.argument("args", nargs=-1, required=True, metavar="[darts|nb201] INPUT")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The ONNX file to write (checkpoints only).",
)
@click.option(
    "--opset",
    type=click.IntRange(17, 21),
    default=18,
    show_default=True,
    help="ONNX opset (18: torch.onnx's default and fully covered by onnxruntime's CPU kernels).",
)
@click.option("--static-batch", is_flag=True, help="A fixed batch axis instead of a dynamic one.")
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="The fixed batch size (with --static-batch).",
)
@click.option("--fp16", is_flag=True, help="Convert weights and compute to float16.")
@click.option(
    "--int8",
    is_flag=True,
    help="Quantize to int8 with onnxruntime: QDQ, per-channel weights, uint8 activations, "
    "reduce_range (keeps accuracy on x86 CPUs without VNNI), MinMax calibration.",
)
@click.option(
    "--calibration",
    type=click.Path(file_okay=False, path_type=Path),
    help="A folder of real images (png, jpg...) for --int8 calibration and the agreement check.",
)
@_optimisation_options
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@_user_errors
def export_(
    args: tuple[str, ...],
    output: Path | None,
    opset: int,
    static_batch: bool,
    batch_size: int,
    fp16: bool,
    int8: bool,
    calibration: Path | None,
    level: int,
    explain: bool,
    force: bool,
) -> None:
    """Export a checkpoint to ONNX, or print a genotype as a DARTS or NB-201 string.

    `nasgen export CHECKPOINT -o model.onnx` writes the inference graph of a checkpoint saved
    by `nasgen compile -o x.safetensors` (or `nasgen.save`), straight from the IR: no aux
    head, BatchNorm folded into the convs, node names and doc strings pointing at the cell,
    block and line of the genotype, the genotype text in the metadata. Every file is checked
    (full checker, strict shape inference) and written atomically. --fp16 and --int8 print the
    size and the agreement with fp32 (max abs logit error, top-1 agreement) on the
    calibration images (--fp16 without --calibration: 16 seeded random inputs).

    `nasgen export darts|nb201 SOURCE` prints SOURCE's cells as a DARTS Genotype(...) or an
    NB-201 string.

    \b
    Examples:
      nasgen export nasnet.safetensors -o nasnet.onnx
      nasgen export nasnet.safetensors -o nasnet_int8.onnx --int8 --calibration images/
      nasgen export nasnet.safetensors -o nasnet_fp16.onnx --fp16 --static-batch
      nasgen export darts darts_v2.cell
      nasgen export nb201 my_nb201.cell
    """
    if args[0] in ("darts", "nb201"):
        if len(args) != 2:
            raise NasgenError("E530", f"nasgen export {args[0]} takes one SOURCE")
        module = parse(load_source(args[1]))
        click.echo(export_darts(module) if args[0] == "darts" else export_nb201(module))
        return
    if len(args) != 1:
        raise NasgenError("E530", "expected one CHECKPOINT (or: darts|nb201 SOURCE)")
    if output is None:
        raise NasgenError("E530", "an ONNX export needs -o PATH.onnx")
    if fp16 and int8:
        raise NasgenError("E530", "choose one of --fp16 and --int8")
    if int8 and calibration is None:
        raise NasgenError("E530", "--int8 needs --calibration DIR", hint="a folder of real images")
    if output.exists() and not force:
        raise NasgenError("E505", f"{output} exists; pass --force to overwrite it")
    module = load(args[0])
    proto, opt = to_onnx(
        module, level=level, opset=opset, dynamic_batch=not static_batch, batch_size=batch_size
    )
    if explain:
        click.echo(opt.explain(), nl=False)
    if fp16 or int8:
        proto = _reduced(proto, module, int8, calibration)
    _write_onnx(proto, output, force)


def _reduced(proto: Any, module: Any, int8: bool, calibration: Path | None) -> Any:
    """The fp16 or int8 model, after printing its size and its agreement with fp32."""
    import numpy as np

    from nasgen.exporters.onnx.quantize import agreement, load_images, to_fp16, to_int8

    size = int(module.nasgen_options["input_size"])
    channels = int(module.nasgen_options["input_channels"])
    if calibration is not None:
        inputs = load_images(calibration, size, channels)
        where = f"{len(inputs)} calibration images"
    else:
        rng = np.random.default_rng(0)
        inputs = rng.standard_normal((16, channels, size, size)).astype(np.float32)
        where = "16 seeded random inputs"
    reduced = to_int8(proto, inputs) if int8 else to_fp16(proto)
    check = agreement(proto, reduced, inputs)
    kind = "int8" if int8 else "fp16"
    click.echo(
        f"{kind}: {reduced.ByteSize() / 2**20:.2f} MiB (fp32 {proto.ByteSize() / 2**20:.2f} MiB); "
        f"on {where}: max |logit error| {check.max_abs_error:.3g}, "
        f"top-1 agreement {check.top1_agreement:.1%}"
    )
    return reduced


def _format_count(n: int) -> str:
    return f"{n:,}"


def _delta(check: Check) -> str:
    value = check.figure.value
    return f"{float(check.delta / value) * 100:+.2f}%" if value else "n/a"


@main.command(name="verify")
@click.option("--only", help="Check only the figures whose genotype or model contains this.")
@click.option(
    "--registry",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A published-figures file of your own (default: the bundled genotypes/published.toml).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
@_user_errors
def verify_(only: str | None, registry: Path | None, as_json: bool) -> None:
    """Check every published size of the bundled genotypes against the compiler.

    Each figure (params, MACs, or params with BN moving statistics as Keras counts them) is
    compiled on the skeleton the paper reports and compared: an exact count from the released
    code must hold to the parameter, a reproduced figure must round to the published number.
    Figures the released code does not reproduce (NASNet-A 7 @ 2304, ENAS 4.6M) are listed as
    such with their delta. Exits 1 on any drift.

    
    Examples:
      nasgen verify
      nasgen verify --only darts --json
    """
    figures = load_registry(registry)
    checks = verify(figures, only=only)
    if not checks:
        raise NasgenError("E601", f"no published figure matches --only {only!r}")
    if as_json:
        rows = [
            {
                "model": c.figure.model,
                "genotype": c.figure.genotype,
                "skeleton": c.figure.skeleton,
                "metric": c.figure.metric,
                "published": c.figure.published,
                "exact": c.figure.exact,
                "nasgen": c.nasgen,
                "delta": int(c.delta),
                "convention": c.figure.convention,
                "status": c.figure.status,
                "verdict": c.verdict,
                "drift": c.drift,
                "source": c.figure.source,
                "note": c.figure.note,
            }
            for c in checks
        ]
        click.echo(json.dumps(rows, indent=2))
    else:
        header = ("model", "skeleton", "metric", "published", "nasgen", "delta", "convention")
        table = [
            (
                c.figure.model,
                c.figure.skeleton,
                c.figure.metric,
                c.figure.published,
                _format_count(c.nasgen),
                _delta(c),
                c.figure.convention,
                c.verdict,
            )
            for c in checks
        ]
        widths = [max(len(r[i]) for r in [(*header, "status"), *table]) for i in range(8)]
        for row in [(*header, "status"), *table]:
            click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        drifted = sum(c.drift for c in checks)
        unreproducible = sum(c.figure.status == "not_reproducible" for c in checks)
        click.echo(
            f"\n{len(checks)} figures: {len(checks) - drifted} as expected, {drifted} drifted; "
            f"{unreproducible} published figures are not reproducible from the released code."
        )
    if any(c.drift for c in checks):
        sys.exit(1)


def _skeleton_options(fn: F) -> F:
    """--N, --F and --variant, shared by hash, diff and draw."""
    fn = click.option(
        "--variant", help="Apply a `variant NAME { ... }` block of the file(s) first."
    )(fn)
    fn = click.option(
        "--F", "num_filters", type=click.IntRange(min=1), help="Filters of the first stage."
    )(fn)
    return click.option(
        "--N", "n_cells", type=click.IntRange(min=1), help="Normal cells per stage."
    )(fn)


@main.command(name="hash")
@click.argument("files", nargs=-1, required=True)
@_skeleton_options
@click.option("--cells", "show_cells", is_flag=True, help="Also print each cell's hash.")
@_user_errors
def hash_(
    files: tuple[str, ...],
    n_cells: int | None,
    num_filters: int | None,
    variant: str | None,
    show_cells: bool,
) -> None:
    """Print the fingerprint of each FILE: equal when files compile to the same network.

    The hash is of the network, not the text: renamed states, reordered blocks, swapped `add`
    operands, op aliases (skip_connect / identity), comments and layout change nothing; any op,
    input, combine, output list, convention rule or network setting (file, variant, --N, --F)
    changes it. Lines read `HASH  FILE`, like sha256sum; exit 1 if any file has an error.

    \b
    Examples:
      nasgen hash nasnet_a.cell
      nasgen hash mine.cell theirs.cell --cells
      nasgen hash darts_v2.cell --variant imagenet
    """
    options = CompileOptions(n_cells, num_filters, variant)
    failed = 0
    for file in files:
        try:
            arch = analyze(load_source(file), options).arch
        except NasgenError as err:
            failed += 1
            click.echo(str(err), err=True)
            continue
        click.echo(f"{architecture_hash(arch)}  {file}")
        if show_cells:
            for name, digest in cell_hashes(arch).items():
                click.echo(f"  cell {name}: {digest}")
    if failed:
        sys.exit(1)


@main.command(name="diff")
@click.argument("a")
@click.argument("b")
@_skeleton_options
@click.option("--json", "as_json", is_flag=True, help="Print the diff as JSON.")
@_user_errors
def diff_(
    a: str,
    b: str,
    n_cells: int | None,
    num_filters: int | None,
    variant: str | None,
    as_json: bool,
) -> None:
    """Compare architectures A and B as networks; exit 0 when equivalent, 1 when not.

    Lists per cell what changed (op, input, combine, operands, blocks added or removed, the
    output list), the convention rules and network settings that differ, and the parameters
    and MACs of both. Cells are paired by role (normal, reduction), blocks by what they
    compute, so renames and reorderings are no change; names are A's. --N, --F and --variant
    apply to both files. Errors in either file also exit 1.

    \b
    Examples:
      nasgen diff nasnet_a.cell mine.cell
      nasgen diff darts_v2.cell pc_darts.cell --variant imagenet
      nasgen diff old.cell new.cell --N 4 --F 44 --json
    """
    options = CompileOptions(n_cells, num_filters, variant)
    result = diff_architectures(analyze(a, options), analyze(b, options))
    click.echo(json.dumps(result.to_json(), indent=2) if as_json else result.render_text())
    if not result.equivalent:
        sys.exit(1)


@main.command(name="draw")
@click.argument("source")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The file to write; its suffix picks the format: .svg, .png or .pdf.",
)
@click.option("--cell", "cell_name", help="The cell to draw (default: the network's normal cell).")
@click.option(
    "--network", "whole", is_flag=True, help="Draw the whole network: stem, stages, heads."
)
@_skeleton_options
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@_user_errors
def draw(
    source: str,
    output: Path,
    cell_name: str | None,
    whole: bool,
    n_cells: int | None,
    num_filters: int | None,
    variant: str | None,
    force: bool,
) -> None:
    """Draw a cell of SOURCE (or with --network the whole network) with Graphviz.

    A cell is drawn as in the NASNet paper: its inputs h_{i-1} and h_i at the top, a box per
    op, a "+" per add, and the output concat with an edge from every state it concatenates.
    --network shows the stem, each stage (cells, output shape, params, MACs), the reductions
    and the heads. Needs Graphviz's `dot` (apt-get install graphviz).

    \b
    Examples:
      nasgen draw nasnet_a.cell -o normal.svg
      nasgen draw nasnet_a.cell --cell reduction -o reduction.png
      nasgen draw darts_v2.cell --network --variant imagenet -o darts_v2.pdf --force
    """
    from nasgen.review.draw import cell_graph, network_graph, render

    if whole and cell_name is not None:
        raise click.UsageError("--cell and --network exclude each other")
    result = analyze(source, CompileOptions(n_cells, num_filters, variant))
    if whole:
        graph = network_graph(result)
    else:
        graph = cell_graph(result.arch, cell_name or result.arch.network.normal)
    click.echo(f"wrote {render(graph, output, force=force)}", err=True)


@main.command(name="fmt")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--check", is_flag=True, help="Write nothing; show the diff and exit 1 if a file would change."
)
@_user_errors
def fmt(files: tuple[Path, ...], check: bool) -> None:
    """Rewrite .cell FILES in canonical form, keeping their comments.

    Canonical form: one statement a line, two-space indentation, one blank line between
    sections, the printer's spelling of every value. Comments stay before the statement they
    preceded (or at the end of its line). Formatting twice changes nothing, and the network
    never changes (same AST, same hash). Files are replaced atomically; a file with an error
    is reported and left as it is. Exit 1 on any error, or with --check on any change.

    \b
    Examples:
      nasgen fmt my_cells/*.cell
      nasgen fmt --check genotypes/*.cell      # in pre-commit or CI
    """
    import difflib

    from nasgen.dsl.fmt import format_text
    from nasgen.dsl.source import read_source

    failed = changed = 0
    for path in files:
        try:
            source = read_source(path)
            text = format_text(source)
        except NasgenError as err:
            failed += 1
            click.echo(str(err), err=True)
            continue
        if text == source.text:
            continue
        changed += 1
        if check:
            diff = difflib.unified_diff(
                source.text.splitlines(keepends=True),
                text.splitlines(keepends=True),
                f"{path} (current)",
                f"{path} (formatted)",
            )
            click.echo("".join(diff), nl=False)
        else:
            _replace_atomically(path, text)
            click.echo(f"reformatted {path}", err=True)
    verb = "would reformat" if check else "reformatted"
    click.echo(f"{len(files)} files: {changed} {verb}, {failed} with errors", err=True)
    if failed or (check and changed):
        sys.exit(1)


def _replace_atomically(path: Path, text: str) -> None:
    """Replace ``path`` by ``text`` through a synced temporary file (keeping its mode)."""
    import os
    import tempfile

    mode = path.stat().st_mode
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@main.command(name="completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script for nasgen (commands, options, file names).

    \b
    Examples:
      nasgen completion bash > ~/.local/share/bash-completion/completions/nasgen
      nasgen completion zsh > "${fpath[1]}/_nasgen"
      nasgen completion fish > ~/.config/fish/completions/nasgen.fish
    """
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    assert cls is not None  # the three choices are click's built-in shells
    click.echo(cls(main, {}, "nasgen", "_NASGEN_COMPLETE").source())


@main.command(name="list")
def list_() -> None:
    """List the bundled genotypes (usable by name from any directory).

    \b
    Example:
      nasgen list
    """
    for name in bundled_names():
        click.echo(name)


@main.command()
def ops() -> None:
    """List the ops a cell may use, with their aliases and parameters.

    \b
    Example:
      nasgen ops
    """
    for op in OPS:
        if not op.searchable:
            continue
        params = ", ".join(
            f"{k}" + (f" in {list(p.choices)}" if p.choices else "") for k, p in op.params.items()
        )
        aliases = ", ".join(op.aliases)
        click.echo(f"{op.name}({params})" if params else op.name)
        click.echo(f"    {op.doc}")
        if aliases:
            click.echo(f"    aliases: {aliases}")
    click.echo("\nnetwork keys:")
    for key, spec in KEYS.items():
        click.echo(f"  {key}: {spec.doc}")


if __name__ == "__main__":  # pragma: no cover
    main()
