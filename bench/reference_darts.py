"""A hand-written DARTS CIFAR evaluation network (genotype DARTS_V2), independent of nasgen.

Written from the published description (Liu, Simonyan, Yang, "DARTS: Differentiable
Architecture Search", ICLR 2019), to check and time the network nasgen compiles from
``genotypes/darts_v2.cell``:

- stem: conv 3x3 (3 -> 3C) + BN;
- ``layers`` cells, reductions at ``layers // 3`` and ``2 * layers // 3`` where C doubles;
- each cell: s0 through FactorizedReduce when the previous cell reduced, else ReLU-1x1-BN;
  s1 through ReLU-1x1-BN; four nodes, each the sum of two ops on earlier states; stride 2
  only for ops that read s0/s1 in a reduction cell; output = concat of nodes 2..5;
- ops: sep_conv_3x3 = (ReLU - dw 3x3 - pw 1x1 - BN) twice, stride in the first;
  dil_conv_3x3 = ReLU - dw 3x3 dilation 2 - pw 1x1 - BN; max_pool_3x3 padding 1;
  skip_connect = identity, or FactorizedReduce at stride 2;
- auxiliary head on the output of cell ``2 * layers // 3`` (training only): ReLU - avgpool 5
  stride 3 - 1x1 conv 128 - BN - ReLU - 2x2 conv 768 - BN - ReLU - linear;
- global average pooling and a linear classifier.

Like nasgen's module, eval mode returns logits and train mode ``(logits, aux_logits)``.
Drop path (training, ``drop_path_prob > 0``) zeroes whole samples of every non-identity op.

Run as a script it checks the parameter counts (3,349,342 without the auxiliary head,
3,825,768 with it) and, if nasgen is importable, that the reference computes the same
function as ``nasgen.compile("darts_v2")`` after ``copy_from_nasgen``::

    python bench/reference_darts.py

``copy_from_nasgen(nasgen_model, ref)`` pairs the two networks structurally (stem, each
cell's input projections, each block's two ops in genotype order, auxiliary head,
classifier), walks the parametrised leaves of each pair in order, checks that the layer
types and every tensor shape agree, copies parameters and BN buffers, and finally checks
that every tensor of both models was paired exactly once.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence

import torch
from torch import Tensor, nn

# (op, input) pairs, two per node; inputs 0 = s0 (h_{i-1}), 1 = s1 (h_i), 2.. = nodes.
DARTS_V2_NORMAL: tuple[tuple[str, int], ...] = (
    ("sep_conv_3x3", 0),
    ("sep_conv_3x3", 1),
    ("sep_conv_3x3", 0),
    ("sep_conv_3x3", 1),
    ("sep_conv_3x3", 1),
    ("skip_connect", 0),
    ("skip_connect", 0),
    ("dil_conv_3x3", 2),
)
DARTS_V2_REDUCE: tuple[tuple[str, int], ...] = (
    ("max_pool_3x3", 0),
    ("max_pool_3x3", 1),
    ("skip_connect", 2),
    ("max_pool_3x3", 1),
    ("max_pool_3x3", 0),
    ("skip_connect", 2),
    ("skip_connect", 2),
    ("max_pool_3x3", 1),
)
DARTS_V2_CONCAT = (2, 3, 4, 5)

PARAMS = 3_349_342  # without the auxiliary head (the paper's 3.3M)
PARAMS_WITH_AUX = 3_825_768

__all__ = [
    "DARTS_V2_CONCAT",
    "DARTS_V2_NORMAL",
    "DARTS_V2_REDUCE",
    "PARAMS",
    "PARAMS_WITH_AUX",
    "DartsCifar",
    "ReferenceDartsCifar",
    "check_against_nasgen",
    "copy_from_nasgen",
    "count",
    "count_parameters",
    "randomise",
]


# ---------------------------------------------------------------------------------- layers


class ReLUConvBN(nn.Module):
    """ReLU - conv (no bias) - BN."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 1, stride: int = 1) -> None:
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the layer."""
        return self.bn(self.conv(self.relu(x)))  # type: ignore[no-any-return]


class FactorizedReduce(nn.Module):
    """ReLU - two 1x1 stride-2 convs, on x and on x[:, :, 1:, 1:] - concat - BN."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        if c_out % 2:
            raise ValueError("FactorizedReduce needs an even number of output channels")
        self.relu = nn.ReLU(inplace=False)
        self.path_a = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.path_b = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the layer."""
        x = self.relu(x)
        a = self.path_a(x)
        b = self.path_b(x[:, :, 1:, 1:])
        return self.bn(torch.cat((a, b), dim=1))  # type: ignore[no-any-return]


class SepConv3x3(nn.Module):
    """(ReLU - depthwise 3x3 - pointwise 1x1 - BN) x 2; the stride is in the first depthwise."""

    def __init__(self, c: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c, c, 3, stride, 1, groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False),
            nn.BatchNorm2d(c),
            nn.ReLU(inplace=False),
            nn.Conv2d(c, c, 3, 1, 1, groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False),
            nn.BatchNorm2d(c),
        )

    def forward(self, x: Tensor) -> Tensor:
        """Apply the layer."""
        return self.body(x)  # type: ignore[no-any-return]


class DilConv3x3(nn.Module):
    """ReLU - depthwise 3x3 dilation 2 padding 2 - pointwise 1x1 - BN."""

    def __init__(self, c: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c, c, 3, stride, 2, dilation=2, groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False),
            nn.BatchNorm2d(c),
        )

    def forward(self, x: Tensor) -> Tensor:
        """Apply the layer."""
        return self.body(x)  # type: ignore[no-any-return]


def make_op(name: str, c: int, stride: int) -> nn.Module:
    """The layer of one genotype op at width ``c``."""
    if name == "sep_conv_3x3":
        return SepConv3x3(c, stride)
    if name == "dil_conv_3x3":
        return DilConv3x3(c, stride)
    if name == "max_pool_3x3":
        return nn.MaxPool2d(3, stride=stride, padding=1)
    if name == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(c, c)
    raise ValueError(f"op {name!r} is not used by DARTS_V2")


def _drop_path(x: Tensor, prob: float) -> Tensor:
    keep = 1.0 - prob
    mask = torch.empty(x.size(0), 1, 1, 1, dtype=x.dtype, device=x.device).bernoulli_(keep)
    return x / keep * mask


class Cell(nn.Module):
    """One DARTS cell (normal or reduction)."""

    def __init__(
        self,
        genotype: Sequence[tuple[str, int]],
        concat: Sequence[int],
        c_prev_prev: int,
        c_prev: int,
        c: int,
        *,
        reduction: bool,
        reduction_prev: bool,
    ) -> None:
        super().__init__()
        self.reduction = reduction
        if reduction_prev:
            self.preprocess0: nn.Module = FactorizedReduce(c_prev_prev, c)
        else:
            self.preprocess0 = ReLUConvBN(c_prev_prev, c)
        self.preprocess1 = ReLUConvBN(c_prev, c)
        self.ops = nn.ModuleList()
        for name, index in genotype:
            stride = 2 if reduction and index < 2 else 1
            self.ops.append(make_op(name, c, stride))
        self.inputs = tuple(index for _, index in genotype)
        self.concat = tuple(concat)
        self.nodes = len(genotype) // 2
        self.multiplier = len(self.concat)

    def forward(self, s0: Tensor, s1: Tensor, drop_prob: float = 0.0) -> Tensor:
        """Apply the cell to h_{i-1} (s0) and h_i (s1)."""
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for node in range(self.nodes):
            total: Tensor | None = None
            for j in (2 * node, 2 * node + 1):
                op = self.ops[j]
                h = op(states[self.inputs[j]])
                if self.training and drop_prob > 0.0 and not isinstance(op, nn.Identity):
                    h = _drop_path(h, drop_prob)
                total = h if total is None else total + h
            assert total is not None
            states.append(total)
        return torch.cat([states[i] for i in self.concat], dim=1)


class AuxiliaryHeadCifar(nn.Module):
    """Auxiliary classifier for an 8x8 input."""

    def __init__(self, c: int, classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.AvgPool2d(5, stride=3, padding=0, count_include_pad=False),  # 8x8 -> 2x2
            nn.Conv2d(c, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=False),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.BatchNorm2d(768),
            nn.ReLU(inplace=False),
        )
        self.classifier = nn.Linear(768, classes)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the head."""
        return self.classifier(self.features(x).flatten(1))  # type: ignore[no-any-return]


