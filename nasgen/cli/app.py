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
from click.shell_completion import CompletionItem

from nasgen import __version__, files
from nasgen.api import (
    CompileOptions,
)
from nasgen.errors import NasgenError
from nasgen.search.executors import ExecutorOptions

__all__ = [
    "SEED_MAX",
    "SOURCE",
    "DefaultRunGroup",
    "F",
    "check_output",
    "exit_on_signals",
    "main",
    "optimisation_options",
    "output_kind",
    "parse_set",
    "replace_atomically",
    "sample_options",
    "skeleton_options",
    "user_errors",
    "write_new",
    "writing",
]

F = TypeVar("F", bound=Callable[..., Any])

SEED_MAX = 2**64 - 1
"""The largest seed torch.manual_seed takes (an unsigned 64-bit integer)."""


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


_OUTPUT_KINDS = {
    "checkpoint": {".safetensors": "safetensors", ".onnx": "onnx"},
    "onnx": {".onnx": "onnx"},
    "cell": {".cell": "cell"},
}


def output_kind(path: Path, what: str) -> str:
    """The format an ``-o`` path asks for by its suffix (case-insensitive); refuse others.

    ``what`` names the command's outputs: ``checkpoint`` (``.safetensors`` or ``.onnx``),
    ``onnx`` or ``cell``.
    """
    return files.output_kind(path, _OUTPUT_KINDS[what])


@contextlib.contextmanager
def _usage_errors_exit_1() -> Iterator[None]:
    # NOTE: [One exit code for user errors] click exits 2 on a usage error (unknown option, bad
    # value), nasgen 1 on every other mistake a user can make. One rule is easier to script
    # against: every user error exits 1, whoever detects it.
    try:
        yield
    except click.UsageError as err:
        err.exit_code = 1  # type: ignore[misc]
        raise


def _exit_on_signal(signum: int, frame: object) -> None:
    # SIGTERM and SIGHUP unwind like an exception, so a write in progress removes its
    # temporary file (nasgen.files) instead of leaving it behind.
    raise SystemExit(128 + signum)


def exit_on_signals() -> None:
    """Turn SIGTERM and SIGHUP into ``SystemExit`` (in the main thread), so writes clean up."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, _exit_on_signal)


class _Group(click.Group):
    """The command group: usage errors exit 1; SIGTERM / SIGHUP unwind cleanly."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        with _usage_errors_exit_1():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        with _usage_errors_exit_1():
            return super().invoke(ctx)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        exit_on_signals()
        return super().main(*args, **kwargs)


class DefaultRunGroup(click.Group):
    """A group whose arguments, when they name none of its commands, go to its ``run`` command.

    ``nasgen search SPACE ...`` is ``nasgen search run SPACE ...`` and ``nasgen train SOURCE``
    is ``nasgen train run SOURCE``, while ``nasgen search report DIR`` stays a command.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Insert ``run`` before arguments that are no command of the group."""
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


class SourceType(click.ParamType):  # type: ignore[type-arg]
    """A .cell source: a path or a bundled genotype name; completes both in the shell."""

    name = "source"

    def shell_complete(
        self, ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[CompletionItem]:
        """Bundled genotype names that start with ``incomplete``, then file names."""
        from nasgen.dsl import bundled_names

        names = [n.removesuffix(".cell") for n in bundled_names()]
        items = [CompletionItem(n) for n in names if n.startswith(incomplete)]
        return [*items, CompletionItem(incomplete, type="file")]


SOURCE = SourceType()
"""The click type of every SOURCE argument."""


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="nasgen")
def main() -> None:
    """nasgen: NAS architectures as reviewable .cell text files.

    Parse, validate and cost published cells (NASNet-A, DARTS, ...) without any framework,
    build PyTorch modules and ONNX graphs from them, and review them as text. Every user
    error (a bad file, option or value) prints a diagnostic and exits 1.

    \b
    Examples:
      nasgen compile nasnet_a.cell --N 4 --F 44
      nasgen compile darts_v2 --variant imagenet --json
      nasgen check genotypes/*.cell
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
    files.check_output(path, force)


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
    files.write_atomic(path, text)


def replace_atomically(path: Path, text: str) -> None:
    """Replace ``path`` (through a symlink, keeping its mode) by ``text``; see nasgen.files."""
    files.write_atomic(path, text)


def sample_options(fn: F) -> F:
    """--variant, --blocks and the static constraints, shared by search run and compare."""
    for option in reversed(
        (
            click.option("--variant", help="Evaluate on this variant of the space's network."),
            click.option("--blocks", type=click.IntRange(1, 64), help="Blocks per cell."),
            click.option("--min-params", type=click.IntRange(min=0)),
            click.option("--max-params", type=click.IntRange(min=0)),
            click.option("--min-macs", type=click.IntRange(min=0)),
            click.option(
                "--max-macs",
                type=click.IntRange(min=0),
                help="e.g. 600000000: NASNet's mobile setting.",
            ),
        )
    ):
        fn = option(fn)
    return fn


_EXECUTOR_KEYS = (
    "executor",
    "address",
    "cpus_per_trial",
    "gpus_per_trial",
    "max_inflight",
    "retries",
)


def executor_options(fn: F) -> F:
    """--executor and the Ray settings (search run, search compare, space edf).

    The command receives them as one ``executor: ExecutorOptions`` (E853 for a Ray setting
    without ``--executor ray``).
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        values = [kwargs.pop(key) for key in _EXECUTOR_KEYS]
        try:
            kwargs["executor"] = executor_settings(*values)
        except NasgenError as err:
            click.echo(str(err), err=True)
            sys.exit(1)
        return fn(*args, **kwargs)

    command: Any = wrapper
    for option in reversed(
        (
            click.option(
                "--executor",
                type=click.Choice(["local", "ray"]),
                default="local",
                show_default=True,
                help="local: this process, or --workers processes; ray: Ray tasks (pip install "
                '"nasgen[ray]"), --workers trials ahead. Results are the same with either.',
            ),
            click.option(
                "--address",
                help="ray: the cluster to join (auto, HOST:PORT); default: start one here.",
            ),
            click.option(
                "--cpus-per-trial",
                type=click.FloatRange(0, 1024),
                default=1.0,
                show_default=True,
                help="ray: CPUs a trial reserves.",
            ),
            click.option(
                "--gpus-per-trial",
                type=click.FloatRange(0, 64),
                default=0.0,
                show_default=True,
                help="ray: GPUs a trial reserves.",
            ),
            click.option(
                "--max-inflight",
                type=click.IntRange(1, 100_000),
                help="ray: trials submitted to the cluster at once (at most --workers).",
            ),
            click.option(
                "--retries",
                type=click.IntRange(0, 100),
                default=2,
                show_default=True,
                help="ray: times a trial runs again when its worker or node is lost.",
            ),
        )
    ):
        command = option(command)
    return command  # type: ignore[no-any-return]


def executor_settings(
    kind: str,
    address: str | None,
    cpus: float,
    gpus: float,
    max_inflight: int | None,
    retries: int,
) -> ExecutorOptions:
    """The executor settings; E853 for a Ray setting without ``--executor ray``."""
    if kind != "ray":
        given = [
            ("--address", address is not None),
            ("--cpus-per-trial", cpus != 1.0),
            ("--gpus-per-trial", gpus != 0.0),
            ("--max-inflight", max_inflight is not None),
            ("--retries", retries != 2),
        ]
        for option, set_ in given:
            if set_:
                raise NasgenError("E853", f"{option} is a Ray setting", hint="add --executor ray")
    return ExecutorOptions(kind, address, cpus, gpus, max_inflight, retries)
