"""The grammar's LALR tables, prebuilt and shipped as JSON beside the grammar (never pickled).

Pipeline stage: front end (parser construction). Imports lark only.

Building the LALR parser from ``grammar/nasgen.lark`` costs about 50 ms at every start, a
noticeable part of a ``nasgen check`` in a pre-commit hook. ``grammar/nasgen.tables.json`` holds
lark's own serialised form of the same parser, keyed by the SHA-256 of the grammar text: when
the digest matches it is loaded (about 4 ms), otherwise the parser is built from the grammar
as usual. ``python -m nasgen.dsl.tables`` rewrites the file; a test keeps it current.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

import lark
from lark.grammar import Rule
from lark.lexer import TerminalDef

__all__ = ["build_parser", "load_parser", "write_tables"]

_OPTIONS: dict[str, Any] = {
    "parser": "lalr",
    "propagate_positions": True,
    "maybe_placeholders": False,
}


def _grammar_dir() -> Any:
    return resources.files("nasgen") / "grammar"


def _grammar() -> str:
    text: str = (_grammar_dir() / "nasgen.lark").read_text("utf-8")
    return text


def _digest(grammar: str) -> str:
    return hashlib.sha256(grammar.encode("utf-8")).hexdigest()


def _encode(obj: Any) -> Any:
    # JSON keys must be strings; lark's tables use int and tuple keys, so such dicts become
    # {"__pairs__": [[key, value], ...]}.
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj) and "__pairs__" not in obj:
            return {k: _encode(v) for k, v in obj.items()}
        return {"__pairs__": [[_encode(k), _encode(v)] for k, v in obj.items()]}
    if isinstance(obj, list | tuple):
        return [_encode(v) for v in obj]
    return obj


def _decode(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and "__pairs__" in obj:
        return {(tuple(k) if isinstance(k, list) else k): v for k, v in obj["__pairs__"]}
    return obj


def build_parser() -> lark.Lark:
    """Build the parser from the grammar text."""
    return lark.Lark(_grammar(), **_OPTIONS)


def load_parser() -> lark.Lark:
    """The prebuilt parser when its digest matches the grammar, else a freshly built one."""
    grammar = _grammar()
    try:
        raw = (_grammar_dir() / "nasgen.tables.json").read_text("utf-8")
        data = json.loads(raw, object_hook=_decode)
        if data.get("grammar_sha256") == _digest(grammar) and data.get("lark") == lark.__version__:
            loaded: lark.Lark = lark.Lark._load_from_dict(  # type: ignore[no-untyped-call]
                data["data"], data["memo"]
            )
            return loaded
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    return lark.Lark(grammar, **_OPTIONS)


def write_tables(path: Path | None = None) -> Path:
    """Serialise the parser built from the grammar to ``grammar/nasgen.tables.json``."""
    grammar = _grammar()
    parser = lark.Lark(grammar, **_OPTIONS)
    data, memo = parser.memo_serialize([TerminalDef, Rule])
    target = path or Path(str(_grammar_dir() / "nasgen.tables.json"))
    payload = {
        "grammar_sha256": _digest(grammar),
        "lark": lark.__version__,
        "data": _encode(data),
        "memo": _encode(memo),
    }
    target.write_text(json.dumps(payload, sort_keys=True) + "\n", encoding="utf-8")
    return target


if __name__ == "__main__":
    print(write_tables())
