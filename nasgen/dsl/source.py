"""Reading .cell input: files, bundled genotypes and strings, with clear errors for bad input.

Pipeline stage: front end (bytes -> **text**). Imports ``nasgen.errors``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from nasgen.errors import DslSyntaxError, SourceSpan, SourceText, did_you_mean

__all__ = ["MAX_SOURCE_BYTES", "bundled_names", "decode_source", "read_bundled", "read_source"]

MAX_SOURCE_BYTES = 1 << 20
"""1 MiB: the largest published genotype file is about 2 KiB; larger input is a mistake."""


def _point(source: SourceText, offset: int) -> SourceSpan:
    before = source.text[:offset]
    line = before.count("\n") + 1
    column = offset - (before.rfind("\n") + 1) + 1
    return SourceSpan(source, line, column)


def decode_source(data: bytes, path: str) -> SourceText:
    """Check and decode raw bytes: size, binary content, UTF-8, emptiness."""
    if len(data) > MAX_SOURCE_BYTES:
        raise DslSyntaxError(
            "E106",
            f"{path}: file is {len(data):,} bytes; .cell files are limited to "
            f"{MAX_SOURCE_BYTES:,} bytes",
            hint="is this really a .cell file?",
        )
    data = data.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark is not content
    if b"\0" in data:
        raise DslSyntaxError("E104", f"{path}: binary file (contains NUL bytes), not a .cell file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        good = data[: err.start].decode("utf-8")
        span = _point(SourceText(path, good), len(good))
        raise DslSyntaxError(
            "E103",
            f"file is not valid UTF-8 (byte 0x{data[err.start]:02x} at offset {err.start})",
            span,
            hint="save the file as UTF-8",
        ) from None
    # Lark counts lines by "\n"; CRLF and old CR-only files are normalised so that comments end
    # and columns stay what the user sees.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise DslSyntaxError(
            "E105", f"{path}: empty file", hint="a .cell file starts with `nasgen 1`"
        )
    return SourceText(path, text)


def read_source(path: str | Path) -> SourceText:
    """Read a .cell file from disk."""
    p = Path(path)
    try:
        if p.is_dir():
            raise DslSyntaxError("E108", f"{p}: is a directory, not a .cell file")
        with p.open("rb") as fh:
            data = fh.read(MAX_SOURCE_BYTES + 1)
    except FileNotFoundError:
        hint = did_you_mean(p.name, bundled_names())
        raise DslSyntaxError("E108", f"{p}: no such file or bundled genotype", hint=hint) from None
    except OSError as err:
        raise DslSyntaxError("E108", f"{p}: cannot read: {err.strerror}") from None
    except ValueError as err:  # e.g. a NUL in the path
        raise DslSyntaxError("E108", f"{str(p)!r}: not a usable path ({err})") from None
    return decode_source(data, str(p))


def _bundled_dir() -> resources.abc.Traversable:
    return resources.files("nasgen") / "genotypes"


def bundled_names() -> list[str]:
    """File names of the bundled genotypes (``nasnet_a.cell``...)."""
    return sorted(e.name for e in _bundled_dir().iterdir() if e.name.endswith(".cell"))


def read_bundled(name: str) -> SourceText | None:
    """The bundled genotype ``name`` (with or without ``.cell``), or None."""
    file = name if name.endswith(".cell") else f"{name}.cell"
    if "/" in file or file not in bundled_names():
        return None
    entry = _bundled_dir() / file
    return decode_source(entry.read_bytes(), f"<bundled>/{file}")
