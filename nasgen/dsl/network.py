"""The ``network { ... }`` block: its keys, their types, ranges and defaults, and ``NetworkSpec``.

Pipeline stage: front end (AST -> **resolved spec**). Imports ``nasgen.errors``,
``nasgen.ops`` and ``nasgen.dsl.ast``.

One table (``KEYS``) is the schema: the checker, the CLI overrides, the printer's key order and
the language reference all read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType

from nasgen.dsl.ast import Ident, Numbers, Setting, Value
from nasgen.errors import DslSemanticError, SourceSpan, did_you_mean
from nasgen.ops.network import AUX_STYLES

__all__ = [
    "KEYS",
    "REGNET_KEYS",
    "STAGE_KEYS",
    "Key",
    "KeyValue",
    "NetworkSpec",
    "apply_settings",
    "coerce",
]

KeyValue = int | float | bool | str | tuple[int | float, ...]
"""A network key's typed value (a tuple for the per-stage keys)."""


@dataclass(frozen=True, slots=True)
class Key:
    """One network key: its field in ``NetworkSpec``, type, allowed values and meaning."""

    field: str
    kind: type[int] | type[float] | type[bool] | type[str]
    doc: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None
    cell_name: bool = False
    per_stage: bool = False  # a list of ``kind``, one per stage: ``depths = [1, 1, 4, 7]``


KEYS: Mapping[str, Key] = MappingProxyType(
    {
        "body": Key(
            "body",
            str,
            "cells: stacked cells (the keys below); regnet: the stages the RegNet rule makes of "
            "depth, w0, wa, wm, group_width, bottleneck and se (Radosavovic et al. 2020); "
            "stages: the stages as lists (depths, widths, strides, bottlenecks, group_widths)",
            choices=("cells", "regnet", "stages"),
        ),
        "block": Key(
            "block",
            str,
            "regnet/stages: the block of every stage: x (pycls res_bottleneck_block; Y with se), "
            "res_basic (two 3x3 convs and a residual) or vanilla (two 3x3 convs)",
            choices=("x", "res_basic", "vanilla"),
        ),
        "depths": Key(
            "depths", int, "stages: blocks per stage (pycls DEPTHS)", 1, 1024, per_stage=True
        ),
        "widths": Key(
            "widths", int, "stages: output width per stage (WIDTHS)", 1, 65536, per_stage=True
        ),
        "strides": Key(
            "strides",
            int,
            "stages: stride of each stage's first block (default 2)",
            1,
            4,
            per_stage=True,
        ),
        "bottlenecks": Key(
            "bottlenecks",
            float,
            "stages: bottleneck ratio per stage, w_b = w x b (BOT_MULS; default 1)",
            0.01,
            64,
            per_stage=True,
        ),
        "group_widths": Key(
            "group_widths",
            int,
            "stages: group width per stage (GROUP_WS; x blocks)",
            1,
            65536,
            per_stage=True,
        ),
        "depth": Key("depth", int, "regnet: d, the blocks in all (pycls DEPTH)", 1, 1024),
        "w0": Key("w0", int, "regnet: the first block's width, a multiple of 8 (W0)", 8, 65536),
        "wa": Key("wa", float, "regnet: the slope of the per-block widths (WA)", 0, 65536),
        "wm": Key("wm", float, "regnet: the width multiplier between stages, > 1 (WM)", 1, 64),
        "group_width": Key("group_width", int, "regnet: the group width g (GROUP_W)", 1, 65536),
        "bottleneck": Key(
            "bottleneck", float, "regnet: the bottleneck ratio b (BOT_MUL)", 0.01, 64
        ),
        "se": Key(
            "se",
            float,
            "regnet: the squeeze-excitation ratio of the block's input width (Y: 0.25; 0: X)",
            0,
            1,
        ),
        "stem_width": Key("stem_width", int, "regnet: the simple stem's width (STEM_W)", 1, 65536),
        "N": Key(
            "n_cells", int, "normal cells per stage (NASNet `N @ P`; TF num_cells = 3N)", 1, 256
        ),
        "F": Key(
            "num_filters",
            int,
            "filters of the first stage (TF num_conv_filters, DARTS C)",
            1,
            65536,
        ),
        "reductions": Key("reductions", int, "number of reductions (stages - 1)", 0, 6),
        "filter_growth": Key("filter_growth", int, "filter multiplier at each reduction", 1, 4),
        "reduction_mode": Key(
            "reduction_mode",
            str,
            "insert_cell: a reduction cell between stages (NASNet, DARTS); stride_normal: the "
            "first normal cell of a stage runs at stride 2 (PNASNet); resnet_block: NB-201",
            choices=("insert_cell", "stride_normal", "resnet_block"),
        ),
        "stem": Key(
            "stem",
            str,
            "conv3x3: conv 3x3 + BN (CIFAR, NB-201); nasnet_imagenet: conv 3x3 s2 VALID + 2 "
            "stem cells; darts_imagenet: three stride-2 convs; simple: conv 3x3 s2 + BN + ReLU "
            "to stem_width (RegNet)",
            choices=("conv3x3", "nasnet_imagenet", "darts_imagenet", "simple"),
        ),
        "stem_multiplier": Key(
            "stem_multiplier",
            float,
            "stem width: F x this (conv3x3) or 32 x this (nasnet_imagenet)",
            0.01,
            64,
        ),
        "stem_cell": Key("stem_cell", str, "cell used by the nasnet_imagenet stem", cell_name=True),
        "normal": Key("normal", str, "the normal cell", cell_name=True),
        "reduction": Key(
            "reduction", str, "the reduction cell (reduction_mode = insert_cell)", cell_name=True
        ),
        "skip_reduction_layer_input": Key(
            "skip_reduction_layer_input",
            bool,
            "TF: the cell after a reduction reads h_{i-1} from before it",
        ),
        "aux_head": Key(
            "aux_head", str, "auxiliary classifier style, or none", choices=("none", *AUX_STYLES)
        ),
        "aux_weight": Key("aux_weight", float, "auxiliary loss weight", 0, 10),
        "drop_path": Key("drop_path", float, "final ScheduledDropPath probability", 0, 0.99),
        "dropout": Key("dropout", float, "dropout before the classifier", 0, 0.99),
        "head": Key(
            "head",
            str,
            "before global pooling: gap (DARTS), relu_gap (TF), bn_relu_gap (NB-201)",
            choices=("gap", "relu_gap", "bn_relu_gap"),
        ),
        "classifier_bias": Key(
            "classifier_bias",
            bool,
            "the classifier has a bias (false: ENAS's bias-free matmul)",
        ),
        "classes": Key("classes", int, "number of classes", 1, 1_000_000),
        "input_size": Key("input_size", int, "input height = width", 1, 8192),
        "input_channels": Key("input_channels", int, "input channels", 1, 64),
    }
)


