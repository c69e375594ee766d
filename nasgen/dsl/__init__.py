"""The .cell language front end: read, parse, resolve, print.

Pipeline stage: front end. Imports ``nasgen.errors`` and ``nasgen.ops``.
"""

from nasgen.dsl.ast import Module
from nasgen.dsl.options import CompileOptions
from nasgen.dsl.parser import LANGUAGE_VERSION, parse, parse_text
from nasgen.dsl.resolve import Architecture, resolve
from nasgen.dsl.source import bundled_names, read_bundled, read_source

__all__ = [
    "LANGUAGE_VERSION",
    "Architecture",
    "CompileOptions",
    "Module",
    "bundled_names",
    "parse",
    "parse_text",
    "read_bundled",
    "read_source",
    "resolve",
]
