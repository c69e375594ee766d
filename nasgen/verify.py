"""``nasgen verify``: the published sizes of the bundled genotypes, checked against the compiler.

Pipeline stage: a client of the facade (``nasgen.api``). Imports ``nasgen.errors``,
``nasgen.dsl`` and ``nasgen.api``; torch only for ``params_with_bn_stats`` (on the meta device,
so nothing is allocated).

The registry is data: ``genotypes/published.toml``, one ``[[figure]]`` per number printed in a
paper or a released code base, with the skeleton it was reported for, what it counts and where
it is printed. A figure is checked two ways:
  1. ``exact``, when given, is the count the released code gives (docs/conventions.md); the
     compiled count must equal it to the parameter, whatever the status.
  2. A ``reproduced`` figure must round to the published number: within half a unit of its last
     printed digit, or ``tolerance_pct`` where the paper rounded differently (stated in a note).
``not_reproducible`` (docs/conventions.md) and ``other_convention`` figures are shown with their
delta and never fail.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from nasgen.api import Analysis, analyze, options_for
from nasgen.errors import NasgenError

__all__ = [
    "MAX_REGISTRY_BYTES",
    "STATUSES",
    "Check",
    "Figure",
    "load_registry",
    "measure",
    "verify",
]

STATUSES = ("reproduced", "not_reproducible", "other_convention")
METRICS = ("params", "macs", "acts", "params_with_bn_stats")
_UNITS = {"": Decimal(1), "K": Decimal(10**3), "M": Decimal(10**6), "B": Decimal(10**9)}
_NUMBER = re.compile(r"^(?P<num>[0-9][0-9,]*(?:\.[0-9]+)?)(?P<unit>[KMB]?)$")


def _registry_error(message: str) -> NasgenError:
    return NasgenError("E600", f"genotypes/published.toml: {message}")


@dataclass(frozen=True, slots=True)
class Figure:
    """One published number and the skeleton it was reported for."""

    model: str
    genotype: str
    skeleton: str
    metric: str
    published: str
    convention: str
    source: str
    status: str
    variant: str | None = None
    n_cells: int | None = None
    num_filters: int | None = None
    settings: Mapping[str, object] = field(default_factory=dict)
    exact: int | None = None
    tolerance_pct: float | None = None
    note: str = ""

    @property
    def value(self) -> Decimal:
        """The published number as a value (``"5.3M"`` -> 5300000)."""
        match = _NUMBER.match(self.published)
        assert match is not None
        return Decimal(match["num"].replace(",", "")) * _UNITS[match["unit"]]

    @property
    def half_unit(self) -> Decimal:
        """Half a unit of the last printed digit: the rounding the printed number allows."""
        match = _NUMBER.match(self.published)
        assert match is not None
        digits = Decimal(match["num"].replace(",", "")).as_tuple().exponent
        assert isinstance(digits, int)
        return Decimal(10) ** digits * _UNITS[match["unit"]] / 2

    def key(self) -> tuple[str, str | None, int | None, int | None, tuple[tuple[str, str], ...]]:
        """The compiled network this figure is about (figures sharing it compile once)."""
        settings = tuple(sorted((k, repr(v)) for k, v in self.settings.items()))
        return (self.genotype, self.variant, self.n_cells, self.num_filters, settings)


_FIELDS = {
    "model": str,
    "genotype": str,
    "skeleton": str,
    "metric": str,
    "published": str,
    "convention": str,
    "source": str,
    "status": str,
    "variant": str,
    "N": int,
    "F": int,
    "set": dict,
    "exact": int,
    "tolerance_pct": float,
    "note": str,
}


def _figure(raw: Mapping[str, Any], index: int) -> Figure:
    where = f"figure {index + 1} ({raw.get('model', '?')})"
    for key, value in raw.items():
        kind = _FIELDS.get(key)
        if kind is None:
            raise _registry_error(f"{where}: unknown field {key!r}")
        if not isinstance(value, kind) or isinstance(value, bool):
            raise _registry_error(f"{where}: {key} must be a {kind.__name__}")
    missing = [k for k in list(_FIELDS)[:8] if k not in raw]
    if missing:
        raise _registry_error(f"{where}: missing {', '.join(missing)}")
    if raw["metric"] not in METRICS:
        raise _registry_error(f"{where}: metric must be one of {', '.join(METRICS)}")
    if raw["status"] not in STATUSES:
        raise _registry_error(f"{where}: status must be one of {', '.join(STATUSES)}")
    if not _NUMBER.match(raw["published"]):
        raise _registry_error(f"{where}: published {raw['published']!r} is not a number")
    return Figure(
        model=raw["model"],
        genotype=raw["genotype"],
        skeleton=raw["skeleton"],
        metric=raw["metric"],
        published=raw["published"],
        convention=raw["convention"],
        source=raw["source"],
        status=raw["status"],
        variant=raw.get("variant"),
        n_cells=raw.get("N"),
        num_filters=raw.get("F"),
        settings=dict(raw.get("set", {})),
        exact=raw.get("exact"),
        tolerance_pct=raw.get("tolerance_pct"),
        note=raw.get("note", ""),
    )


MAX_REGISTRY_BYTES = 1 << 20
"""1 MiB: the most of a registry file ``load_registry`` reads."""


def load_registry(path: Path | None = None) -> tuple[Figure, ...]:
    """The published figures (``genotypes/published.toml`` unless ``path``)."""
    entry = path if path is not None else resources.files("nasgen") / "genotypes/published.toml"
    try:
        with entry.open("rb") as fh:
            raw = fh.read(MAX_REGISTRY_BYTES + 1)
        if len(raw) > MAX_REGISTRY_BYTES:
            raise _registry_error(
                f"{entry}: over {MAX_REGISTRY_BYTES:,} bytes; a registry of published figures "
                "is a few KiB (the bundled one is about 33 KiB)"
            )
        data = tomllib.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise _registry_error(f"cannot read {entry}: {exc}") from exc
    figures = data.get("figure", [])
    if not isinstance(figures, list):
        raise _registry_error("`figure` must be an array of tables ([[figure]])")
    return tuple(_figure(raw, i) for i, raw in enumerate(figures))


def _bn_stats(result: Analysis) -> int:
    """BatchNorm running mean and variance entries of the inference network (no aux head)."""
    import torch

    from nasgen.api import build

    with torch.device("meta"):
        module = build(result)
    return sum(
        buf.numel()
        for name, buf in module.named_buffers()
        if not name.startswith("aux.") and name.endswith(("running_mean", "running_var"))
    )


def measure(figure: Figure, result: Analysis) -> int:
    """The value nasgen gives the figure's metric on its compiled network."""
    if figure.metric == "macs":
        return result.cost.macs
    if figure.metric == "acts":
        return result.cost.acts
    if figure.metric == "params_with_bn_stats":
        return result.cost.params + _bn_stats(result)
    return result.cost.params


