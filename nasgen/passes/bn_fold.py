"""BatchNorm folding (inference only).

Rules:
  - In eval mode a BatchNorm right after a conv is an affine map per channel, so it folds
    into the conv: ``w' = w * g / sqrt(v + eps)``, ``b' = beta - m * g / sqrt(v + eps)``.
  - Every op whose registry entry declares ``bn_channels`` (conv_bn, sep_conv, fac_conv,
    factorized_reduce, resnet_block) gets ``fold_bn = true``; each folded channel has one bias
    instead of a scale and a shift, so the count drops by one per channel.
  - A BatchNorm that follows no conv (NB-201's final ``batch_norm``) stays.
  - Not a training pass: folded BN no longer normalises by batch statistics.
"""

from __future__ import annotations

from dataclasses import replace

from nasgen.ir import IRGraph
from nasgen.passes.base import Change, Pass, change

__all__ = ["BN_FOLD"]


def _run(graph: IRGraph) -> list[Change]:
    changes = []
    for node_id in [n.id for n in graph.nodes()]:
        node = graph.node(node_id)  # fresh: earlier rewrites may have changed its operands
        channels = node.op_def.bn_channels
        if channels is None or node.attrs.get_bool("fold_bn"):
            continue
        count = channels(node.attrs, node.shape)
        if count == 0:
            continue
        graph.update(replace(node, attrs=node.attrs.replace(fold_bn=True)))
        changes.append(change("folded", node, detail=f"{count} BN channels into its convs"))
    return changes


BN_FOLD = Pass("bn_fold", ("inference",), _run, __doc__ or "")
