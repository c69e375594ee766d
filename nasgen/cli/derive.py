"""``nasgen derive darts ALPHAS``: a genotype from a weight-sharing search's architecture weights.

Pipeline stage: CLI. Imports ``nasgen.cli``, ``nasgen.dsl`` and ``nasgen.errors``.
"""

from __future__ import annotations

from pathlib import Path

import click

from nasgen.cli.app import check_output, main, output_kind, user_errors, write_new
from nasgen.cli.foreign import check_imported, read_foreign
from nasgen.dsl.foreign_alphas import derive_darts

__all__ = ["derive"]


@main.group()
def derive() -> None:
    """Derive a genotype from the architecture weights of a weight-sharing search.

    \b
    Examples:
      nasgen derive darts alphas.json -o derived.cell
    """


@derive.command(name="darts")
@click.argument("source", metavar="ALPHAS")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["cell", "darts"]),
    default="cell",
    show_default=True,
    help="cell: checked .cell text (DARTS's CIFAR skeleton); darts: the Genotype(...) string.",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here.")
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@user_errors
def darts(source: str, fmt: str, output: Path | None, force: bool) -> None:
    """The genotype the DARTS code derives from architecture weights.

    ALPHAS is a file (or the text itself) holding {"normal": ROWS, "reduce": ROWS,
    "primitives": [NAMES]}: one row of logits per edge, in the DARTS code's order (node 0's
    inputs c_{k-2} and c_{k-1}, then node 1's three, ...: 14 rows for 4 nodes), one number per
    primitive; the code's softmax is applied. Per node the two incoming edges with the strongest
    non-`none` op are kept, each with that op; the output concatenates every node (Liu et al.
    2019; `Network.genotype` of the DARTS code). Read as data, never evaluated.

    \b
    Examples:
      nasgen derive darts alphas.json -o derived.cell
      nasgen derive darts alphas.json --format darts
    """
    if output is not None:
        if fmt == "cell":
            output_kind(output, "cell")
        check_output(output, force)
    genotype, module = derive_darts(read_foreign(source))
    text = check_imported(module) if fmt == "cell" else genotype + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        write_new(output, text, force)
        click.echo(f"wrote {output}", err=True)