@dataclass(frozen=True, slots=True)
class Check:
    """One figure against nasgen's value."""

    figure: Figure
    nasgen: int

    @property
    def delta(self) -> Decimal:
        """The compiled value minus the published one."""
        return Decimal(self.nasgen) - self.figure.value

    @property
    def exact_ok(self) -> bool:
        """The exact count holds (or none is given)."""
        return self.figure.exact is None or self.nasgen == self.figure.exact

    @property
    def rounds_ok(self) -> bool:
        """The value rounds to the published figure (within its tolerance)."""
        fig = self.figure
        allowed = fig.half_unit
        if fig.tolerance_pct is not None:
            allowed = max(allowed, fig.value * Decimal(str(fig.tolerance_pct)) / 100)
        return abs(self.delta) <= allowed

    @property
    def drift(self) -> bool:
        """The check fails: a changed exact count, or a reproduced figure no longer matching."""
        return not self.exact_ok or (self.figure.status == "reproduced" and not self.rounds_ok)

    @property
    def verdict(self) -> str:
        """What the table shows in its status column."""
        if not self.exact_ok:
            return f"DRIFT: exact count is {self.figure.exact:,}"
        if self.figure.status == "reproduced":
            if not self.rounds_ok:
                return "DRIFT: no longer rounds to the published figure"
            return "exact" if self.figure.exact is not None else "matches"
        if self.figure.status == "not_reproducible":
            return "published, not reproducible"
        return "other counting convention"


def verify(figures: Iterable[Figure], progress: Any = None, only: str | None = None) -> list[Check]:
    """Compile every figure's network (once per skeleton) and measure it.

    ``only`` keeps figures whose genotype or model contains it; ``progress`` is called with each
    figure before it is measured.
    """
    cache: dict[object, Analysis] = {}
    checks = []
    for fig in figures:
        if only and only.lower() not in f"{fig.genotype} {fig.model}".lower():
            continue
        if progress is not None:
            progress(fig)
        key = fig.key()
        if key not in cache:
            options = options_for(
                N=fig.n_cells, F=fig.num_filters, variant=fig.variant, **fig.settings
            )
            cache[key] = analyze(fig.genotype, options)
        checks.append(Check(fig, measure(fig, cache[key])))
    return checks
