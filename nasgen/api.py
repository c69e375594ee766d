"""The pipeline facade: source -> AST -> architecture -> IR -> validation and cost.

Pipeline stage: facade over every stage. Imports ``nasgen.errors``, ``nasgen.dsl`` and
``nasgen.ir``; backends are imported lazily by the functions that need them, so importing
this module imports no framework.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nasgen.dsl import (
    Architecture,
    CompileOptions,
    Module,
    parse,
    read_bundled,
    read_source,
    resolve,
)
from nasgen.dsl.source import decode_source
from nasgen.errors import SourceText
from nasgen.ir import CostReport, IRGraph, lower, validate

__all__ = ["Analysis", "CompileOptions", "analyze", "load_source", "parse_source"]


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything the front end and the IR know about one compiled architecture."""

    source: SourceText
    module: Module
    arch: Architecture
    graph: IRGraph
    cost: CostReport


def _looks_like_text(source: str) -> bool:
    return "\n" in source or source.lstrip().startswith("nasgen ")


def load_source(source: str | Path) -> SourceText:
    """Read a .cell source given as a path, a bundled genotype name or DSL text.

    A string containing a newline or starting with ``nasgen `` is DSL text; otherwise an
    existing path is read, then a bundled genotype (``nasnet_a`` or ``nasnet_a.cell``) is tried.
    """
    if isinstance(source, str) and _looks_like_text(source):
        return decode_source(source.encode("utf-8"), "<string>")
    path = Path(source)
    if path.exists():
        return read_source(path)
    bundled = read_bundled(str(source)) if isinstance(source, str) else None
    return bundled if bundled is not None else read_source(path)


def parse_source(source: str | Path) -> Module:
    """Load and parse a source (see ``load_source``)."""
    return parse(load_source(source))


def analyze(source: str | Path | SourceText, options: CompileOptions | None = None) -> Analysis:
    """Parse, resolve, lower and validate; raise ``NasgenError`` on any problem."""
    text = source if isinstance(source, SourceText) else load_source(source)
    module = parse(text)
    arch = resolve(module, options)
    graph = lower(arch)
    report = validate(graph)
    return Analysis(text, module, arch, graph, report)
