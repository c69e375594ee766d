"""Figures as PNG files: matplotlib (the ``plot`` extra), headless, written atomically.

Pipeline stage: shared by the search and training reports. Imports ``nasgen.errors`` and
``nasgen.files``; matplotlib only when a figure is asked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nasgen.errors import NasgenError
from nasgen.files import write_atomic

__all__ = ["pyplot", "save_png"]


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the headless Agg backend, or a user error naming the extra."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise NasgenError(
            "E860", "plotting needs matplotlib", hint='pip install "nasgen[plot]"'
        ) from None
    return plt


def save_png(fig: Any, path: Path) -> Path:
    """Write ``fig`` to ``path`` as a PNG (no software tag, so the bytes are reproducible)."""
    plt = pyplot()
    tmp = path.with_name(f".{path.name}.plot.png")
    try:
        fig.savefig(tmp, format="png", metadata={"Software": None})
        write_atomic(path, tmp.read_bytes())
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)
    return path
