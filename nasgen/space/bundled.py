"""Reading search spaces: a path or a bundled name (``nasnet``, ``darts``, ``nb201``...).

Pipeline stage: search spaces (text -> space AST -> ``SearchSpace``). Imports ``nasgen.errors``,
``nasgen.dsl`` and ``nasgen.space.space``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from nasgen.dsl import parse
from nasgen.dsl.source import decode_source, read_source
from nasgen.errors import DslSyntaxError, SourceText, did_you_mean
from nasgen.space.space import SearchSpace, read_space

__all__ = ["load_space", "load_space_source", "space_names"]


def _spaces_dir() -> resources.abc.Traversable:
    return resources.files("nasgen") / "genotypes" / "spaces"


def space_names() -> list[str]:
    """The bundled spaces, by name (``darts``, ``nb201``...)."""
    return sorted(
        e.name.removesuffix(".cell") for e in _spaces_dir().iterdir() if e.name.endswith(".cell")
    )


def load_space_source(source: str | Path) -> SourceText:
    """The text of a space given as a path, a bundled name, or space text itself."""
    text = str(source)
    if isinstance(source, str) and ("\n" in text or text.lstrip().startswith("nasgen ")):
        return decode_source(text.encode("utf-8"), "<string>")
    path = Path(source)
    if text and path.exists():
        return read_source(path)
    name = text.removesuffix(".cell")
    if name in space_names():
        entry = _spaces_dir() / f"{name}.cell"
        return decode_source(entry.read_bytes(), f"<bundled>/spaces/{name}.cell")
    if not text:
        raise DslSyntaxError(
            "E108", "empty space name", hint=f"bundled: {', '.join(space_names())}"
        )
    hint = did_you_mean(name, space_names()) or f"bundled spaces: {', '.join(space_names())}"
    raise DslSyntaxError("E108", f"{text}: no such file or bundled search space", hint=hint)


def load_space(source: str | Path | SourceText) -> SearchSpace:
    """Parse and read a search space (see ``load_space_source``); located errors throughout."""
    text = source if isinstance(source, SourceText) else load_space_source(source)
    return read_space(parse(text))