REGNET_KEYS = ("depth", "w0", "wa", "wm", "group_width", "bottleneck")
"""The keys only a ``body = regnet`` network reads."""
STAGE_KEYS = ("depths", "widths", "strides", "bottlenecks", "group_widths")
"""The keys only a ``body = stages`` network reads."""
_BODY_KEYS = ("block", "se", "stem_width")
"""The keys a ``regnet`` or ``stages`` body reads and a ``cells`` body does not."""


@dataclass(frozen=True, slots=True)
class NetworkSpec:
    """How the cells stack: the resolved ``network`` block (plus variant and CLI overrides)."""

    body: str = "cells"
    block: str = "x"
    depths: tuple[int, ...] = ()
    widths: tuple[int, ...] = ()
    strides: tuple[int, ...] = ()
    bottlenecks: tuple[float, ...] = ()
    group_widths: tuple[int, ...] = ()
    depth: int = 0
    w0: int = 0
    wa: float = 0.0
    wm: float = 0.0
    group_width: int = 0
    bottleneck: float = 1.0
    se: float = 0.0
    stem_width: int = 32
    n_cells: int = 0
    num_filters: int = 0
    reductions: int = 2
    filter_growth: int = 2
    reduction_mode: str = "insert_cell"
    stem: str = "conv3x3"
    stem_multiplier: float = 1.0
    stem_cell: str = "reduction"
    normal: str = "normal"
    reduction: str = "reduction"
    skip_reduction_layer_input: bool = False
    aux_head: str = "none"
    aux_weight: float = 0.4
    drop_path: float = 0.0
    dropout: float = 0.0
    head: str = "relu_gap"
    classifier_bias: bool = True
    classes: int = 1000
    input_size: int = 224
    input_channels: int = 3

    def skeleton(self) -> str:
        """How it stacks, in a few words: ``N=6, F=36`` or ``RegNet d=13, w0=24, ...``."""
        if self.body == "stages":
            se = f", se={self.se:g}" if self.se else ""
            return (
                f"stages depths={list(self.depths)}, widths={list(self.widths)}, "
                f"block={self.block}{se}"
            )
        if self.body == "regnet":
            se = f", se={self.se:g}" if self.se else ""
            return (
                f"RegNet d={self.depth}, w0={self.w0}, wa={self.wa:g}, wm={self.wm:g}, "
                f"g={self.group_width}{se}"
            )
        return f"N={self.n_cells}, F={self.num_filters}"

    def as_dict(self) -> dict[str, KeyValue]:
        """DSL key -> value, in ``KEYS`` order, for the keys its body reads.

        A cells body leaves out ``body`` and the RegNet and stage keys; a RegNet body leaves
        out N, F and the stage lists; a stages body N, F and the RegNet parameters.
        """
        by_field = {f.name: getattr(self, f.name) for f in fields(self)}
        unset = {
            "cells": ("body", *_BODY_KEYS, *REGNET_KEYS, *STAGE_KEYS),
            "regnet": ("N", "F", *STAGE_KEYS),
            "stages": ("N", "F", *REGNET_KEYS),
        }[self.body]
        return {key: by_field[k.field] for key, k in KEYS.items() if key not in unset}


