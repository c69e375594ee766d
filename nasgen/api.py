"""The pipeline facade: source -> AST -> architecture -> IR -> validation and cost.

Pipeline stage: facade over every stage. Imports ``nasgen.errors``, ``nasgen.dsl`` and
``nasgen.ir``; backends are imported lazily by the functions that need them, so importing
this module imports no framework.
"""

from __future__ import annotations

import json
import operator
import sys
from collections.abc import Callable, Mapping
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
from nasgen.dsl.network import KEYS, coerce
from nasgen.dsl.options import ARGUMENT
from nasgen.dsl.printer import print_module
from nasgen.dsl.source import decode_source
from nasgen.errors import BackendError, DslSemanticError, DslSyntaxError, SourceText
from nasgen.ir import CostReport, IRGraph, lower, validate
from nasgen.ir.memory import (
    BUILD_PEAK_FACTOR,
    COPY_PEAK_FACTOR,
    MaxMemory,
    MemoryLimit,
    check_memory,
    format_bytes,
    memory_estimate,
    memory_limit,
    parse_memory_size,
    weight_bytes,
)
from nasgen.ir.static_cost import static_cost
from nasgen.passes import Optimized, optimize

__all__ = [
    "MAX_SEED",
    "MIN_SEED",
    "Analysis",
    "CompileOptions",
    "MemoryLimit",
    "analyze",
    "analyze_module",
    "build",
    "check_build_memory",
    "check_memory",
    "check_seed",
    "compile",
    "cost_module",
    "inference_module",
    "load",
    "load_source",
    "memory_estimate",
    "memory_limit",
    "optimized",
    "options_for",
    "parse_memory_size",
    "parse_source",
    "save",
    "to_onnx",
]

MIN_SEED = 0
"""The smallest seed (``torch.manual_seed`` also takes negatives, as aliases: -1 is 2**64-1)."""
MAX_SEED = 2**64 - 1
"""The largest seed ``torch.manual_seed`` takes (it raises ``Overflow`` above)."""


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
    if isinstance(source, str) and not source.strip():
        raise DslSyntaxError(
            "E105",
            "empty source: give a .cell path, a bundled genotype name or DSL text",
            hint="e.g. nasnet_a, darts_v2.cell or genotypes/my_cell.cell",
        )
    if not isinstance(source, str | Path):
        raise DslSyntaxError("E108", f"source must be a path or a string, not {type(source)}")
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


def analyze_module(
    module: Module, options: CompileOptions | None = None, text: SourceText | None = None
) -> Analysis:
    """``analyze`` of a module built in memory (a search space's sample): no text is parsed.

    ``text`` is the module's source when there is one; otherwise its canonical text.
    """
    arch = resolve(module, options)
    graph = lower(arch)
    report = validate(graph)
    source = text or SourceText("<generated>", print_module(module))
    return Analysis(source, module, arch, graph, report)


def cost_module(
    module: Module, options: CompileOptions | None = None
) -> tuple[Architecture, CostReport]:
    """Resolve, validate and cost a module built in memory, without building its IR graph.

    The search loop's path (a proposal's verdict and cost, thousands a second): the same report
    and the same errors as ``analyze_module`` (``nasgen.ir.static_cost`` lowers each distinct
    cell body once; on any doubt the full lowering runs and raises its located error).
    """
    arch = resolve(module, options)
    report = static_cost(arch)
    return arch, report if report is not None else validate(lower(arch))


def check_seed(seed: object) -> int | None:
    """``seed`` as an int in ``[MIN_SEED, MAX_SEED]`` (or None), else E541."""
    if seed is None:
        return None
    try:
        value = None if isinstance(seed, bool) else operator.index(seed)  # type: ignore[arg-type]
    except TypeError:
        value = None
    if value is None or not MIN_SEED <= value <= MAX_SEED:
        raise BackendError(
            "E541",
            f"seed must be an integer from {MIN_SEED} to {MAX_SEED} (2**64 - 1), got {seed!r}"
            " (argument seed)",
        )
    return value


