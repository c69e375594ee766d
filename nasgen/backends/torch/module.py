"""``NasgenNet``: an IR graph as a trainable ``nn.Module`` with readable parameter names.

Pipeline stage: backend (IR -> **nn.Module**). Imports torch, ``nasgen.ir`` and the other
``nasgen.backends.torch`` modules.

NOTE: [Parameter names] Every IR node's layer sits in the module tree at its node id, so
``cells.5.b2.left`` (a sep_conv) owns ``cells.5.b2.left.depthwise1.weight``. A node whose id
prefixes others (the ``add`` node ``cells.5.b2``) holds them as children; pure prefixes
(``cells``, ``cells.5``) are empty containers. The forward pass runs a flat plan in the IR's
topological order, so the tree is for naming only.

NOTE: [ScheduledDropPath] In training, every operand of an ``add`` that a non-identity op
computed is dropped per sample with probability ``drop_path x progress`` (NASNet's schedule,
DARTS's ``drop_prob * epoch / epochs``); ``set_progress`` moves it. The mask is drawn per
operand, so an op read twice by one ``add`` (after common-subexpression elimination) is
dropped independently each time, as the two ops it replaced were. TF's extra scaling by layer
depth is not applied. Eval is untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import torch
from torch import Tensor, nn

from nasgen.backends.torch.lowerings import lower_node
from nasgen.ir import IRGraph, IRNode

__all__ = [
    "NasgenNet",
    "assign_weights",
    "build_module",
    "build_with_weights",
    "drop_path",
    "meta_module",
]


def drop_path(x: Tensor, prob: float) -> Tensor:
    """Zero whole samples with probability ``prob``, scaling the kept ones by 1/(1-prob)."""
    keep = 1.0 - prob
    mask = torch.empty((x.shape[0], 1, 1, 1), dtype=x.dtype, device=x.device).bernoulli_(keep)
    return x * mask / keep


class _ThenReLU:
    """A layer and the ReLU after it, as one step of the plan (not a module: no new names).

    The ReLU runs in place: the layers it follows (``_fresh``) return a new tensor that
    nothing else reads, and none needs its output for its gradient (ResNet's BN-ReLU).
    """

    __slots__ = ("layer",)

    def __init__(self, layer: Callable[..., Tensor]) -> None:
        self.layer = layer

    def __call__(self, *args: Tensor) -> Tensor:
        return torch.relu_(self.layer(*args))


def _fresh(node: IRNode) -> bool:
    """Whether the node's layer returns a new tensor its gradient does not need.

    A conv-BN; an add of two or more operands (one operand is returned as it is); a BN
    without its own ReLU (ReLU's backward reads its output).
    """
    if node.op == "conv_bn":
        return True
    if node.op == "add":
        return len(node.inputs) >= 2
    return node.op == "batch_norm" and not node.attrs.get_bool("relu", False)


@dataclass(frozen=True, slots=True)
class _Step:
    index: int
    module: Callable[..., Tensor]
    inputs: tuple[int, ...]
    drop: tuple[bool, ...]
    aux_only: bool
    release: tuple[int, ...]


class NasgenNet(nn.Module):
    """A compiled network.

    ``forward(x)`` gives logits; in training ``(logits, aux_logits)`` when the network has an
    auxiliary head.

    Attributes:
        nasgen_source: canonical text of the .cell file it was compiled from.
        nasgen_options: the network settings it was compiled with (DSL key -> value).
        drop_path_prob: the final drop-path probability (network ``drop_path``).
        aux_weight: the auxiliary loss weight (network ``aux_weight``).

    """

    def __init__(self, graph: IRGraph, source: str, options: Mapping[str, object]) -> None:
        super().__init__()
        self.nasgen_source = source
        self.nasgen_options = dict(options)
        self.drop_path_prob = graph.arch.network.drop_path
        self.aux_weight = graph.arch.network.aux_weight
        self.progress = 0.0
        nodes = list(graph.nodes())
        layers = {n.id: lower_node(n, graph.arch.convention) for n in nodes if n.op != "input"}
        self._assemble(layers)
        self._plan, self._output, self._aux = self._schedule(graph, layers)

    def _assemble(self, layers: dict[str, nn.Module]) -> None:
        for node_id in sorted(layers, key=lambda i: i.count(".")):
            parent: nn.Module = self
            *scopes, leaf = node_id.split(".")
            for part in scopes:
                child = parent._modules.get(part)
                if child is None:
                    child = nn.Module()
                    parent.add_module(part, child)
                parent = child
            parent.add_module(leaf, layers[node_id])

    @staticmethod
    def _schedule(
        graph: IRGraph, layers: dict[str, nn.Module]
    ) -> tuple[list[_Step], int, int | None]:
        nodes = list(graph.nodes())
        index = {n.id: i for i, n in enumerate(nodes)}
        aux_only: set[str] = set()
        if graph.aux_output is not None:
            main = graph.ancestors(graph.output) | {graph.output}
            aux_only = {n.id for n in nodes if n.id not in main}
        last_use: dict[int, int] = {}
        for i, n in enumerate(nodes):
            for src in n.inputs:
                last_use[index[src]] = i
        keep = {index[graph.output]} | ({index[graph.aux_output]} if graph.aux_output else set())
        release: dict[int, list[int]] = {}  # step -> values it is the last reader of
        for value, reader in last_use.items():
            if value not in keep:
                release.setdefault(reader, []).append(value)
        plan = []
        for i, n in enumerate(nodes):
            if n.op == "input":
                continue
            drop = tuple(
                n.op == "add" and graph.node(s).role == "op" and graph.node(s).op != "identity"
                for s in n.inputs
            )
            inputs = tuple(index[s] for s in n.inputs)
            plan.append(
                _Step(i, layers[n.id], inputs, drop, n.id in aux_only, tuple(release.get(i, ())))
            )
        aux = index[graph.aux_output] if graph.aux_output else None
        return _fuse_relus(graph, nodes, plan), index[graph.output], aux

    def count_parameters(self, *, aux: bool = False) -> int:
        """Trainable parameters, without the auxiliary head unless ``aux`` (the papers' count)."""
        return sum(
            p.numel()
            for name, p in self.named_parameters()
            if p.requires_grad and (aux or not name.startswith("aux."))
        )

    def set_progress(self, progress: float) -> None:
        """Training progress in [0, 1] (epoch / epochs): drop path rises linearly with it."""
        self.progress = min(max(float(progress), 0.0), 1.0)

    def forward(self, x: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        """Logits; in training mode with an auxiliary head, ``(logits, aux_logits)``."""
        values: dict[int, Tensor] = {0: x}
        with_aux = self.training and self._aux is not None
        prob = self.drop_path_prob * self.progress if self.training else 0.0
        for step in self._plan:
            if step.aux_only and not with_aux:
                continue
            args = [values[i] for i in step.inputs]
            if prob > 0.0 and any(step.drop):
                args = [
                    drop_path(a, prob) if d else a for a, d in zip(args, step.drop, strict=True)
                ]
            values[step.index] = step.module(*args)
            for i in step.release:
                values.pop(i, None)
        logits = values[self._output]
        if with_aux:
            assert self._aux is not None
            return logits, values[self._aux]
        return logits


def _fuse_relus(graph: IRGraph, nodes: list[IRNode], plan: list[_Step]) -> list[_Step]:
    """Fold each ``relu`` node into the step of its input when it is that value's only reader.

    NOTE: [Fused ReLUs] The plan is interpreted in Python, a call per IR node; a RegNet's
    conv-BN-ReLU and add-ReLU pairs are half its nodes. A ReLU whose input nothing else reads
    runs inside its input's step, at that step's place (same weights, names and numbers; the
    input's value is never stored), and in place, as a hand-written network's ReLU(inplace)
    does: bench/bench_regnet.py measures both against one.
    """
    readers: dict[str, int] = {}
    for n in nodes:
        for src in n.inputs:
            readers[src] = readers.get(src, 0) + 1
    position = {n.id: i for i, n in enumerate(nodes)}
    at = {step.index: k for k, step in enumerate(plan)}
    outputs = {graph.output, graph.aux_output}
    fused: list[_Step | None] = list(plan)
    for k, step in enumerate(plan):
        node = nodes[step.index]
        if node.op != "relu" or len(node.inputs) != 1:
            continue
        src = node.inputs[0]
        k_src = at.get(position[src])
        fresh = _fresh(graph.node(src))
        if k_src is None or readers[src] != 1 or src in outputs or not fresh:
            continue
        before = fused[k_src]
        if before is None or before.aux_only != step.aux_only:
            continue
        fused[k_src] = replace(before, index=step.index, module=_ThenReLU(before.module))
        fused[k] = None
    return [s for s in fused if s is not None]


def build_module(
    graph: IRGraph, source: str, options: Mapping[str, object], seed: int | None = None
) -> NasgenNet:
    """Build the module; with a seed the weights are the same on every run and machine."""
    if seed is None:
        return NasgenNet(graph, source, options)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return NasgenNet(graph, source, options)


def meta_module(graph: IRGraph, source: str, options: Mapping[str, object]) -> NasgenNet:
    """The module on the ``meta`` device: every name, shape and dtype, and no memory."""
    with torch.device("meta"):
        return NasgenNet(graph, source, options)


def assign_weights(module: NasgenNet, state: Mapping[str, Tensor]) -> NasgenNet:
    """``module`` (built on ``meta``) holding ``state``'s tensors themselves, not copies.

    Entries the module lacks are ignored; it must find every entry it has, with its shape.
    """
    module.load_state_dict({k: state[k] for k in module.state_dict()}, strict=True, assign=True)
    return module


def build_with_weights(
    graph: IRGraph, source: str, options: Mapping[str, object], state: Mapping[str, Tensor]
) -> NasgenNet:
    """The module holding ``state``'s tensors (see ``assign_weights``): nothing initialised."""
    return assign_weights(meta_module(graph, source, options), state)
