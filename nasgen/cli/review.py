"""``nasgen fmt``, ``hash``, ``diff`` and ``draw``: architectures as text people review.

Pipeline stage: user interface. Calls ``nasgen.dsl.fmt``, ``nasgen.review`` and ``nasgen.api``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from nasgen.api import (
    CompileOptions,
    analyze,
    load_source,
)
from nasgen.cli.app import (
    main,
    replace_atomically,
    skeleton_options,
    user_errors,
    writing,
)
from nasgen.errors import NasgenError
from nasgen.review import architecture_hash, cell_hashes, diff_architectures

__all__ = ["diff_", "draw", "fmt", "hash_"]


@main.command(name="hash")
@click.argument("files", nargs=-1, required=True)
@skeleton_options
@click.option("--cells", "show_cells", is_flag=True, help="Also print each cell's hash.")
@user_errors
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
@skeleton_options
@click.option("--json", "as_json", is_flag=True, help="Print the diff as JSON.")
@user_errors
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
@skeleton_options
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@user_errors
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
@user_errors
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
            try:
                with writing(path):
                    replace_atomically(path, text)
            except NasgenError as err:
                failed += 1
                click.echo(str(err), err=True)
                continue
            click.echo(f"reformatted {path}", err=True)
    verb = "would reformat" if check else "reformatted"
    click.echo(f"{len(files)} files: {changed} {verb}, {failed} with errors", err=True)
    if failed or (check and changed):
        sys.exit(1)
