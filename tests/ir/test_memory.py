"""The memory guard: sizes as users write them, where the limit comes from, the estimate."""

from __future__ import annotations

from pathlib import Path

import pytest

from nasgen.errors import BackendError
from nasgen.ir import CostReport, memory
from nasgen.ir.memory import (
    FRAMEWORK_BYTES,
    MemoryLimit,
    check_memory,
    memory_estimate,
    memory_limit,
    parse_memory_size,
)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("64G", 64 * 2**30),
        ("64g", 64 * 2**30),
        ("64GiB", 64 * 2**30),
        ("64 GB", 64 * 2**30),
        ("1.5G", 3 * 2**29),
        ("512M", 512 * 2**20),
        ("10K", 10 * 2**10),
        ("2T", 2 * 2**40),
        ("1000000", 1_000_000),
        (" 7 ", 7),
        ("none", None),
        ("None", None),
        ("off", None),
    ],
)
def test_memory_sizes(text: str, size: int | None) -> None:
    assert parse_memory_size(text) == size


@pytest.mark.parametrize("text", ["", "lots", "-1G", "1X", "G", "1e9", "1..5G"])
def test_bad_memory_sizes_are_e542(text: str) -> None:
    with pytest.raises(BackendError) as err:
        parse_memory_size(text)
    assert err.value.code == "E542"
    assert "NASGEN_MEMORY_LIMIT" in str(err.value)


def test_the_argument_beats_the_environment_which_beats_the_machine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(memory, "available_memory", lambda: 123)
    monkeypatch.delenv("NASGEN_MEMORY_LIMIT", raising=False)
    assert memory_limit() == MemoryLimit(123, "available")
    assert memory_limit(MemoryLimit(7, "x")) == MemoryLimit(7, "x")
    monkeypatch.setenv("NASGEN_MEMORY_LIMIT", "2K")
    assert memory_limit().limit == 2048
    monkeypatch.setenv("NASGEN_MEMORY_LIMIT", "none")
    assert memory_limit().limit is None
    assert memory_limit("1K").limit == 1024
    assert memory_limit(5).limit == 5
    for bad in (-1, 1.5, True, [1]):
        with pytest.raises(BackendError) as err:
            memory_limit(bad)  # type: ignore[arg-type]
        assert err.value.code == "E542"


def test_available_memory_reads_meminfo_then_falls_back(tmp_path: Path) -> None:
    info = tmp_path / "meminfo"
    info.write_text("MemTotal:  100 kB\nMemAvailable:   2048 kB\n")
    assert memory.available_memory(info) == 2048 * 1024
    fallback = memory.available_memory(tmp_path / "missing")
    assert fallback is None or fallback > 0
    assert (memory.available_memory() or 1) > 0


def _report(params: int, aux: int = 0) -> CostReport:
    return CostReport(params, 0, 0, aux, 0, 0, ())


def test_the_estimate_counts_float32_weights_times_the_peak_factor() -> None:
    assert memory_estimate(_report(0)) == FRAMEWORK_BYTES
    assert memory_estimate(_report(10**9, 10**8), 1.0) == 4 * 11 * 10**8 + FRAMEWORK_BYTES
    assert memory_estimate(_report(10**9)) > memory_estimate(_report(10**9), 1.0)


def test_check_memory_says_estimate_and_limit() -> None:
    check_memory(10, 10)
    check_memory(10**15, "none")
    with pytest.raises(BackendError) as err:
        check_memory(49 * 2**30, MemoryLimit(24 * 2**30, "available"), what="darts_v2")
    assert err.value.code == "E540"
    message = str(err.value)
    assert "building darts_v2 needs about 49.00 GiB of memory; 24.00 GiB is available" in message
    with pytest.raises(BackendError) as err:
        check_memory(2 * 2**20, 2**20)
    assert "the limit is 1.0 MiB (max_memory=1048576)" in str(err.value)
    with pytest.raises(BackendError) as err:
        check_memory(2 * 2**20, memory_limit("1M", origin="--max-memory"))
    assert "the limit is 1.0 MiB (--max-memory 1M)" in str(err.value)
