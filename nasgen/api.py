"""The pipeline facade: source -> AST -> architecture -> IR -> validation and cost.

Pipeline stage: facade over every stage. Imports ``nasgen.errors``, ``nasgen.dsl`` and
``nasgen.ir``; backends are imported lazily by the functions that need them, so importing
this module imports no framework.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from nasgen.dsl import (
    Architecture,
    CompileOptions,
    Module,
    parse,
    read_bundled,
    read_source,
    resolve,
)
from nasgen.dsl.ast import Ident, Value
from nasgen.dsl.printer import print_module
from nasgen.dsl.source import decode_source
from nasgen.errors import SourceText
from nasgen.ir import CostReport, IRGraph, lower, validate
from nasgen.passes import Optimized, optimize

__all__ = [
    "Analysis",
    "CompileOptions",
    "analyze",
    "build",
    "compile",
    "inference_module",
    "load",
    "load_source",
    "optimized",
    "options_for",
    "parse_source",
    "save",
    "to_onnx",
]


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything the front end and the IR know about one compiled architecture."""

    source: SourceText
    module: Module
    arch: Architecture
    graph: IRGraph
    cost: CostReport


def _looks_like_text(source: str) -> bool:
    # A NUL cannot be in a path; such a string is (bad) text, reported as a binary file.
    return "\n" in source or "\0" in source or source.lstrip().startswith("nasgen ")


def load_source(source: str | Path) -> SourceText:
    """Read a .cell source given as a path, a bundled genotype name or DSL text.

    A string containing a newline or starting with ``nasgen `` is DSL text; otherwise an
    existing path is read, then a bundled genotype (``nasnet_a`` or ``nasnet_a.cell``) is tried.
    """
    if isinstance(source, str) and _looks_like_text(source):
        return decode_source(source.encode("utf-8"), "<string>")
    path = Path(source)
    if path.exists():
        return read_source(path)
    bundled = read_bundled(str(source)) if isinstance(source, str) else None
    return bundled if bundled is not None else read_source(path)


def parse_source(source: str | Path) -> Module:
    """Load and parse a source (see ``load_source``)."""
    return parse(load_source(source))


def analyze(source: str | Path | SourceText, options: CompileOptions | None = None) -> Analysis:
    """Parse, resolve, lower and validate; raise ``NasgenError`` on any problem."""
    text = source if isinstance(source, SourceText) else load_source(source)
    module = parse(text)
    arch = resolve(module, options)
    graph = lower(arch)
    report = validate(graph)
    return Analysis(text, module, arch, graph, report)


def _as_value(value: object) -> Value:
    if isinstance(value, bool):
        return Ident("true" if value else "false")
    if isinstance(value, str):
        return Ident(value)
    assert isinstance(value, int | float)
    return value


def options_for(
    *,
    N: int | None = None,
    F: int | None = None,
    variant: str | None = None,
    **settings: object,
) -> CompileOptions:
    """``CompileOptions`` from keyword arguments (``N``, ``F``, ``variant``, any network key)."""
    pairs = tuple((key, _as_value(value)) for key, value in settings.items())
    return CompileOptions(N, F, variant, pairs)


def compile(
    source: str | Path,
    *,
    N: int | None = None,
    F: int | None = None,
    seed: int | None = None,
    variant: str | None = None,
    **settings: object,
) -> Any:
    """Compile a .cell source (path, bundled name or DSL text) to a trainable ``nn.Module``.

    Args:
        source: a path, a bundled genotype name (``"nasnet_a.cell"``) or DSL text.
        N: normal cells per stage (overrides the file).
        F: filters of the first stage (overrides the file).
        seed: seed for the initial weights (same seed, same weights).
        variant: a ``variant`` block of the file to apply first.
        **settings: any other network key, e.g. ``classes=10``, ``aux_head="none"``.

    Returns:
        A ``nasgen.backends.torch.NasgenNet``; ``model.nasgen_source`` holds the canonical
        genotype text and ``model.nasgen_options`` the network settings it was built with.

    """
    return build(analyze(source, options_for(N=N, F=F, variant=variant, **settings)), seed)