def _as_value(value: object) -> Value | None:
    """A Python value as a DSL value; None for one the language has no spelling of."""
    if isinstance(value, bool):
        return Ident("true" if value else "false")
    if isinstance(value, str):
        return Ident(value)
    if isinstance(value, int | float):
        return value
    return None


def _unknown_key(key: str, where: str) -> None:
    """E208 (with "did you mean") for a key that is no network key."""
    if key not in KEYS:
        coerce(key, Ident(""), None, where)


def _argument(key: str, value: object) -> Value:
    typed = _as_value(value)
    if typed is None:
        _unknown_key(key, f" (argument {key})")
        spec = KEYS.get(key)
        raise DslSemanticError(
            "E209",
            f"`{key}` cannot be {value!r} (argument {key})",
            hint=spec.doc if spec else None,
        )
    return typed


def options_for(
    *,
    N: int | None = None,
    F: int | None = None,
    variant: str | None = None,
    **settings: object,
) -> CompileOptions:
    """``CompileOptions`` from keyword arguments (``N``, ``F``, ``variant``, any network key).

    Diagnostics name the values ``(argument KEY)``; a value the language cannot hold (None for
    a network key, a list...) is E209, a ``variant`` that is not a name E220.
    """
    if variant is not None and not isinstance(variant, str):
        raise DslSemanticError(
            "E220",
            f"variant must be the name of a variant block, not {variant!r} (argument variant)",
        )
    pairs = [(k, _argument(k, v)) for k, v in (("N", N), ("F", F)) if v is not None]
    pairs += [(key, _argument(key, value)) for key, value in settings.items()]
    return CompileOptions(variant=variant, settings=tuple(pairs), origin=ARGUMENT)


def _stored_options(
    values: Mapping[str, object], origin: str, show: Callable[[object], str] = repr
) -> CompileOptions:
    """``CompileOptions`` of stored settings (E503); ``show`` spells a value in the error."""
    pairs = []
    for key, value in values.items():
        typed = _as_value(value)
        if typed is None:
            where = CompileOptions(origin=origin).where(key)
            _unknown_key(key, where)
            raise BackendError("E503", f"`{key}` cannot be {show(value)}{where}")
        pairs.append((key, typed))
    return CompileOptions(settings=tuple(pairs), origin=origin)


def _reanalyze(module: Any, name: str) -> Analysis:
    """The analysis of a compiled module's own genotype text and settings."""
    text = str(module.nasgen_source).encode("utf-8", "surrogatepass")
    origin = "nasgen_options of the module, key"
    return analyze(decode_source(text, name), _stored_options(module.nasgen_options, origin))


def compile(
    source: str | Path,
    *,
    N: int | None = None,
    F: int | None = None,
    seed: int | None = None,
    variant: str | None = None,
    max_memory: MaxMemory = None,
    **settings: object,
) -> Any:
    """Compile a .cell source (path, bundled name or DSL text) to a trainable ``nn.Module``.

    Args:
        source: a path, a bundled genotype name (``"nasnet_a.cell"``) or DSL text.
        N: normal cells per stage (overrides the file).
        F: filters of the first stage (overrides the file).
        seed: seed for the initial weights (same seed, same weights), 0 to 2**64 - 1.
        variant: a ``variant`` block of the file to apply first.
        max_memory: refuse (E540) a build estimated above this many bytes, or a size such as
            ``"64G"``; ``"none"`` disables the guard. Default: ``$NASGEN_MEMORY_LIMIT``, else
            the memory available (see ``check_build_memory``).
        **settings: any other network key, e.g. ``classes=10``, ``aux_head="none"``.

    Returns:
        A ``nasgen.backends.torch.NasgenNet``; ``model.nasgen_source`` holds the canonical
        genotype text and ``model.nasgen_options`` the network settings it was built with.

    """
    seed = check_seed(seed)
    options = options_for(N=N, F=F, variant=variant, **settings)
    return build(analyze(source, options), seed, max_memory=max_memory)


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


