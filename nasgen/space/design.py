"""Design spaces: a ``space stages`` or ``space regnet`` block read into network-level decisions.

Pipeline stage: search spaces (AST ``SpaceDesignDef`` -> **DesignSpec**; choices -> network
settings). Imports ``nasgen.errors``, ``nasgen.design`` and ``nasgen.dsl``; never a framework.

Radosavovic et al. 2020 ("Designing Network Design Spaces", section 3) compare *spaces* of
networks: AnyNetX (4 stages, each its own depth d_i, width w_i, bottleneck ratio b_i, group
width g_i) and its restrictions B (shared b), C (shared b and g), D (w_{i+1} >= w_i), E (also
d_{i+1} >= d_i), then RegNet (d, w0, wa, wm, b, g: the RegNet rule makes the stages).

``space stages { ... }`` keys:
  ``stages`` (the number, 1 to 16); ``depth``, ``width``, ``bottleneck``, ``group_width``:
  the values of each, ``range(lo, hi[, step])`` (both ends included) or ``[v, ...]``;
  ``shared = [key, ...]``: one decision for every stage; ``increasing = [key, ...]``: the
  stages' values never decrease, one decision over the non-decreasing sequences.
``space regnet { ... }`` keys: ``depth``, ``w0``, ``wa``, ``wm``, ``bottleneck``,
  ``group_width`` (values as above) and ``stages`` (the stage count a sample must have).

NOTE: [Decisions of a design space] Every decision is uniform over its values, so a random
vector is a uniform sample of the space: a key of ``increasing`` is *one* decision whose
values are the non-decreasing sequences (multisets, ranked), not one per stage with rejection.
The size is the product, exactly; AnyNetX_A's is (16 * 128 * 3 * 6)^4, the seed's ~1e18.
A sample's (w, b, g) go through the RegNet rule's compatibility step, as pycls's sweep does for
every sampled AnyNet (docs/design/regnet_pycls.md 6.5): a width can move by under one group
width, so distinct vectors can name one network. A RegNet vector whose rule makes another
stage count than ``stages`` (merged or skipped exponents) is no network of the space (E333),
as pycls's sampler rejects it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from nasgen.design import MAX_STAGES, RegNetParams, Stage, compatible, generate_regnet
from nasgen.dsl.ast import Choice, Ident, NameList, Numbers, Setting, SpaceDesignDef, SpaceSetting
from nasgen.dsl.stage_form import stage_settings
from nasgen.errors import DslSemanticError, NasgenError, SourceSpan, did_you_mean
from nasgen.space.ranking import unrank_multiset

__all__ = ["DESIGN_KINDS", "DesignSpec", "read_design"]

DESIGN_KINDS = ("stages", "regnet")
_STAGE_KEYS = ("depth", "width", "bottleneck", "group_width")
_REGNET_KEYS = ("depth", "w0", "wa", "wm", "bottleneck", "group_width")
_INTS = ("depth", "width", "group_width", "w0")
MAX_VALUES = 100_000
"""Values of one key (a range with a tiny step is a typo, refused before listing it)."""


@dataclass(frozen=True, slots=True)
class DesignDecision:
    """One decision of a design space: a key's value, per stage, shared, or a sequence."""

    name: str
    key: str
    size: int
    values: tuple[int | float, ...]
    stage: int | None = None  # per-stage decisions: the stage (0-based)
    sequence: int = 0  # increasing keys: the stages the one decision covers


