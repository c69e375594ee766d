"""Memory guard: what building a network will take, what this machine has, and a refusal.

Pipeline stage: IR (cost report -> **memory estimate**), consulted by the API before any
backend allocates. Imports ``nasgen.errors`` and ``nasgen.ir.cost``; reads ``/proc/meminfo``
and the ``NASGEN_MEMORY_LIMIT`` environment variable, never a framework.

NOTE: [Build peak factor] Measured on torch 2.13 CPU: peak RSS (``ru_maxrss``) less the RSS
before the call, over the float32 weight bytes (parameters, aux head included):

  ===========================  ========  =======  ============  ======  ==================
  network                      params    weights  build         +save   load (checkpoint)
  ===========================  ========  =======  ============  ======  ==================
  darts_v2 N=6 F=36            3.8M      15 MiB   1.49x         1.75x   1.76x
  darts_v2 N=6 F=100           25M       97 MiB   1.08x         1.12x   1.12x
  darts_v2 N=6 F=200           99M       378 MiB  1.02x         1.03x
  nasnet_a N=6 F=168 (large)   91M       348 MiB  1.03x         1.04x   1.04x
  darts_v2 N=6 F=400           392M      1.5 GiB  1.006x        1.009x  1.009x
  ===========================  ========  =======  ============  ======  ==================

The weights are allocated once; above them are the BatchNorm statistics (under 1%), the
initialisers' temporaries (one tensor at a time) and a few MiB of allocator slack (the small
networks' factors are that constant). ``save`` streams one tensor at a time; ``load`` reads
each tensor once into a module built on the ``meta`` device (the previous load read every
tensor, then built a randomly initialised module and copied them in: about 2x).
``inference_module`` copies the module once (1.23x the weights on top of it, F=200).
``BUILD_PEAK_FACTOR`` and ``COPY_PEAK_FACTOR`` keep a margin over the worst large-network
figure; ``FRAMEWORK_BYTES`` covers torch itself (about 270 MiB of RSS once imported) and the
small networks' constant.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from nasgen.errors import BackendError
from nasgen.ir.cost import CostReport

__all__ = [
    "BUILD_PEAK_FACTOR",
    "BYTES_PER_PARAM",
    "COPY_PEAK_FACTOR",
    "FRAMEWORK_BYTES",
    "LIMIT_VARIABLE",
    "MaxMemory",
    "MemoryLimit",
    "available_memory",
    "check_memory",
    "format_bytes",
    "memory_estimate",
    "memory_limit",
    "parse_memory_size",
    "weight_bytes",
]

BYTES_PER_PARAM = 4
"""Every parameter and BatchNorm statistic is float32."""
BUILD_PEAK_FACTOR = 1.25
"""Peak memory of a build (or a load) over its weight bytes; see NOTE [Build peak factor]."""
COPY_PEAK_FACTOR = 1.5
"""Extra peak of ``inference_module`` over the weights of the module it copies."""
FRAMEWORK_BYTES = 320 * 2**20
"""Fixed allowance for the framework itself (torch's libraries, about 270 MiB of RSS)."""
LIMIT_VARIABLE = "NASGEN_MEMORY_LIMIT"
"""Environment variable overriding the limit: a size (``64G``, ``512M``, bytes) or ``none``."""

_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?", re.IGNORECASE)
_NO_LIMIT = ("none", "off", "unlimited")


@dataclass(frozen=True, slots=True)
class MemoryLimit:
    """How many bytes a build may take (None: no limit) and where that figure came from."""

    limit: int | None
    origin: str


MaxMemory = int | str | MemoryLimit | None
"""What a ``max_memory`` argument may be (see ``memory_limit``)."""


def weight_bytes(report: CostReport) -> int:
    """Bytes of float32 weights of a network, auxiliary head included."""
    return BYTES_PER_PARAM * (report.params + report.aux_params)


def memory_estimate(report: CostReport, factor: float = BUILD_PEAK_FACTOR) -> int:
    """Peak bytes a build of ``report``'s network takes (``factor`` x weights + framework)."""
    return int(weight_bytes(report) * factor) + FRAMEWORK_BYTES


def format_bytes(n: int) -> str:
    """``n`` bytes in the binary units the limits are written in: ``36.28 GiB``, ``10.0 MiB``."""
    return f"{n / 2**30:.2f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"


def parse_memory_size(text: str, what: str = LIMIT_VARIABLE) -> int | None:
    """``"64G"``, ``"1.5GiB"``, ``"512M"``, ``"1000000"`` as bytes (binary units); ``"none"``: None.

    ``what`` names the setting in the error (E542) for a value that is neither.
    """
    raw = text.strip()
    if raw.lower() in _NO_LIMIT:
        return None
    match = _SIZE.fullmatch(raw)
    if match is None:
        raise BackendError(
            "E542",
            f"{what}: {text!r} is not a memory size",
            hint="write e.g. 64G, 512M, 1.5GiB, a number of bytes, or none (no limit)",
        )
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def _meminfo_available(meminfo: Path) -> int | None:
    try:
        text = meminfo.read_text()
    except OSError:
        return None
    match = re.search(r"^MemAvailable:\s+(\d+)\s*kB", text, re.MULTILINE)
    return int(match.group(1)) * 1024 if match else None


def available_memory(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    """Bytes this machine can give a new allocation now, or None when it cannot be told.

    ``MemAvailable`` of ``/proc/meminfo`` (free memory plus reclaimable caches); elsewhere the
    available physical pages of ``os.sysconf``.
    """
    found = _meminfo_available(meminfo)
    if found is not None:
        return found
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def memory_limit(max_memory: MaxMemory = None, origin: str = "max_memory") -> MemoryLimit:
    """The limit a build runs under: ``max_memory``, else ``$NASGEN_MEMORY_LIMIT``, else free.

    ``max_memory`` is a number of bytes, a size as ``parse_memory_size`` reads it (``"none"``
    disables the guard) or a resolved ``MemoryLimit``; None defers to the environment
    variable, then to the memory available. ``origin`` names the setting in messages (the CLI
    passes ``"--max-memory"``).
    """
    if isinstance(max_memory, MemoryLimit):
        return max_memory
    if isinstance(max_memory, bool) or not isinstance(max_memory, int | str | None):
        raise BackendError(
            "E542",
            f"{origin} must be a number of bytes or a size such as '64G', not {max_memory!r}",
        )
    if isinstance(max_memory, int):
        if max_memory < 0:
            raise BackendError("E542", f"{origin} must not be negative, got {max_memory}")
        return MemoryLimit(max_memory, f"{origin}={max_memory}")
    if isinstance(max_memory, str):
        return MemoryLimit(parse_memory_size(max_memory, origin), f"{origin} {max_memory.strip()}")
    env = os.environ.get(LIMIT_VARIABLE)
    if env is not None and env.strip():
        return MemoryLimit(parse_memory_size(env), f"{LIMIT_VARIABLE}={env.strip()}")
    return MemoryLimit(available_memory(), "available")


def check_memory(
    estimate: int, max_memory: MaxMemory = None, *, what: str = "this network"
) -> None:
    """Refuse (E540) a build whose ``estimate`` (bytes) exceeds the limit.

    ``max_memory`` as for ``memory_limit``; ``what`` names the build in the message.
    """
    limit = memory_limit(max_memory)
    if limit.limit is None or estimate <= limit.limit:
        return
    have = (
        f"{format_bytes(limit.limit)} is available"
        if limit.origin == "available"
        else f"the limit is {format_bytes(limit.limit)} ({limit.origin})"
    )
    raise BackendError(
        "E540",
        f"building {what} needs about {format_bytes(estimate)} of memory; {have}",
        hint=f"lower N, F or input_size, or raise the limit: {LIMIT_VARIABLE}=64G "
        "(a size, or none), max_memory= in the API, --max-memory on the command line",
    )
