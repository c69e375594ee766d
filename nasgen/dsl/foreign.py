"""Foreign genotype formats: DARTS, NAS-Bench-201 (both ways) and TF-slim cell lists (in).

Pipeline stage: front end (foreign text -> **AST**, AST -> foreign text). Imports
``nasgen.dsl.ast`` and the ``nasgen.dsl.foreign_*`` modules, one per format plus the bounded
literal reader they share (``foreign_reader``: data only, nothing is ever evaluated).

A foreign format holds cells only: the convention (the implementation rules a .cell file
names) and the network skeleton are not in it. ``export_foreign`` says so in its warnings
whenever the source's convention is not the one ``nasgen import`` gives that format back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from nasgen.dsl.ast import Module
from nasgen.dsl.foreign_darts import export_darts, import_darts, import_darts_file, split_genotypes
from nasgen.dsl.foreign_nb201 import export_nb201, import_nb201
from nasgen.dsl.foreign_tfslim import import_tfslim
from nasgen.dsl.printer import print_value
from nasgen.errors import DslSyntaxError

__all__ = [
    "EXPORTERS",
    "export_darts",
    "export_foreign",
    "export_nb201",
    "export_warnings",
    "import_darts",
    "import_darts_file",
    "import_nb201",
    "import_tfslim",
    "split_genotypes",
]

EXPORTERS: Mapping[str, tuple[Callable[[Module], str], str]] = MappingProxyType(
    {"darts": (export_darts, "darts"), "nb201": (export_nb201, "nb201")}
)
"""Format -> (exporter, the convention ``nasgen import`` of that format writes)."""


def export_warnings(fmt: str, module: Module) -> list[str]:
    """What exporting ``module`` to ``fmt`` loses: a convention other than the format's own."""
    expected = EXPORTERS[fmt][1]
    conv = module.convention
    preset = conv.preset if conv is not None else "tf_slim (the default)"
    out = []
    if conv is None or conv.preset != expected:
        out.append(
            f"convention {preset} is not in a {fmt} string; `nasgen import {fmt}` reads it "
            f"back as convention {expected}, which may build a different network"
        )
    if conv is not None and conv.rules:
        rules = ", ".join(f"{r.key} = {print_value(r.value)}" for r in conv.rules)
        out.append(
            f"convention rules {{ {rules} }} are not in a {fmt} string; `nasgen import {fmt}` "
            "drops them"
        )
    return out


def export_foreign(fmt: str, module: Module) -> tuple[str, list[str]]:
    """``module``'s cells as a ``fmt`` string (``darts`` or ``nb201``), and what was lost.

    The warnings are returned, not logged: the caller shows them (the CLI on stderr).
    """
    if fmt not in EXPORTERS:
        raise DslSyntaxError(
            "E122", f"unknown export format {fmt!r}", hint=f"one of: {', '.join(EXPORTERS)}"
        )
    return EXPORTERS[fmt][0](module), export_warnings(fmt, module)
