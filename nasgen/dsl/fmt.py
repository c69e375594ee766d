"""``nasgen fmt``: a .cell file in canonical form, with its comments kept where they were.

Pipeline stage: front end (text -> AST -> **text**). Imports ``nasgen.dsl.ast``,
``nasgen.dsl.parser``, ``nasgen.dsl.printer`` and ``nasgen.errors``.

The canonical layout is the printer's (``print_module``); this module only puts the comments
back, since the AST does not hold them:
  - a comment on a line of its own stays before the statement that followed it, indented like
    that statement (a comment after the last statement of a cell or block stays inside it,
    before the closing brace; one after everything stays at the end of the file);
  - a comment after code on the same line stays at the end of that statement's line;
  - the text of every comment is kept as written (trailing spaces removed).
Formatting is a fixed point (``format_text(format_text(t)) == format_text(t)``) and never
changes the AST, which tests check on every bundled genotype and generated ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nasgen.dsl.ast import CellDef, Module, Setting, SpaceCellDef, SpaceDesignDef
from nasgen.dsl.parser import parse
from nasgen.dsl.printer import (
    print_cell,
    print_module,
    print_space_cell,
    print_space_value,
    print_value,
)
from nasgen.dsl.source import decode_source
from nasgen.errors import NasgenError, SourceSpan, SourceText

__all__ = ["Comment", "format_text", "scan_comments"]


@dataclass(frozen=True, slots=True)
class Comment:
    """One ``# ...`` comment: its line, text (from ``#``) and whether code precedes it."""

    line: int
    text: str
    trailing: bool


def scan_comments(text: str) -> list[Comment]:
    """Every comment of a source, found outside string literals."""
    found = []
    for number, line in enumerate(text.split("\n"), start=1):
        in_string = escaped = False
        for col, ch in enumerate(line):
            if in_string:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif ch == '"':
                    in_string = False
            elif ch == '"':
                in_string = True
            elif ch == "#":
                found.append(Comment(number, line[col:].rstrip(), bool(line[:col].strip())))
                break
    return found


@dataclass(frozen=True, slots=True)
class _Line:
    text: str
    anchor: int | None  # the source line the printed line comes from, if known
    closes: bool = False  # a closing brace: comments before it stay inside the block


def _line(span: SourceSpan | None) -> int | None:
    return span.line if span is not None else None


def _end(span: SourceSpan | None) -> int | None:
    return span.end_line if span is not None else None


def _settings(head: str, settings: tuple[Setting, ...], span: SourceSpan | None) -> list[_Line]:
    lines = [_Line(f"{head} {{", _line(span))]
    lines += [_Line(f"  {s.key} = {print_value(s.value)}", _line(s.span)) for s in settings]
    return [*lines, _Line("}", _end(span), closes=True)]


def _cell(cell: CellDef) -> list[_Line]:
    printed = print_cell(cell).split("\n")
    anchors = [_line(cell.span), *(_line(b.span) for b in cell.blocks)]
    if cell.output is not None:
        anchors.append(_line(cell.output.span))
    lines = [_Line(t, a) for t, a in zip(printed[:-1], anchors, strict=True)]
    return [*lines, _Line(printed[-1], _end(cell.span), closes=True)]


def _space_cell(cell: SpaceCellDef | SpaceDesignDef) -> list[_Line]:
    printed = print_space_cell(cell).split("\n")
    anchors = [_line(cell.span), *(_line(s.span) for s in cell.settings)]
    lines = [_Line(t, a) for t, a in zip(printed[:-1], anchors, strict=True)]
    return [*lines, _Line(printed[-1], _end(cell.span), closes=True)]


def _keyword_line(text: str, keyword: str) -> int | None:
    match = re.search(rf"^[ \t]*{keyword}\b", text, flags=re.MULTILINE)
    return text.count("\n", 0, match.start()) + 1 if match else None


def _sections(module: Module, text: str) -> list[list[_Line]]:
    """The printer's sections, each line tagged with the source line it came from."""
    canonical = print_module(module).rstrip("\n").split("\n\n")
    sections = [[_Line(canonical[0], _keyword_line(text, "nasgen"))]]
    meta = []
    if module.name is not None:
        meta.append(_Line(f"name {print_value(module.name)}", _keyword_line(text, "name")))
    if module.source is not None:
        meta.append(_Line(f"source {print_value(module.source)}", _keyword_line(text, "source")))
    if meta:
        sections.append(meta)
    conv = module.convention
    if conv is not None:
        head = f"convention {conv.preset}"
        sections.append(
            _settings(head, conv.rules, conv.span)
            if conv.rules
            else [_Line(head, _line(conv.span))]
        )
    if module.op_lists:
        sections.append(
            [
                _Line(f"ops {o.name} = {print_space_value(o.ops)}", _line(o.span))
                for o in module.op_lists
            ]
        )
    sections += [_cell(c) for c in module.cells]
    sections += [_space_cell(c) for c in module.space_cells]
    if module.design is not None:
        sections.append(_space_cell(module.design))
    if module.network is not None:
        sections.append(_settings("network", module.network.settings, module.network.span))
    sections += [_settings(f"variant {v.name}", v.settings, v.span) for v in module.variants]
    return sections


def _indent(text: str) -> str:
    return text[: len(text) - len(text.lstrip())]


def format_text(source: SourceText) -> str:
    """The canonical text of ``source`` with its comments; raises ``NasgenError`` if invalid."""
    module = parse(source)
    comments = scan_comments(source.text)
    standalone = [c for c in comments if not c.trailing]
    trailing: dict[int, list[str]] = {}
    for c in comments:
        if c.trailing:
            trailing.setdefault(c.line, []).append(c.text)
    out: list[str] = []
    done: set[int] = set()
    taken = 0
    for index, section in enumerate(_sections(module, source.text)):
        if index:
            out.append("")
        for i, line in enumerate(section):
            if line.anchor is not None:
                indent = _indent(line.text) or ("  " if line.closes else "")
                while taken < len(standalone) and standalone[taken].line < line.anchor:
                    out.append(f"{indent}{standalone[taken].text}")
                    taken += 1
            text = line.text
            later = [s.anchor for s in section[i + 1 :] if s.anchor == line.anchor]
            if line.anchor is not None and line.anchor not in done and not later:
                done.add(line.anchor)
                for note in trailing.get(line.anchor, []):
                    text = f"{text}  {note}"
            out.append(text)
    if taken < len(standalone):
        out += ["", *(c.text for c in standalone[taken:])]
    # A trailing comment on a line that printed nothing of its own becomes a line of its own.
    out += [t for line, notes in sorted(trailing.items()) if line not in done for t in notes]
    formatted = "\n".join(out) + "\n"
    # A guard, not a check of the user's text: never hand back text that means something else.
    if parse(decode_source(formatted.encode("utf-8"), source.path)) != module:
        raise NasgenError(
            "E190",
            f"{source.path}: nasgen fmt could not keep this file's meaning; it was left as is",
            hint="this is a bug in nasgen fmt; please report it with the file",
        )
    return formatted