def _allocates() -> bool:
    """False inside ``with torch.device("meta")``, where a build allocates nothing."""
    torch = sys.modules.get("torch")
    return torch is None or torch.get_default_device().type != "meta"


def check_build_memory(
    result: Analysis,
    max_memory: MaxMemory = None,
    factor: float = BUILD_PEAK_FACTOR,
) -> None:
    """Refuse (E540) to build ``result`` when its estimated peak exceeds the memory limit.

    The estimate is ``memory_estimate(result.cost, factor)``; the limit is ``max_memory``
    (bytes, or a size such as ``"64G"``, or ``"none"``), else ``$NASGEN_MEMORY_LIMIT``, else
    the memory available now. Every build of this module runs it before allocating.
    """
    if not _allocates():
        return
    report = result.cost
    params = report.params + report.aux_params
    what = (
        f"{result.module.name or result.source.path} ({params:,} parameters, "
        f"{format_bytes(weight_bytes(report))} of float32 weights)"
    )
    check_memory(memory_estimate(report, factor), max_memory, what=what)


def build(result: Analysis, seed: int | None = None, *, max_memory: MaxMemory = None) -> Any:
    """The PyTorch module of an analysed architecture (see ``compile``, ``check_build_memory``)."""
    seed = check_seed(seed)
    check_build_memory(result, max_memory)
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
        result = _reanalyze(module, "nasgen.source")
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


def inference_module(module: Any, level: int = 1, *, max_memory: MaxMemory = None) -> Any:
    """An eval-mode copy of a compiled module, optimised for inference with the same outputs.

    The module's own genotype is recompiled, optimised in the inference form (dead states and
    the auxiliary head removed, identities folded, equal pools merged, BatchNorm folded into
    the convs from the running statistics), and given the module's weights. It copies the
    weights once; ``max_memory`` as in ``compile``.
    """
    import copy

    result = _reanalyze(module, "<module>")
    check_build_memory(result, max_memory, COPY_PEAK_FACTOR)
    from nasgen.backends.torch import build_with_weights, fold_batchnorm_

    fast, _ = optimized(result, level, "inference")
    source = copy.deepcopy(module).eval()
    for node in fast.graph.nodes():
        if node.attrs.get_bool("fold_bn"):
            fold_batchnorm_(source.get_submodule(node.id))
    state = source.state_dict()
    target = build_with_weights(fast.graph, module.nasgen_source, module.nasgen_options, state)
    return target.eval()


def save(module: Any, path: str | Path) -> Path:
    """Write a compiled module to a safetensors checkpoint with its genotype text and options."""
    from nasgen import __version__
    from nasgen.backends.torch import write_checkpoint

    return write_checkpoint(module, module.nasgen_source, module.nasgen_options, __version__, path)


def load(path: str | Path, *, max_memory: MaxMemory = None) -> Any:
    """Rebuild a module from a checkpoint written by ``save`` and load its weights.

    The checkpoint is safetensors: tensors and text metadata, never unpickled. Nothing in it is
    trusted: the container, the metadata and every tensor's name, shape and dtype are checked
    against the genotype before anything is allocated (E503, E504), and the build is guarded
    like ``compile``'s (E540; ``max_memory`` as there).
    """
    from nasgen.backends.torch.header import check_parameter_count, read_header

    header = read_header(path)
    text = header.source.encode("utf-8", "surrogatepass")
    options = _stored_options(header.options, header.options_origin, json.dumps)
    result = analyze(decode_source(text, header.source_name), options)
    check_parameter_count(header, result.cost)
    check_build_memory(result, max_memory)
    from nasgen.backends.torch import load_module

    return load_module(header, result.graph, header.source, result.arch.network.as_dict())
