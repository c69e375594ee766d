"""``nasgen check``, ``compile`` and ``export``: validate, size, build and export networks.

Pipeline stage: user interface. Calls ``nasgen.api`` (and the exporters through it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from nasgen.api import (
    Analysis,
    CompileOptions,
    MemoryLimit,
    analyze,
    build,
    check_build_memory,
    load,
    load_source,
    memory_limit,
    optimized,
    save,
    to_onnx,
)
from nasgen.cli.app import (
    SEED_MAX,
    SOURCE,
    check_output,
    main,
    optimisation_options,
    output_kind,
    parse_set,
    user_errors,
    writing,
)
from nasgen.dsl import Module, parse
from nasgen.dsl.source import MAX_SOURCE_BYTES, decode_source
from nasgen.errors import NasgenError, SourceText

__all__ = ["check", "compile_", "export_"]


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
        "acts": report.acts,
        "aux_params": report.aux_params,
        "aux_macs": report.aux_macs,
        "aux_acts": report.aux_acts,
        "stages": [
            {
                "stage": s.stage,
                "cells": s.cells,
                "shape": list(s.shape),
                "params": s.params,
                "macs": s.macs,
                "acts": s.acts,
            }
            for s in report.stages
        ],
        "ir_nodes": len(a.graph),
    }


def _summary_table(a: Analysis) -> str:
    spec, report = a.arch.network, a.cost
    rows = [("stage", "cells", "output", "params", "MACs", "acts")]
    rows += [
        (
            s.stage,
            str(s.cells or ""),
            _shape(s.shape),
            f"{s.params:,}",
            _human(s.macs),
            _human(s.acts),
        )
        for s in report.stages
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    fmt = "  ".join(f"{{:{'<' if i < 3 else '>'}{w}}}" for i, w in enumerate(widths))
    lines = [
        f"{a.module.name or a.source.path}  ({a.arch.convention.name} convention, "
        f"{spec.skeleton()}, "
        f"{spec.input_channels}x{spec.input_size}x{spec.input_size}, {spec.classes} classes)",
        fmt.format(*rows[0]),
        *(fmt.format(*r) for r in rows[1:]),
        f"total: {report.params:,} params, {report.macs:,} MACs ({_human(report.macs)}), "
        f"{report.acts:,} acts ({_human(report.acts)})"
        + (
            f"; auxiliary head: {report.aux_params:,} params (not in total)"
            if report.aux_params
            else ""
        ),
    ]
    return "\n".join(lines)


@main.command()
@click.argument("files", nargs=-1, required=True, type=SOURCE)
@click.option("--quiet", "-q", is_flag=True, help="Print errors only.")
@user_errors
def check(files: tuple[str, ...], quiet: bool) -> None:
    """Validate .cell FILES (and every variant they define); exit 1 on any error.

    Each file is parsed, resolved, lowered to the IR with its own network settings and every
    `variant`, and validated (shapes, dangling states, sizes). Diagnostics point at
    file:line:col. A FILE of `-` is read from standard input (shown as <stdin>). A search space
    (a `space cell` file) is checked by its rules and by compiling a seeded sample.

    \b
    Examples:
      nasgen check genotypes/*.cell
      nasgen import darts "$(nasgen export darts darts_v2)" | nasgen check -
    """
    failed = 0
    for file in files:
        try:
            text = _read_stdin() if file == "-" else load_source(file)
            module = parse(text)
            if module.is_space:
                message = _check_space(module)
            variants = [None, *(v.name for v in module.variants)]
            if not module.is_space:
                counts = [analyze(text, CompileOptions(variant=v)).cost.params for v in variants]
        except NasgenError as err:
            failed += 1
            click.echo(str(err), err=True)
            continue
        if module.is_space:
            if not quiet:
                click.echo(f"{text.path}: ok ({message})")
            continue
        if not quiet:
            shown = ", ".join(
                f"{v or 'default'} {_human(c)}" for v, c in zip(variants, counts, strict=True)
            )
            click.echo(f"{text.path}: ok ({shown} params)")
    if failed:
        click.echo(f"{failed} of {len(files)} file(s) failed", err=True)
        sys.exit(1)


def _check_space(module: Module) -> str:
    """Check a search space: its rules, and that a seeded sample compiles on each skeleton."""
    import random

    from nasgen.dsl.printer import print_module
    from nasgen.space import read_space

    space = read_space(module)
    sample = print_module(space.decode(space.sample(random.Random(0))))
    for variant in [None, *(v.name for v in module.variants)]:
        analyze(sample, CompileOptions(variant=variant))
    return f"search space of {space.size():,} architectures; a sample compiles"


def _max_memory_option(fn: Any) -> Any:
    return click.option(
        "--max-memory",
        metavar="SIZE",
        help="Refuse builds estimated above SIZE (64G, 512M; none = no limit). Default: "
        "$NASGEN_MEMORY_LIMIT, else the memory available.",
    )(fn)


def _limit(text: str | None) -> MemoryLimit | None:
    """The --max-memory limit, checked before any work (E542 for a bad size)."""
    return memory_limit(text, origin="--max-memory") if text is not None else None


def _read_stdin() -> SourceText:
    """The .cell text on standard input (``nasgen check -``), with the file limits."""
    data = sys.stdin.buffer.read(MAX_SOURCE_BYTES + 1)
    return decode_source(data, "<stdin>")


@main.command(name="compile")
@click.argument("source", type=SOURCE)
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
    callback=parse_set,
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
@click.option(
    "--seed",
    type=click.IntRange(0, SEED_MAX),
    help=f"Seed for the initial weights (with -o), 0 to {SEED_MAX}.",
)
@optimisation_options
@_max_memory_option
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@user_errors
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
    max_memory: str | None,
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
    limit = _limit(max_memory)
    kind = None
    if output is not None:
        kind = output_kind(output, "checkpoint")
        check_output(output, force)
    result = analyze(source, options)
    if output is not None:
        check_build_memory(result, limit)  # before anything is printed or built
    if kind == "onnx":
        from nasgen.exporters.onnx.save import check_size

        # fp32 weights, before anything is built (the exact size is checked again on writing)
        check_size(4 * result.cost.params, f"{output}, with {result.cost.params:,} weights,")
    if as_json:
        click.echo(json.dumps(_summary_dict(result), indent=2))
    else:
        click.echo(_summary_table(result))
    if kind == "onnx":
        assert output is not None
        proto, opt = to_onnx(build(result, seed, max_memory=limit), level=level, result=result)
        if explain:
            click.echo(opt.explain(), nl=False, err=as_json)
        _write_onnx(proto, output, force, as_json)
        return
    fast, opt = optimized(result, level, "train")
    if explain:
        click.echo(opt.explain(), nl=False, err=as_json)
    if output is not None:
        written = save(build(fast, seed, max_memory=limit), output)
        size = written.stat().st_size
        click.echo(f"wrote {written} ({size / 2**20:.1f} MiB)", err=as_json)


def _write_onnx(proto: Any, path: Path, force: bool, quiet: bool = False) -> None:
    """Check (full checker, strict shape inference) and write atomically; never overwrite."""
    from nasgen.exporters.onnx import save_onnx

    check_output(path, force)
    with writing(path):
        written = save_onnx(proto, path, force=force)
    size = written.stat().st_size
    nodes = len(proto.graph.node)
    click.echo(f"wrote {written} ({nodes} nodes, {size / 2**20:.2f} MiB)", err=quiet)


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
    help="The fixed batch size (with --static-batch; default 1).",
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
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A folder of real images (png, jpg...) for --int8 calibration and the agreement check "
    "(with --int8 or --fp16).",
)
@optimisation_options
@_max_memory_option
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@user_errors
def export_(
    args: tuple[str, ...],
    output: Path | None,
    opset: int,
    static_batch: bool,
    batch_size: int | None,
    fp16: bool,
    int8: bool,
    calibration: Path | None,
    level: int,
    explain: bool,
    max_memory: str | None,
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
        from nasgen.cli.foreign import print_foreign

        text, warnings = print_foreign(args[0], args[1])
        for warning in warnings:
            click.echo(f"warning: {warning}", err=True)
        click.echo(text)
        return
    if len(args) != 1:
        raise NasgenError("E530", "expected one CHECKPOINT (or: darts|nb201 SOURCE)")
    _check_export_options(output, fp16, int8, calibration, static_batch, batch_size)
    limit = _limit(max_memory)
    assert output is not None
    output_kind(output, "onnx")
    check_output(output, force)
    checkpoint = Path(args[0])
    if not checkpoint.is_file():
        raise NasgenError("E503", f"{checkpoint}: no such checkpoint")
    module = load(checkpoint, max_memory=limit)
    proto, opt = to_onnx(
        module,
        level=level,
        opset=opset,
        dynamic_batch=not static_batch,
        batch_size=batch_size or 1,
    )
    if explain:
        click.echo(opt.explain(), nl=False)
    if fp16 or int8:
        proto = _reduced(proto, module, int8, calibration)
    _write_onnx(proto, output, force)


def _check_export_options(
    output: Path | None,
    fp16: bool,
    int8: bool,
    calibration: Path | None,
    static_batch: bool,
    batch_size: int | None,
) -> None:
    """Refuse, before any work, options that are missing or would be silently ignored."""
    if output is None:
        raise NasgenError("E530", "an ONNX export needs -o PATH.onnx")
    if fp16 and int8:
        raise NasgenError("E530", "choose one of --fp16 and --int8")
    if int8 and calibration is None:
        raise NasgenError("E530", "--int8 needs --calibration DIR", hint="a folder of real images")
    if calibration is not None and not (fp16 or int8):
        raise NasgenError(
            "E530",
            "--calibration is used only with --int8 or --fp16",
            hint="add --int8 (or --fp16), or drop --calibration",
        )
    if batch_size is not None and not static_batch:
        raise NasgenError(
            "E530",
            "--batch-size sets the fixed batch of --static-batch; the default graph has a "
            "dynamic batch axis",
            hint="add --static-batch, or drop --batch-size",
        )


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