@dataclass(frozen=True, slots=True)
class DesignSpec:
    """The network-level decisions of a design space."""

    kind: str
    stages_wanted: int  # the stage count of every network of the space
    decisions: tuple[DesignDecision, ...]

    def _values(self, choices: Sequence[int]) -> dict[str, list[int | float]]:
        values: dict[str, list[int | float]] = {}
        for d, c in zip(self.decisions, choices, strict=True):
            if d.sequence:
                values[d.key] = [d.values[i] for i in unrank_multiset(c, len(d.values), d.sequence)]
            elif d.stage is None:
                values[d.key] = [d.values[c]] * (self.stages_wanted if self.kind == "stages" else 1)
            else:
                values.setdefault(d.key, []).append(d.values[c])
        return values

    def stages(self, choices: Sequence[int]) -> tuple[Stage, ...]:
        """The stages a (checked) vector of this spec's decisions names (E333: none)."""
        values = self._values(choices)
        if self.kind == "regnet":
            return _regnet(self.stages_wanted, {k: v[0] for k, v in values.items()}).stages()
        stages = []
        for i in range(self.stages_wanted):
            w, b = int(values["width"][i]), float(values["bottleneck"][i])
            width, group = compatible(w, b, int(values["group_width"][i]))
            stages.append(Stage(int(values["depth"][i]), width, 2, b, group))
        return tuple(stages)

    def settings(self, choices: Sequence[int]) -> tuple[Setting, ...]:
        """The network settings a (checked) vector names: the stage form, or RegNet's keys."""
        if self.kind == "stages":
            return stage_settings(self.stages(choices))
        p = _regnet(self.stages_wanted, {k: v[0] for k, v in self._values(choices).items()})
        keys = (("depth", p.depth), ("w0", p.w0), ("wa", p.wa), ("wm", p.wm))
        return (
            Setting("body", Ident("regnet")),
            *(Setting(k, val) for k, val in keys),
            Setting("group_width", p.group_width),
            Setting("bottleneck", p.bottleneck),
        )


def _regnet(count: int, v: dict[str, int | float]) -> RegNetParams:
    p = RegNetParams(
        int(v["depth"]), int(v["w0"]), float(v["wa"]), float(v["wm"]),
        int(v["group_width"]), float(v["bottleneck"]),
    )  # fmt: skip
    widths, _, spanned = generate_regnet(p)
    if len(widths) != count or spanned != count:
        raise NasgenError(
            "E333",
            f"RegNet d={p.depth} w0={p.w0} wa={p.wa:g} wm={p.wm:g} makes {len(widths)} stages "
            f"over {spanned} exponents, not {count}",
            hint="pycls's sampler rejects such parameters; draw another",
        )
    return p


def _error(message: str, span: SourceSpan | None, hint: str | None = None) -> DslSemanticError:
    return DslSemanticError("E801", message, span, hint)


def _number(value: object, key: str, span: SourceSpan | None) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _error(f"`{key}` values must be numbers", span)
    if key in _INTS and not float(value).is_integer():
        raise _error(f"`{key}` values must be integers, not {value!r}", span)
    if value <= 0 and key != "wa":
        raise _error(f"`{key}` values must be positive, not {value!r}", span)
    return int(value) if key in _INTS else float(value)


def _values(setting: SpaceSetting) -> tuple[int | float, ...]:
    key, value, span = setting.key, setting.value, setting.value_span
    if isinstance(value, Numbers) and value.values:
        found = tuple(_number(v, key, span) for v in value.values)
    elif isinstance(value, Choice) and value.name == "range" and len(value.args) in (2, 3):
        if any(isinstance(a, bool) or not isinstance(a, int | float) for a in value.args):
            raise _error(f"`{key} = range(lo, hi[, step])` takes numbers", span)
        lo, hi, *rest = (float(a) for a in value.args)  # type: ignore[arg-type]
        step = rest[0] if rest else 1.0
        if step <= 0 or hi < lo:
            raise _error(f"`{key} = range(lo, hi, step)` needs lo <= hi and step > 0", span)
        ratio = (hi - lo) / step
        if not math.isfinite(ratio) or ratio >= MAX_VALUES:
            raise _error(f"`{key}` has over {MAX_VALUES:,} values", span)
        count = math.floor(ratio + 1e-9) + 1
        if count > MAX_VALUES:
            raise _error(f"`{key}` has {count:,} values, over {MAX_VALUES:,}", span)
        found = tuple(_number(round(lo + i * step, 10), key, span) for i in range(count))
    elif isinstance(value, int | float) and not isinstance(value, bool):
        found = (_number(value, key, span),)
    else:
        raise _error(
            f"`{key}` is a number, [v, ...] or range(lo, hi[, step])", span,
            f"e.g. {key} = range(1, 16)",
        )  # fmt: skip
    if len(set(found)) != len(found):
        raise _error(f"`{key}` lists a value twice", span)
    for v in found:
        problem = _problem(key, v)
        if problem is not None:
            raise _error(f"`{key}` value {v:g}: {problem}", span)
    return found


