"""``nasgen verify``, ``list``, ``ops`` and ``completion``: what nasgen knows and checks.

Pipeline stage: user interface. Calls ``nasgen.verify``, ``nasgen.dsl`` and ``nasgen.ops``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from nasgen.cli.app import (
    main,
    user_errors,
)
from nasgen.dsl import bundled_names
from nasgen.dsl.network import KEYS
from nasgen.errors import NasgenError
from nasgen.ops import OPS
from nasgen.verify import Check, load_registry, verify

__all__ = ["completion", "list_", "ops", "verify_"]


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
@user_errors
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
