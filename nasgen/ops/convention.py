"""Conventions: the implementation rules that differ between the codebases NAS cells come from.

Pipeline stage: shared definitions. Imports nothing from nasgen.

A .cell file names a preset (``convention tf_slim``) and may override single rules
(``convention darts { none = identity }``). Every rule below changes either the parameter count
or the graph of a compiled network; the sources are the released code (TF-slim
``nasnet_utils.py``, TF-TPU ``amoeba_net``, quark0/darts ``model.py``/``operations.py``,
AutoDL ``cell_operations.py``, ENAS ``micro_child.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from types import MappingProxyType

__all__ = ["PRESETS", "RULES", "Convention", "Rule"]


@dataclass(frozen=True, slots=True)
class Rule:
    """One convention rule: its allowed values and what it means."""

    choices: tuple[str | int | bool, ...]
    doc: str


RULES: Mapping[str, Rule] = MappingProxyType(
    {
        "none": Rule(
            ("identity", "zero"),
            "what the op name `none` means: identity (TF-slim, TF-TPU) or zero (DARTS, NB-201)",
        ),
        "sep_conv_repeats": Rule(
            (2, 1),
            "how often ReLU-depthwise-pointwise-BN is stacked in sep_conv (2 in TF-slim and DARTS)",
        ),
        "strided_identity": Rule(
            ("conv_1x1", "factorized_reduce", "factorized_reduce_no_relu"),
            "identity at stride 2: ReLU-1x1conv(s2)-BN (TF), ReLU-FactorizedReduce (DARTS) or "
            "FactorizedReduce without the ReLU (ENAS `_factorized_reduction`)",
        ),
        "prev_same_size": Rule(
            ("if_channels_differ", "always"),
            "h_{i-1} of the same size as h_i gets ReLU-1x1-BN only if its width differs from F "
            "(TF `_reduce_prev_layer`) or always (DARTS `preprocess0`)",
        ),
        "h_calibrate": Rule(
            (False, True),
            "h_i whose width differs from F first gets its own ReLU-1x1-BN to F, before the "
            "ReLU-1x1-BN every cell applies (ENAS `_maybe_calibrate_size`, then `layer_base`)",
        ),
        "first_prev": Rule(
            ("raw", "projected"),
            "a cell with no h_{i-1} (the first after a one-output stem) uses the raw h_i (TF) "
            "or h_i passed through the h_{i-1} rules (DARTS `s0 = s1 = stem(x)`)",
        ),
        "output_adapt": Rule(
            ("factorized_reduce", "none"),
            "a concatenated state whose shape differs from the last block's is passed through a "
            "factorized reduction (TF `_combine_unused_states`) or is an error (DARTS)",
        ),
        "bottleneck_convs": Rule(
            (False, True),
            "conv_3x3, conv_1x7_7x1, conv_1x3_3x1 and dilated_conv run at F/4 (3F/8 for 1x3) "
            "between 1x1 convs (TF-TPU AmoebaNet)",
        ),
        "padding": Rule(
            ("symmetric", "tf_same"),
            "stride-2 padding: symmetric (PyTorch) or TF SAME (extra row/column at bottom/right); "
            "shapes and counts are equal, weights ported from TF need tf_same",
        ),
    }
)


@dataclass(frozen=True, slots=True)
class Convention:
    """The resolved rule set of one file (a preset plus overrides)."""

    name: str
    none: str
    sep_conv_repeats: int
    strided_identity: str
    prev_same_size: str
    h_calibrate: bool
    first_prev: str
    output_adapt: str
    bottleneck_convs: bool
    padding: str

    def with_rules(self, overrides: Mapping[str, str | int | bool]) -> Convention:
        """A copy with some rules replaced (values must already be valid choices)."""
        return replace(self, **overrides)  # type: ignore[arg-type]

    def rules(self) -> dict[str, str | int | bool]:
        """Rule name -> value, in ``RULES`` order."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "name"}


_TF_SLIM = Convention(
    name="tf_slim",
    none="identity",
    sep_conv_repeats=2,
    strided_identity="conv_1x1",
    prev_same_size="if_channels_differ",
    h_calibrate=False,
    first_prev="raw",
    output_adapt="factorized_reduce",
    bottleneck_convs=False,
    padding="tf_same",
)

_DARTS = Convention(
    name="darts",
    none="zero",
    sep_conv_repeats=2,
    strided_identity="factorized_reduce",
    prev_same_size="always",
    h_calibrate=False,
    first_prev="projected",
    output_adapt="none",
    bottleneck_convs=False,
    padding="symmetric",
)

PRESETS: Mapping[str, Convention] = MappingProxyType(
    {
        "tf_slim": _TF_SLIM,
        "tf_amoeba": replace(_TF_SLIM, name="tf_amoeba", bottleneck_convs=True),
        "darts": _DARTS,
        "nb201": replace(_DARTS, name="nb201"),
        # facebookresearch/pycls (RegNet, AnyNet): PyTorch's symmetric padding, as DARTS's.
        "pycls": replace(_DARTS, name="pycls"),
        # melodyguan/enas micro_child.py `_fixed_layer` (TF code, SAME padding).
        "enas": replace(
            _TF_SLIM,
            name="enas",
            strided_identity="factorized_reduce_no_relu",
            h_calibrate=True,
            first_prev="projected",
        ),
    }
)
"""Named rule sets: TF-slim NASNet/PNASNet, TF-TPU AmoebaNet, DARTS family, NAS-Bench-201, ENAS
micro, pycls (RegNet)."""