def _problem(key: str, v: int | float) -> str | None:
    """What the RegNet rule (or a stage) cannot take in this value of ``key``, or None."""
    if key == "depth" and v > 1024:
        return "over 1024 blocks"
    if key == "w0" and v % 8 != 0:
        return "w0 must be a multiple of 8 (the RegNet rule)"
    if key == "wa" and v < 0:
        return "wa must be 0 or more"
    if key == "wm" and v <= 1:
        return "wm must be above 1"
    if key == "bottleneck" and not (v < 1 or float(v).is_integer()):
        return "a bottleneck ratio is below 1 or whole (pycls BOT_MUL)"
    return None


def _names(setting: SpaceSetting | None, allowed: Sequence[str]) -> tuple[str, ...]:
    if setting is None:
        return ()
    value = setting.value
    names = value.names if isinstance(value, NameList) else None
    if names is None or any(n not in allowed for n in names):
        shown = next((n for n in (names or ()) if n not in allowed), "")
        hint = did_you_mean(shown, allowed) or f"keys: {', '.join(allowed)}"
        raise _error(
            f"`{setting.key}` is a list of keys, e.g. [bottleneck]", setting.value_span, hint
        )
    return names


def read_design(design: SpaceDesignDef) -> DesignSpec:
    """The typed spec of a design space's block; every mistake is a located error."""
    if design.kind not in DESIGN_KINDS:
        hint = (
            did_you_mean(design.kind, DESIGN_KINDS)
            or "space stages { ... } or space regnet { ... }"
        )
        raise _error(f"unknown design space `space {design.kind}`", design.kind_span, hint)
    keys = _STAGE_KEYS if design.kind == "stages" else _REGNET_KEYS
    allowed = (*keys, "stages", *(("shared", "increasing") if design.kind == "stages" else ()))
    for s in design.settings:
        if s.key not in allowed:
            hint = did_you_mean(s.key, allowed) or f"keys: {', '.join(allowed)}"
            raise _error(f"unknown `space {design.kind}` key {s.key!r}", s.span, hint)
    count_setting = design.setting("stages")
    count = 4
    if count_setting is not None:
        value = count_setting.value
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_STAGES:
            raise _error(f"`stages` is an integer from 1 to {MAX_STAGES}", count_setting.value_span)
        count = value
    values: dict[str, tuple[int | float, ...]] = {}
    for key in keys:
        setting = design.setting(key)
        if setting is None:
            if key == "bottleneck":
                values[key] = (1.0,)
                continue
            raise _error(f"`space {design.kind}` must give the values of `{key}`", design.span)
        values[key] = _values(setting)
    shared = _names(design.setting("shared"), keys)
    increasing = _names(design.setting("increasing"), keys)
    for key in increasing:
        if list(values[key]) != sorted(values[key]):
            setting = design.setting(key)
            raise _error(
                f"`{key}` is increasing, so its values must be listed in ascending order",
                setting.value_span if setting is not None else design.span,
            )
    both = set(shared) & set(increasing)
    if both:
        setting = design.setting("increasing")
        raise _error(
            f"`{sorted(both)[0]}` cannot be both shared and increasing",
            setting.span if setting else None,
        )
    return DesignSpec(
        design.kind, count, tuple(_decisions(design.kind, count, values, shared, increasing))
    )


def _decisions(
    kind: str, count: int, values: dict[str, tuple[int | float, ...]],
    shared: Sequence[str], increasing: Sequence[str],
) -> Iterator[DesignDecision]:  # fmt: skip
    if kind == "regnet":
        for key, vals in values.items():
            yield DesignDecision(key, key, len(vals), vals)
        return
    for key, vals in values.items():
        if key in increasing:
            size = math.comb(len(vals) + count - 1, count)
            yield DesignDecision(f"{key}s", key, size, vals, None, count)
        elif key in shared or len(vals) == 1:
            yield DesignDecision(key, key, len(vals), vals)
    for i in range(count):
        for key, vals in values.items():
            if key not in increasing and key not in shared and len(vals) > 1:
                yield DesignDecision(f"s{i + 1}.{key}", key, len(vals), vals, i)