def _type_name(kind: type) -> str:
    return {int: "an integer", float: "a number", bool: "true or false", str: "a name"}[kind]


def coerce(key: str, value: Value, span: SourceSpan | None, where: str = "") -> KeyValue:
    """Check one ``key = value`` against ``KEYS`` and return the typed value (E208/E209/E217)."""
    spec = KEYS.get(key)
    if spec is None:
        raise DslSemanticError(
            "E208", f"unknown network key {key!r}{where}", span, did_you_mean(key, KEYS)
        )
    if spec.per_stage:
        if not isinstance(value, Numbers):
            raise DslSemanticError(
                "E209",
                f"`{key}` must be a list, one value per stage{where}",
                span,
                f"{spec.doc}; e.g. {key} = [1, 2, 4, 8]",
            )
        return tuple(_one(key, spec, v, span, where) for v in value.values)  # type: ignore[misc]
    if isinstance(value, Numbers):
        raise DslSemanticError(
            "E209", f"`{key}` must be {_type_name(spec.kind)}, not a list{where}", span, spec.doc
        )
    return _one(key, spec, value, span, where)


def _one(
    key: str, spec: Key, value: Value, span: SourceSpan | None, where: str
) -> int | float | bool | str:
    typed: int | float | bool | str | None = None
    if spec.kind is bool and isinstance(value, Ident) and value.name in ("true", "false"):
        typed = value.name == "true"
    elif spec.kind is int and isinstance(value, int) and not isinstance(value, bool):
        typed = value
    elif spec.kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        typed = float(value)
    elif spec.kind is str and isinstance(value, Ident | str):
        typed = value.name if isinstance(value, Ident) else value
    if typed is None:
        raise DslSemanticError(
            "E209", f"`{key}` must be {_type_name(spec.kind)}{where}", span, spec.doc
        )
    if spec.choices is not None and typed not in spec.choices:
        hint = did_you_mean(str(typed), spec.choices) or f"one of: {', '.join(spec.choices)}"
        raise DslSemanticError("E209", f"`{key}` cannot be {typed!r}{where}", span, hint)
    is_number = isinstance(typed, int | float) and not isinstance(typed, bool)
    low, high = spec.low, spec.high
    if is_number and low is not None and high is not None and not low <= typed <= high:  # type: ignore[operator]
        raise DslSemanticError(
            "E217",
            f"`{key}` = {typed} is out of range{where}",
            span,
            f"{spec.doc}; allowed {low:g} to {high:g}",
        )
    return typed


def apply_settings(
    base: Mapping[str, KeyValue], settings: tuple[Setting, ...], where: str = ""
) -> dict[str, KeyValue]:
    """``base`` (DSL key -> value) updated with checked settings."""
    out = dict(base)
    for s in settings:
        out[s.key] = coerce(s.key, s.value, s.value_span if s.key in KEYS else s.span, where)
    return out
