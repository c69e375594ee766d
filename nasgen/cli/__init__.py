"""The ``nasgen`` command line (click). Calls ``nasgen.api`` only; the one place that prints.

Pipeline stage: user interface, the top layer. ``app`` holds the command group and what the
commands share; each other module registers the commands of one role on it.
"""

from nasgen.cli import build, derive, edf, foreign, info, review, search, space, train  # noqa: F401  (registration)
from nasgen.cli.app import main

__all__ = ["main"]
