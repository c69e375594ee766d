"""``nasgen import``: DARTS, NB-201 and TF-slim genotypes in, checked .cell text out.

Pipeline stage: user interface. Calls ``nasgen.dsl.foreign`` and ``nasgen.api``.
"""

from __future__ import annotations

from pathlib import Path

import click

from nasgen.api import (
    analyze,
    load_source,
)
from nasgen.cli.app import (
    main,
    user_errors,
    write_new,
)
from nasgen.dsl.foreign import (
    import_darts,
    import_nb201,
    import_tfslim,
    split_genotypes,
)
from nasgen.dsl.printer import print_module
from nasgen.errors import NasgenError
from nasgen.ops import PRESETS

__all__ = ["import_"]


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
@user_errors
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
        write_new(output, canonical, force)
        click.echo(f"wrote {output}", err=True)
