"""The ``nasgen`` command group and what its commands share: error handling, options, writes.

Pipeline stage: user interface, the top layer (with the command modules of this package).

A user error (any ``NasgenError``) prints its diagnostic and exits 1; any other exception is a
bug in nasgen and keeps its traceback.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click

from nasgen import __version__
from nasgen.api import (
    CompileOptions,
)
from nasgen.errors import NasgenError

__all__ = [
    "F",
    "check_output",
    "main",
    "optimisation_options",
    "parse_set",
    "replace_atomically",
    "skeleton_options",
    "user_errors",
    "write_new",
    "writing",
]

F = TypeVar("F", bound=Callable[..., Any])


def user_errors(fn: F) -> F:
    """Print a ``NasgenError`` as its diagnostic and exit 1, instead of a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except NasgenError as err:
            click.echo(str(err), err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="nasgen")
def main() -> None:
    """nasgen: NAS architectures as reviewable .cell text files.

    Parse, validate and cost published cells (NASNet-A, DARTS, ...) without any framework,
    build PyTorch modules and ONNX graphs from them, and review them as text.

    \b
    Examples:
      nasgen compile nasnet_a.cell --N 4 --F 44
      nasgen compile darts_v2 --variant imagenet --json
      nasgen check my_cells/*.cell
    """


def parse_set(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[Any, ...]:
    """Click callback: ``--set KEY=VALUE`` options as typed network settings."""
    out = []
    for text in values:
        if "=" not in text:
            raise click.BadParameter(f"{text!r} is not KEY=VALUE")
        out.append(CompileOptions.parse_setting(text))
    return tuple(out)


def optimisation_options(fn: F) -> F:
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


def skeleton_options(fn: F) -> F:
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


def check_output(path: Path, force: bool) -> None:
    """Refuse, before any work, an output that exists (without ``force``) or has no folder."""
    if path.exists() and not force:
        raise NasgenError("E505", f"{path} exists; pass --force to overwrite it")
    if not path.parent.is_dir():
        raise NasgenError("E506", f"{path.parent}: no such directory")


@contextlib.contextmanager
def writing(path: Path) -> Iterator[None]:
    """Report an operating-system error while writing ``path`` as a user error (E507)."""
    try:
        yield
    except OSError as err:
        raise NasgenError("E507", f"cannot write {path}: {err.strerror or err}") from None


def write_new(path: Path, text: str, force: bool) -> None:
    """Write ``text`` atomically; refuse to replace an existing file unless ``force``."""
    check_output(path, force)
    with writing(path):
        replace_atomically(path, text)


def replace_atomically(path: Path, text: str) -> None:
    """Replace ``path`` by ``text`` through a synced temporary file (keeping its mode)."""
    import os
    import tempfile

    if path.exists():
        mode = path.stat().st_mode
    else:  # a new file gets the usual mode: 0o666 less the umask
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
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
