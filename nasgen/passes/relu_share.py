"""ReLU sharing.

Rules:
  - Most cell ops start with a ReLU of their input (``sep_conv``, ``conv_bn`` and
    ``factorized_reduce`` with ``relu``, ``fac_conv``); the registry names the attribute that
    switches it (``OpDef.relu_attr``).
  - When two or more such ops read the same state, one ``relu`` node is inserted after the
    state, the ops read it and their own leading ReLU is switched off. In a NASNet-A normal cell
    h_i and h_{i-1} are each read by three separable convs: two ReLUs instead of six.
  - Outputs are unchanged (ReLU is a pure function of the state) and no weight is touched,
    so the pass is valid in training too; the new node is named ``<state>.relu_out``.
"""

from __future__ import annotations

from dataclasses import replace

from nasgen.ir import IRGraph, IRNode
from nasgen.ops import Attrs
from nasgen.passes.base import Change, Pass, change

__all__ = ["RELU_SHARE"]


def _relu_first(node: IRNode) -> bool:
    attr = node.op_def.relu_attr
    return attr is not None and node.attrs.get_bool(attr, True)


def _run(graph: IRGraph) -> list[Change]:
    changes = []
    for node_id in [n.id for n in graph.nodes()]:
        node = graph.node(node_id)
        readers = [graph.node(r) for r in graph.consumers(node_id)]
        readers = [r for r in readers if r.inputs == (node_id,) and _relu_first(r)]
        if len(readers) < 2:
            continue
        relu = graph.add(
            IRNode(
                id=f"{node_id}.relu_out",
                op="relu",
                attrs=Attrs(),
                inputs=(node_id,),
                in_shapes=(node.shape,),
                shape=node.shape,
                stage=node.stage,
                role="activation",
                cell=node.cell,
                block=node.block,
                span=node.span,
            ),
            after=node_id,
        )
        for reader in readers:
            graph.set_inputs(reader.id, (relu.id,))
            attr = reader.op_def.relu_attr
            assert attr is not None
            current = graph.node(reader.id)
            graph.update(replace(current, attrs=current.attrs.replace(**{attr: False})))
        changes.append(change("shared", node, detail=f"one ReLU for {len(readers)} readers"))
    return changes


RELU_SHARE = Pass("relu_share", ("train", "inference"), _run, __doc__ or "")
