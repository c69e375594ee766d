"""Typed access to literals read from a foreign genotype: every value checked, every error located.

Pipeline stage: front end (literal tree -> checked Python values). Imports
``nasgen.dsl.foreign_reader`` and ``nasgen.dsl.foreign_source``.

``bool`` is an ``int`` subclass in Python, and a ``range`` can be astronomically long: an index
is an ``int`` literal and nothing else, and a ``range(...)`` is checked against the states a
cell has *before* it is expanded.
"""

from __future__ import annotations

from nasgen.dsl.foreign_reader import Lit
from nasgen.dsl.foreign_source import ForeignSource

__all__ = ["describe", "int_list", "int_of", "mapping_of", "seq_of", "text_of", "text_start"]

_KINDS = {
    "str": "a string", "int": "an integer", "float": "a float", "none": "None",
    "list": "a list", "tuple": "a tuple", "dict": "a dict",
}  # fmt: skip


def describe(lit: Lit) -> str:
    """What a literal is, for messages: ``a string``, ``True``, ``a call to range()``..."""
    if lit.kind == "bool":
        return str(lit.value)
    if lit.kind == "call":
        return f"a call to {lit.value}()"
    if lit.kind == "name":
        return f"the name {lit.value}"
    return _KINDS[lit.kind]


def text_of(src: ForeignSource, lit: Lit, what: str) -> str:
    """The string ``lit`` holds; anything else is an error naming ``what``."""
    if lit.kind != "str" or not isinstance(lit.value, str):
        raise src.error(f"{what} must be a string, not {describe(lit)}", lit.start, lit.end)
    return lit.value


def text_start(src: ForeignSource, lit: Lit) -> int:
    """The offset of the first character inside the quotes of a string literal."""
    head = src.text[lit.start : lit.start + 6]
    quote = next((i for i, ch in enumerate(head) if ch in "'\""), 0)
    return lit.start + quote + (3 if head[quote : quote + 3] in ("'''", '"""') else 1)


def int_of(src: ForeignSource, lit: Lit, what: str) -> int:
    """The integer ``lit`` holds; ``True``/``False`` are not integers here."""
    if lit.kind != "int" or not isinstance(lit.value, int) or isinstance(lit.value, bool):
        raise src.error(f"{what} must be an integer, not {describe(lit)}", lit.start, lit.end)
    return lit.value


def _checked(
    src: ForeignSource, lit: Lit, what: str, bounds: tuple[int, int], hint: str | None
) -> int:
    value = int_of(src, lit, f"{what} entry")
    if not bounds[0] <= value <= bounds[1]:
        raise src.error(f"{what} entry {value} refers to no state", lit.start, lit.end, hint)
    return value


def seq_of(src: ForeignSource, lit: Lit, what: str) -> tuple[Lit, ...]:
    """The elements of a list or tuple literal."""
    if lit.kind not in ("list", "tuple"):
        raise src.error(f"{what} must be a list, not {describe(lit)}", lit.start, lit.end)
    return lit.items


def mapping_of(src: ForeignSource, lit: Lit, what: str) -> dict[str, Lit]:
    """The entries of a dict literal (its keys are strings; the reader checked them)."""
    if lit.kind != "dict":
        raise src.error(f"{what} must be an object, not {describe(lit)}", lit.start, lit.end)
    return {str(key.value): value for key, value in lit.pairs}


def int_list(
    src: ForeignSource, lit: Lit, what: str, lo: int, hi: int, hint: str | None = None
) -> list[tuple[int, Lit]]:
    """Integers in ``lo..hi``, each with the literal it came from (``hint``: for a bad one).

    A list or tuple of ints, ``range(...)`` (bounds checked before it is expanded, so its
    length is at most ``hi - lo + 1``) or ``list(...)`` of either.
    """
    if lit.kind == "call" and lit.value in ("list", "tuple") and not lit.pairs:
        if len(lit.items) != 1:
            raise src.error(f"{what}: {lit.value}() takes one argument", lit.start, lit.end)
        return int_list(src, lit.items[0], what, lo, hi, hint)
    if lit.kind == "call" and lit.value == "range":
        return [(i, lit) for i in _range(src, lit, what, (lo, hi), hint)]
    items = seq_of(src, lit, what)
    return [(_checked(src, item, what, (lo, hi), hint), item) for item in items]


def _range(
    src: ForeignSource, lit: Lit, what: str, bounds: tuple[int, int], hint: str | None
) -> range:
    if lit.pairs or not 1 <= len(lit.items) <= 3:
        raise src.error(f"{what}: range() takes 1 to 3 integers", lit.start, lit.end)
    args = [int_of(src, a, f"{what}: a range() argument") for a in lit.items]
    start, stop, step = (0, args[0], 1) if len(args) == 1 else (*args[:2], 1)
    if len(args) == 3:
        step = args[2]
    if step == 0:
        raise src.error(f"{what}: range() step must not be zero", lit.start, lit.end)
    values = range(start, stop, step)  # O(1): nothing is expanded here
    if values:  # a range's truth and items work for any size; only len() overflows
        for value in (min(values[0], values[-1]), max(values[0], values[-1])):
            if not bounds[0] <= value <= bounds[1]:
                shown = str(value) if len(str(value)) < 24 else f"{str(value)[:20]}..."
                call = src.text[lit.start : lit.end]
                call = call if len(call) <= 60 and "\n" not in call else "range(...)"
                message = f"{what}: {call} reaches {shown}, no state"
                raise src.error(message, lit.start, lit.end, hint)
    return values  # distinct values, all in bounds: at most hi - lo + 1 of them
