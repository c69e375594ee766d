"""``nasgen import`` (foreign genotypes in, checked .cell text out) and ``print_foreign``.

``print_foreign`` is the ``nasgen export darts|nb201`` half: validated before it prints.

Pipeline stage: user interface. Calls ``nasgen.dsl.foreign``, ``nasgen.dsl`` (read, resolve,
print), ``nasgen.ir`` (lower, validate) and ``nasgen.api``.

An imported genotype is checked as the AST the importer built, whose spans point into the
user's own input (file or inline string), so every error shows *their* line and column,
never the generated .cell text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType

import click

from nasgen.api import analyze, load_source
from nasgen.cli.app import check_output, main, output_kind, user_errors, write_new
from nasgen.dsl import Module, parse_text, read_source, resolve
from nasgen.dsl.foreign import (
    EXPORTERS,
    export_foreign,
    import_darts_file,
    import_nb201,
    import_tfslim,
)
from nasgen.dsl.foreign_source import shorten
from nasgen.dsl.printer import print_module
from nasgen.errors import DslSyntaxError, NasgenError, SourceText
from nasgen.ir import lower, validate
from nasgen.ops import PRESETS

__all__ = ["check_imported", "import_", "print_foreign", "read_foreign"]

_INLINE = "(|[{=\n~"
"""A character no sensible file name has and every genotype text does."""

_IMPORTERS: Mapping[str, Callable[[SourceText, str | None, str | None], Module]] = MappingProxyType(
    {
        "darts": lambda text, name, _conv: import_darts_file(text, name),
        "nb201": lambda text, _name, _conv: import_nb201(text),
        "tfslim": lambda text, _name, conv: import_tfslim(text, "imported", conv),
    }
)


def _is_path(source: str) -> bool:
    try:
        return Path(source).exists()
    except (OSError, ValueError):  # a name too long for the OS, a NUL: not a path
        return False


def read_foreign(source: str) -> SourceText:
    """INPUT's text: an existing file wins; otherwise the argument itself, if it is genotype text.

    A file is read as a .cell file is (1 MiB at most, UTF-8, not binary); an inline string is
    shown as ``<string>`` in diagnostics.
    """
    if source.strip() and _is_path(source):
        try:
            return read_source(source)
        except DslSyntaxError as err:
            if err.code != "E105":
                raise
            raise DslSyntaxError("E105", err.message, hint="expected a genotype") from None
    if not source.strip() or any(ch in source for ch in _INLINE):
        return SourceText("<string>", source)
    raise DslSyntaxError(
        "E108",
        f"{shorten(source)}: no such file",
        hint="give a file, or the genotype text itself (quoted)",
    )


def check_imported(module: Module) -> str:
    """Check an imported module fully, then return its canonical .cell text.

    The module itself is resolved, lowered and validated, so errors carry the importer's spans
    (the user's input). Its printed text must read back to the same module: a difference is a
    bug in nasgen, not in the input, and is raised as one.
    """
    validate(lower(resolve(module)))
    canonical = print_module(module)
    try:
        again = parse_text(canonical)
    except NasgenError as err:
        raise AssertionError(f"bug: an imported genotype prints unreadable text:\n{err}") from err
    if again != module:
        raise AssertionError("bug: an imported genotype does not survive printing")
    return canonical


def print_foreign(fmt: str, source: str) -> tuple[str, list[str]]:
    """``nasgen export darts|nb201 SOURCE``: the checked genotype string and its warnings.

    SOURCE (a path, a bundled genotype name or .cell text) is loaded and validated in full
    first, so an undefined state, a cycle or a misspelt op is its own located error and never
    an invalid string. The warnings say what the format cannot hold (the convention); print
    them on stderr. Every failure is a ``NasgenError``.
    """
    if fmt not in EXPORTERS:
        raise NasgenError(
            "E530", f"unknown export format {fmt!r}", hint=f"one of: {', '.join(EXPORTERS)}"
        )
    analysis = analyze(load_source(source))
    return export_foreign(fmt, analysis.module)


def _check_options(fmt: str, only: dict[str, str | None], output: Path | None, force: bool) -> None:
    """Before any work: no option of another format (``only``), a usable ``-o`` path."""
    for (owner, value), flag in zip(only.items(), ("--name", "--convention"), strict=True):
        if value is not None and fmt != owner:
            raise NasgenError("E530", f"{flag} applies to `nasgen import {owner}` only")
    if output is not None:
        output_kind(output, "cell")
        check_output(output, force)


@main.command(name="import")
@click.argument("fmt", metavar="FORMAT", type=click.Choice(sorted(_IMPORTERS)))
@click.argument("source", metavar="INPUT")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here.")
@click.option(
    "--name",
    help="darts only: which Genotype of a file holding several (its variable name, or an "
    "alias such as DARTS = DARTS_V2).",
)
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
    marked unused). INPUT is a file (an existing path always wins) or the text itself.
    Everything is read as data by a bounded reader, never evaluated; a file may hold many
    `NAME = Genotype(...)` lines and aliases `NAME = OTHER` (choose with --name). The result
    gets the convention and evaluation skeleton of its source (DARTS CIFAR with an `imagenet`
    variant; NB-201 C=16, N=5; TF-slim NASNet CIFAR with a `mobile` variant, or PNASNet mobile
    for a single cell) and is checked before it is written; errors point into INPUT.

    \b
    Examples:
      nasgen import darts "$(nasgen export darts darts_v2)" -o mine.cell
      nasgen import darts genotypes.py --name PCDARTS -o pc_darts.cell
      nasgen import nb201 "|none~0|+|skip_connect~0|none~1|+|skip_connect~0|none~1|none~2|"
      nasgen import tfslim nasnet_a_lists.json -o nasnet_a.cell
    """
    _check_options(fmt, {"darts": name, "tfslim": convention}, output, force)
    module = _IMPORTERS[fmt](read_foreign(source), name, convention)
    canonical = check_imported(module)
    if output is None:
        click.echo(canonical, nl=False)
    else:
        write_new(output, canonical, force)
        click.echo(f"wrote {output}", err=True)
