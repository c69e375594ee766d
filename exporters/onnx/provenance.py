"""Provenance of an exported model: node doc strings from DSL spans, model metadata.

Pipeline stage: exporter (IR -> **ONNX**). Imports ``nasgen.ir``; reads ``nasgen.__version__``.

Model ``metadata_props`` (sorted by key):

- ``nasgen.arch_hash``: sha256 (hex) of the UTF-8 source text, a NUL byte, and the options
  JSON; two exports of the same genotype with the same settings share it.
- ``nasgen.options``: the network settings as JSON with sorted keys.
- ``nasgen.source``: the canonical genotype text.
- ``nasgen.version``: the nasgen version that wrote the file.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Mapping
from importlib import metadata

from nasgen.ir import IRNode

__all__ = ["arch_hash", "doc_string", "model_metadata", "nasgen_version", "options_json"]


def doc_string(node: IRNode) -> str:
    """``cell <cell> block <block> at <file>:<line>:<col>``; stage instead of cell outside cells.

    The location is left out when the node has no span.
    """
    parts = []
    if node.cell is not None:
        parts.append(f"cell {node.cell}")
    if node.block is not None:
        parts.append(f"block {node.block}")
    if not parts:
        parts.append(f"stage {node.stage}")
    if node.span is not None:
        parts.append(f"at {node.span.location()}")
    return " ".join(parts)


def nasgen_version() -> str:
    """``nasgen.__version__``, else the installed distribution's version, else ``unknown``."""
    # The root package is always imported before this module; reading it from sys.modules
    # keeps import-linter from seeing an edge to ``nasgen`` (whose lazy API reaches torch).
    version = getattr(sys.modules.get("nasgen"), "__version__", None)
    if isinstance(version, str):
        return version
    try:
        return metadata.version("nasgen")
    except metadata.PackageNotFoundError:
        return "unknown"


def options_json(options: Mapping[str, object]) -> str:
    """The options as compact JSON with sorted keys (non-JSON values written as strings)."""
    return json.dumps(dict(options), sort_keys=True, separators=(",", ":"), default=str)


def arch_hash(source_text: str, options: Mapping[str, object]) -> str:
    """sha256 hex digest of the source text and the options JSON (NUL-separated)."""
    digest = hashlib.sha256()
    digest.update(source_text.encode("utf-8"))
    digest.update(b"\0")
    digest.update(options_json(options).encode("utf-8"))
    return digest.hexdigest()


def model_metadata(source_text: str, options: Mapping[str, object]) -> dict[str, str]:
    """The ``nasgen.*`` metadata entries of a model, keys sorted."""
    props = {
        "nasgen.arch_hash": arch_hash(source_text, options),
        "nasgen.options": options_json(options),
        "nasgen.source": source_text,
        "nasgen.version": nasgen_version(),
    }
    return dict(sorted(props.items()))