def optimized(
    result: Analysis,
    level: int = 1,
    form: str = "train",
    check: bool = False,
    skip: frozenset[str] = frozenset(),
) -> tuple[Analysis, Optimized]:
    """``result`` with its graph optimised (``nasgen.passes``) and the record of the passes.

    ``form = "train"`` keeps every parameter the paper counts (names and totals);
    ``"inference"`` also drops dead states and the auxiliary head and folds BatchNorm.
    """
    opt = optimize(result.graph, level, form, check, skip)
    return replace(result, graph=opt.graph, cost=opt.cost), opt


def build(result: Analysis, seed: int | None = None) -> Any:
    """The PyTorch module of an analysed architecture (see ``compile``)."""
    from nasgen.backends.torch import build_module

    text = print_module(result.module)
    return build_module(result.graph, text, result.arch.network.as_dict(), seed)


def to_onnx(
    module: Any,
    *,
    level: int = 1,
    opset: int = 18,
    dynamic_batch: bool = True,
    batch_size: int = 1,
    result: Analysis | None = None,
) -> tuple[Any, Optimized]:
    """The inference graph of a compiled module as an ONNX ``ModelProto`` (not yet written).

    The module's genotype is recompiled and optimised in the inference form (without
    ``bn_fold``: the exporter folds each BatchNorm into its conv from the module's running
    statistics); no auxiliary head, dropout or drop path. Returns the model and the record of
    the passes. Write it with ``nasgen.exporters.onnx.save_onnx`` (checked, atomic).
    ``result``, the analysis the module was built from, saves compiling its genotype again.
    """
    from nasgen.exporters.onnx import export_onnx, weights_from_state_dict

    text = module.nasgen_source
    if result is None:
        # Locations then point into the genotype text the model's metadata carries.
        result = analyze(
            decode_source(text.encode("utf-8"), "nasgen.source"),
            options_for(**module.nasgen_options),
        )
    fast, opt = optimized(result, level, "inference", skip=frozenset({"bn_fold"}))
    proto = export_onnx(
        fast.graph,
        weights_from_state_dict(module.state_dict()),
        opset=opset,
        dynamic_batch=dynamic_batch,
        batch_size=batch_size,
        source_text=text,
        options=module.nasgen_options,
    )
    return proto, opt


def inference_module(module: Any, level: int = 1) -> Any:
    """An eval-mode copy of a compiled module, optimised for inference with the same outputs.

    The module's own genotype is recompiled, optimised in the inference form (dead states and
    the auxiliary head removed, identities folded, equal pools merged, BatchNorm folded into
    the convs from the running statistics), and given the module's weights.
    """
    import copy

    from nasgen.backends.torch import build_module, fold_batchnorm_

    result = analyze(
        decode_source(module.nasgen_source.encode("utf-8"), "<module>"),
        options_for(**module.nasgen_options),
    )
    fast, _ = optimized(result, level, "inference")
    target = build_module(fast.graph, module.nasgen_source, module.nasgen_options)
    source = copy.deepcopy(module).eval()
    for node in fast.graph.nodes():
        if node.attrs.get_bool("fold_bn"):
            fold_batchnorm_(source.get_submodule(node.id))
    state = source.state_dict()
    target.load_state_dict({k: state[k] for k in target.state_dict()}, strict=True)
    return target.eval()


def save(module: Any, path: str | Path) -> Path:
    """Write a compiled module to a safetensors checkpoint with its genotype text and options."""
    from nasgen import __version__
    from nasgen.backends.torch import write_checkpoint

    return write_checkpoint(module, module.nasgen_source, module.nasgen_options, __version__, path)


def load(path: str | Path) -> Any:
    """Rebuild a module from a checkpoint written by ``save`` and load its weights.

    The checkpoint is safetensors: tensors and text metadata, never unpickled.
    """
    from nasgen.backends.torch import build_module, read_checkpoint

    tensors, text, options = read_checkpoint(path)
    result = analyze(
        decode_source(text.encode("utf-8"), f"{path}#nasgen.source"), options_for(**options)
    )
    module = build_module(result.graph, text, result.arch.network.as_dict())
    missing, unexpected = module.load_state_dict(tensors, strict=False)
    if missing or unexpected:
        from nasgen.errors import BackendError

        raise BackendError(
            "E504",
            f"{path}: weights do not match the genotype "
            f"({len(missing)} missing, {len(unexpected)} unexpected, e.g. "
            f"{(list(missing) + list(unexpected))[0]})",
        )
    return module