class ReferenceDartsCifar(nn.Module):
    """DARTS NetworkCIFAR with the DARTS_V2 genotype (C=36, 20 layers, 10 classes)."""

    def __init__(
        self,
        c: int = 36,
        layers: int = 20,
        classes: int = 10,
        *,
        auxiliary: bool = True,
        stem_multiplier: int = 3,
        drop_path_prob: float = 0.0,
    ) -> None:
        super().__init__()
        self.layers = layers
        self.auxiliary = auxiliary
        self.drop_path_prob = drop_path_prob
        self.aux_at = 2 * layers // 3
        c_curr = stem_multiplier * c
        self.stem = nn.Sequential(
            nn.Conv2d(3, c_curr, 3, padding=1, bias=False), nn.BatchNorm2d(c_curr)
        )
        c_prev_prev, c_prev, c_curr = c_curr, c_curr, c
        self.cells = nn.ModuleList()
        reduction_prev = False
        c_aux = 0
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                c_curr *= 2
            genotype = DARTS_V2_REDUCE if reduction else DARTS_V2_NORMAL
            cell = Cell(
                genotype,
                DARTS_V2_CONCAT,
                c_prev_prev,
                c_prev,
                c_curr,
                reduction=reduction,
                reduction_prev=reduction_prev,
            )
            self.cells.append(cell)
            reduction_prev = reduction
            c_prev_prev, c_prev = c_prev, cell.multiplier * c_curr
            if i == self.aux_at:
                c_aux = c_prev
        self.aux_head = AuxiliaryHeadCifar(c_aux, classes) if auxiliary else None
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, classes)

    def forward(self, x: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        """Logits; in training mode with the auxiliary head, ``(logits, aux_logits)``."""
        aux_logits: Tensor | None = None
        s0 = s1 = self.stem(x)
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
            if i == self.aux_at and self.aux_head is not None and self.training:
                aux_logits = self.aux_head(s1)
        logits = self.classifier(self.global_pooling(s1).flatten(1))
        if aux_logits is not None:
            return logits, aux_logits
        return logits  # type: ignore[no-any-return]


def count_parameters(model: nn.Module, *, aux: bool = False) -> int:
    """Parameters, without the auxiliary head unless ``aux`` (the paper's count)."""
    skip = ("aux_head.", "aux.")
    return sum(p.numel() for n, p in model.named_parameters() if aux or not n.startswith(skip))


# ------------------------------------------------------------------ nasgen -> reference copy

_LEAVES = (nn.Conv2d, nn.BatchNorm2d, nn.Linear)


def _leaves(module: nn.Module) -> Iterator[tuple[str, nn.Module]]:
    """Parametrised leaf layers in registration order (the order they are applied)."""
    for name, m in module.named_modules():
        if isinstance(m, _LEAVES):
            yield name, m
        elif not isinstance(m, _LEAVES) and any(True for _ in m.parameters(recurse=False)):
            raise TypeError(f"unexpected parametrised layer {type(m).__name__} at {name!r}")


def _block_ops(block: nn.Module, path: str) -> list[nn.Module]:
    """The ops of a nasgen two-op block (``add`` node), in source order: ``left``, ``right``."""
    kids = dict(block.named_children())
    if set(kids) != {"left", "right"}:
        raise KeyError(f"{path}: expected children left/right, found {sorted(kids)}")
    return [kids["left"], kids["right"]]


def _pairs(src: nn.Module, ref: ReferenceDartsCifar) -> list[tuple[str, nn.Module, nn.Module]]:
    """(label, nasgen submodule, reference submodule) pairs covering both networks."""
    get = src.get_submodule
    pairs: list[tuple[str, nn.Module, nn.Module]] = [("stem", get("stem"), ref.stem)]
    for i, cell in enumerate(ref.cells):
        assert isinstance(cell, Cell)
        pairs.append((f"cells.{i}.h_prev", get(f"cells.{i}.h_prev"), cell.preprocess0))
        pairs.append((f"cells.{i}.h", get(f"cells.{i}.h"), cell.preprocess1))
        for node in range(cell.nodes):
            path = f"cells.{i}.b{node + 1}"
            ops = _block_ops(get(path), path)
            for side, j in zip(("left", "right"), (2 * node, 2 * node + 1), strict=True):
                pairs.append((f"{path}.{side}", ops[j - 2 * node], cell.ops[j]))
    if ref.aux_head is not None:
        pairs.append(("aux", get("aux"), ref.aux_head))
    pairs.append(("head", get("head"), ref.classifier))
    return pairs


def copy_from_nasgen(src: nn.Module, ref: ReferenceDartsCifar) -> int:
    """Copy parameters and BN buffers of nasgen's DARTS_V2 into ``ref``; return tensors copied.

    Raises ``ValueError`` when the structures disagree (layer type, count or shape) or when a
    tensor of either model is left unpaired.
    """
    seen_src: set[int] = set()
    seen_ref: set[int] = set()
    copied = 0
    with torch.no_grad():
        for label, a, b in _pairs(src, ref):
            la, lb = list(_leaves(a)), list(_leaves(b))
            if [type(m) for _, m in la] != [type(m) for _, m in lb]:
                raise ValueError(
                    f"{label}: layer types differ: nasgen {[type(m).__name__ for _, m in la]}"
                    f" vs reference {[type(m).__name__ for _, m in lb]}"
                )
            for (na, ma), (nb, mb) in zip(la, lb, strict=True):
                ta = dict(ma.named_parameters(recurse=False)) | dict(
                    ma.named_buffers(recurse=False)
                )
                tb = dict(mb.named_parameters(recurse=False)) | dict(
                    mb.named_buffers(recurse=False)
                )
                if set(ta) != set(tb):
                    raise ValueError(f"{label}.{na} vs {nb}: tensors {sorted(ta)} vs {sorted(tb)}")
                for key, t in ta.items():
                    if t.shape != tb[key].shape:
                        raise ValueError(
                            f"{label}: nasgen {na}.{key} {tuple(t.shape)} vs reference"
                            f" {nb}.{key} {tuple(tb[key].shape)}"
                        )
                    tb[key].copy_(t)
                    seen_src.add(id(t))
                    seen_ref.add(id(tb[key]))
                    copied += 1
    left_src = [n for n, t in _named_tensors(src) if id(t) not in seen_src]
    left_ref = [n for n, t in _named_tensors(ref) if id(t) not in seen_ref]
    if left_src or left_ref:
        raise ValueError(f"unpaired tensors: nasgen {left_src[:5]}, reference {left_ref[:5]}")
    return copied


def _named_tensors(model: nn.Module) -> Iterator[tuple[str, Tensor]]:
    yield from model.named_parameters()
    yield from model.named_buffers()


# Names used by tests/backends/test_reference_parity.py.
DartsCifar = ReferenceDartsCifar


def count(model: nn.Module) -> int:
    """Parameters without the auxiliary head (kept for tests/backends/test_reference_parity.py)."""
    return count_parameters(model)


def randomise(model: nn.Module, seed: int) -> None:
    """Random BN affine parameters and running statistics (so eval BN is not the identity)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.weight.copy_(1.0 + 0.2 * torch.randn(n, generator=g))
                m.bias.copy_(0.1 * torch.randn(n, generator=g))
                assert m.running_mean is not None and m.running_var is not None
                m.running_mean.copy_(0.1 * torch.randn(n, generator=g))
                m.running_var.copy_(0.5 + torch.rand(n, generator=g))


def check_against_nasgen(
    nasgen_model: nn.Module | None = None, *, batch: int = 4, seed: int = 0, train: bool = True
) -> dict[str, float]:
    """Copy nasgen's DARTS_V2 into a fresh reference and compare; return the differences.

    Keys: ``eval`` (max |diff| of float32 eval logits with randomised BN statistics), and with
    ``train``, in float64 (train-mode BN over a small batch amplifies float32 rounding by
    orders of magnitude, which would hide a real difference): ``train`` and ``train_aux`` (max
    |diff| of the two outputs) and ``grad`` (largest gradient difference over all parameters
    after the same loss, relative to that parameter's largest gradient). The model given is
    not modified: a copy is used.
    """
    import copy

    import nasgen

    src = nasgen.compile("darts_v2", seed=seed) if nasgen_model is None else nasgen_model
    src = copy.deepcopy(src)
    randomise(src, seed + 1)
    ref = ReferenceDartsCifar()
    copy_from_nasgen(src, ref)
    g = torch.Generator().manual_seed(seed + 2)
    x = torch.randn(batch, 3, 32, 32, generator=g)
    out: dict[str, float] = {}
    src.eval()
    ref.eval()
    with torch.inference_mode():
        out["eval"] = (src(x) - ref(x)).abs().max().item()
    if train:
        src.double().train()
        ref.double().train()
        x = x.double()
        y = torch.randint(0, 10, (batch,), generator=g)
        (la, xa), (lb, xb) = src(x), ref(x)
        out["train"] = (la - lb).abs().max().item()
        out["train_aux"] = (xa - xb).abs().max().item()
        ce = nn.functional.cross_entropy
        (ce(la, y) + 0.4 * ce(xa, y)).backward()  # type: ignore[no-untyped-call]
        (ce(lb, y) + 0.4 * ce(xb, y)).backward()  # type: ignore[no-untyped-call]
        worst = 0.0
        for _, a, b in _pairs(src, ref):
            for (_, ma), (_, mb) in zip(_leaves(a), _leaves(b), strict=True):
                for key, p in ma.named_parameters(recurse=False):
                    q = getattr(mb, key)
                    assert p.grad is not None and q.grad is not None
                    scale = max(q.grad.abs().max().item(), 1e-12)
                    worst = max(worst, (p.grad - q.grad).abs().max().item() / scale)
        out["grad"] = worst
    return out


def main() -> int:
    """Check the parameter counts and the equivalence with nasgen; exit 1 on a mismatch."""
    ref = ReferenceDartsCifar()
    n, n_aux = count_parameters(ref), count_parameters(ref, aux=True)
    ok = n == PARAMS and n_aux == PARAMS_WITH_AUX
    print(
        f"reference parameters: {n:,} (expected {PARAMS:,}), with aux {n_aux:,}"
        f" (expected {PARAMS_WITH_AUX:,})"
    )
    try:
        import nasgen  # noqa: F401
    except ImportError:
        print("nasgen not importable: equivalence not checked")
        return 0 if ok else 1
    diffs = check_against_nasgen()
    for key, value in diffs.items():
        what = "float64, relative" if key == "grad" else "float64" if key != "eval" else "float32"
        print(f"max |nasgen - reference| {key:<9} {value:.3e}  ({what})")
    ok = ok and diffs["eval"] <= 1e-5
    ok = ok and max(diffs["train"], diffs["train_aux"], diffs["grad"]) <= 1e-9
    print("OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
