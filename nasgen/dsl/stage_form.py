"""The explicit stage form of a stage network: ``body = stages`` and one list per stage key.

Pipeline stage: front end (AST -> AST). Imports ``nasgen.design`` and ``nasgen.dsl``.

A RegNet file states six numbers and the rule makes the stages; its stage form states the
stages themselves (pycls's AnyNet lists), so a reviewer sees every depth and width, and a
design space's sample is an ordinary file. Both compile to the same network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from nasgen.design import Stage
from nasgen.dsl.ast import Ident, Module, NetworkDef, Numbers, Setting
from nasgen.dsl.network import REGNET_KEYS, STAGE_KEYS

__all__ = ["stage_settings", "with_stages"]


def stage_settings(stages: Sequence[Stage]) -> tuple[Setting, ...]:
    """``body = stages`` and the five per-stage lists of ``stages``."""

    def numbers(values: Sequence[int | float]) -> Numbers:
        return Numbers(tuple(int(v) if float(v).is_integer() else v for v in values))

    return (
        Setting("body", Ident("stages")),
        Setting("depths", numbers([s.depth for s in stages])),
        Setting("widths", numbers([s.width for s in stages])),
        Setting("strides", numbers([s.stride for s in stages])),
        Setting("bottlenecks", numbers([s.bottleneck for s in stages])),
        Setting("group_widths", numbers([s.group_width for s in stages])),
    )


def with_stages(module: Module, stages: Sequence[Stage]) -> Module:
    """``module`` with its network's body replaced by ``stages`` in the explicit form.

    The body, RegNet and stage keys give way to the lists; every other key (block, se, stem,
    head, classes, ...) is kept in its place after them.
    """
    dropped = {"body", *REGNET_KEYS, *STAGE_KEYS}
    network = module.network or NetworkDef(())
    kept = tuple(s for s in network.settings if s.key not in dropped)
    return replace(
        module, version=max(module.version, 2), network=NetworkDef((*stage_settings(stages), *kept))
    )
