"""Parser: .cell text -> lark Tree -> frozen AST, with located syntax errors.

Pipeline stage: front end (text -> lark Tree -> **AST**). Imports ``nasgen.errors``,
``nasgen.ops`` (to tell combine ops from cell ops) and ``nasgen.dsl.ast``.

The grammar lives in ``grammar/nasgen.lark`` (shipped in the wheel as ``nasgen/grammar``).
Lark errors are converted here, at the boundary, into ``DslSyntaxError`` (E1xx); structural
errors the grammar cannot state (a combine whose operand is a bare state, a duplicated
``name`` statement) become ``DslSemanticError`` (E2xx) with the span of the offending text.
"""

from __future__ import annotations

import functools
import json
import math
from typing import Any

import lark
from lark import Token, Tree

from nasgen.dsl.ast import (
    Block,
    CellDef,
    Choice,
    ConventionDef,
    Ident,
    Module,
    NameList,
    NetworkDef,
    Numbers,
    OpCall,
    OpList,
    Output,
    Setting,
    SpaceCellDef,
    SpaceDesignDef,
    SpaceSetting,
    SpaceValue,
    StateRef,
    Value,
    VariantDef,
)
from nasgen.dsl.source import decode_source
from nasgen.dsl.tables import load_parser
from nasgen.errors import DslSemanticError, DslSyntaxError, SourceSpan, SourceText, did_you_mean
from nasgen.ops import OPS

__all__ = ["LANGUAGE_VERSION", "parse", "parse_text"]

_Node = Any
"""A lark tree child: Tree or Token (lark's own types are too loose to narrow usefully)."""

LANGUAGE_VERSION = 2
"""The newest language version this nasgen reads (2 adds search spaces; 1 is read as ever)."""
_SPACE_VERSION = 2

_TERMINAL_NAMES = {
    "NAME": "a name",
    "INT": "an integer",
    "FLOAT": "a number",
    "STRING": 'a "string"',
    "$END": "end of file",
}


@functools.cache
def _parser() -> lark.Lark:
    return load_parser()


def _describe(terminal: str) -> str:
    if terminal in _TERMINAL_NAMES:
        return _TERMINAL_NAMES[terminal]
    for term in _parser().terminals:
        if term.name == terminal and term.pattern.type == "str":
            return f"'{term.pattern.value}'"
    return terminal


def _token_span(source: SourceText, tok: Token) -> SourceSpan:
    return SourceSpan(source, tok.line or 1, tok.column or 1, max(1, len(str(tok))))


def _meta_span(source: SourceText, meta: Any) -> SourceSpan:
    if getattr(meta, "empty", True):
        return SourceSpan(source, 1, 1)
    length = meta.end_column - meta.column if meta.end_line == meta.line else 10**6
    return SourceSpan(source, meta.line, meta.column, max(1, length), meta.end_line)


def _end_span(source: SourceText) -> SourceSpan:
    lines = source.text.split("\n")
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()
    return SourceSpan(source, len(lines), len(lines[-1]) + 1)


def _syntax_error(source: SourceText, err: lark.exceptions.UnexpectedInput) -> DslSyntaxError:
    if isinstance(err, lark.exceptions.UnexpectedEOF) or (
        isinstance(err, lark.exceptions.UnexpectedToken) and err.token.type == "$END"
    ):
        expected = sorted(_describe(t) for t in getattr(err, "expected", ()))
        hint = f"expected {', '.join(expected)}" if expected else None
        return DslSyntaxError("E102", "unexpected end of file", _end_span(source), hint)
    if isinstance(err, lark.exceptions.UnexpectedCharacters):
        span = SourceSpan(source, err.line, err.column, 1)
        pos = err.pos_in_stream or 0
        char = source.text[pos] if pos < len(source.text) else "?"
        return DslSyntaxError("E101", f"unexpected character {char!r}", span)
    assert isinstance(err, lark.exceptions.UnexpectedToken)
    tok = err.token
    expected = sorted({_describe(t) for t in err.expected})
    if "'nasgen'" in expected and len(expected) == 1:
        return DslSyntaxError(
            "E107",
            "missing version header",
            _token_span(source, tok),
            f"a .cell file starts with `nasgen {LANGUAGE_VERSION}`",
        )
    shown = ", ".join(expected[:8]) + (", ..." if len(expected) > 8 else "")
    return DslSyntaxError(
        "E100", f"unexpected {str(tok)!r}", _token_span(source, tok), f"expected {shown}"
    )


