"""Fuzzing ``nasgen.load``: a mutated checkpoint loads or raises ``NasgenError``, nothing else.

The mutations are bench/fuzz_checkpoint.py's (metadata values and types, genotype text, tensor
names, shapes, dtypes and offsets, truncation, random header bytes); that script runs the long
campaign (100,000 inputs, workers under RLIMIT_AS). Here a few hundred, in-process.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

pytest.importorskip("torch")

import nasgen
from nasgen.errors import NasgenError

_BENCH = Path(__file__).resolve().parents[2] / "bench" / "fuzz_checkpoint.py"


def _fuzzer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz_checkpoint", _BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def fuzzer() -> ModuleType:
    return _fuzzer()


@pytest.fixture(scope="module")
def base(fuzzer: ModuleType) -> bytes:
    data: bytes = fuzzer.base_checkpoint()
    return data


def _load_or_error(path: Path) -> str:
    try:
        nasgen.load(path)
    except NasgenError as err:
        str(err).encode("utf-8")  # printable, as the CLI prints it
        return err.code
    return "ok"


@pytest.mark.property
def test_mutated_checkpoints_load_or_are_nasgen_errors(
    fuzzer: ModuleType, base: bytes, tmp_path: Path
) -> None:
    path = tmp_path / "m.safetensors"
    seen: dict[str, set[str]] = {}
    for index in range(400):
        name, data = fuzzer.mutate(base, 7, index)
        path.write_bytes(data)
        outcome = _load_or_error(path)
        for kind in name.split("+"):
            seen.setdefault(kind, set()).add(outcome)
    assert set(fuzzer.KINDS) <= set(seen)
    assert "ok" in set().union(*seen.values())  # not only errors: some edits are harmless


@pytest.mark.property
def test_sized_option_edits_are_refused_without_building(
    fuzzer: ModuleType, base: bytes, tmp_path: Path
) -> None:
    header, body = fuzzer.split(base)
    path = tmp_path / "m.safetensors"
    for filters, cells in ((5, 1), (16, 2), (400, 6), (2000, 6), (65536, 1), (4, 256)):
        options = json.loads(header["__metadata__"]["nasgen.options"])
        edited = {**options, "F": filters, "N": cells}
        header["__metadata__"]["nasgen.options"] = json.dumps(edited)
        path.write_bytes(fuzzer.join(header, body))
        assert _load_or_error(path) in {"E504", "E303"}
