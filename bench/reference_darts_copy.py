"""nasgen's DARTS_V2 copied into the hand-written reference (``reference_darts.py``), checked.

``copy_from_nasgen(nasgen_model, ref)`` pairs the two networks structurally (stem, each
cell's input projections, each block's two ops in genotype order, auxiliary head,
classifier), walks the parametrised leaves of each pair in order, checks that the layer
types and every tensor shape agree, copies parameters and BN buffers, and finally checks
that every tensor of both models was paired exactly once. Run as a script it checks the
reference's parameter counts and, if nasgen is importable, that the reference computes the
same function as ``nasgen.compile("darts_v2")``::

    python bench/reference_darts_copy.py
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import torch
from reference_darts import PARAMS, PARAMS_WITH_AUX, Cell, ReferenceDartsCifar, count_parameters
from torch import Tensor, nn

__all__ = ["check_against_nasgen", "copy_from_nasgen", "randomise"]

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