def parse_text(text: str, path: str = "<string>") -> Module:
    """Parse .cell text given as a string."""
    return parse(decode_source(text.encode("utf-8"), path))


def parse(source: SourceText) -> Module:
    """Parse a decoded source into a ``Module`` AST (syntax and structure only)."""
    try:
        tree = _parser().parse(source.text)
    except lark.exceptions.UnexpectedInput as err:
        raise _syntax_error(source, err) from err
    return _Builder(source).module(tree)


class _Builder:
    """Walks the lark Tree and builds AST nodes with spans."""

    def __init__(self, source: SourceText) -> None:
        self.source = source

    def span(self, node: _Node) -> SourceSpan:
        if isinstance(node, Token):
            return _token_span(self.source, node)
        return _meta_span(self.source, node.meta)

    def module(self, tree: _Node) -> Module:
        header, *statements = tree.children
        version_tok = header.children[0]
        version = self.integer(version_tok)
        if not 1 <= version <= LANGUAGE_VERSION:
            raise DslSyntaxError(
                "E107",
                f"unsupported language version {version_tok}",
                self.span(version_tok),
                f"this nasgen reads `nasgen 1` to `nasgen {LANGUAGE_VERSION}` files",
            )
        seen: dict[str, _Node] = {}
        name = source = None
        convention = network = None
        cells: list[CellDef] = []
        variants: list[VariantDef] = []
        op_lists: list[OpList] = []
        space_cells: list[SpaceCellDef] = []
        design: SpaceDesignDef | None = None
        for st in statements:
            kind = st.data
            if kind in ("ops_def", "space_cell_def", "space_design_def"):
                self.require_space_version(version, st)
                if kind == "ops_def":
                    op_lists.append(self.op_list(st, op_lists))
                elif kind == "space_cell_def":
                    space_cells.append(self.space_cell(st))
                else:
                    if design is not None:
                        line = design.span.line if design.span else "?"
                        raise DslSemanticError(
                            "E211",
                            "second `space` design statement",
                            self.span(st),
                            f"the first is on line {line}",
                        )
                    design = self.space_design(st)
                continue
            if kind in ("name_stmt", "source_stmt", "convention_def", "network_def"):
                if kind in seen:
                    raise DslSemanticError(
                        "E211",
                        f"second `{kind.split('_')[0]}` statement",
                        self.span(st),
                        f"the first is on line {seen[kind].meta.line}",
                    )
                seen[kind] = st
            if kind == "name_stmt":
                name = self.string(st.children[0])
            elif kind == "source_stmt":
                source = self.string(st.children[0])
            elif kind == "convention_def":
                rules = self.settings(st.children[1]) if len(st.children) > 1 else ()
                preset = st.children[0]
                convention = ConventionDef(str(preset), rules, self.span(st), self.span(preset))
            elif kind == "network_def":
                network = NetworkDef(self.settings(st.children[0]), self.span(st))
            elif kind == "variant_def":
                variant = VariantDef(
                    str(st.children[0]), self.settings(st.children[1]), self.span(st)
                )
                earlier = next((v for v in variants if v.name == variant.name), None)
                if earlier is not None:
                    raise DslSemanticError(
                        "E211",
                        f"variant {variant.name!r} is defined twice",
                        self.span(st),
                        f"first defined on line {earlier.span.line if earlier.span else '?'}",
                    )
                variants.append(variant)
            else:
                cells.append(self.cell(st))
        return Module(
            version,
            name,
            source,
            convention,
            tuple(cells),
            network,
            tuple(variants),
            self.span(tree),
            tuple(op_lists),
            tuple(space_cells),
            design,
        )

    def require_space_version(self, version: int, st: _Node) -> None:
        if version < _SPACE_VERSION:
            word = {"ops_def": "ops", "space_cell_def": "space cell"}.get(st.data, "space")
            raise DslSyntaxError(
                "E107",
                f"`{word}` statements need language version {_SPACE_VERSION}",
                self.span(st),
                f"start the file with `nasgen {_SPACE_VERSION}`",
            )

    def name_list(self, tree: _Node) -> NameList:
        toks = [t for t in tree.children if t is not None]
        return NameList(tuple(str(t) for t in toks), tuple(self.span(t) for t in toks))

    def op_list(self, tree: _Node, earlier: list[OpList]) -> OpList:
        name_tok, names = tree.children
        first = next((o for o in earlier if o.name == str(name_tok)), None)
        if first is not None:
            line = first.span.line if first.span else "?"
            raise DslSemanticError(
                "E211",
                f"op list {name_tok!s} is defined twice",
                self.span(tree),
                f"first defined on line {line}",
            )
        return OpList(str(name_tok), self.name_list(names), self.span(tree))

    def space_value(self, tree: _Node) -> SpaceValue:
        if tree.data == "name_list":
            return self.name_list(tree)
        if tree.data == "number_list":
            return self.numbers(tree)
        if tree.data == "space_call":
            name_tok, *args = tree.children
            return Choice(str(name_tok), tuple(self.value(a) for a in args if a is not None))
        return self.value(tree)

    def numbers(self, tree: _Node) -> Numbers:
        values = [self.value(child) for child in tree.children]
        return Numbers(tuple(v for v in values if isinstance(v, int | float)))

    def space_cell(self, tree: _Node) -> SpaceCellDef:
        name_tok, state_list, *rest = tree.children
        inputs = tuple(StateRef(str(t), self.span(t)) for t in state_list.children)
        return SpaceCellDef(str(name_tok), inputs, self.space_settings(rest), self.span(tree))

    def space_design(self, tree: _Node) -> SpaceDesignDef:
        kind_tok, *rest = tree.children
        settings = self.space_settings(rest)
        return SpaceDesignDef(str(kind_tok), settings, self.span(tree), self.span(kind_tok))

    def space_settings(self, children: list[_Node]) -> tuple[SpaceSetting, ...]:
        settings = []
        first: dict[str, SpaceSetting] = {}
        for child in children:
            key, value = child.children
            setting = SpaceSetting(
                str(key), self.space_value(value), self.span(child), self.span(value)
            )
            if setting.key in first:
                earlier = first[setting.key].span
                line = earlier.line if earlier is not None else "?"
                raise DslSemanticError(
                    "E211", f"`{key!s}` is set twice", setting.span, f"first set on line {line}"
                )
            first[setting.key] = setting
            settings.append(setting)
        return tuple(settings)

    def integer(self, tok: Token) -> int:
        if len(str(tok).lstrip("-")) > 30:
            raise DslSyntaxError(
                "E110", f"integer {str(tok)[:12]}... is out of range", self.span(tok)
            )
        return int(tok)

    def string(self, tok: Token) -> str:
        value = json.loads(str(tok))
        assert isinstance(value, str)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise DslSyntaxError(
                "E109", "string holds an unpaired surrogate escape", self.span(tok)
            ) from None
        return value

    def value(self, tree: _Node) -> Value:
        tok = tree.children[0]
        assert isinstance(tok, Token)
        if tree.data == "int_value":
            return self.integer(tok)
        if tree.data == "float_value":
            value = float(tok)
            if not math.isfinite(value):
                raise DslSyntaxError("E110", f"number {tok!s} is out of range", self.span(tok))
            return value
        if tree.data == "string_value":
            return self.string(tok)
        return Ident(str(tok))

    def setting(self, tree: _Node) -> Setting:
        key, value = tree.children
        typed = self.numbers(value) if value.data == "number_list" else self.value(value)
        return Setting(str(key), typed, self.span(tree), self.span(value))

    def settings(self, tree: _Node) -> tuple[Setting, ...]:
        return self.unique([self.setting(child) for child in tree.children])

    def unique(self, out: list[Setting]) -> tuple[Setting, ...]:
        first: dict[str, Setting] = {}
        for s in out:
            if s.key in first:
                earlier = first[s.key].span
                line = earlier.line if earlier is not None else "?"
                raise DslSemanticError(
                    "E211", f"`{s.key}` is set twice", s.span, f"first set on line {line}"
                )
            first[s.key] = s
        return tuple(out)

    def ref(self, tree: _Node) -> StateRef:
        tok = tree.children[0]
        return StateRef(str(tok), self.span(tok))

    def cell(self, tree: _Node) -> CellDef:
        name_tok, state_list, *rest = tree.children
        inputs = tuple(StateRef(str(t), self.span(t)) for t in state_list.children)
        blocks = tuple(self.block(t) for t in rest if t.data == "block")
        outputs = [self.output(t) for t in rest if t.data == "output_stmt"]
        return CellDef(
            str(name_tok), inputs, blocks, outputs[0] if outputs else None, self.span(tree)
        )

    def block(self, tree: _Node) -> Block:
        name_tok, call = tree.children
        op_name = str(call.children[0])
        op = OPS.lookup(op_name)
        args = call.children[1:]
        if op is not None and op[0].combine:
            operands = self.operands(op_name, args, self.span(call.children[0]))
            return Block(str(name_tok), op_name, operands, self.span(tree))
        has_calls = any(isinstance(a, Tree) and a.data == "call" for a in args)
        if op is None and has_calls:
            hint = did_you_mean(op_name, [d.name for d in OPS if d.combine])
            raise DslSemanticError(
                "E213",
                f"unknown combine {op_name!r}",
                self.span(call.children[0]),
                hint or "combine with add(...) or concat(...)",
            )
        return Block(str(name_tok), None, (self.op_call(call),), self.span(tree))

    def operands(self, combine: str, args: list[Any], span: SourceSpan) -> tuple[OpCall, ...]:
        if not args:
            raise DslSemanticError(
                "E210", f"{combine}() needs at least one operand", span, "e.g. add(skip_connect(h))"
            )
        out = []
        for arg in args:
            if arg.data != "call":
                raise DslSemanticError(
                    "E212",
                    f"operand of {combine} must be an op applied to a state",
                    self.span(arg),
                    "write skip_connect(x) for the state x itself",
                )
            out.append(self.op_call(arg))
        return tuple(out)

    def op_call(self, call: _Node) -> OpCall:
        name_tok, *args = call.children
        refs = [a for a in args if a.data == "ref"]
        params = self.unique([self.setting(a) for a in args if a.data == "kwarg"])
        nested = [a for a in args if a.data == "call"]
        if nested or len(refs) != 1:
            got = "an op call" if nested else f"{len(refs)} states"
            raise DslSemanticError(
                "E218",
                f"op {name_tok!s} takes exactly one input state, got {got}",
                self.span(call),
                "ops read one state; combine several with add(...) or concat(...)",
            )
        return OpCall(str(name_tok), self.ref(refs[0]), params, self.span(call))

    def output(self, tree: _Node) -> Output:
        target = tree.children[0]
        if target.data == "ref":
            return Output(None, (self.ref(target),), self.span(tree))
        name_tok, *args = target.children
        if str(name_tok) != "concat":
            raise DslSemanticError(
                "E213",
                f"output combines with concat(...) or names one state, not {name_tok!s}(...)",
                self.span(name_tok),
            )
        if not args:
            raise DslSemanticError("E210", "output concat() names no state", self.span(target))
        states = []
        for arg in args:
            if arg.data != "ref":
                raise DslSemanticError(
                    "E212", "output lists states, not ops or settings", self.span(arg)
                )
            states.append(self.ref(arg))
        return Output("concat", tuple(states), self.span(tree))
